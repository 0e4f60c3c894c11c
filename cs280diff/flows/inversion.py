"""Inverting the flow: from data at t = 1 back to noise at t = 0 (notebook 5).

  invert              ``solvers.sample`` on the reversed grid: the same steps, run with t_next < t (explicit, naive)
  round_trip          invert, then regenerate on the same grid (optionally under another condition: an edit)
  fixed_point_step    one implicit step: the x from which a forward Euler step lands exactly on x_next
  fixed_point_invert  that step over a whole grid, with its NFE and each sample's convergence
  latent_stats        mean, std and a normality check of latents, and their distance to an exact inverse

Conventions (docs/conventions.md): t = 0 noise, t = 1 data, grids increasing from ``flows.schedules``; a field is
``field(x, t, **cond) -> v``.  The naive inversion of an Euler sampler is *not* its exact inverse: the backward step
x_i = x_{i+1} - h v(x_{i+1}, t_{i+1}) takes the slope at the wrong end.  The fixed-point step solves
x_i = x_{i+1} - h v(x_i, t_i) instead, so that regenerating with Euler on the same grid returns x_{i+1} exactly (to
the iteration's tolerance) wherever the iteration contracts, h · Lip v < 1.
"""
from __future__ import annotations

import math
from typing import Callable

import torch

from cs280diff.flows.solvers import Field, euler_step, sample
from cs280diff.validate import check_grid, check_int, check_same_shape, check_x

Tensor = torch.Tensor

__all__ = ["invert", "round_trip", "fixed_point_step", "fixed_point_invert", "latent_stats"]


def invert(field: Field, x1: Tensor, grid: Tensor, *, step: Callable = euler_step, cond: dict | None = None,
           progress: bool = False, return_trajectory: bool = False):
    """Integrate from grid[-1] back to grid[0]: ``solvers.sample`` with ``step`` on grid.flip(0).

    Args:
        x1: (batch, *dims) states at grid[-1] (data when grid[-1] = 1).
        grid: (N + 1,) increasing times, the sampling grid to invert.
    Returns:
        the latents at grid[0] (noise when grid[0] = 0), and the trajectory from data to noise if asked.
    """
    grid = check_grid(grid)
    return sample(field, x1, grid.flip(0), step=step, cond=cond, progress=progress,
                  return_trajectory=return_trajectory, backward=True)


def round_trip(field: Field, x1: Tensor, grid: Tensor, *, step: Callable = euler_step, cond: dict | None = None,
               regenerate_cond: dict | None = None) -> tuple[Tensor, Tensor]:
    """(latents, reconstruction): invert x1 under ``cond``, then sample the latents on the same grid under
    ``regenerate_cond`` (default: ``cond``; another condition makes this an edit)."""
    z = invert(field, x1, grid, step=step, cond=cond)
    return z, sample(field, z, grid, step=step, cond=cond if regenerate_cond is None else regenerate_cond)


def fixed_point_step(field: Field, x_next: Tensor, t: float, t_next: float, *, iters: int = 10, tol: float = 0.0,
                     cond: dict | None = None) -> tuple[Tensor, Tensor, int]:
    """Invert one forward Euler step t -> t_next (t < t_next): find x with x + (t_next - t) v(x, t) = x_next.

    Iterates x <- x_next - h v(x, t) from x = x_next, at most ``iters`` times (1 NFE each), stopping early once every
    sample moved by at most ``tol``.  The map contracts where h · Lip v < 1; elsewhere it may not converge.
    Returns (x, delta, nfe): delta (batch,) is each sample's last update |x_k - x_(k-1)| (its forward-step residual
    before that update), nfe the evaluations spent.
    """
    iters = check_int(iters, "iters")
    h, cond = t_next - t, cond or {}
    x, delta = x_next, torch.full(x_next.shape[:1], math.inf, dtype=x_next.dtype, device=x_next.device)
    for k in range(iters):
        x_new = x_next - h * field(x, t, **cond)  # the point a forward Euler step would have come from
        delta = (x_new - x).flatten(1).norm(dim=1)  # how far this update moved each sample
        x = x_new
        if tol > 0 and bool((delta <= tol).all()):  # one host read per iteration, only when asked to stop early
            return x, delta, k + 1
    return x, delta, iters


def fixed_point_invert(field: Field, x1: Tensor, grid: Tensor, *, iters: int = 10, tol: float = 0.0,
                       cond: dict | None = None) -> tuple[Tensor, dict]:
    """Implicit inversion of an Euler sampler on ``grid`` (increasing): ``fixed_point_step`` from grid[-1] down to
    grid[0].  Returns (latents, {"nfe": total evaluations, "delta": (batch,) largest last update over the steps}).
    Regenerating the latents with Euler on the same grid returns x1 up to the iteration error."""
    check_x(x1, "x1")
    times = check_grid(grid).tolist()
    x, worst, nfe = x1, torch.zeros(x1.shape[:1], dtype=x1.dtype, device=x1.device), 0
    for t, t_next in zip(times[-2::-1], times[:0:-1]):  # the steps t_i -> t_(i+1), last one first
        x, delta, spent = fixed_point_step(field, x, t, t_next, iters=iters, tol=tol, cond=cond)
        worst, nfe = torch.maximum(worst, delta), nfe + spent
    return x, {"nfe": nfe, "delta": worst}


def latent_stats(z: Tensor, z_exact: Tensor | None = None) -> dict:
    """How much latents z (batch, *dims) look like N(0, I): the mean and std over all their numbers and the
    Kolmogorov-Smirnov distance of those numbers to N(0, 1); with ``z_exact`` (the exact inverse, e.g.
    ``solvers.reference_solution`` from t = 1 to 0) also the mean distance per sample, ``"error"``."""
    check_x(z, "z")
    v = z.detach().double().flatten().cpu().sort().values
    n = v.numel()
    cdf = torch.special.ndtr(v)  # N(0, 1)'s CDF at the sorted values
    ks = torch.maximum(torch.arange(1, n + 1, dtype=torch.float64) / n - cdf, cdf - torch.arange(n) / n).max()
    out = {"mean": v.mean().item(), "std": v.std().item(), "ks": ks.item()}
    if z_exact is not None:
        check_same_shape(z, z_exact, "z", "z_exact")
        out["error"] = (z.detach().double() - z_exact.detach().double()).flatten(1).norm(dim=1).mean().item()
    return out
