"""The Gaussian-mixture oracle against ground truth: identities, Monte Carlo, and a tight ODE solve."""
import math

import pytest
import torch

from cs280diff.flows import metrics, mixtures, solvers
from cs280diff.conventions import conditional_velocity, path

MIXTURES = {"1d": mixtures.lecture_1d, "2d": mixtures.ring_2d,
            "3d": lambda: mixtures.GaussianMixture([[0, 0, 0], [2, -1, 1]], [0.5, 0.2], [0.3, 0.7])}


@pytest.fixture(params=sorted(MIXTURES))
def mix(request):
    return MIXTURES[request.param]()


def test_density_integrates_to_one_1d():
    m = mixtures.lecture_1d()
    xs = torch.linspace(-10, 10, 20001, dtype=torch.float64)[:, None]
    for t in (0.0, 0.3, 1.0):
        assert abs(torch.trapezoid(m.log_prob_t(xs, t).exp(), xs[:, 0]).item() - 1) < 1e-6


def test_t0_is_standard_normal(mix, gen):
    x = torch.randn(10, mix.dim, generator=gen, dtype=torch.float64)
    expected = -0.5 * (x**2).sum(1) - 0.5 * mix.dim * math.log(2 * math.pi)
    torch.testing.assert_close(mix.log_prob_t(x, 0.0), expected)
    torch.testing.assert_close(mix.posteriors(x, 0.0), mix.weights.expand(10, -1))  # x_0 carries no information


def test_velocity_identities(mix, gen):
    x = 3 * torch.randn(50, mix.dim, generator=gen, dtype=torch.float64)
    torch.testing.assert_close(mix.velocity(x, 0.0), mix.mean() - x)  # one Euler step from 0 lands on E[x1]
    torch.testing.assert_close(mix.velocity(x, 1.0), x)  # v*(x, 1) = x
    torch.testing.assert_close(mix.velocity(x.float(), 1.0), x.float())  # stays exact in float32 at t = 1


def test_velocity_matches_x1_posterior_mean_and_score(mix, gen):
    """v = (E[x1|x] - x)/(1 - t) and score = (t v - x)/(1 - t), the conventions' conversions."""
    x = torch.randn(40, mix.dim, generator=gen, dtype=torch.float64)
    for t in (0.1, 0.5, 0.9):
        v = mix.velocity(x, t)
        torch.testing.assert_close(v, (mix.x1_posterior_mean(x, t) - x) / (1 - t))
        torch.testing.assert_close(mix.score(x, t), (t * v - x) / (1 - t))


def test_score_is_gradient_of_log_density(mix, gen):
    x = torch.randn(20, mix.dim, generator=gen, dtype=torch.float64).requires_grad_(True)
    for t in (0.2, 0.8):
        (grad,) = torch.autograd.grad(mix.log_prob_t(x, t).sum(), x)
        torch.testing.assert_close(mix.score(x.detach(), t), grad)


def test_posteriors_sum_to_one_and_are_stable_far_away(mix):
    x = torch.full((3, mix.dim), 1e3, dtype=torch.float64)
    w = mix.posteriors(x, 0.9)
    assert torch.isfinite(w).all()
    torch.testing.assert_close(w.sum(1), torch.ones(3, dtype=torch.float64))


def test_velocity_matches_monte_carlo_conditional_expectation(gen):
    """E[x1 - x0 | x_t in bin] = E[v*(x_t) | x_t in bin] holds exactly for any bin: check it with 400k samples."""
    m = mixtures.lecture_1d()
    n = 400_000
    x1 = m.sample(n, gen, dtype=torch.float64)
    x0 = torch.randn(n, 1, generator=gen, dtype=torch.float64)
    for t in (0.25, 0.6, 0.9):
        xt, u = path(x0, x1, t), conditional_velocity(x0, x1)
        v = m.velocity(xt, t)
        edges = torch.quantile(xt[:, 0], torch.linspace(0, 1, 21, dtype=torch.float64))
        bins = torch.bucketize(xt[:, 0], edges[1:-1])
        for b in range(20):
            sel = bins == b
            diff = (u[sel] - v[sel]).mean().item()
            se = (u[sel] - v[sel]).std().item() / sel.sum().sqrt().item()
            assert abs(diff) < 5 * se + 1e-3, (t, b, diff, se)


def test_wrong_field_fails_monte_carlo_check(gen):
    """Guard that the Monte-Carlo check can fail: a field with variance in place of std is caught."""
    m = mixtures.lecture_1d()
    wrong = mixtures.GaussianMixture(m.means, m.stds**2, m.weights)
    n = 400_000
    x1 = m.sample(n, gen, dtype=torch.float64)
    x0 = torch.randn(n, 1, generator=gen, dtype=torch.float64)
    xt, u = path(x0, x1, 0.9), conditional_velocity(x0, x1)
    v = wrong.velocity(xt, 0.9)
    edges = torch.quantile(xt[:, 0], torch.linspace(0, 1, 21, dtype=torch.float64))
    bins = torch.bucketize(xt[:, 0], edges[1:-1])
    z = []
    for b in range(20):
        d = u[bins == b] - v[bins == b]
        z.append(abs(d.mean().item()) / (d.std().item() / math.sqrt(d.numel())))
    assert max(z) > 10


def test_ode_transports_noise_onto_the_1d_mixture(gen):
    """Integrating v* with DOP853 (rtol 1e-9) maps N(0, 1) onto p1: moments and W1 to the exact CDF."""
    m = mixtures.lecture_1d()
    x0 = torch.randn(4000, 1, generator=gen, dtype=torch.float64)
    x1 = solvers.reference_solution(m, x0)
    assert abs(x1.mean().item() - m.mean().item()) < 4 * m.covariance().sqrt().item() / math.sqrt(4000)
    assert abs(x1.var().item() / m.covariance().item() - 1) < 0.1
    w1 = metrics.wasserstein_1d_to_cdf(x1, m.cdf_1d)
    floor = metrics.wasserstein_1d_to_cdf(m.sample(4000, gen, dtype=torch.float64), m.cdf_1d)
    assert w1 < max(2 * floor, 0.05), (w1, floor)
    # the map is monotone in 1D (trajectories cannot cross)
    order = torch.argsort(x0[:, 0])
    assert (x1[order, 0].diff() > 0).all()


def test_ode_transports_noise_onto_the_2d_ring(gen):
    m = mixtures.ring_2d()
    x0 = torch.randn(2000, 2, generator=gen, dtype=torch.float64)
    x1 = solvers.reference_solution(m, x0, rtol=1e-8, atol=1e-8)
    torch.testing.assert_close(x1.mean(0), m.mean(), atol=0.1, rtol=0)
    torch.testing.assert_close(torch.cov(x1.T), m.covariance(), atol=0.15, rtol=0.05)
    radius = x1.norm(dim=1)
    assert (radius - 2).abs().median() < 0.1  # samples sit on the ring of radius 2


def test_sampling_moments(mix, gen):
    x = mix.sample(200_000, gen, dtype=torch.float64)
    torch.testing.assert_close(x.mean(0), mix.mean(), atol=0.02, rtol=0)
    torch.testing.assert_close(torch.cov(x.T).reshape(mix.dim, mix.dim), mix.covariance(), atol=0.05, rtol=0.02)


def test_bad_construction_and_input():
    with pytest.raises(ValueError, match="stds"):
        mixtures.GaussianMixture([0.0, 1.0], [0.1, -0.1])
    with pytest.raises(ValueError, match="entries"):
        mixtures.GaussianMixture([0.0, 1.0], [0.1, 0.2, 0.3])
    with pytest.raises(ValueError, match="weights"):
        mixtures.GaussianMixture([0.0, 1.0], 0.1, [1.0, 0.0])
    m = mixtures.ring_2d()
    with pytest.raises(ValueError, match="D = 2"):
        m.velocity(torch.zeros(4, 3), 0.5)
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        m.velocity(torch.zeros(4, 2), 1.2)
    with pytest.raises(TypeError, match="conditioning"):
        m.velocity(torch.zeros(4, 2), 0.5, y=torch.zeros(4))
