"""The package's measurements behind the experiment exercises of notebooks 1-4, checked against analytic truth, and
the notebooks' readings of them on 5 seeds."""
import math

import pytest
import torch

from cs280diff.flows import experiments, metrics, mixtures, schedules, solvers

SEEDS = range(5)


# ----------------------------------------------------------------------------------- notebook 1: swap_fraction
def test_swap_fraction_reference_values():
    """0 for an increasing map, 1 for a decreasing one, 1/2 (within 4 sd) for an end independent of the start."""
    g = torch.Generator().manual_seed(0)
    a = torch.randn(4000, 1, generator=g, dtype=torch.float64)
    assert experiments.swap_fraction(a, 2 * a + 1) == 0.0
    assert experiments.swap_fraction(a, -(a**3)) == 1.0
    b = torch.randn(4000, 1, generator=g, dtype=torch.float64)
    sd = math.sqrt((4000 + 1) / 12) / 3999  # descents of a random permutation: variance (n + 1) / 12
    assert abs(experiments.swap_fraction(a, b) - 0.5) < 4 * sd
    with pytest.raises(ValueError, match="shape"):
        experiments.swap_fraction(a, b[:10])


@pytest.mark.parametrize("seed", SEEDS)
def test_the_marginal_flow_never_swaps_and_straight_paths_end_at_one_half(seed):
    """Notebook 1, section 5: on the lecture's 1D mixture, 200 Euler steps of the exact field swap no neighbour pair
    at any time; straight paths of random pairs end near 1/2."""
    mix = mixtures.lecture_1d()
    g = torch.Generator().manual_seed(seed)
    x1 = mix.sample(4000, g)
    x0 = torch.randn(x1.shape, generator=g)
    _, traj = solvers.sample(mix, x0, schedules.uniform(200), return_trajectory=True)
    assert max(experiments.swap_fraction(x0, x) for x in traj[::10]) == 0.0
    assert abs(experiments.swap_fraction(x0, x1) - 0.5) < 0.05


# ----------------------------------------------------------------------------------- notebook 2: field_error_by_time
def test_field_error_by_time_analytic_ends_and_the_exact_field():
    """The exact field has no error; the floor is Var[x1] (per coordinate) at t = 0 and Var[x0] = 1 at t = 1, and
    (notebook 2) it first rises, E Var[x1 | x_t] / (1 - t)^2 with a posterior that narrows slowly at first."""
    mix = mixtures.lecture_1d()
    err, floor = experiments.field_error_by_time(mix, mix, [0.0, 0.2, 1.0], 200_000, 0)
    assert err.dtype == torch.float64 and err.abs().max() < 1e-10
    var_x1 = mix.covariance().item()
    assert floor[0].item() == pytest.approx(var_x1, rel=0.02)
    assert floor[2].item() == pytest.approx(1.0, rel=0.02)
    assert floor[1] > 1.1 * floor[0]  # measured 4.55 against 3.59


def test_field_error_by_time_is_the_loss_decomposition():
    """On the same draws, loss(t) = field error + floor up to the cross term, which is Monte-Carlo noise."""
    mix = mixtures.ring_2d()
    soft = mix.tempered(2.0)
    err, floor = experiments.field_error_by_time(soft, mix, [0.3, 0.8], 100_000, 1)
    for i, t in enumerate([0.3, 0.8]):
        g = torch.Generator().manual_seed(1 + i)
        x1 = mix.sample(100_000, g)
        x0 = torch.randn(x1.shape, generator=g)
        tv = torch.full((100_000,), t)
        loss = ((soft((1 - t) * x0 + t * x1, tv) - (x1 - x0)) ** 2).mean().item()
        assert loss == pytest.approx(err[i].item() + floor[i].item(), rel=0.02)
    assert (err > 0).all()


# ----------------------------------------------------------------------------------- notebook 3: crossover_nfe
def test_crossover_nfe():
    nfes = [2, 4, 8, 16]
    assert experiments.crossover_nfe(nfes, [1, 1, 1, 1], [0.5, 2, 0.5, 0.5]) == 8
    assert experiments.crossover_nfe(nfes, [1, 1, 1, 1], [0.5, 0.5, 0.5, 0.5]) == 2
    assert experiments.crossover_nfe(nfes, [1, 1, 1, 1], [0.5, 0.5, 0.5, 2]) is None
    with pytest.raises(ValueError, match="increasing"):
        experiments.crossover_nfe([4, 2], [1, 1], [1, 1])


def test_heun_overtakes_euler_on_the_exact_ring():
    """Notebook 3, section 4: from about 16 NFE on, Heun is ahead of Euler for good (exact ring, uniform grid)."""
    ring = mixtures.ring_2d()
    x0 = torch.randn(64, 2, generator=torch.Generator().manual_seed(0), dtype=torch.float64)
    x_ref = solvers.reference_solution(ring, x0)
    nfes = [4, 8, 16, 32, 64, 128]
    euler = [metrics.mean_endpoint_error(solvers.sample(ring, x0, schedules.uniform(n)), x_ref) for n in nfes]
    heun = [metrics.mean_endpoint_error(solvers.sample(ring, x0, schedules.uniform(n // 2), step=solvers.heun_step),
                                        x_ref) for n in nfes]
    assert experiments.crossover_nfe(nfes, euler, heun) in (8, 16, 32)


# ----------------------------------------------------------------------------------- notebook 4: eta_sweep
def test_eta_sweep_with_eta_zero_is_the_euler_ode_and_noise_is_fresh():
    ring = mixtures.ring_2d()
    x0 = torch.randn(200, 2, generator=torch.Generator().manual_seed(0))
    ed = lambda x: metrics.energy_distance_to_mixture(x, ring)  # noqa: E731
    scores, best = experiments.eta_sweep(ring, [0.0, 1.0, 1.0], 16, x0, 3, ed)
    assert scores[0].item() == pytest.approx(ed(solvers.sample(ring, x0, schedules.uniform(16))), rel=1e-12)
    assert scores[1] != scores[2]  # the same eta twice: different (fresh) noise
    assert best == [0.0, 1.0, 1.0][int(scores.argmin())]
    with pytest.raises(ValueError):
        experiments.eta_sweep(ring, [], 16, x0, 3, ed)


@pytest.fixture(scope="module")
def sweeps():
    """Notebook 4's sweep (share off the modes) at NFE 16 and 128, on 5 seeds, 1000 samples."""
    ring = mixtures.ring_2d()
    fields = {"exact": ring, "tempered": ring.tempered(2.0)}
    off = lambda x: 1 - metrics.fraction_near_modes(x, ring)  # noqa: E731
    out = {}
    for seed in SEEDS:
        x0 = torch.randn(1000, 2, generator=torch.Generator().manual_seed(seed))
        for f, field in fields.items():
            for n in (16, 128):
                out[f, n, seed] = experiments.eta_sweep(field, [0.0, 0.5, 2.0, 8.0], n, x0, 100 * seed + n, off)
    return out


def test_exact_field_the_ode_is_as_good_as_any_noise_level(sweeps):
    """Within 3 standard deviations of the share off the modes of 1000 true samples (about 1.1%: sd 0.33%)."""
    for seed in SEEDS:
        for n in (16, 128):
            scores, _ = sweeps["exact", n, seed]
            assert scores[0] <= scores.min() + 3 * math.sqrt(0.011 * 0.989 / 1000), (seed, n, scores)


def test_large_noise_at_few_steps_hurts(sweeps):
    for seed in SEEDS:
        for f in ("exact", "tempered"):
            scores, _ = sweeps[f, 16, seed]
            assert scores[3] > 3 * scores.min(), (f, seed, scores)


def test_tempered_field_the_best_noise_level_is_positive_and_grows(sweeps):
    for seed in SEEDS:
        scores, best = sweeps["tempered", 128, seed]
        assert best > 0 and scores.min() < scores[0] / 3, (seed, scores)
        assert sweeps["tempered", 128, seed][1] >= sweeps["tempered", 16, seed][1], seed
