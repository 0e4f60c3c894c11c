"""The claims notebook 3 (ODE solvers and schedules) makes in words, measured with the package's solvers.

Exact Gaussian-mixture fields only (truncation error), float64, 64 noise samples, DOP853 references.  The notebook
prints the same measurements with 256 samples; these thresholds hold with room to spare (see the numbers in the
assertion messages).  Conventions: t = 0 noise, t = 1 data; sigma = (1 - t) / t.
"""
from __future__ import annotations

import pytest
import torch

from cs280diff.flows import metrics, mixtures, schedules, solvers

STEPS = {"euler": (solvers.euler_step, 1), "heun": (solvers.heun_step, 2)}
GRIDS = {"uniform_t": schedules.uniform, "uniform_sigma": lambda n: schedules.edm_rho(n, rho=1.0),
         "rho7": schedules.edm_rho}


@pytest.fixture(scope="module")
def problems():
    """{name: (mixture, x0 (64, 2) float64, exact endpoints)} for the standard ring (s = 0.1) and the narrow ring."""
    x0 = torch.randn(64, 2, generator=torch.Generator().manual_seed(0), dtype=torch.float64)
    out = {}
    for name, mix in (("ring", mixtures.ring_2d()), ("narrow", mixtures.ring_2d(std=0.01))):
        out[name] = (mix, x0, solvers.reference_solution(mix, x0))
    return out


def _error(problem, solver: str, grid: str, nfe: int) -> float:
    mix, x0, ref = problem
    step, per = STEPS[solver]
    return metrics.mean_endpoint_error(solvers.sample(mix, x0, GRIDS[grid](nfe // per), step=step), ref)


@pytest.mark.parametrize("name", ["ring", "narrow"])
@pytest.mark.parametrize("solver", ["euler", "heun"])
def test_uniform_sigma_fails_and_rho_rescues_it(problems, name, solver):
    """At 32 NFE uniform steps in sigma are >= 20x worse than uniform in t; rho = 7 is >= 20x better than rho = 1."""
    e = {g: _error(problems[name], solver, g, 32) for g in GRIDS}
    assert e["uniform_sigma"] > 0.3, e  # of order one: not a fraction of a mode width
    assert e["uniform_sigma"] >= 20 * e["uniform_t"], e
    assert e["uniform_sigma"] >= 20 * e["rho7"], e


def test_uniform_t_is_already_decent_on_the_standard_ring(problems):
    """On the s = 0.1 ring uniform-in-t beats rho = 7 at 32 NFE (Euler by >= 1.5x; Heun not worse)."""
    ring = problems["ring"]
    euler = {g: _error(ring, "euler", g, 32) for g in ("uniform_t", "rho7")}
    heun = {g: _error(ring, "heun", g, 32) for g in ("uniform_t", "rho7")}
    assert euler["rho7"] >= 1.5 * euler["uniform_t"], euler
    assert heun["rho7"] >= heun["uniform_t"], heun


def test_rho_schedule_wins_on_the_narrow_ring(problems):
    """On the s = 0.01 ring rho = 7 beats uniform-in-t at 32 NFE: Euler by >= 2x, Heun by >= 5x."""
    narrow = problems["narrow"]
    euler = {g: _error(narrow, "euler", g, 32) for g in ("uniform_t", "rho7")}
    heun = {g: _error(narrow, "heun", g, 32) for g in ("uniform_t", "rho7")}
    assert euler["uniform_t"] >= 2 * euler["rho7"], euler
    assert heun["uniform_t"] >= 5 * heun["rho7"], heun


def test_when_heun_pays_off_on_the_exact_ring(problems):
    """Uniform grid, exact ring: Euler wins at 4 and 8 NFE, Heun from 16 NFE on and by >= 10x at 512 NFE."""
    ring = problems["ring"]
    e = {(s, n): _error(ring, s, "uniform_t", n) for s in STEPS for n in (4, 8, 16, 32, 512)}
    assert e["heun", 4] > e["euler", 4] and e["heun", 8] > e["euler", 8], e
    assert e["heun", 16] < e["euler", 16] and e["heun", 32] < e["euler", 32], e
    assert e["euler", 512] >= 10 * e["heun", 512], e


def test_heun_loses_to_euler_on_the_narrow_ring_with_a_uniform_grid(problems):
    """Where the field changes faster than the step (narrow modes near t = 1), Heun at 32 NFE is worse than Euler."""
    narrow = problems["narrow"]
    assert _error(narrow, "heun", "uniform_t", 32) > _error(narrow, "euler", "uniform_t", 32)


def _local_errors(mix, x0, grid, step):
    """One step from the exact state at t_i vs the exact state at t_{i+1}, for every step of the grid."""
    x, errors = x0, []
    times = grid.tolist()
    for t, t_next in zip(times[:-1], times[1:]):
        x_exact = solvers.reference_solution(mix, x, t_span=(t, t_next), rtol=1e-10, atol=1e-10)
        errors.append(metrics.mean_endpoint_error(step(mix, x, t, t_next), x_exact))
        x = x_exact
    return errors


def test_where_the_local_error_is_made(problems):
    """Uniform-in-sigma's worst step is its one long step (t ~0.16 -> 0.998); uniform-in-t's worst on the narrow ring
    with Heun is the last step (into t = 1)."""
    mix, x0, _ = problems["ring"]
    x0 = x0[:16]
    grid = schedules.edm_rho(16, rho=1.0)
    errors = _local_errors(mix, x0, grid, solvers.euler_step)
    worst = max(range(len(errors)), key=errors.__getitem__)
    assert grid[worst].item() < 0.2 and grid[worst + 1].item() > 0.99, (worst, grid.tolist())
    assert errors[worst] > 50 * sorted(errors)[-2] and errors[worst] > 0.3, errors
    narrow, x0n, _ = problems["narrow"]
    errors = _local_errors(narrow, x0n[:16], schedules.uniform(16), solvers.heun_step)
    assert max(range(16), key=errors.__getitem__) == 15, errors


def test_grid_shapes_described_in_the_notebook():
    """uniform-in-sigma with 16 steps jumps from t ~0.16 to 1/(1 + sigma_min); rho = 7's last points are near 1."""
    g = schedules.edm_rho(16, rho=1.0)
    assert 0.15 < g[14].item() < 0.17 and abs(g[15].item() - 1 / 1.002) < 1e-12
    r = schedules.edm_rho(16)
    assert [round(v, 2) for v in r[-4:-1].tolist()] == [0.97, 0.99, 1.0] and round(r[-2].item(), 3) == 0.998
