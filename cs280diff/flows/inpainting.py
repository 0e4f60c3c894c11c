"""Training-free inpainting by replacement (the "replacement" method of Song et al. 2021; RePaint without resampling).

Convention (docs/conventions.md): t = 0 noise, t = 1 data, x_t = (1 - t) x0 + t x1.  mask = 1 where a pixel is known.
At every grid time t the known pixels of the state are overwritten by a point of their own path,
(1 - t) ε + t x_known, with one ε drawn once (so the known pixels follow a straight path, as the model expects);
the model fills in the rest.  Nothing tells the model *why* the known pixels are what they are, so the two parts can
disagree: the filled part is plausible on its own but need not match (the "harmonisation" failure), and without a
label the class can change.
"""
from __future__ import annotations

import torch

from cs280diff.flows.solvers import Field, euler_step
from cs280diff.validate import check_grid, check_x

Tensor = torch.Tensor

__all__ = ["replace_known", "inpaint"]


def replace_known(x_t: Tensor, x_known: Tensor, mask: Tensor, noise: Tensor, t: float) -> Tensor:
    """x_t with its known pixels (mask = 1) set to their path point (1 - t) noise + t x_known at time t."""
    known_t = (1 - t) * noise + t * x_known  # where the known pixels' own path is at time t
    return mask * known_t + (1 - mask) * x_t


@torch.no_grad()
def inpaint(field: Field, x_known: Tensor, mask: Tensor, grid: Tensor, *, generator: torch.Generator | None = None,
            step=euler_step, cond: dict | None = None) -> Tensor:
    """Fill the pixels where mask = 0, keeping those where mask = 1: (batch, *dims) -> same.

    x_known: the image with its known pixels (others ignored); mask: same shape (or broadcastable), 1 = known.
    grid: (N + 1,) increasing times from 0 to 1.  The starting noise is also the known pixels' path noise, drawn
    from ``generator``.  The result's known pixels equal x_known exactly.
    """
    check_x(x_known, "x_known")
    times = [float(s) for s in check_grid(grid).tolist()]
    mask = mask.to(x_known.dtype).expand_as(x_known)
    noise = torch.randn(x_known.shape, generator=generator, dtype=x_known.dtype).to(x_known.device)
    x = replace_known(noise, x_known, mask, noise, times[0])
    for t, t_next in zip(times[:-1], times[1:]):
        x = step(field, x, t, t_next, **(cond or {}))  # the model moves every pixel
        x = replace_known(x, x_known, mask, noise, t_next)  # the known ones are put back on their path
    return x
