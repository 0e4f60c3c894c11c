"""Inverting the flow: from data at t = 1 back to noise at t = 0 (notebook 5).

  invert              ``solvers.sample`` on the reversed grid: the same steps, run with t_next < t (explicit, naive)
  round_trip          invert, then regenerate on the same grid (optionally under another condition: an edit)
  fixed_point_step    one implicit step: the x from which a forward Euler step lands exactly on x_next
  fixed_point_invert  that step over a whole grid, with its NFE and each sample's convergence
  contraction_rate    the spectral radius of h ∂v/∂x: the fixed-point iteration's rate at a point (small D)
  latent_stats        mean, std and a normality check of latents, and their distance to an exact inverse
  edit                invert under one condition, regenerate under another (optionally a guided field)
  sdedit_noise        SDEdit's start: a clean x1 noised along the path to x_t0 = (1 - t0) eps + t0 x1
  sdedit_grid         the uniform grid from t0 to 1
  sdedit              that start integrated from t0 to 1 under the target condition

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

from cs280diff import conventions
from cs280diff.flows import schedules
from cs280diff.flows.solvers import Field, euler_step, sample
from cs280diff.validate import check_grid, check_int, check_number, check_same_shape, check_t, check_x

Tensor = torch.Tensor

__all__ = ["invert", "round_trip", "fixed_point_step", "fixed_point_invert", "latent_stats", "contraction_rate", "edit",
           "sdedit_noise", "sdedit_grid", "sdedit"]


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
                     damping: float = 1.0, cond: dict | None = None) -> tuple[Tensor, Tensor, int]:
    """Invert one forward Euler step t -> t_next (t < t_next): find x with x + (t_next - t) v(x, t) = x_next.

    Iterates x <- (1 - β) x + β (x_next - h v(x, t)) from x = x_next with β = ``damping`` (1: the plain fixed-point
    iteration), at most ``iters`` times (1 NFE each), stopping early once every sample moved by at most ``tol``.  The
    plain map contracts where h · Lip v < 1; a damping β < 1 also tames a stiff expanding field (Jacobian
    eigenvalues hλ > 1 need β < 2 / (1 + hλ)), at the price of slower convergence where the plain map contracts.
    Returns (x, delta, nfe): delta (batch,) is each sample's last update |x_k - x_(k-1)|, nfe the evaluations spent.
    """
    iters = check_int(iters, "iters")
    beta = check_number(damping, "damping")
    if not 0 < beta <= 1:
        raise ValueError(f"damping must be in (0, 1], got {damping}")
    h, cond = t_next - t, cond or {}
    x, delta = x_next, torch.full(x_next.shape[:1], math.inf, dtype=x_next.dtype, device=x_next.device)
    for k in range(iters):
        x_new = x_next - h * field(x, t, **cond)  # the point a forward Euler step would have come from
        if beta != 1:
            x_new = x + beta * (x_new - x)  # a damped update: only part of the way
        delta = (x_new - x).flatten(1).norm(dim=1)  # how far this update moved each sample
        x = x_new
        if tol > 0 and bool((delta <= tol).all()):  # one host read per iteration, only when asked to stop early
            return x, delta, k + 1
    return x, delta, iters


def fixed_point_invert(field: Field, x1: Tensor, grid: Tensor, *, iters: int = 10, tol: float = 0.0,
                       damping: float = 1.0, cond: dict | None = None) -> tuple[Tensor, dict]:
    """Implicit inversion of an Euler sampler on ``grid`` (increasing): ``fixed_point_step`` from grid[-1] down to
    grid[0].  Returns (latents, {"nfe": total evaluations, "delta": (batch,) largest last update over the steps}).
    Regenerating the latents with Euler on the same grid returns x1 up to the iteration error."""
    check_x(x1, "x1")
    times = check_grid(grid).tolist()
    x, worst, nfe = x1, torch.zeros(x1.shape[:1], dtype=x1.dtype, device=x1.device), 0
    for t, t_next in zip(times[-2::-1], times[:0:-1]):  # the steps t_i -> t_(i+1), last one first
        x, delta, spent = fixed_point_step(field, x, t, t_next, iters=iters, tol=tol, damping=damping, cond=cond)
        worst, nfe = torch.maximum(worst, delta), nfe + spent
    return x, {"nfe": nfe, "delta": worst}


def contraction_rate(field: Field, x: Tensor, t: float, h: float, *, cond: dict | None = None) -> Tensor:
    """|h| times the spectral radius of the Jacobian ∂v/∂x at (x, t), per sample: (batch,) for x (batch, D), D small.

    Near a fixed point the iteration x <- x_next - h v(x, t) shrinks its error by this factor per iteration: it
    converges where the rate is < 1, slowly near 1, and diverges above.  Autograd, D backward passes.
    """
    check_x(x, "x")
    if x.ndim != 2 or x.shape[1] > 16:
        raise ValueError(f"contraction_rate needs x of shape (batch, D) with D <= 16, got {tuple(x.shape)}")
    with torch.enable_grad():
        xr = x.detach().requires_grad_(True)
        v = field(xr, t, **(cond or {}))
        rows = [torch.autograd.grad(v[:, i].sum(), xr, retain_graph=True)[0] for i in range(x.shape[1])]
    jac = torch.stack(rows, dim=1)  # (batch, D, D): row i is grad of v_i (samples do not interact)
    return abs(h) * torch.linalg.eigvals(jac).abs().max(dim=1).values


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


def edit(field: Field, x1: Tensor, grid: Tensor, cond: dict, target_cond: dict, *, step: Callable = euler_step,
         target_field: Field | None = None) -> tuple[Tensor, Tensor]:
    """Edit by inversion: invert x1 (batch, *dims) under ``cond`` (the source, e.g. {"y": 3}), then sample the latents
    on the same grid under ``target_cond`` with ``target_field`` (default ``field``; e.g. a guided field).
    Returns (latents, edited x at grid[-1])."""
    z = invert(field, x1, grid, step=step, cond=cond)
    return z, sample(target_field or field, z, grid, step=step, cond=target_cond)


def sdedit_noise(x1: Tensor, t0, noise: Tensor) -> Tensor:
    """SDEdit's start: x1 (batch, *dims) moved along the path to time t0, x_t0 = (1 - t0) noise + t0 x1.

    t0 is a float or a (batch,) tensor in [0, 1] (t = 0 noise: t0 small keeps little of x1); noise has x1's shape.
    """
    check_x(x1, "x1"), check_same_shape(x1, noise, "x1", "noise")
    return conventions.path(noise, x1, check_t(t0, x1, name="t0"))


def sdedit_grid(t0: float, n_steps: int, *, dtype=torch.float64) -> Tensor:
    """The uniform grid from t0 to 1 with ``n_steps`` steps: t0 + (1 - t0) · schedules.uniform(n_steps)."""
    t0 = check_number(t0, "t0")
    if not 0 <= t0 < 1:
        raise ValueError(f"t0 must be in [0, 1): SDEdit integrates from t0 to 1 (t = 1 is data), got {t0}")
    return t0 + (1 - t0) * schedules.uniform(n_steps, dtype=dtype)


def sdedit(field: Field, x1: Tensor, t0: float, *, noise: Tensor, n_steps: int = 20, step: Callable = euler_step,
           cond: dict | None = None) -> Tensor:
    """SDEdit: noise x1 (batch, *dims) to t0 with ``sdedit_noise``, then integrate dx/dt = field(x, t, **cond) from
    t0 to 1 on ``sdedit_grid(t0, n_steps)`` with ``step`` (Euler: n_steps NFE).  Small t0: close to a fresh sample
    of ``cond``; t0 near 1: close to x1."""
    return sample(field, sdedit_noise(x1, t0, noise), sdedit_grid(t0, n_steps), step=step, cond=cond)
