"""Notebook 4's claims about digit images (sections 10 and 11), on fixed seeds; the notebook prints them for one.

The seeding is ``images.studies``': seed s draws the starting noise from manual_seed(s) and the sampler's noise from
manual_seed(1000 + s), the labels are the 359 of the test split.  The numbers in the docstrings were measured with
exactly these settings (``benchmarks/churn_digits.md`` has the full tables); the thresholds are the claims as the
notebook words them, not fits to those numbers.
"""
import pytest
import torch

from cs280diff.flows import schedules, solvers, stochastic
from cs280diff.images import digits, metrics, studies
from cs280diff.nets import registry

SEEDS = range(5)
WINDOW = {"S_tmin": 0.05, "S_tmax": 50.0}  # notebook 4's S_TMIN, S_TMAX


@pytest.fixture(scope="module")
def models():
    return {name: registry.load_pretrained(name, torch.device("cpu")) for name in ("digits_unet", "digits_mlp")}


@pytest.fixture(scope="module")
def sweeps(models):
    """FD-digits at S_churn in {0, 5}, 16 Heun steps (32 NFE): the UNet on 5 seeds, the (cheap) MLP on 20."""
    unet = studies.churn_fd(models["digits_unet"], [0.0, 5.0], n_steps=16, seeds=SEEDS, **WINDOW)
    mlp = studies.churn_fd(models["digits_mlp"], [0.0, 5.0], n_steps=16, seeds=range(20), **WINDOW)
    return {"digits_unet": unet, "digits_mlp": mlp}


def test_the_unet_gains_from_moderate_churn(sweeps):
    """Section 11: FD-digits about 0.68 at S_churn = 0 against about 0.61 at S_churn = 5, mean of 5 seeds
    (measured 0.679 -> 0.612, paired gain 0.067 ± 0.020)."""
    fd = sweeps["digits_unet"]["FD"]
    gain = (fd[0] - fd[1]).mean().item()
    assert gain > 0.04, f"the UNet's mean gain from S_churn = 5 is {gain:.3f} (per seed {(fd[0] - fd[1]).tolist()})"
    assert abs(fd[0].mean().item() - 0.68) < 0.03 and abs(fd[1].mean().item() - 0.61) < 0.03, fd.mean(1)


def test_the_mlp_gains_less_than_the_unet(sweeps):
    """Section 11: the MLP's FD changes with churn by less than the UNet gains, up or down by seed (20 seeds, in
    the fixture's 0.05 <= sigma <= 50 window; benchmarks/churn_digits.md measured the full window at S = 5:
    -0.022 ± 0.035 SE)."""
    unet, mlp = sweeps["digits_unet"]["FD"], sweeps["digits_mlp"]["FD"]
    unet_gain = (unet[0] - unet[1]).mean().item()
    change = mlp[1] - mlp[0]
    assert abs(change.mean().item()) < unet_gain, (change.mean().item(), unet_gain)
    assert (change < 0).any() and (change > 0).any(), "up or down by seed"


def test_the_mlp_stays_above_the_unet_at_32_nfe(sweeps):
    """Section 10: the MLP is above the UNet in every seed at 32 NFE, with churn or without."""
    assert sweeps["digits_mlp"]["FD"][:, :5].min() > sweeps["digits_unet"]["FD"].max() + 0.1


@torch.no_grad()
def test_the_mlp_stays_above_the_floor_with_every_sampler(models):
    """Section 10: the MLP's FD-digits stays clearly above real test digits' (0.61) at NFE 8, 16 and 32 with ODE Euler,
    ODE Heun and the SDE (η = 0.5), on 5 seeds."""
    floor, labels = metrics.real_data_floors()["fd"], studies.study_labels()
    mlp, worst = models["digits_mlp"], float("inf")
    for seed in SEEDS:
        x0, gen = studies.start_noise(seed), torch.Generator().manual_seed(1000 + seed)
        for nfe in (8, 16, 32):
            runs = [solvers.sample(mlp, x0, schedules.uniform(nfe), cond={"y": labels}),
                    solvers.sample(mlp, x0, schedules.uniform(nfe // 2), step=solvers.heun_step, cond={"y": labels}),
                    stochastic.sde_euler_maruyama(mlp, x0, schedules.uniform(nfe), eta=0.5, generator=gen,
                                                  cond={"y": labels})]
            worst = min(worst, *(metrics.fd_digits(x) for x in runs))
    assert worst > floor + 0.2, f"the MLP's lowest FD-digits is {worst:.3f}, the floor {floor:.3f}"


def test_churn_is_capped_beyond_the_saturation(models):
    """Section 11: with N = 16 steps every S_churn >= 16 (sqrt(2) - 1) ≈ 6.6 is the same sampler."""
    assert studies.churn_saturation(16) == pytest.approx(6.627, abs=1e-3)
    x0, labels = studies.start_noise(0, 20), studies.study_labels()[:20]
    runs = [stochastic.churn_sampler(models["digits_mlp"], x0, schedules.edm_rho(16), S_churn=s, cond={"y": labels},
                                     generator=torch.Generator().manual_seed(1)) for s in (6.7, 40.0, 6.0)]
    assert torch.equal(runs[0], runs[1])
    assert not torch.equal(runs[0], runs[2])


@torch.no_grad()
def test_few_step_samples_are_blurry_class_means(models):
    """Section 10: one Euler step lands on E[x1 | y], the class mean: the UNet's one-step samples lie within a quarter
    of the distance its 32-NFE samples keep from their class mean (measured 0.48 vs 3.0); the MLP's lie more than
    twice as far as the UNet's (1.40); the spread within a class grows with the NFE for both."""
    x_train, y_train = digits.load_digits("train")
    means = torch.stack([x_train[y_train == c].mean(0) for c in range(10)])
    labels = studies.study_labels()[:150]
    x0 = studies.start_noise(0, 150)

    def numbers(model, nfe):
        x = solvers.sample(model, x0, schedules.uniform(nfe), cond={"y": labels}).clamp(-1, 1)
        to_mean = (x - means[labels]).flatten(1).norm(dim=1).mean().item()
        spread = torch.stack([(x[labels == c] - x[labels == c].mean(0)).flatten(1).norm(dim=1).mean()
                              for c in range(10)]).mean().item()
        return to_mean, spread

    unet = {n: numbers(models["digits_unet"], n) for n in (1, 4, 32)}
    mlp = {n: numbers(models["digits_mlp"], n) for n in (1, 4, 32)}
    assert unet[1][0] < 0.25 * unet[32][0], unet
    assert mlp[1][0] > 2 * unet[1][0], (mlp, unet)
    for name, res in (("unet", unet), ("mlp", mlp)):
        assert res[1][1] < res[4][1] < res[32][1], (name, res)
