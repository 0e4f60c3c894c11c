"""Distillation (notebook 6's package pieces) against analytic cases: the PD target reproduces the teacher's Euler
trajectory at half the steps, the DMD gradient of two Gaussians in closed form, a DMD run that must reach a known
Gaussian, reflow pairs against a DOP853 solution, the few-step interface's NFE, and the exact sliced metric."""
import math

import pytest
import torch

from cs280diff.distill import dmd, fewstep, pd, reflow
from cs280diff.flows import metrics, mixtures, schedules, solvers
from cs280diff.nets.generator import OneStepGenerator
from cs280diff.nets.mlp import MLPVelocity
from cs280diff.nets.registry import load_pretrained

UNEQUAL = mixtures.GaussianMixture([[-1.5, 0.5, 0.0], [1.0, -0.5, 2.0]], [0.3, 0.7], [0.3, 0.7])  # D = 3


@pytest.mark.parametrize("n_teacher", [2, 8])
def test_a_student_that_outputs_the_pd_target_retraces_the_teacher_at_half_the_steps(n_teacher):
    """On the student's grid, one Euler step with the PD target equals two teacher Euler steps, exactly, in D = 3 with
    unequal widths and weights; so n/2 student steps land where n teacher steps land (a different t per sample too)."""
    h = 1.0 / n_teacher
    x0 = torch.randn(64, 3, generator=torch.Generator().manual_seed(0), dtype=torch.float64)
    ideal = lambda x, t: pd.pd_target(UNEQUAL, x, t, h)  # noqa: E731 - the ideal student
    teacher = solvers.sample(UNEQUAL, x0, schedules.uniform(n_teacher))
    student = solvers.sample(ideal, x0, schedules.uniform(n_teacher // 2))
    torch.testing.assert_close(student, teacher, rtol=1e-12, atol=1e-12)
    t = torch.rand(64, generator=torch.Generator().manual_seed(1), dtype=torch.float64) * (1 - 2 * h)
    mid = x0 + h * UNEQUAL(x0, t)  # two Euler steps of size h, one t per sample
    two = mid + h * UNEQUAL(mid, t + h)
    torch.testing.assert_close(pd.pd_target(UNEQUAL, x0, t, h), (two - x0) / (2 * h), rtol=1e-12, atol=1e-12)


def test_student_times_lie_on_the_student_grid():
    t = pd.student_times(4, 4000, torch.Generator().manual_seed(0))
    assert set(t.tolist()) == {0.0, 0.25, 0.5, 0.75}


def test_a_pd_round_makes_half_the_steps_land_where_the_teacher_lands():
    """One round 4 -> 2 on the exact 1D lecture mixture (the student starts from the shipped lecture1d_mlp, 400
    iterations): its 2-step samples land at least 3x closer to the teacher's 4-step samples than 2 naive steps of the
    teacher's field do."""
    mix = mixtures.lecture_1d()
    net = load_pretrained("lecture1d_mlp").requires_grad_(True)
    z = torch.randn(4000, 1, generator=torch.Generator().manual_seed(3))
    teacher4 = solvers.sample(mix, z.double(), schedules.uniform(4)).float()
    naive2 = solvers.sample(mix, z.double(), schedules.uniform(2)).float()
    opt = torch.optim.Adam(net.parameters(), lr=1e-3)
    losses = pd.pd_round(mix, net, opt, lambda n, g: mix.sample(n, g), 4, iters=400, batch_size=256,
                         generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        student2 = solvers.sample(net, z, schedules.uniform(2))
    gap, naive_gap = metrics.mean_endpoint_error(student2, teacher4), metrics.mean_endpoint_error(naive2, teacher4)
    assert gap < naive_gap / 3, (gap, naive_gap)
    assert sum(losses[-50:]) < 0.5 * sum(losses[:50])
    with pytest.raises(ValueError, match="even"):
        pd.pd_round(mix, net, opt, lambda n, g: mix.sample(n, g), 3, iters=1, batch_size=8,
                    generator=torch.Generator())


def _gaussian_denoiser(mu, s, x_t, t):
    """E[x1 | x_t] for data N(mu, s² I): mu + (t s² / var)(x_t − t mu), var = (1 − t)² + t² s²."""
    var = (1 - t) ** 2 + t**2 * s**2
    return mu + (t * s**2 / var) * (x_t - t * mu)


def test_dmd_grad_of_two_gaussians_in_closed_form():
    """Real N(mu_r, s²), fake N(mu_f, s²) in 2D, one t per sample: grad = (D_fake − D_real) / mean|x − D_real| with
    the closed-form denoisers; it points from the real towards the fake mean (G moves the other way); zero when
    real = fake."""
    s, mu_r, mu_f = 0.4, torch.tensor([1.0, -2.0]), torch.tensor([-0.5, 0.5])
    real = mixtures.GaussianMixture(mu_r[None].double(), [s])
    fake = mixtures.GaussianMixture(mu_f[None].double(), [s])
    g = torch.Generator().manual_seed(0)
    x, noise = torch.randn(32, 2, generator=g, dtype=torch.float64), torch.randn(32, 2, generator=g, dtype=torch.float64)
    t = 0.05 + 0.9 * torch.rand(32, generator=g, dtype=torch.float64)
    grad = dmd.dmd_grad(x, real, fake, t, noise)
    tt = t[:, None]
    x_t = (1 - tt) * noise + tt * x
    d_real = _gaussian_denoiser(mu_r.double(), s, x_t, tt)
    d_fake = _gaussian_denoiser(mu_f.double(), s, x_t, tt)
    want = (d_fake - d_real) / (x - d_real).abs().mean(1, keepdim=True)
    torch.testing.assert_close(grad, want, rtol=1e-9, atol=1e-12)
    assert ((grad @ (mu_f - mu_r).double()) > 0).all()
    torch.testing.assert_close(dmd.dmd_grad(x, real, real, t, noise), torch.zeros_like(x), rtol=0, atol=1e-12)
    xg = x.clone().requires_grad_(True)
    dmd.dmd_loss(xg, grad).backward()
    torch.testing.assert_close(xg.grad, grad / 32, rtol=1e-12, atol=1e-15)


def test_dmd_moves_a_generator_onto_a_known_gaussian():
    """From G ≈ identity (z ~ N(0, I)) against the exact field of N((2, -1), 0.5² I): after 1000 steps the samples'
    mean is within 0.15 of (2, -1) and their std within 20 % of 0.5."""
    target = mixtures.GaussianMixture([[2.0, -1.0]], [0.5])
    torch.manual_seed(0)
    G, fake = OneStepGenerator(2, 64, 2), MLPVelocity(2, 64, 2)
    dmd.train_dmd(target, G, fake, (2,), steps=1000, batch_size=256, lr=2e-3, fake_updates=2, warmup=100,
                  progress=False)
    with torch.no_grad():
        x = G(torch.randn(4000, 2, generator=torch.Generator().manual_seed(1)))
    assert (x.mean(0) - torch.tensor([2.0, -1.0])).abs().max() < 0.15, x.mean(0)
    assert ((x.std(0) / 0.5) - 1).abs().max() < 0.2, x.std(0)


def test_generator_starts_at_the_identity_or_at_one_euler_step():
    torch.manual_seed(0)
    z = torch.randn(16, 2)
    G = OneStepGenerator(2, 32, 2)
    assert (G(z) - z).abs().max() < 0.05
    v = MLPVelocity(2, 32, 2)
    torch.testing.assert_close(OneStepGenerator.from_velocity(v)(z), solvers.euler_step(v, z, 0.0, 1.0))


def test_reflow_pairs_are_the_teachers_ode_from_the_same_noise():
    """Reflow pairs on the exact 2D ring: x1 is Heun's ODE output from each z (within 2e-3 of DOP853 at 64 steps)."""
    ring = mixtures.ring_2d()
    z = torch.randn(200, 2, generator=torch.Generator().manual_seed(0), dtype=torch.float64)
    z_out, x1 = reflow.reflow_pairs(ring, z, n_steps=64)
    assert z_out is z
    assert metrics.mean_endpoint_error(x1, solvers.reference_solution(ring, z)) < 2e-3


def test_reflow_straightens_the_field():
    """Reflow on the exact 1D lecture mixture's pairs (a small MLP, 600 steps): its one Euler step lands at least 3x
    closer to the pairs' x1 than one Euler step of the original field (which lands on the data mean)."""
    mix = mixtures.lecture_1d()
    z, x1 = reflow.reflow_pairs(mix, torch.randn(4000, 1, generator=torch.Generator().manual_seed(0)).double())
    z, x1 = z.float(), x1.float()
    torch.manual_seed(0)
    net = MLPVelocity(1, 64, 2)
    reflow.reflow(net, z, x1, steps=600, batch_size=256, lr=3e-3, progress=False)
    with torch.no_grad():
        straight = solvers.sample(net, z, schedules.uniform(1))
    naive = solvers.sample(mix, z.double(), schedules.uniform(1)).float()
    assert metrics.mean_endpoint_error(straight, x1) < metrics.mean_endpoint_error(naive, x1) / 3


def test_few_step_samplers_cost_what_they_say():
    """Each FewStep's nfe is what an NFE counter sees; Heun refuses an odd budget; the table scores every sampler."""
    ring = mixtures.ring_2d()
    z = torch.randn(50, 2, generator=torch.Generator().manual_seed(0), dtype=torch.float64)
    for solver, nfe in (("euler", 1), ("euler", 4), ("heun", 2), ("heun", 8)):
        counter = solvers.NFECounter(ring)
        s = fewstep.ode(counter, nfe, solver=solver)
        s(z)
        assert counter.nfe == s.nfe == nfe
    with pytest.raises(ValueError, match="2 NFE per step"):
        fewstep.ode(ring, 3, solver="heun")
    x_ode = solvers.sample(ring, z, schedules.uniform(64), step=solvers.heun_step)
    rows = fewstep.table([fewstep.ode(ring, 1), fewstep.one_step(lambda z: z)], z,
                         lambda x: {"near": metrics.fraction_near_modes(x, ring)}, x_ode=x_ode)
    assert [r["nfe"] for r in rows] == [1, 1] and rows[0]["coupling"] > 1.0 and "near" in rows[1]


def test_sliced_distance_to_the_exact_mixture():
    """Exact against analytic values: a point mass at the ring's mean scores E_θ|θ·μ| = 4/π (radius 2); exact samples
    shifted by m score 2|m|/π in 2D; exact samples score near 0, lower with more samples."""
    ring = mixtures.ring_2d()
    g = lambda: torch.Generator().manual_seed(1)  # noqa: E731
    mean = torch.zeros(20000, 2)
    assert metrics.sliced_wasserstein_to_mixture(mean, ring, 512, g()) == pytest.approx(4 / math.pi, rel=0.01)
    one = mixtures.GaussianMixture([[0.0, 0.0]], [0.5])
    x = one.sample(50000, torch.Generator().manual_seed(0)) + torch.tensor([0.3, 0.0])
    assert metrics.sliced_wasserstein_to_mixture(x, one, 512, g()) == pytest.approx(0.6 / math.pi, abs=0.01)
    small, big = (metrics.sliced_wasserstein_to_mixture(ring.sample(n, torch.Generator().manual_seed(2)), ring,
                                                        generator=g()) for n in (2000, 50000))
    assert big < small < 0.05 and big < 0.01
