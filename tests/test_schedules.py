"""Schedules: N + 1 strictly increasing float64 points, exact endpoints, and each schedule's closed form."""
from __future__ import annotations

import pytest
import torch

from cs280diff import validate
from cs280diff.flows import schedules, solvers

ALL = [("uniform", {}), ("edm", {}), ("edm", {"rho": 3.0, "sigma_min": 0.01, "sigma_max": 20.0}),
       ("shift", {"s": 3.0}), ("shift", {"s": 1 / 3})]


@pytest.mark.parametrize("name,kw", ALL)
@pytest.mark.parametrize("n", [1, 2, 3, 10, 64])
def test_grid_shape_endpoints_monotone(name, kw, n):
    """Every schedule returns (N + 1,) float64 with t_0 = 0 and t_N = 1 exactly, strictly increasing."""
    grid = schedules.get(name, n, **kw)
    assert grid.shape == (n + 1,) and grid.dtype == torch.float64
    assert grid[0].item() == 0.0 and grid[-1].item() == 1.0
    assert (grid[1:] > grid[:-1]).all(), grid
    validate.check_grid(grid)  # the samplers accept it


def test_uniform_is_the_one_uniform_grid():
    """schedules.uniform is t_i = i / N (float64 by default, or the dtype asked for); the solvers have no grid."""
    torch.testing.assert_close(schedules.uniform(8), torch.arange(9, dtype=torch.float64) / 8, rtol=0, atol=1e-15)
    assert schedules.uniform(4, dtype=torch.float32).dtype == torch.float32
    assert not hasattr(solvers, "uniform_grid")


@pytest.mark.parametrize("s", [0.25, 1 / 3, 2.0, 3.0, 10.0])
def test_shift_multiplies_sigma_by_s(s):
    """SD3 shift: sigma' = (1 - t')/t' equals s · sigma of the uniform grid at every interior point."""
    n = 16
    t, t_shift = schedules.uniform(n)[1:-1], schedules.shift(n, s)[1:-1]
    sigma, sigma_shift = (1 - t) / t, (1 - t_shift) / t_shift
    torch.testing.assert_close(sigma_shift, s * sigma, rtol=1e-12, atol=0)


def test_shift_one_is_uniform_and_direction():
    """s = 1 is the uniform grid; s > 1 moves points toward the noise (t smaller), s < 1 toward the data."""
    u = schedules.uniform(10)
    torch.testing.assert_close(schedules.shift(10, 1.0), u, rtol=0, atol=1e-15)
    assert (schedules.shift(10, 3.0)[1:-1] < u[1:-1]).all()
    assert (schedules.shift(10, 1 / 3)[1:-1] > u[1:-1]).all()


@pytest.mark.parametrize("n,rho,smin,smax", [(18, 7.0, 0.002, 80.0), (5, 3.0, 0.05, 10.0), (2, 7.0, 0.002, 80.0)])
def test_edm_interior_points_are_the_rho_sigmas(n, rho, smin, smax):
    """EDM: interior t_i = 1/(1 + sigma_i), sigma_i = (smax^(1/ρ) + i/(N-1)(smin^(1/ρ) - smax^(1/ρ)))^ρ, i = 1..N-1."""
    grid = schedules.edm_rho(n, sigma_min=smin, sigma_max=smax, rho=rho)
    expected = []
    for i in range(1, n):
        sigma = (smax ** (1 / rho) + i / (n - 1) * (smin ** (1 / rho) - smax ** (1 / rho))) ** rho
        expected.append(1 / (1 + sigma))
    torch.testing.assert_close(grid[1:-1], torch.tensor(expected, dtype=torch.float64), rtol=1e-13, atol=0)
    assert abs(grid[-2].item() - 1 / (1 + smin)) < 1e-14  # the last interior point is sigma_min


def test_edm_spends_steps_at_low_noise_in_sigma():
    """The rho-grid's sigma steps shrink toward the data: |Δsigma| decreases along the grid."""
    t = schedules.edm_rho(12)[1:-1]
    dsigma = ((1 - t) / t).diff().abs()
    assert (dsigma[1:] < dsigma[:-1]).all()


@pytest.mark.parametrize("call,match", [
    (lambda: schedules.uniform(0), "n_steps"),
    (lambda: schedules.uniform(2.0), "n_steps"),
    (lambda: schedules.uniform(True), "n_steps"),
    (lambda: schedules.edm_rho(4, rho=0.0), "rho"),
    (lambda: schedules.edm_rho(4, sigma_min=0.0), "sigma_min"),
    (lambda: schedules.edm_rho(4, sigma_min=5.0, sigma_max=1.0), "sigma_min < sigma_max"),
    (lambda: schedules.shift(4, 0.0), "s must"),
    (lambda: schedules.shift(4, -2.0), "s must"),
    (lambda: schedules.shift(4, float("nan")), "s must"),
    (lambda: schedules.get("cosine", 4), "unknown schedule"),
])
def test_bad_input_raises(call, match):
    """Bad parameters give a ValueError naming the problem."""
    with pytest.raises(ValueError, match=match):
        call()
