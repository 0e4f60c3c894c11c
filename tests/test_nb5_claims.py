"""The claims notebook 5 (inversion and editing) makes in words, measured with the package (not stored outputs).

Exact ring (s = 0.1) with DOP853 latents as the truth; the shipped toy and digits networks; the shipped classifier.
The thresholds hold with room to spare; the numbers the notebook prints are in each assertion's comment.
Conventions: t = 0 noise, t = 1 data.
"""
from __future__ import annotations

import pytest
import torch

from cs280diff.flows import experiments, guidance, inversion, metrics, mixtures, schedules, solvers
from cs280diff.images import digits
from cs280diff.nets import classifiers, registry

RING = mixtures.ring_2d()


@pytest.fixture(scope="module")
def ring_data():
    """2000 ring points and their exact latents: the notebook's sample (seed 0)."""
    x1 = RING.sample(2000, torch.Generator().manual_seed(0), dtype=torch.float64)
    return x1, solvers.reference_solution(RING, x1, t_span=(1.0, 0.0))


def test_round_trip_understates_the_latent_error(ring_data):
    """Euler at 4 NFE per direction: round trip 0.111, latent error 0.583, latent std 0.505 (the issue's prototypes:
    0.11, 0.59, 0.50); Euler and Heun converge at about their orders."""
    x1, z_star = ring_data
    euler = experiments.round_trip_errors(RING, x1, z_star, [4, 8, 16, 32, 64])
    assert euler["round_trip"][0] == pytest.approx(0.11, abs=0.01)
    assert euler["latent"][0] == pytest.approx(0.58, abs=0.03)
    assert (euler["latent"] > 3 * euler["round_trip"]).all()  # at every NFE
    assert 0.6 < euler["order_round_trip"] < 1.2 and 0.7 < euler["order_latent"] < 1.2  # 0.79, 0.89
    std = inversion.latent_stats(inversion.invert(RING, x1, schedules.uniform(4)))["std"]
    assert 0.45 < std < 0.56
    heun = experiments.round_trip_errors(RING, x1, z_star, [8, 16, 32, 64], step=solvers.heun_step)
    assert heun["order_round_trip"] > 1.7 and heun["order_latent"] > 1.5  # 2.27 (4..64), 1.88


def test_fixed_point_round_trip_is_exact_but_its_latents_are_not(ring_data):
    """50 steps x 10 iterations: 98.2 % within 1e-5 (the acceptance asks >= 99 %: it holds with 20 iterations, 99.75
    %, or on a grid with shorter steps near the data, the next test); at 100 steps all; its latent error equals naive Euler's (0.068 vs 0.063 at 50 steps, 0.422 vs 0.287 at 10)."""
    x1, z_star = ring_data
    for n, share_lo in ((50, 0.975), (100, 0.999)):
        grid = schedules.uniform(n)
        z, _ = inversion.fixed_point_invert(RING, x1, grid, iters=10)
        err = metrics.endpoint_error(solvers.sample(RING, z, grid), x1)
        assert (err <= 1e-5).double().mean() >= share_lo
        naive = metrics.mean_endpoint_error(inversion.invert(RING, x1, grid), z_star)
        assert metrics.mean_endpoint_error(z, z_star) >= 0.9 * naive
    z20, _ = inversion.fixed_point_invert(RING, x1, schedules.uniform(50), iters=20)
    assert (metrics.endpoint_error(solvers.sample(RING, z20, schedules.uniform(50)), x1) <= 1e-5).double().mean() >= 0.99


def test_at_50_steps_and_10_iterations_short_steps_near_the_data_make_the_round_trip_exact(ring_data):
    """The notebook's second remedy: the same 50 steps on notebook 3's shift schedule (s = 1/3, last step 0.0068
    instead of 0.02): 99.85 % of the points within 1e-5 against 98.2 % on the uniform grid; latent error 0.078 against
    0.068 (the grid is coarser where trajectories start)."""
    x1, z_star = ring_data
    share, latent = {}, {}
    for name, grid in (("uniform", schedules.uniform(50)), ("shift", schedules.shift(50, 1 / 3))):
        z, _ = inversion.fixed_point_invert(RING, x1, grid, iters=10)
        share[name] = (metrics.endpoint_error(solvers.sample(RING, z, grid), x1) <= 1e-5).double().mean().item()
        latent[name] = metrics.mean_endpoint_error(z, z_star)
    assert share["shift"] >= 0.99 > share["uniform"]
    assert latent["uniform"] <= latent["shift"] < 1.5 * latent["uniform"]


def test_fixed_point_failures_at_10_steps_follow_the_contraction_rate_and_damping_fixes_most(ring_data):
    """10 steps: 22.4 % fail (> 1e-3); 97 % of the points with a worst rate > 1 fail; failures sit twice as far from
    their mode's centre (0.20 vs 0.10); plain 20 iterations 17.8 %, damped (β = 0.5) 20 iterations 1.6 %."""
    x1, _ = ring_data
    grid = schedules.uniform(10)
    times = grid.flip(0).tolist()
    x, rates = x1, []
    for t, t_next in zip(times[:-1], times[1:]):
        x, _, _ = inversion.fixed_point_step(RING, x, t_next, t, iters=10)
        rates.append(inversion.contraction_rate(RING, x, t_next, t - t_next))
    worst = torch.stack(rates, 1).max(1).values
    fail = metrics.endpoint_error(solvers.sample(RING, x, grid), x1) > 1e-3
    assert 0.15 < fail.double().mean() < 0.30
    assert fail[worst > 1].double().mean() > 0.9
    assert worst[fail].median() > worst[~fail].median() + 0.2  # 0.81 vs 0.50
    dist = metrics.endpoint_error(x1, RING.means[RING.posteriors(x1, 1.0).argmax(1)])
    assert dist[fail].mean() > 1.5 * dist[~fail].mean()

    def share_failing(**kw):
        z, _ = inversion.fixed_point_invert(RING, x1, grid, iters=20, **kw)
        return (metrics.endpoint_error(solvers.sample(RING, z, grid), x1) > 1e-3).double().mean().item()

    plain, damped = share_failing(), share_failing(damping=0.5)
    assert plain > 0.12 and damped < 0.04 and damped < plain / 4


def test_equal_nfe_naive_has_the_better_latents(ring_data):
    """100 NFE per direction: fixed point (10 x 10) latent 0.422 against naive (100 steps) 0.032."""
    x1, z_star = ring_data
    z_fp, _ = inversion.fixed_point_invert(RING, x1, schedules.uniform(10), iters=10)
    z_naive = inversion.invert(RING, x1, schedules.uniform(100))
    assert metrics.mean_endpoint_error(z_naive, z_star) * 5 < metrics.mean_endpoint_error(z_fp, z_star)


@pytest.mark.parametrize("name,mix,floor", [("lecture1d_mlp", mixtures.lecture_1d(), 0.01), ("ring_mlp", RING, 0.03)])
def test_learned_latents_stall_while_the_round_trip_falls(name, mix, floor):
    """Heun, 2000 points: at 128 NFE the learned round trip is 1.3e-5 (1D) / 2.3e-5 (2D), below the exact field's,
    while the latent error stays at 0.030 / 0.083 (exact field 1e-4 / 2e-3) from 16 to 128 NFE."""
    net = registry.load_pretrained(name)
    data = mix.sample(2000, torch.Generator().manual_seed(1), dtype=torch.float64)
    z_star = solvers.reference_solution(mix, data, t_span=(1.0, 0.0))

    def field(x, t):
        return net(x.float(), t).double()

    with torch.no_grad():
        learned = experiments.round_trip_errors(field, data, z_star, [8, 64], step=solvers.heun_step)
    exact = experiments.round_trip_errors(mix, data, z_star, [8, 64], step=solvers.heun_step)
    assert learned["round_trip"][1] < 1e-4 and learned["round_trip"][1] < learned["round_trip"][0] / 20
    assert learned["latent"][1] > floor and learned["latent"][1] > 0.7 * learned["latent"][0]  # stalls
    assert exact["latent"][1] < learned["latent"][1] / 10


@pytest.fixture(scope="module")
def digit_test_split():
    return digits.load_digits("test")


@pytest.mark.parametrize("name,n,mse_max", [("digits_mlp", 359, 1e-5), ("digits_unet", 40, 2e-4)])
def test_digits_heun_round_trip_and_latents_that_are_not_noise(digit_test_split, name, n, mse_max):
    """Heun 20 steps per direction: MSE 1.7e-7 (MLP) / 2.0e-5 (UNet, 100 digits) against the acceptance bar 1e-3;
    latent std 1.14 / 0.77, KS 0.06 / 0.12 (true noise 0.007); per-pixel std follows the data's (correlation 0.9)."""
    x, y = digit_test_split[0][:n], digit_test_split[1][:n]
    net = registry.load_pretrained(name)
    grid = schedules.uniform(20)
    with torch.no_grad():
        z = inversion.invert(net, x, grid, step=solvers.heun_step, cond={"y": y})
        back = solvers.sample(net, z, grid, step=solvers.heun_step, cond={"y": y})
    assert ((back - x) ** 2).mean() < mse_max
    stats = inversion.latent_stats(z)
    assert abs(stats["std"] - 1) > 0.1 and stats["ks"] > 0.04
    corr = torch.corrcoef(torch.stack([z.std(0).flatten(), x.std(0).flatten()]))[0, 1]
    assert corr > 0.7


def test_guidance_during_inversion_is_worse(digit_test_split):
    """digits_mlp, Euler 20 steps, 359 digits: round-trip MSE s = 1 2.2e-3, s = 2 4.7e-3, s = 4 2.7e-2."""
    x, y = digit_test_split
    net = registry.load_pretrained("digits_mlp")
    mse = {}
    with torch.no_grad():
        for s in (1.0, 2.0, 4.0):
            field = guidance.cfg_field(net, s)
            _, back = inversion.round_trip(field, x, schedules.uniform(20), cond={"y": y})
            mse[s] = ((back - x) ** 2).mean().item()
    assert mse[2.0] > 1.5 * mse[1.0] and mse[4.0] > 3 * mse[2.0], mse


def test_edits_three_to_eight(digit_test_split):
    """37 held-out 3s, digits_mlp, Heun 20 steps: inversion edit 92 % read as 8 at MSE 0.23; SDEdit accuracy 0.95 ->
    0.05 and MSE 0.41 -> 0.04 as t0 goes 0.2 -> 0.8 (the issue's prototypes: 90-100 %; 0.98 -> 0.05, 0.48 -> 0.05)."""
    x, y = digit_test_split
    threes = x[y == 3]
    net, clf = registry.load_pretrained("digits_mlp"), registry.load_pretrained("digits_classifier")
    src, tgt = torch.full((len(threes),), 3), torch.full((len(threes),), 8)
    with torch.no_grad():
        _, edited = inversion.edit(net, threes, schedules.uniform(20), {"y": src}, {"y": tgt}, step=solvers.heun_step)
        eps = torch.randn(threes.shape, generator=torch.Generator().manual_seed(0))
        sd = {t0: inversion.sdedit(net, threes, t0, noise=eps, n_steps=20, step=solvers.heun_step, cond={"y": tgt})
              for t0 in (0.2, 0.5, 0.8)}
    assert classifiers.accuracy(clf, edited, tgt) >= 0.8
    acc = {t0: classifiers.accuracy(clf, e, tgt) for t0, e in sd.items()}
    mse = {t0: ((e - threes) ** 2).mean().item() for t0, e in sd.items()}
    assert acc[0.2] > 0.85 > acc[0.5] > acc[0.8] and acc[0.8] < 0.2, acc
    assert mse[0.2] > mse[0.5] > mse[0.8] and mse[0.8] < 0.08, mse
    inv_mse = ((edited - threes) ** 2).mean().item()
    assert inv_mse < mse[0.2]  # the inversion edit is more faithful than SDEdit at a comparable accuracy


def test_sdedit_noising_and_grid():
    """x_t0 = (1 - t0) eps + t0 x1; the grid runs from t0 to 1; t0 = 0 is a fresh sample."""
    x1, eps = torch.ones(2, 3, dtype=torch.float64), torch.zeros(2, 3, dtype=torch.float64)
    torch.testing.assert_close(inversion.sdedit_noise(x1, 0.25, eps), 0.25 * x1)
    g = inversion.sdedit_grid(0.4, 3)
    torch.testing.assert_close(g, torch.tensor([0.4, 0.6, 0.8, 1.0], dtype=torch.float64))
    with pytest.raises(ValueError, match="t0"):
        inversion.sdedit_grid(1.0, 3)
    z = torch.randn(5, 2, generator=torch.Generator().manual_seed(0), dtype=torch.float64)
    torch.testing.assert_close(inversion.sdedit(RING, RING.sample(5, dtype=torch.float64), 0.0, noise=z, n_steps=4),
                               solvers.sample(RING, z, schedules.uniform(4)))


def test_cfg_field_is_the_lecture_form():
    """v_s = v_u + s (v_c - v_u): s = 0 unconditional, s = 1 conditional, 2 NFE per call otherwise."""
    def field(x, t, y=None):
        return x * 0 + (0.0 if y is None else 1.0 + y)

    x, y = torch.zeros(3, 2), torch.tensor([0.0, 1.0, 2.0])[:, None]
    torch.testing.assert_close(guidance.cfg_field(field, 0.0)(x, 0.5, y=y), torch.zeros(3, 2))
    torch.testing.assert_close(guidance.cfg_field(field, 1.0)(x, 0.5, y=y), (1 + y).expand(3, 2))
    torch.testing.assert_close(guidance.cfg_field(field, 3.0)(x, 0.5, y=y), 3 * (1 + y).expand(3, 2))
    counter = solvers.NFECounter(field)
    guidance.cfg_field(counter, 2.0)(x, 0.5, y=y)
    assert counter.nfe == 2
