"""Metrics against analytic values: W1 of shifted Gaussians, sliced W1 of a 2D shift, energy distance of 1D
Gaussians in closed form, endpoint errors, and the convergence order of synthetic power laws."""
from __future__ import annotations

import math

import pytest
import torch

from cs280diff.flows import metrics, mixtures


def _normal(n, d, seed, dtype=torch.float64):
    return torch.randn(n, d, generator=torch.Generator().manual_seed(seed), dtype=dtype)


# ----------------------------------------------------------------------------------------------- existing helpers
def test_wasserstein_1d_shift_and_cdf():
    """W1(N(0,1), N(m,1)) = m, both between sample sets and against the exact CDF."""
    a, b = _normal(20_000, 1, 0), _normal(20_000, 1, 1) + 0.7
    assert abs(metrics.wasserstein_1d(a, b) - 0.7) < 0.03
    gauss = mixtures.GaussianMixture([[0.7]], 1.0)
    assert abs(metrics.wasserstein_1d_to_cdf(b, gauss.cdf_1d)) < 0.03


# ----------------------------------------------------------------------------------------------- sliced Wasserstein
def test_sliced_wasserstein_identical_sets_is_zero():
    """Identical sets (in any order) are at distance 0."""
    a = _normal(500, 3, 0)
    assert metrics.sliced_wasserstein(a, a[torch.randperm(500)], generator=torch.Generator().manual_seed(0)) < 1e-12


def test_sliced_wasserstein_1d_is_w1():
    """In 1D every direction is ±1, so SW1 of N(0,1) vs N(m,1) is W1 = m (sample noise < 0.03 at n = 20k)."""
    a, b = _normal(20_000, 1, 0), _normal(20_000, 1, 1) + 1.25
    sw = metrics.sliced_wasserstein(a, b, n_projections=8, generator=torch.Generator().manual_seed(0))
    assert abs(sw - 1.25) < 0.03
    assert math.isclose(sw, metrics.wasserstein_1d(a, b), rel_tol=1e-12)


def test_sliced_wasserstein_2d_shift_is_2m_over_pi():
    """For b = a + m in 2D, W1 along θ is exactly |θ·m|; its mean over the circle is 2|m|/π (2%, 16384 directions)."""
    a = _normal(64, 2, 0)
    m = torch.tensor([1.2, -1.6], dtype=torch.float64)  # |m| = 2
    sw = metrics.sliced_wasserstein(a, a + m, n_projections=16_384, generator=torch.Generator().manual_seed(1))
    assert abs(sw - 4 / math.pi) < 0.02 * 4 / math.pi, sw
    sw_3d = metrics.sliced_wasserstein(_normal(64, 3, 0), _normal(64, 3, 0) + 2.0 / math.sqrt(3), 16_384,
                                       torch.Generator().manual_seed(2))
    assert abs(sw_3d - 1.0) < 0.02, sw_3d  # in 3D, E|cos| = 1/2, so SW1 = |m| / 2 = 1


def test_sliced_wasserstein_reproducible_and_checked():
    """Same generator seed -> same value; unequal sizes, wrong feature counts and NaN raise."""
    a, b = _normal(100, 2, 0), _normal(100, 2, 1)
    f = lambda: metrics.sliced_wasserstein(a, b, 16, torch.Generator().manual_seed(5))  # noqa: E731
    assert f() == f()
    with pytest.raises(ValueError, match="same number of samples"):
        metrics.sliced_wasserstein(a, b[:50])
    with pytest.raises(ValueError, match="features"):
        metrics.sliced_wasserstein(a, _normal(100, 3, 1))
    with pytest.raises(ValueError, match="NaN"):
        metrics.sliced_wasserstein(a, torch.full((100, 2), float("nan")))
    with pytest.raises(ValueError, match="n_projections"):
        metrics.sliced_wasserstein(a, b, n_projections=0)


# ----------------------------------------------------------------------------------------------- energy distance
def _energy_gauss_1d(delta: float, sigma: float) -> float:
    """Closed form for N(0, σ²) vs N(Δ, σ²): 2 E|X - Y| - 2 E|X - X'|, X - Y ~ N(Δ, 2σ²), E|X - X'| = 2σ/√π."""
    s = math.sqrt(2) * sigma
    e_xy = s * math.sqrt(2 / math.pi) * math.exp(-delta**2 / (2 * s**2)) + delta * math.erf(delta / (math.sqrt(2) * s))
    return 2 * e_xy - 4 * sigma / math.sqrt(math.pi)


def test_energy_distance_identical_is_zero():
    """The V-statistic of a set against itself is exactly 0 (up to rounding)."""
    a = _normal(300, 2, 0)
    assert metrics.energy_distance(a, a.flip(0)) < 1e-12


@pytest.mark.parametrize("delta", [0.5, 1.0, 2.0])
def test_energy_distance_of_1d_gaussians_matches_closed_form(delta):
    """ED(N(0,1), N(Δ,1)) from 3000 samples each is within 0.04 of the closed form (values 0.14 .. 1.8)."""
    a, b = _normal(3000, 1, 0), _normal(3000, 1, 1) + delta
    ed = metrics.energy_distance(a, b, chunk=700)
    assert abs(ed - _energy_gauss_1d(delta, 1.0)) < 0.04, (ed, _energy_gauss_1d(delta, 1.0))


def test_energy_distance_chunking_and_unequal_sizes():
    """Chunk size does not change the value; unequal sample counts are allowed."""
    a, b = _normal(257, 2, 0), _normal(100, 2, 1) + 0.5
    assert math.isclose(metrics.energy_distance(a, b, chunk=1), metrics.energy_distance(a, b), rel_tol=1e-10)
    with pytest.raises(ValueError, match="features"):
        metrics.energy_distance(a, _normal(10, 3, 2))


# ----------------------------------------------------------------------------------------------- endpoint error
def test_endpoint_error_per_sample():
    """Per-sample Euclidean norm over all non-batch dims: a (3, 2, 2) batch with known differences."""
    ref = torch.zeros(3, 2, 2)
    x = ref.clone()
    x[0, 0, 0], x[1] = 3.0, 1.0  # |.| = 3 and sqrt(4) = 2
    x[2, 0, 1], x[2, 1, 0] = 3.0, 4.0  # |.| = 5
    torch.testing.assert_close(metrics.endpoint_error(x, ref), torch.tensor([3.0, 2.0, 5.0], dtype=torch.float64))
    assert metrics.mean_endpoint_error(x, ref) == pytest.approx(10 / 3)
    assert metrics.median_endpoint_error(x, ref) == pytest.approx(3.0)
    with pytest.raises(ValueError, match="same shape"):
        metrics.endpoint_error(x, ref[:2])


# ----------------------------------------------------------------------------------------------- convergence order
@pytest.mark.parametrize("p", [0.5, 1.0, 2.0, 4.0])
def test_convergence_order_recovers_power_law(p):
    """err = C NFE^-p exactly gives order p; multiplicative noise of ±5% moves it by less than 0.05."""
    nfe = [8, 16, 32, 64, 128, 256]
    assert metrics.convergence_order(nfe, [3.0 * n**-p for n in nfe]) == pytest.approx(p, abs=1e-12)
    noisy = [3.0 * n**-p * (1.05 if i % 2 else 0.95) for i, n in enumerate(nfe)]
    assert abs(metrics.convergence_order(torch.tensor(nfe), torch.tensor(noisy)) - p) < 0.05


@pytest.mark.parametrize("nfes,errors", [([8], [0.1]), ([8, 8], [0.1, 0.2]), ([8, 16], [0.1]),
                                         ([8, 16], [0.1, 0.0]), ([8, -16], [0.1, 0.2]),
                                         ([8, 16], [0.1, float("nan")])])
def test_convergence_order_bad_input(nfes, errors):
    """Too few or repeated NFEs, mismatched lengths, zeros, negatives and NaN raise ValueError."""
    with pytest.raises(ValueError):
        metrics.convergence_order(nfes, errors)
