"""Stochastic samplers and the tempered field on exact oracles.

Ground truth first: with the exact field, the Euler–Maruyama SDE and EDM's churn leave every marginal p_t invariant
(checked against exact samples / the exact CDF of p_t, with a wrong variant of each that must fail the same check);
then the notebook's conclusions at equal NFE: fresh noise does not help the exact field, and cuts the error of an
imperfect (tempered) field several-fold.
"""
from __future__ import annotations

import math

import pytest
import torch

from cs280diff.flows import metrics, mixtures, schedules, solvers, stochastic
from cs280diff.conventions import path


def _gen(seed):
    return torch.Generator().manual_seed(seed)


def _exact_xt(mix, n, t, seed):
    """n exact samples of p_t: x_t = (1 - t) x0 + t x1 with x1 ~ p1, x0 ~ N(0, I) (float64)."""
    g = _gen(seed)
    x1 = mix.sample(n, g, dtype=torch.float64)
    return path(torch.randn(x1.shape, generator=g, dtype=torch.float64), x1, t)


def _w1_floor(mix, n, t, seed=99):
    """W1 of n exact samples of p_t to the exact CDF: the sampling-noise floor of the 1D checks."""
    return metrics.wasserstein_1d_to_cdf(_exact_xt(mix, n, t, seed), lambda x: mix.cdf_1d(x, t))


def _moments_close(x, mix, t, n_se=5.0):
    """Mean and variance of 1D samples against the exact moments of p_t (within n_se standard errors)."""
    mean = t * mix.mean().item()
    var = (1 - t) ** 2 + t**2 * mix.covariance().item()
    n = x.shape[0]
    se_mean, se_var = math.sqrt(var / n), var * math.sqrt(2.5 / n)  # 2.5 > 2 for the mixture's heavier kurtosis
    return abs(x.mean().item() - mean) < n_se * se_mean and abs(x.var().item() - var) < n_se * se_var


# ----------------------------------------------------------------------------------------------- the tempered field
def test_tempered_field_tau_one_is_exact_and_tau_softens():
    mix = mixtures.ring_2d()
    x = 2 * torch.randn(64, 2, generator=_gen(0), dtype=torch.float64)
    t = torch.rand(64, generator=_gen(1), dtype=torch.float64)
    torch.testing.assert_close(mix.tempered(1.0)(x, t), mix.velocity(x, t), rtol=0, atol=0)
    torch.testing.assert_close(mix.tempered(1.0).score(x, t), mix.score(x, t))
    soft = mix.tempered(2.0)
    assert isinstance(soft, mixtures.TemperedField) and soft.tau == 2.0
    ent = lambda w: -(w * w.clamp_min(1e-300).log()).sum(1)  # noqa: E731
    assert (ent(soft.posteriors(x, 0.7)) >= ent(mix.posteriors(x, 0.7)) - 1e-12).all()  # softer posteriors
    assert (soft(x, 0.7) - mix(x, 0.7)).abs().max() > 0.1  # and a different field


def test_tempered_field_identities_and_score_conversion():
    """v_tau(x, 1) = x for every tau; its score is the conversion (t v - x)/(1 - t) of its velocity."""
    mix = mixtures.lecture_1d()
    soft = mix.tempered(3.0)
    x = 3 * torch.randn(50, 1, generator=_gen(2), dtype=torch.float64)
    torch.testing.assert_close(soft(x, 1.0), x)
    for t in (0.2, 0.6, 0.9):
        torch.testing.assert_close(soft.score(x, t), (t * soft(x, t) - x) / (1 - t))
    torch.testing.assert_close(soft(x.float(), 0.5), soft(x, 0.5).float(), atol=1e-5, rtol=1e-5)


def test_tempered_field_leaves_samples_between_modes():
    """The imperfect field's ODE puts several times more samples off the modes than the exact one (2D ring)."""
    mix = mixtures.ring_2d()
    x0 = torch.randn(2000, 2, generator=_gen(3))
    grid = schedules.uniform(32)
    off_exact = 1 - metrics.fraction_near_modes(solvers.sample(mix, x0, grid, step=solvers.heun_step), mix)
    off_soft = 1 - metrics.fraction_near_modes(solvers.sample(mix.tempered(2.0), x0, grid, step=solvers.heun_step), mix)
    assert off_soft > 4 * off_exact and off_soft > 0.05, (off_exact, off_soft)


def test_tempered_field_bad_input():
    with pytest.raises(ValueError, match="tau"):
        mixtures.ring_2d().tempered(0.0)
    with pytest.raises(ValueError, match="tau"):
        mixtures.TemperedField(mixtures.ring_2d(), float("nan"))
    with pytest.raises(TypeError, match="GaussianMixture"):
        mixtures.TemperedField(lambda x, t: x, 2.0)
    with pytest.raises(TypeError, match="conditioning"):
        mixtures.ring_2d().tempered(2.0)(torch.zeros(3, 2), 0.5, y=1)


# ----------------------------------------------------------------------------------------------- SDE: mechanics
def test_sde_with_eta_zero_is_euler_and_nfe_is_n():
    mix = mixtures.ring_2d()
    x0 = torch.randn(100, 2, generator=_gen(0), dtype=torch.float64)
    grid = schedules.uniform(17)
    counted = solvers.NFECounter(mix)
    x = stochastic.sde_euler_maruyama(counted, x0, grid, eta=0.0, generator=_gen(1))
    assert counted.nfe == 17  # NFE = N
    torch.testing.assert_close(x, solvers.sample(mix, x0, grid), rtol=0, atol=0)


def test_sde_is_reproducible_and_uses_its_generator():
    mix = mixtures.ring_2d()
    x0 = torch.randn(50, 2, generator=_gen(0))
    grid = schedules.uniform(20)
    a = stochastic.sde_euler_maruyama(mix, x0, grid, eta=1.0, generator=_gen(5))
    b = stochastic.sde_euler_maruyama(mix, x0, grid, eta=1.0, generator=_gen(5))
    c = stochastic.sde_euler_maruyama(mix, x0, grid, eta=1.0, generator=_gen(6))
    torch.testing.assert_close(a, b, rtol=0, atol=0)
    assert (a - c).abs().max() > 1e-3
    assert a.dtype == x0.dtype and a.shape == x0.shape


def test_sde_last_step_is_deterministic_euler():
    """The final step adds no noise: x_N = x_{N-1} + (1 - t_{N-1}) v(x_{N-1}, t_{N-1}) = x̂1 exactly."""
    mix = mixtures.lecture_1d()
    x0 = torch.randn(30, 1, generator=_gen(0), dtype=torch.float64)
    grid = schedules.uniform(8)
    x, traj = stochastic.sde_euler_maruyama(mix, x0, grid, eta=2.0, generator=_gen(1), return_trajectory=True)
    assert traj.shape == (9, 30, 1)
    t_last = float(grid[-2])
    torch.testing.assert_close(x, traj[-2] + (1 - t_last) * mix(traj[-2], t_last), rtol=0, atol=1e-12)
    one = stochastic.sde_euler_maruyama(mix, x0, schedules.uniform(1), eta=5.0, generator=_gen(2))
    torch.testing.assert_close(one, x0 + mix(x0, 0.0))  # a single step is pure Euler: every sample lands on E[x1]


def test_em_step_formula():
    """x_next = x + h [v + η (t v - x)] + sqrt(2η (1 - t) h) ξ."""
    mix = mixtures.ring_2d()
    x = torch.randn(10, 2, generator=_gen(0), dtype=torch.float64)
    xi = torch.randn(10, 2, generator=_gen(1), dtype=torch.float64)
    t, t_next, eta = 0.3, 0.35, 1.5
    v = mix(x, t)
    expected = x + 0.05 * (v + eta * (t * v - x)) + math.sqrt(2 * eta * 0.7 * 0.05) * xi
    torch.testing.assert_close(stochastic.em_step(mix, x, t, t_next, eta=eta, noise=xi), expected)
    # the drift is v + (g²/2) score with g² = 2η(1 - t) and the exact score
    torch.testing.assert_close(stochastic.sde_drift(x, t, v, eta), v + eta * (1 - t) * mix.score(x, t))


def test_sde_bad_input():
    mix, x, grid = mixtures.ring_2d(), torch.zeros(4, 2), schedules.uniform(4)
    with pytest.raises(ValueError, match="eta"):
        stochastic.sde_euler_maruyama(mix, x, grid, eta=-1.0, generator=_gen(0))
    with pytest.raises(TypeError, match="generator"):
        stochastic.sde_euler_maruyama(mix, x, grid, eta=1.0, generator=None)
    with pytest.raises(ValueError, match="increasing"):
        stochastic.sde_euler_maruyama(mix, x, grid.flip(0), eta=1.0, generator=_gen(0))


# ----------------------------------------------------------------------------------------------- SDE: marginals
def _run_sde_1d(step, eta, t_a=0.2, t_b=0.8, n=20_000, n_steps=300, seed=0):
    mix = mixtures.lecture_1d()
    x = _exact_xt(mix, n, t_a, seed)
    grid = torch.linspace(t_a, t_b, n_steps + 1, dtype=torch.float64)
    out = stochastic.sde_euler_maruyama(mix, x, grid, eta=eta, generator=_gen(seed + 1), step=step)
    return mix, out, metrics.wasserstein_1d_to_cdf(out, lambda z: mix.cdf_1d(z, t_b))


@pytest.mark.parametrize("eta", [1.0, 4.0])
def test_sde_leaves_the_marginals_of_the_exact_field_invariant(eta):
    """From exact samples of p_0.2, the SDE on a fine grid with the exact field lands on p_0.8 (moments, W1)."""
    mix, out, w1 = _run_sde_1d(stochastic.em_step, eta)
    floor = _w1_floor(mix, out.shape[0], 0.8)
    assert w1 < 3 * floor + 0.01, (w1, floor)
    assert _moments_close(out, mix, 0.8)


def _no_score_step(field, x, t, t_next, *, eta, noise, **cond):
    """WRONG: noise without the score term in the drift (dx = v dt + g dW)."""
    h = t_next - t
    return x + h * field(x, t, **cond) + math.sqrt(2 * eta * (1 - t) * h) * noise


def _no_h_noise_step(field, x, t, t_next, *, eta, noise, **cond):
    """WRONG: noise variance that ignores the step size (sqrt(2η(1 - t)) ξ)."""
    h = t_next - t
    v = field(x, t, **cond)
    return x + h * stochastic.sde_drift(x, t, v, eta) + math.sqrt(2 * eta * (1 - t)) * noise


@pytest.mark.parametrize("wrong", [_no_score_step, _no_h_noise_step])
def test_a_wrong_sde_fails_the_same_marginal_check(wrong):
    """The marginal check can fail: a drift without the score, or noise ignoring the step size, is caught."""
    mix, out, w1 = _run_sde_1d(wrong, 1.0)
    floor = _w1_floor(mix, out.shape[0], 0.8)
    assert w1 > 5 * floor + 0.03, (w1, floor)  # the correct SDE stays below 3 * floor + 0.01
    assert not _moments_close(out, mix, 0.8)


def test_sde_marginals_in_2d_moments():
    """The 2D ring from p_0.3 to p_0.9 with η = 2: mean t E[x1] and covariance (1 - t)² I + t² Cov[x1]."""
    mix, t_a, t_b = mixtures.ring_2d(), 0.3, 0.9
    x = _exact_xt(mix, 12_000, t_a, 4)
    grid = torch.linspace(t_a, t_b, 161, dtype=torch.float64)
    out = stochastic.sde_euler_maruyama(mix, x, grid, eta=2.0, generator=_gen(5))
    cov = (1 - t_b) ** 2 * torch.eye(2, dtype=torch.float64) + t_b**2 * mix.covariance()
    torch.testing.assert_close(out.mean(0), t_b * mix.mean(), atol=0.05, rtol=0)  # 4 standard errors
    torch.testing.assert_close(torch.cov(out.T), cov, atol=0.05, rtol=0.02)
    # and the fraction near the modes of p_t (radius 3 sd_t around t μ_k) matches exact samples of p_0.9
    exact = _exact_xt(mix, 20_000, t_b, 6)
    sd_t = math.sqrt((1 - t_b) ** 2 + t_b**2 * 0.01)
    near = lambda z: ((z[:, None] - t_b * mix.means[None]).norm(dim=2).min(1).values < 3 * sd_t).double().mean()  # noqa
    assert abs(near(out) - near(exact)) < 0.01, (near(out), near(exact))


# ----------------------------------------------------------------------------------------------- churn
def test_churn_renoise_formula_and_gamma_zero():
    x = torch.randn(8, 3, generator=_gen(0), dtype=torch.float64)
    xi = torch.randn(8, 3, generator=_gen(1), dtype=torch.float64)
    t, gamma = 0.4, 0.3
    sigma = (1 - t) / t
    sigma_hat = sigma * 1.3
    t_hat = 1 / (1 + sigma_hat)
    x_hat, th = stochastic.churn_renoise(x, t, gamma, xi)
    assert math.isclose(th, t_hat) and th < t
    torch.testing.assert_close(x_hat, t_hat / t * x + t_hat * math.sqrt(sigma_hat**2 - sigma**2) * xi)
    x_same, t_same = stochastic.churn_renoise(x, t, 0.0, xi)
    torch.testing.assert_close(x_same, x)
    assert math.isclose(t_same, t)


@pytest.mark.parametrize("t, gamma", [(0.5, 0.4), (0.85, 0.2), (0.97, 0.414)])
def test_churn_renoise_maps_p_t_onto_p_t_hat(t, gamma):
    """Exact samples of p_t, re-noised, are exact samples of p_{t_hat} (W1 to the exact CDF, moments)."""
    mix = mixtures.lecture_1d()
    n = 100_000
    x = _exact_xt(mix, n, t, 0)
    xi = torch.randn(x.shape, generator=_gen(1), dtype=torch.float64)
    x_hat, t_hat = stochastic.churn_renoise(x, t, gamma, xi)
    w1 = metrics.wasserstein_1d_to_cdf(x_hat, lambda z: mix.cdf_1d(z, t_hat))
    floor = _w1_floor(mix, n, t_hat)
    assert w1 < 3 * floor + 0.002, (w1, floor)
    assert _moments_close(x_hat, mix, t_hat)
    # the WRONG re-noising (noise added without rescaling the signal by t_hat / t) fails the same check
    sigma, sigma_hat = (1 - t) / t, (1 - t) / t * (1 + gamma)
    wrong = x + t_hat * math.sqrt(sigma_hat**2 - sigma**2) * xi
    w1_wrong = metrics.wasserstein_1d_to_cdf(wrong, lambda z: mix.cdf_1d(z, t_hat))
    if t < 0.9:  # (near t = 1 the rescale t_hat / t is within 1.5% of 1 and the wrong version is only 1.5x off)
        assert w1_wrong > 2 * (3 * floor + 0.002), (w1_wrong, w1, floor)


def test_churn_sampler_preserves_marginals_on_exact_field():
    """Churn + Heun from exact samples of p_0.2 to t = 0.8 on a fine grid lands on p_0.8 (W1, moments)."""
    mix = mixtures.lecture_1d()
    x = _exact_xt(mix, 20_000, 0.2, 2)
    grid = torch.linspace(0.2, 0.8, 121, dtype=torch.float64)
    out = stochastic.churn_sampler(mix, x, grid, S_churn=40.0, generator=_gen(3))
    w1 = metrics.wasserstein_1d_to_cdf(out, lambda z: mix.cdf_1d(z, 0.8))
    assert w1 < 3 * _w1_floor(mix, 20_000, 0.8) + 0.01, w1
    assert _moments_close(out, mix, 0.8)


def test_churn_sampler_nfe_and_zero_churn_is_the_ode():
    mix = mixtures.ring_2d()
    x0 = torch.randn(64, 2, generator=_gen(0), dtype=torch.float64)
    grid = schedules.uniform(12)
    for step, per in ((solvers.heun_step, 2), (solvers.euler_step, 1)):
        counted = solvers.NFECounter(mix)
        out = stochastic.churn_sampler(counted, x0, grid, S_churn=0.0, step=step, generator=_gen(1))
        assert counted.nfe == 12 * per  # NFE = N (Euler) or 2N (Heun)
        torch.testing.assert_close(out, solvers.sample(mix, x0, grid, step=step), rtol=0, atol=0)
        counted.reset()
        churned = stochastic.churn_sampler(counted, x0, grid, S_churn=10.0, step=step, generator=_gen(1))
        assert counted.nfe == 12 * per and (churned - out).abs().max() > 1e-3  # churn costs no NFE


def test_churn_gamma_window_and_cap():
    assert stochastic.churn_gamma(0.0, 10, S_churn=5.0) == 0.0  # nothing is noisier than pure noise
    assert stochastic.churn_gamma(0.5, 10, S_churn=1.0) == pytest.approx(0.1)
    assert stochastic.churn_gamma(0.5, 10, S_churn=100.0) == pytest.approx(math.sqrt(2) - 1)  # EDM's cap
    # sigma(0.5) = 1: outside [S_tmin, S_tmax] = [2, 10] -> no churn; inside [0.5, 2] -> churn
    assert stochastic.churn_gamma(0.5, 10, S_churn=1.0, S_tmin=2.0, S_tmax=10.0) == 0.0
    assert stochastic.churn_gamma(0.5, 10, S_churn=1.0, S_tmin=0.5, S_tmax=2.0) > 0


def test_churn_bad_input():
    mix, x, grid = mixtures.ring_2d(), torch.zeros(4, 2), schedules.uniform(4)
    with pytest.raises(ValueError, match="S_churn"):
        stochastic.churn_sampler(mix, x, grid, S_churn=-1.0, generator=_gen(0))
    with pytest.raises(TypeError, match="generator"):
        stochastic.churn_sampler(mix, x, grid, S_churn=1.0, generator=0)


# ----------------------------------------------------------------------------------------------- the conclusions
def _ed(x, mix):
    return metrics.energy_distance_to_mixture(x, mix)


@pytest.fixture(scope="module")
def ring_runs():
    """ED to the exact ring at NFE 32 and 128, for ODE Heun and the SDE (η = 2), exact and tempered (τ = 2) fields,
    averaged over 2 seeds of 3000 samples each."""
    mix, out = mixtures.ring_2d(), {}
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # module fixtures run before conftest's per-test one-thread fixture
    for name, field in (("exact", mix), ("tempered", mix.tempered(2.0))):
        for nfe in (32, 128):
            vals = {"ode": [], "sde": []}
            for seed in (0, 1):
                x0 = torch.randn(3000, 2, generator=_gen(seed))
                vals["ode"].append(_ed(solvers.sample(field, x0, schedules.uniform(nfe // 2), step=solvers.heun_step), mix))
                vals["sde"].append(_ed(stochastic.sde_euler_maruyama(field, x0, schedules.uniform(nfe), eta=2.0,
                                                                     generator=_gen(10 + seed)), mix))
            out[name, nfe] = {k: sum(v) / len(v) for k, v in vals.items()}
    torch.set_num_threads(threads)
    return mix, out


def test_exact_field_noise_does_not_help(ring_runs):
    """CIFAR-10: no.  With the exact field, the SDE is no better than ODE Heun at equal NFE beyond the noise floor."""
    mix, runs = ring_runs
    floor = metrics.energy_floor(mix, 3000)
    for nfe in (32, 128):
        assert runs["exact", nfe]["ode"] < 3 * floor, runs  # the ODE is at the floor already
        assert runs["exact", nfe]["sde"] > runs["exact", nfe]["ode"] - floor, runs  # no gain beyond the noise


def test_imperfect_field_noise_helps_several_fold(ring_runs):
    """ImageNet: yes.  With the tempered field, the SDE cuts the ED several-fold at 32 and 128 NFE."""
    mix, runs = ring_runs
    for nfe in (32, 128):
        ode, sde = runs["tempered", nfe]["ode"], runs["tempered", nfe]["sde"]
        assert ode > 5 * metrics.energy_floor(mix, 3000) and sde < ode / 3, runs


def test_too_much_noise_at_too_few_steps_hurts():
    """η = 8 at 16 NFE (h η = 0.5) is far worse than the ODE at the same NFE, even for the tempered field."""
    mix = mixtures.ring_2d()
    x0 = torch.randn(2000, 2, generator=_gen(0))
    soft = mix.tempered(2.0)
    ode = _ed(solvers.sample(soft, x0, schedules.uniform(8), step=solvers.heun_step), mix)
    sde = _ed(stochastic.sde_euler_maruyama(soft, x0, schedules.uniform(16), eta=8.0, generator=_gen(1)), mix)
    assert sde > 3 * ode, (sde, ode)


def test_briefly_trained_network_noise_pulls_samples_onto_modes():
    """ImageNet: yes, with a real network: 1000 steps of a small MLP (EMA weights) leave ~10% of the ODE samples off
    the modes; the SDE (η = 2) at the same 128 NFE cuts the excess over the true-sample floor at least 3-fold."""
    from cs280diff.nets import mlp, training

    mix = mixtures.ring_2d()
    torch.manual_seed(0)
    net = mlp.MLPVelocity(2, hidden=128, depth=4)
    fit = training.train(net, lambda n, g: mix.sample(n, g), steps=1000, batch_size=512, lr=2e-3, seed=0,
                      ema_decay=0.99, progress=False)
    x0 = torch.randn(3000, 2, generator=_gen(1))
    floor = math.exp(-4.5)  # P(|x - μ_k| > 3 s_k) for true 2D samples
    with torch.no_grad():
        ode = solvers.sample(fit.ema, x0, schedules.uniform(64), step=solvers.heun_step)
        sde = stochastic.sde_euler_maruyama(fit.ema, x0, schedules.uniform(128), eta=2.0, generator=_gen(2))
    off_ode, off_sde = 1 - metrics.fraction_near_modes(ode, mix), 1 - metrics.fraction_near_modes(sde, mix)
    assert off_ode > 0.05, off_ode  # the brief network does leave samples between the modes
    assert off_ode - floor > 3 * max(off_sde - floor, 0.002), (off_ode, off_sde)
