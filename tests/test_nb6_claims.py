"""Notebook 6's claims on the shipped distilled models, measured afresh (new noise, not the build's): on the ring with
the exact metrics (sliced W1 to the exact mixture, on-mode fraction, coupling to the exact ODE), on digits with
FD-digits and class accuracy at equal NFE."""
import pytest
import torch

from cs280diff.distill import fewstep
from cs280diff.flows import metrics, mixtures, schedules, solvers
from cs280diff.images import metrics as image_metrics
from cs280diff.images import studies
from cs280diff.nets.registry import load_pretrained

N = 20_000
RING = mixtures.ring_2d()


@pytest.fixture(scope="module")
def z():
    return torch.randn(N, 2, generator=torch.Generator().manual_seed(2026))


@pytest.fixture(scope="module")
def x_ode(z):
    """The exact field's ODE output from each z (Heun, 64 steps, float64): the teacher's coupling."""
    return solvers.sample(RING, z.double(), schedules.uniform(64), step=solvers.heun_step).float()


def _sliced(x) -> float:
    return metrics.sliced_wasserstein_to_mixture(x, RING, generator=torch.Generator().manual_seed(7))


def _naive(z, nfe):
    return fewstep.ode(lambda x, t: RING(x.double(), t).float(), nfe)(z)


def test_one_step_euler_lands_on_the_data_mean(z):
    """v*(x, 0) = E[x1] - x, so one Euler step puts every sample on the mean: sliced W1 = 4/π · radius / 2 ≈ 1.27."""
    x = _naive(z, 1)
    assert x.norm(dim=1).max() < 1e-5
    assert _sliced(x) == pytest.approx(1.273, abs=0.01)


def test_the_one_step_pd_student_is_on_the_modes(z):
    """PD 64 -> 1 (6 rounds): sliced W1 < 0.05 and more than 80 % of the samples within 3 std of a mode."""
    x = fewstep.ode(load_pretrained("ring_pd1"), 1)(z)
    assert _sliced(x) < 0.05 and metrics.fraction_near_modes(x, RING) > 0.8


def test_the_four_step_pd_student_halves_naive_four_step_euler(z):
    """PD's 4-step student against 4 Euler steps of its teacher's (exact) field: less than half the sliced W1."""
    pd4 = _sliced(fewstep.ode(load_pretrained("ring_pd4"), 4)(z))
    assert pd4 < 0.5 * _sliced(_naive(z, 4))


@pytest.mark.parametrize("name", ["ring_dmd", "ring_dmd_mlp"])
def test_one_step_dmd_beats_one_step_euler_tenfold(z, name):
    """DMD's generator (real score exact or learned) against one naive Euler step: at least 10x lower sliced W1
    (measured: 0.023 and 0.039 against 1.27)."""
    x = fewstep.one_step(load_pretrained(name))(z)
    assert 10 * _sliced(x) < _sliced(_naive(z, 1))


def test_one_step_dmd_with_the_exact_score_matches_pd():
    """With the exact real score, one DMD step is as close to the ring as PD's one-step student: over 5 noise seeds
    of 20k samples (256 directions each) its mean sliced W1 is within 10 % of PD's (measured 0.0232 vs 0.0242; DMD
    lower on 4 of the 5 seeds, the seed-to-seed spread about 0.002)."""
    pd1, dmd = load_pretrained("ring_pd1"), load_pretrained("ring_dmd")
    a, b = [], []
    for seed in range(5):
        z = torch.randn(N, 2, generator=torch.Generator().manual_seed(100 + seed))
        sw = lambda x: metrics.sliced_wasserstein_to_mixture(x, RING, 256, torch.Generator().manual_seed(seed))  # noqa
        a.append(sw(fewstep.ode(pd1, 1)(z)))
        b.append(sw(fewstep.one_step(dmd)(z)))
    assert sum(b) < 1.1 * sum(a), (a, b)


def test_dmd_with_a_learned_score_beats_its_teachers_few_step_samples(z):
    """DMD2's claim at toy scale: one DMD step with ring_mlp as the real score beats ring_mlp's own Euler samples at
    1, 2, 4 and 8 NFE (measured 0.039 against 1.18, 0.39, 0.084, 0.056)."""
    dmd = _sliced(fewstep.one_step(load_pretrained("ring_dmd_mlp"))(z))
    teacher = load_pretrained("ring_mlp")
    assert all(dmd < _sliced(fewstep.ode(teacher, n)(z)) for n in (1, 2, 4, 8))


def test_pd_and_reflow_keep_the_coupling_and_dmd_keeps_less(z, x_ode):
    """Mean distance to the exact ODE output from the same noise: PD's 1-step student and one step of the reflowed
    field stay within 0.15 of it (measured 0.068, 0.095); DMD, whose loss does not ask for it, lands farther than PD
    (measured 0.085 with the exact real score), and far closer than one naive Euler step (the data mean, 2.0)."""
    pd1 = fewstep.coupling(fewstep.ode(load_pretrained("ring_pd1"), 1)(z), x_ode)
    rf1 = fewstep.coupling(fewstep.ode(load_pretrained("ring_reflow"), 1)(z), x_ode)
    dmd = fewstep.coupling(fewstep.one_step(load_pretrained("ring_dmd"))(z), x_ode)
    naive = fewstep.coupling(_naive(z, 1), x_ode)
    assert pd1 < 0.15 and rf1 < 0.15 and pd1 < dmd < naive / 10, (pd1, rf1, dmd, naive)


def test_reflow_straightens_the_ring_flow(z):
    """One Euler step of the reflowed field against one of the exact field (the data mean): 10x lower sliced W1
    (measured 0.034)."""
    x = fewstep.ode(load_pretrained("ring_reflow"), 1)(z)
    assert 10 * _sliced(x) < _sliced(_naive(z, 1))


def _digits_fd(sampler, seeds=(11, 12, 13)):
    labels = studies.study_labels()
    out = []
    for seed in seeds:
        x = sampler(studies.start_noise(seed), y=labels)
        out.append((image_metrics.fd_digits(x), image_metrics.class_accuracy(x, labels)))
    return out


def test_the_digits_pd_student_beats_its_teacher_at_two_steps():
    """digits_mlp_pd2 (PD 64 -> 2 of digits_mlp) against digits_mlp with 2 Euler steps, 359 test labels, 3 seeds:
    lower FD-digits on every seed (measured about 1.6 vs 4.7) and class accuracy of at least 0.95."""
    student = _digits_fd(fewstep.ode(load_pretrained("digits_mlp_pd2"), 2))
    teacher = _digits_fd(fewstep.ode(load_pretrained("digits_mlp"), 2))
    assert all(s[0] < t[0] for s, t in zip(student, teacher)) and min(s[1] for s in student) >= 0.95


def test_one_step_dmd_on_digits_beats_four_teacher_steps():
    """digits_dmd (one step) against digits_mlp with 4 Euler steps, 3 seeds: lower FD-digits on every seed and class
    accuracy of at least 0.95."""
    dmd = _digits_fd(fewstep.one_step(load_pretrained("digits_dmd")))
    teacher = _digits_fd(fewstep.ode(load_pretrained("digits_mlp"), 4))
    assert all(d[0] < t[0] for d, t in zip(dmd, teacher)) and min(d[1] for d in dmd) >= 0.95, (dmd, teacher)
