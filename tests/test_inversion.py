"""Inversion (notebook 5's package pieces): the same steps on a reversed grid, the implicit fixed-point step, latent
diagnostics; against ODEs with known solutions and the exact ring."""
import math

import pytest
import torch

from cs280diff.flows import inversion, mixtures, schedules, solvers


def _decay(x, t):
    """dx/dt = -x: x(t) = x(0) e^(-t)."""
    return -x


def test_invert_is_sample_on_the_reversed_grid():
    """Explicit Euler backwards on dx/dt = -x multiplies by (1 + h) per step; Heun's inverse tends to e^1."""
    x1 = torch.randn(5, 3, generator=torch.Generator().manual_seed(0), dtype=torch.float64)
    grid = schedules.uniform(10)
    torch.testing.assert_close(inversion.invert(_decay, x1, grid), x1 * 1.1**10, rtol=1e-12, atol=0)
    z = inversion.invert(_decay, x1, schedules.uniform(200), step=solvers.heun_step)
    torch.testing.assert_close(z, x1 * math.e, rtol=1e-5, atol=0)  # second order: error ~ h^2 / 6
    same = solvers.sample(_decay, x1, grid.flip(0), backward=True)
    torch.testing.assert_close(inversion.invert(_decay, x1, grid), same, rtol=0, atol=0)


def test_naive_round_trip_error_is_first_order():
    """Euler there and back on dx/dt = -x: x1 (1 - h)^N (1 + h)^N = x1 (1 - h^2)^N, an O(h) error."""
    x1 = torch.ones(1, 1, dtype=torch.float64)
    for n in (10, 100):
        _, back = inversion.round_trip(_decay, x1, schedules.uniform(n))
        assert back.item() == pytest.approx((1 - 1 / n**2) ** n, rel=1e-12)


def test_sample_runs_backwards_only_when_asked():
    x = torch.zeros(2, 2)
    down = torch.tensor([1.0, 0.5, 0.0], dtype=torch.float64)
    with pytest.raises(ValueError, match="inversion.invert"):
        solvers.sample(_decay, x, down)
    with pytest.raises(ValueError, match="strictly decreasing"):
        solvers.sample(_decay, x, down.flip(0), backward=True)


def test_fixed_point_step_inverts_a_forward_euler_step_exactly():
    """On dx/dt = -x the iteration contracts with rate h: 30 iterations at h = 0.1 leave 1e-30 of the error."""
    x = torch.randn(4, 2, generator=torch.Generator().manual_seed(1), dtype=torch.float64)
    x_next = solvers.euler_step(_decay, x, 0.3, 0.4)
    back, delta, nfe = inversion.fixed_point_step(_decay, x_next, 0.3, 0.4, iters=30)
    torch.testing.assert_close(back, x, rtol=1e-13, atol=1e-13)
    assert nfe == 30 and delta.max() < 1e-12
    _, _, early = inversion.fixed_point_step(_decay, x_next, 0.3, 0.4, iters=100, tol=1e-10)
    assert early < 15  # stops once every sample has converged


def test_fixed_point_inversion_on_the_exact_ring_at_50_steps():
    """50 uniform steps, 2000 ring samples, Euclidean error of the Euler round trip per sample.  With 10 iterations
    the tail is iteration-limited: 98.2 % of the samples are within 1e-5, p99 3.0e-5 (the issue's prototype: p99
    2.6e-5, so its target "<= 1e-5 for >= 99 %" needs 20 iterations: 99.75 %).  Naive inversion: 1.7e-2 on average."""
    ring = mixtures.ring_2d()
    x1 = ring.sample(2000, torch.Generator().manual_seed(0), dtype=torch.float64)
    grid = schedules.uniform(50)
    z, info = inversion.fixed_point_invert(ring, x1, grid, iters=10)
    error = (solvers.sample(ring, z, grid) - x1).norm(dim=1)
    assert (error <= 1e-5).double().mean() >= 0.98 and torch.quantile(error, 0.99) <= 5e-5
    assert info["nfe"] == 500
    z20, _ = inversion.fixed_point_invert(ring, x1, grid, iters=20)
    assert ((solvers.sample(ring, z20, grid) - x1).norm(dim=1) <= 1e-5).double().mean() >= 0.99
    _, naive = inversion.round_trip(ring, x1, grid)
    assert (naive - x1).norm(dim=1).mean() > 1e-2


def test_fixed_point_fails_where_the_field_is_stiff():
    """At 10 steps the iteration does not contract for many samples (prototype: 24 % with error > 1e-3), and those
    are the samples with the largest last update: delta flags them."""
    ring = mixtures.ring_2d()
    x1 = ring.sample(1000, torch.Generator().manual_seed(0), dtype=torch.float64)
    grid = schedules.uniform(10)
    z, info = inversion.fixed_point_invert(ring, x1, grid, iters=10)
    error = (solvers.sample(ring, z, grid) - x1).norm(dim=1)
    failed = error > 1e-3
    assert 0.05 < failed.double().mean() < 0.6
    assert info["delta"][failed].median() > 100 * info["delta"][~failed].median()


def test_latent_stats():
    g = torch.Generator().manual_seed(2)
    z = torch.randn(2000, 2, generator=g, dtype=torch.float64)
    s = inversion.latent_stats(z, z_exact=z + 0.1)
    assert abs(s["mean"]) < 0.05 and abs(s["std"] - 1) < 0.05 and s["ks"] < 0.03
    assert s["error"] == pytest.approx(0.1 * math.sqrt(2), rel=1e-9)
    assert inversion.latent_stats(0.5 * z)["ks"] > 0.1  # too narrow to be N(0, I)
    with pytest.raises(ValueError, match="same shape"):
        inversion.latent_stats(z, z_exact=z[:10])


def test_a_small_round_trip_is_not_an_accurate_inversion():
    """Exact ring, naive Euler at 4 steps per direction: round trip 0.11 but latent error 0.58 against the exact
    inverse (DOP853 from t = 1 back to 0) and latent std 0.50 (the issue's prototype: 0.11, 0.59, 0.50); the exact
    latents are N(0, I) to the sampling noise."""
    ring = mixtures.ring_2d()
    x1 = ring.sample(1000, torch.Generator().manual_seed(0), dtype=torch.float64)
    z_exact = solvers.reference_solution(ring, x1, t_span=(1.0, 0.0))
    exact = inversion.latent_stats(z_exact)
    assert abs(exact["std"] - 1) < 0.05 and exact["ks"] < 0.04
    z, back = inversion.round_trip(ring, x1, schedules.uniform(4))
    trip, latent = (back - x1).norm(dim=1).mean().item(), inversion.latent_stats(z, z_exact)
    assert latent["error"] > 4 * trip and latent["std"] < 0.6
