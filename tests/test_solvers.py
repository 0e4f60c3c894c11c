"""Solvers on exact oracles: convergence orders against a tight reference, NFE counts, analytic cases, errors."""
from __future__ import annotations

import math

import pytest
import torch

from cs280diff import conventions
from cs280diff.flows import metrics, mixtures, schedules, solvers

STEPS = [64, 128, 256, 512]  # fine enough that Heun's asymptotic order shows (at 8..32 steps it is only 1.6-1.8)


@pytest.fixture(scope="module")
def ring_problem():
    """The exact 2D ring field, 128 float64 noise samples and their DOP853 reference endpoints (rtol 1e-9)."""
    mix = mixtures.ring_2d()
    x0 = torch.randn(128, 2, generator=torch.Generator().manual_seed(0), dtype=torch.float64)
    return mix, x0, solvers.reference_solution(mix, x0)


def _order(field, x0, ref, step):
    nfes, errors = [], []
    for n in STEPS:
        counted = solvers.NFECounter(field)
        x = solvers.sample(counted, x0, schedules.uniform(n), step=step)
        nfes.append(counted.nfe), errors.append(metrics.mean_endpoint_error(x, ref))
    return metrics.convergence_order(nfes, errors), errors


def test_euler_is_first_order_on_ring(ring_problem):
    """Euler's mean endpoint error on the exact ring falls like NFE^-1 (measured order in [0.9, 1.1])."""
    mix, x0, ref = ring_problem
    p, errors = _order(mix, x0, ref, solvers.euler_step)
    assert 0.9 <= p <= 1.1, f"Euler order {p:.3f}, errors {errors}"


def test_heun_is_second_order_on_ring(ring_problem):
    """Heun's mean endpoint error falls like NFE^-2 once steps are small (measured order >= 1.8)."""
    mix, x0, ref = ring_problem
    p, errors = _order(mix, x0, ref, solvers.heun_step)
    assert p >= 1.8, f"Heun order {p:.3f}, errors {errors}"
    assert errors[-1] < 1e-4, f"Heun at {STEPS[-1]} steps should be far below 1e-4, got {errors[-1]:.2e}"


def test_reference_solution_matches_gaussian_closed_form():
    """For one Gaussian N(μ, s² I) the flow is affine: x_1 = μ + s x_0 exactly; the reference must agree to 1e-7."""
    mu, s = torch.tensor([[1.5, -0.5]], dtype=torch.float64), 0.3
    gauss = mixtures.GaussianMixture(mu, s)
    x0 = torch.randn(16, 2, generator=torch.Generator().manual_seed(1), dtype=torch.float64)
    ref = solvers.reference_solution(gauss, x0)
    torch.testing.assert_close(ref, mu + s * x0, rtol=0, atol=1e-7)


def test_euler_and_heun_on_linear_ode_match_closed_form():
    """dx/dt = x on N uniform steps: Euler gives (1 + h)^N x0, Heun (1 + h + h²/2)^N x0 (the stability polynomials)."""
    x0 = torch.tensor([[1.0], [-2.0]], dtype=torch.float64)
    n, h = 10, 0.1
    x_euler = solvers.sample(lambda x, t: x, x0, schedules.uniform(n))
    x_heun = solvers.sample(lambda x, t: x, x0, schedules.uniform(n), step=solvers.heun_step)
    torch.testing.assert_close(x_euler, (1 + h) ** n * x0, rtol=1e-13, atol=0)
    torch.testing.assert_close(x_heun, (1 + h + h**2 / 2) ** n * x0, rtol=1e-13, atol=0)
    assert abs(x_heun[0, 0].item() - math.e) < abs(x_euler[0, 0].item() - math.e)


def test_one_euler_step_lands_on_data_mean():
    """v*(x, 0) = E[x1] - x, so one Euler step from t = 0 to 1 maps every sample to the data mean."""
    mix = mixtures.lecture_1d()
    x0 = torch.randn(32, 1, generator=torch.Generator().manual_seed(2), dtype=torch.float64)
    x1 = solvers.sample(mix, x0, schedules.uniform(1))
    torch.testing.assert_close(x1, mix.mean().expand(32, 1), rtol=0, atol=1e-12)


@pytest.mark.parametrize("grid", [schedules.uniform(7), schedules.edm_rho(7), schedules.shift(7, 3.0)])
def test_nfe_counts(grid):
    """NFECounter: Euler costs N evaluations and Heun 2N on any N-step grid."""
    mix = mixtures.ring_2d()
    x0 = torch.randn(4, 2, generator=torch.Generator().manual_seed(3), dtype=torch.float64)
    n = grid.numel() - 1
    for step, expected in ((solvers.euler_step, n), (solvers.heun_step, 2 * n)):
        counted = solvers.NFECounter(mix)
        solvers.sample(counted, x0, grid, step=step)
        assert counted.nfe == expected, f"{step.__name__}: {counted.nfe} NFE on {n} steps, expected {expected}"
        counted.reset()
        assert counted.nfe == 0


def test_euler_equals_edm_euler_in_sigma_space():
    """Euler in t equals Euler in EDM's (y = x/t, sigma = (1 - t)/t) coordinates (DDIM), for t > 0."""
    mix = mixtures.ring_2d()
    x = torch.randn(8, 2, generator=torch.Generator().manual_seed(4), dtype=torch.float64)
    grid = torch.tensor([0.1, 0.3, 0.55, 0.8, 0.95, 1.0], dtype=torch.float64)
    x_t = solvers.sample(mix, x, grid)
    denoiser = conventions.denoiser_from_velocity(mix)
    sigmas = (1 - grid) / grid
    y = x / grid[0]
    for s, s_next in zip(sigmas[:-1], sigmas[1:]):
        d = (y - denoiser(y, s)) / s  # EDM's dy/dsigma
        y = y + (s_next - s) * d  # Euler step in sigma
    torch.testing.assert_close(x_t, y, rtol=1e-10, atol=1e-10)  # t_N = 1, so x = y there


def test_sample_rejects_decreasing_grid():
    """A grid running from data to noise is an error, with a message saying which way time runs."""
    x0 = torch.zeros(2, 2)
    with pytest.raises(ValueError, match="increasing"):
        solvers.sample(mixtures.ring_2d(), x0, torch.tensor([1.0, 0.5, 0.0], dtype=torch.float64))


def test_sample_raises_on_nan_state():
    """A field that produces NaN stops the loop with FloatingPointError naming the window of steps (checked every
    ``check_every`` steps and after the last), or the exact step with check_every=1."""
    def bad(x, t):
        return torch.full_like(x, float("nan")) if t > 0.5 else torch.zeros_like(x)

    with pytest.raises(FloatingPointError, match="at step 3,"):
        solvers.sample(bad, torch.zeros(3, 2), schedules.uniform(5), check_every=1)
    with pytest.raises(FloatingPointError, match="between steps 2 and 3"):
        solvers.sample(bad, torch.zeros(3, 2), schedules.uniform(5), check_every=2)
    with pytest.raises(FloatingPointError, match="between steps 0 and 4 .*check_every=1"):
        solvers.sample(bad, torch.zeros(3, 2), schedules.uniform(5))
    with pytest.raises(ValueError, match="NaN"):
        solvers.sample(mixtures.ring_2d(), torch.full((3, 2), float("nan")), schedules.uniform(5))
