"""ODE solvers for the flow dx/dt = v(x, t), integrated from t = 0 (noise) to t = 1 (data).

A *step* maps (field, x at t, t, t_next) to x at t_next; ``sample`` runs a step over a whole time grid.
Grids come from ``cs280diff.schedules``-style functions returning t_0 = 0 < t_1 < ... < t_N = 1; samplers never
build grids. NFE (network function evaluations, counted by ``NFECounter``): Euler uses 1 per step, N in all; Heun uses 2
per step, 2N in all.
"""
from __future__ import annotations

from typing import Callable

import torch
from tqdm.auto import tqdm

from cs280diff.conventions import check_t, check_x

Tensor = torch.Tensor
Field = Callable[..., Tensor]


def uniform_grid(n_steps: int, *, dtype=torch.float64, device=None) -> Tensor:
    """Uniform time grid t_i = i / N, i = 0..N: shape (N + 1,), t_0 = 0 (noise), t_N = 1 (data)."""
    if not isinstance(n_steps, int) or n_steps < 1:
        raise ValueError(f"n_steps must be a positive int, got {n_steps!r}")
    return torch.linspace(0.0, 1.0, n_steps + 1, dtype=dtype, device=device)


def check_grid(grid: Tensor) -> Tensor:
    """Validate a time grid: 1-d, at least 2 points, strictly increasing, inside [0, 1]."""
    if not isinstance(grid, Tensor) or grid.ndim != 1 or grid.numel() < 2:
        raise ValueError("a time grid must be a 1-d tensor with at least 2 points (t_0, ..., t_N)")
    if not torch.isfinite(grid).all() or grid.min() < 0 or grid.max() > 1:
        raise ValueError("a time grid must lie in [0, 1] (t = 0 is noise, t = 1 is data)")
    if not (grid[1:] > grid[:-1]).all():
        raise ValueError("a time grid must be strictly increasing: sampling runs from t = 0 (noise) to t = 1 (data)")
    return grid


def euler_step(field: Field, x: Tensor, t: float, t_next: float, **cond) -> Tensor:
    """One Euler step: x_next = x + (t_next - t) v(x, t).  1 NFE."""
    return x + (t_next - t) * field(x, t, **cond)


def heun_step(field: Field, x: Tensor, t: float, t_next: float, **cond) -> Tensor:
    """One Heun step (explicit trapezoid, EDM Alg. 1): predict with Euler, correct with the mean slope.  2 NFE."""
    h = t_next - t
    v = field(x, t, **cond)  # slope at the start
    x_euler = x + h * v  # Euler predictor
    v_next = field(x_euler, t_next, **cond)  # slope at the predicted end
    return x + h * 0.5 * (v + v_next)  # trapezoid corrector


def sample(field: Field, x: Tensor, grid: Tensor, *, step: Callable = euler_step, cond: dict | None = None,
           callback: Callable[[dict], None] | None = None, progress: bool = False,
           return_trajectory: bool = False):
    """Integrate dx/dt = field(x, t, **cond) over ``grid`` (t_0 = start, t_N = end) with ``step``.

    Args:
        field: velocity field ``field(x, t, **cond) -> v``.
        x: (batch, *dims) state at grid[0] (noise when grid[0] = 0).
        grid: (N + 1,) increasing times.
        step: a step function (``euler_step``, ``heun_step``, or your own with the same signature).
        callback: called after every step with ``{"i", "t", "t_next", "x"}``.
        progress: show a tqdm progress bar.
        return_trajectory: also return the states at every grid point, shape (N + 1, batch, *dims).
    Returns:
        x at grid[-1] (and the trajectory if asked).
    """
    check_x(x)
    grid = check_grid(grid)
    cond = cond or {}
    times = [float(s) for s in grid.tolist()]
    traj = [x] if return_trajectory else None
    for i in tqdm(range(len(times) - 1), disable=not progress, desc=getattr(step, "__name__", "step"), leave=False):
        x = step(field, x, times[i], times[i + 1], **cond)
        if not torch.isfinite(x).all():
            raise FloatingPointError(f"the state became NaN/inf at step {i} (t = {times[i]:.4g} -> {times[i + 1]:.4g})")
        if callback is not None:
            callback({"i": i, "t": times[i], "t_next": times[i + 1], "x": x})
        if traj is not None:
            traj.append(x)
    return (x, torch.stack(traj)) if return_trajectory else x


class NFECounter:
    """Wrap a field and count its evaluations: ``f = NFECounter(field); sample(f, ...); f.nfe``."""

    def __init__(self, field: Field):
        self.field, self.nfe = field, 0

    def __call__(self, x: Tensor, t, **cond) -> Tensor:
        self.nfe += 1
        return self.field(x, t, **cond)

    def reset(self) -> None:
        self.nfe = 0


def reference_solution(field: Field, x0: Tensor, *, rtol: float = 1e-9, atol: float = 1e-9,
                       t_span=(0.0, 1.0), cond: dict | None = None) -> Tensor:
    """High-accuracy solution at t_span[1] with scipy's adaptive RK (DOP853), in float64, for ground truth."""
    import numpy as np
    from scipy.integrate import solve_ivp

    check_x(x0, "x0")
    check_t(t_span[0]), check_t(t_span[1])
    shape, cond = x0.shape, cond or {}

    def rhs(t, y):
        xt = torch.from_numpy(y).reshape(shape)
        with torch.no_grad():
            return field(xt, float(t), **cond).reshape(-1).double().numpy()

    y0 = x0.detach().double().cpu().reshape(-1).numpy()
    sol = solve_ivp(rhs, t_span, y0, method="DOP853", rtol=rtol, atol=atol)
    if not sol.success:
        raise RuntimeError(f"solve_ivp failed: {sol.message}")
    return torch.from_numpy(np.ascontiguousarray(sol.y[:, -1])).reshape(shape).to(x0)
