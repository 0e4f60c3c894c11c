"""Distribution matching distillation (Yin et al. 2024) with the DMD2 refinements, in this package's convention.

A one-step generator x = G(z) is moved so that its distribution matches the data's.  At a randomly noised sample
x_t = (1 − t) ε + t x of G's output, the real field's denoiser D_real = x̂1(x_t) (the teacher, or an exact oracle)
points towards the data, and a *fake* field, trained online with the flow-matching loss on G's own samples, gives
D_fake, which points towards G's current distribution.  Their difference is the gradient of the KL divergence
(real minus fake score, up to a weight), normalised per sample as in DMD:
    grad = (D_fake − D_real) / mean_dims |x − D_real|,      loss = ½ ‖G(z) − sg(G(z) − grad)‖²
so that ∂loss/∂G = grad: G moves towards D_real and away from D_fake.  DMD2: no regression term is needed, several
fake updates per generator step (5 here) keep the fake up to date; DMD's regression loss on (noise, teacher sample)
pairs is optional (``reg_weight``).
"""
from __future__ import annotations

import contextlib
from dataclasses import dataclass, field
from typing import Callable

import torch
from torch import nn
from cs280diff.progress import tqdm

from cs280diff.conventions import expand_t, x1_from_velocity
from cs280diff.nets.training import fm_loss, read_every, read_values
from cs280diff.runtime import to_device
from cs280diff.validate import check_int, check_positive, trusted

Tensor = torch.Tensor

__all__ = ["dmd_grad", "dmd_loss", "DMDResult", "train_dmd"]


def dmd_grad(x: Tensor, real: Callable, fake: Callable, t: Tensor, noise: Tensor, **cond) -> Tensor:
    """The DMD generator gradient at G's samples x (batch, *dims), without grad through x.

    t (batch,) in (0, 1), noise (batch, *dims) ~ N(0, I): x_t = (1 − t) noise + t x; D = x_t + (1 − t) v(x_t, t) for
    the real and the fake field; returns (D_fake − D_real) / mean |x − D_real| (the mean over each sample's entries).
    """
    with torch.no_grad():
        tt = expand_t(t, x)
        x_t = (1 - tt) * noise + tt * x  # noise G's samples to time t
        d_real = x1_from_velocity(x_t, t, real(x_t, t, **cond))  # the data's denoiser
        d_fake = x1_from_velocity(x_t, t, fake(x_t, t, **cond))  # the denoiser of G's distribution
        weight = (x - d_real).abs().flatten(1).mean(1)  # DMD's per-sample normaliser
        return (d_fake - d_real) / expand_t(weight.clamp_min(1e-8), x)


def dmd_loss(x: Tensor, grad: Tensor) -> Tensor:
    """½ ‖x − sg(x − grad)‖² averaged over the batch: its gradient with respect to x is grad / batch."""
    return 0.5 * ((x - (x - grad).detach()) ** 2).flatten(1).sum(1).mean()


@dataclass
class DMDResult:
    """What ``train_dmd`` returns: the generator, the fake field, and per-step histories."""
    generator: nn.Module
    fake: nn.Module
    fake_losses: list[float] = field(default_factory=list)
    grad_norms: list[float] = field(default_factory=list)
    reg_losses: list[float] = field(default_factory=list)


def _adam(params, lr: float, steps: int):
    opt = torch.optim.Adam(params, lr=lr, betas=(0.9, 0.99))
    return opt, torch.optim.lr_scheduler.CosineAnnealingLR(opt, max(steps, 1))


def train_dmd(real: Callable, generator: nn.Module, fake: nn.Module, shape, *, steps: int, batch_size: int = 512,
              lr: float = 1e-3, fake_updates: int = 5, warmup: int = 500, t_range=(0.02, 0.98),
              labels: Callable[[int, torch.Generator], Tensor] | None = None, reg_pairs: tuple | None = None,
              reg_weight: float = 0.0, seed: int = 0, grad_fn: Callable = dmd_grad,
              callback: Callable[[dict], None] | None = None, callback_every: int = 100,
              progress: bool = True) -> DMDResult:
    """Train a one-step ``generator`` G(z[, y]) by DMD against the ``real`` field (in place; returns both nets).

    shape: one sample's shape, e.g. (2,) or (1, 8, 8); z ~ N(0, I) of that shape.  fake: a velocity network (random
    init) trained by flow matching on fresh G(z).detach(): ``warmup`` steps first, then ``fake_updates`` per G step.
    labels(n, gen) -> (n,) classes for conditional nets (passed as ``y=``).  reg_pairs: (z, x) teacher pairs for
    DMD's regression loss, weighted by ``reg_weight``.  t ~ U[t_range] per sample.  Adam (β = 0.9, 0.99), cosine lr.
    grad_fn: the generator gradient, ``grad_fn(x, real, fake, t, noise, **cond)`` (default ``dmd_grad``; notebook 6
    plugs in the student's own).  ``callback({"step", "generator", "fake", "grad_norm"})`` every ``callback_every``.
    """
    steps, fake_updates = check_int(steps, "steps"), check_int(fake_updates, "fake_updates")
    check_positive(lr, "lr")
    device = next(generator.parameters()).device
    fake.requires_grad_(True)  # the fake is trained alongside (a frozen copy of the teacher is unfrozen)
    gen = torch.Generator().manual_seed(int(seed))  # all randomness of the loop
    opt_g, sched_g = _adam(generator.parameters(), lr, steps)
    opt_f, sched_f = _adam(fake.parameters(), lr, warmup + steps * fake_updates)
    result = DMDResult(generator, fake)
    every, fake_losses, reg_losses, norms = read_every(device), [], [], []  # GPU values are read every `every`

    def draw(n):  # fresh noise (and labels)
        z = to_device(torch.randn((n, *shape), generator=gen), device)
        y = to_device(labels(n, gen), device) if labels is not None else None
        return z, ({} if y is None else {"y": y})

    def fake_step(checked: bool):  # one flow-matching update of the fake on G's current samples
        z, cond = draw(batch_size)
        with torch.no_grad():
            x = generator(z, **cond)
        with trusted() if checked else contextlib.nullcontext():  # the first update checked the values
            loss = fm_loss(fake, x, generator=gen, y=cond.get("y"))
        opt_f.zero_grad(set_to_none=True)
        loss.backward()
        opt_f.step(), sched_f.step()
        fake_losses.append(loss.detach())

    for i in tqdm(range(warmup), disable=not progress, desc="DMD: fake warm-up", leave=False):
        fake_step(i > 0)
    lo, hi = t_range

    def generator_step():  # one DMD update of G (and fake_updates of the fake); returns the DMD gradient
        z, cond = draw(batch_size)
        x = generator(z, **cond)  # one-step samples (with grad)
        t = to_device(lo + (hi - lo) * torch.rand(batch_size, generator=gen), device)  # t ~ U[lo, hi]
        grad = grad_fn(x.detach(), real, fake, t, to_device(torch.randn(x.shape, generator=gen), device), **cond)
        loss = dmd_loss(x, grad)  # ∂loss/∂x = grad / batch
        if reg_pairs is not None and reg_weight > 0:
            idx = torch.randint(0, reg_pairs[0].shape[0], (batch_size,), generator=gen)
            reg_cond = {} if len(reg_pairs) < 3 else {"y": to_device(reg_pairs[2][idx], device)}
            reg = (generator(to_device(reg_pairs[0][idx], device), **reg_cond) - to_device(reg_pairs[1][idx], device))
            reg = (reg ** 2).flatten(1).sum(1).mean()  # DMD's regression onto teacher (noise, sample) pairs
            loss = loss + reg_weight * reg
            reg_losses.append(reg.detach())
        opt_g.zero_grad(set_to_none=True)
        loss.backward()
        opt_g.step(), sched_g.step()
        for _ in range(fake_updates):
            fake_step(True)
        return grad

    bar = tqdm(range(1, steps + 1), disable=not progress, desc="DMD", leave=False)
    for step in bar:
        with trusted() if step > 1 else contextlib.nullcontext():  # step 1 checked every field's inputs
            grad = generator_step()
        norms.append(grad.detach().flatten(1).norm(dim=1).mean())
        report = callback is not None and (step % callback_every == 0 or step == steps)
        if len(norms) >= every or report or step == steps:
            read_values(norms, step, every, result.grad_norms, "DMD gradient", before_update=False)
        if report:
            callback({"step": step, "generator": generator, "fake": fake, "grad_norm": result.grad_norms[-1]})
    result.fake_losses = torch.stack(fake_losses).tolist() if fake_losses else []
    result.reg_losses = torch.stack(reg_losses).tolist() if reg_losses else []
    generator.eval(), fake.eval()
    return result
