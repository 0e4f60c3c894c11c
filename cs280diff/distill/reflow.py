"""Reflow (rectified flow, Liu et al. 2023): retrain a flow on the teacher's own (noise, sample) coupling.

Flow matching pairs each data point with *independent* noise, so straight conditional paths cross and the marginal
field curves (notebook 1).  The teacher's ODE gives a deterministic coupling z -> x1 = ODE(z); retraining on
x_t = (1 − t) z + t x1 with target x1 − z gives a field whose paths cross less: straighter, so fewer steps suffice.
"""
from __future__ import annotations

from typing import Callable

import torch
from torch import nn
from cs280diff.progress import tqdm

from cs280diff.flows import schedules, solvers
from cs280diff.nets.training import fm_loss
from cs280diff.validate import check_int, check_positive, check_x

Tensor = torch.Tensor

__all__ = ["reflow_pairs", "reflow"]


def reflow_pairs(teacher: Callable, z: Tensor, *, n_steps: int = 64, step: Callable = solvers.heun_step,
                 cond: dict | None = None, progress: bool = False) -> tuple[Tensor, Tensor]:
    """(z, x1): noise z (n, *dims) and the teacher's ODE output from that same z (``step`` on a uniform grid)."""
    check_x(z, "z")
    with torch.no_grad():
        x1 = solvers.sample(teacher, z, schedules.uniform(check_int(n_steps, "n_steps")), step=step, cond=cond,
                            progress=progress)  # t = 0 -> 1 from each z
    return z, x1


def reflow(model: nn.Module, z: Tensor, x1: Tensor, *, steps: int, batch_size: int = 512, lr: float = 1e-3,
           y: Tensor | None = None, seed: int = 0, progress: bool = True,
           callback: Callable[[dict], None] | None = None, callback_every: int = 500) -> list[float]:
    """Train ``model`` (in place, Adam, cosine lr) by flow matching on the fixed pairs (z[i], x1[i]); returns losses.

    Each step draws a batch of pair indices, t ~ U[0, 1], and regresses v(x_t, t) on x1 − z at x_t = (1 − t) z + t x1.
    y: (n,) labels of the pairs for a conditional model.
    """
    steps = check_int(steps, "steps")
    if z.shape != x1.shape:
        raise ValueError(f"z and x1 must be pairs of the same shape, got {tuple(z.shape)} and {tuple(x1.shape)}")
    device = next(model.parameters()).device
    gen = torch.Generator().manual_seed(int(seed))
    opt = torch.optim.Adam(model.parameters(), lr=check_positive(lr, "lr"))
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, steps)
    losses = []
    model.train()
    for i in tqdm(range(1, steps + 1), disable=not progress, desc="reflow", leave=False):
        idx = torch.randint(0, z.shape[0], (batch_size,), generator=gen)  # a batch of kept pairs
        labels = None if y is None else y[idx].to(device)
        loss = fm_loss(model, x1[idx].to(device), generator=gen, y=labels, x0=z[idx].to(device))  # coupled x0
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step(), sched.step()
        losses.append(loss.item())
        if callback is not None and (i % callback_every == 0 or i == steps):
            callback({"step": i, "loss": losses[-1], "model": model})
    model.eval()
    return losses
