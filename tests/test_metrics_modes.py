"""Metrics that show where samples land: mode assignment, per-mode mass, the exact energy distance to a mixture and
the sampling-noise floors, checked against closed forms and Monte Carlo."""
from __future__ import annotations

import math

import pytest
import torch

from cs280diff.flows import metrics, mixtures


def _gen(seed):
    return torch.Generator().manual_seed(seed)


def test_mean_norm_gaussian_closed_forms_match_monte_carlo():
    """E|z| for z ~ N(m, s² I_D), D = 1 and 2, against 400k Monte-Carlo samples (4 standard errors)."""
    g = _gen(0)
    for dim in (1, 2):
        for m_norm, s in ((0.0, 1.0), (0.3, 0.5), (2.0, 0.7), (5.0, 0.1)):
            m = torch.zeros(dim, dtype=torch.float64)
            m[0] = m_norm
            z = m + s * torch.randn(400_000, dim, generator=g, dtype=torch.float64)
            norms = z.norm(dim=1)
            exact = metrics._mean_norm_gaussian(m, torch.tensor(s**2, dtype=torch.float64), dim).item()
            assert abs(exact - norms.mean().item()) < 4 * norms.std().item() / math.sqrt(4e5), (dim, m_norm, s)
    # limits: Rayleigh / half-normal means at m = 0, |m| far from the noise, and no overflow far away
    var = torch.tensor(1.0, dtype=torch.float64)
    assert metrics._mean_norm_gaussian(torch.zeros(2, dtype=torch.float64), var, 2).item() == pytest.approx(
        math.sqrt(math.pi / 2))
    assert metrics._mean_norm_gaussian(torch.zeros(1, dtype=torch.float64), var, 1).item() == pytest.approx(
        math.sqrt(2 / math.pi))
    far = metrics._mean_norm_gaussian(torch.tensor([1e4, 0.0], dtype=torch.float64), torch.tensor(1e-4), 2)
    assert far.item() == pytest.approx(1e4, rel=1e-8)
    with pytest.raises(ValueError, match="D = 1 and 2"):
        metrics._mean_norm_gaussian(torch.zeros(3), var, 3)


@pytest.mark.parametrize("make", [mixtures.ring_2d, mixtures.lecture_1d])
def test_mixture_self_distance_matches_monte_carlo(make):
    mix = make()
    g = _gen(1)
    a, b = mix.sample(300_000, g, dtype=torch.float64), mix.sample(300_000, g, dtype=torch.float64)
    d = (a - b).norm(dim=1)
    assert abs(metrics.mixture_self_distance(mix) - d.mean().item()) < 4 * d.std().item() / math.sqrt(3e5)


def test_energy_distance_to_mixture_matches_sample_based_and_floor():
    """The exact ED agrees with metrics.energy_distance against many reference samples; for true samples its mean
    over repeats is the floor E|Y - Y'| / n; a shifted set is far above it."""
    mix = mixtures.ring_2d()
    g = _gen(2)
    x = mix.sample(500, g, dtype=torch.float64) + torch.tensor([0.5, 0.0], dtype=torch.float64)
    ref = mix.sample(10_000, g, dtype=torch.float64)
    exact = metrics.energy_distance_to_mixture(x, mix)
    approx = metrics.energy_distance(x, ref)  # the reference adds its own E|Y - Y'| / m noise
    assert abs(exact - approx) < 0.1 * exact + 3 * metrics.energy_floor(mix, 10_000), (exact, approx)
    floor = metrics.energy_floor(mix, 500)
    assert exact > 10 * floor
    vals = torch.tensor([metrics.energy_distance_to_mixture(mix.sample(500, g), mix) for _ in range(100)])
    assert abs(vals.mean().item() - floor) < 4 * vals.std().item() / math.sqrt(100), (vals.mean(), floor)
    mean, std = metrics.sampling_floor(lambda s: metrics.energy_distance_to_mixture(s, mix), mix, 500, g, repeats=20)
    assert abs(mean - floor) < 4 * std / math.sqrt(20) + 1e-12 and std > 0


def test_energy_distance_to_mixture_1d_and_checks():
    mix = mixtures.lecture_1d()
    x = mix.sample(2000, _gen(3))
    assert metrics.energy_distance_to_mixture(x, mix) < 5 * metrics.energy_floor(mix, 2000)
    assert metrics.energy_distance_to_mixture(x.reshape(2000, 1, 1), mix) == metrics.energy_distance_to_mixture(x, mix)
    with pytest.raises(ValueError, match="D = 1"):
        metrics.energy_distance_to_mixture(torch.zeros(5, 2), mix)
    with pytest.raises(ValueError, match="NaN"):
        metrics.energy_distance_to_mixture(torch.full((5, 1), float("nan")), mix)
    with pytest.raises(ValueError, match="D = 1 and 2"):
        metrics.energy_distance_to_mixture(torch.zeros(5, 3), mixtures.GaussianMixture([[0, 0, 0]], 1.0))
    with pytest.raises(ValueError, match="positive int"):
        metrics.energy_floor(mix, 0)


def test_assign_modes_and_fractions():
    mix = mixtures.ring_2d()  # std 0.1, radius 2
    means = mix.means.float()
    x = torch.cat([means, means + torch.tensor([0.25, 0.0]), torch.zeros(1, 2), 10 * means[:1]])
    k = metrics.assign_modes(x, mix, n_std=3.0)
    assert k[:8].tolist() == list(range(8)) and k[8:16].tolist() == list(range(8))  # at / 2.5 std from the mean
    assert k[16].item() == -1 and k[17].item() == -1  # the centre and far away are off the modes
    assert metrics.assign_modes(means + torch.tensor([0.25, 0.0]), mix, n_std=2.0).eq(-1).all()
    frac = metrics.mode_fractions(x, mix)
    assert frac.shape == (8,) and frac.sum().item() == pytest.approx(16 / 18)
    assert metrics.fraction_near_modes(x, mix) == pytest.approx(16 / 18)
    true = mix.sample(40_000, _gen(4))
    assert abs(metrics.fraction_near_modes(true, mix) - (1 - math.exp(-4.5))) < 0.003  # P(chi_2 <= 3) in 2D
    with pytest.raises(ValueError, match="n_std"):
        metrics.assign_modes(x, mix, n_std=0.0)


def test_mode_masses_and_mass_error():
    mix = mixtures.GaussianMixture([[-2.0], [2.0]], 0.2, [0.25, 0.75])
    x = torch.tensor([[-2.0]] * 25 + [[2.0]] * 75)
    torch.testing.assert_close(metrics.mode_masses(x, mix), torch.tensor([0.25, 0.75], dtype=torch.float64))
    assert metrics.mode_mass_error(x, mix) == 0.0
    y = torch.tensor([[-2.0]] * 50 + [[2.1]] * 50)
    assert metrics.mode_mass_error(y, mix) == pytest.approx(0.25)  # 0.25 of the mass sits on the wrong mode
    g = _gen(5)
    mean, std = metrics.sampling_floor(lambda s: metrics.mode_mass_error(s, mix), mix, 1000, g, repeats=30)
    # floor of the TV of a 2-category multinomial: E|m - π| = sqrt(2 π (1 - π) / (π n)) approximately
    assert mean == pytest.approx(math.sqrt(2 * 0.25 * 0.75 / (math.pi * 1000)), rel=0.35)
    with pytest.raises(ValueError, match="repeats"):
        metrics.sampling_floor(lambda s: 0.0, mix, 10, g, repeats=0)
