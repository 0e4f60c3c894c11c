"""ODE solvers for the flow dx/dt = v(x, t), integrated from t = 0 (noise) to t = 1 (data).

A *step* maps (field, x at t, t, t_next) to x at t_next; ``sample`` runs a step over a whole time grid.
Grids come from ``cs280diff.flows.schedules``-style functions returning t_0 = 0 < t_1 < ... < t_N = 1; samplers never
build grids. NFE (network function evaluations, counted by ``NFECounter``): Euler uses 1 per step, N in all; Heun uses 2
per step, 2N in all.
"""
from __future__ import annotations

import contextlib
from typing import Callable

import torch
from cs280diff.progress import tqdm

from cs280diff import runtime
from cs280diff.flows import schedules
from cs280diff.validate import check_grid, check_int, check_t, check_x, trusted

Tensor = torch.Tensor
Field = Callable[..., Tensor]

CHECK_EVERY = 16  # the loop checks that x is finite every CHECK_EVERY steps and after the last one


def euler_step(field: Field, x: Tensor, t: float, t_next: float, **cond) -> Tensor:
    """One Euler step: x_next = x + (t_next - t) v(x, t).  1 NFE."""
    return x + (t_next - t) * field(x, t, **cond)


def heun_step(field: Field, x: Tensor, t: float, t_next: float, **cond) -> Tensor:
    """One Heun step (explicit trapezoid, EDM Alg. 1): predict with Euler, correct with the mean slope.  2 NFE.

    EDM's Algorithm 1 skips the correction on its last step (2N - 1 NFE for N steps); ``sample`` with this step
    corrects every step (2N).
    """
    h = t_next - t
    v = field(x, t, **cond)  # slope at the start
    x_euler = x + h * v  # Euler predictor
    v_next = field(x_euler, t_next, **cond)  # slope at the predicted end
    return x + h * 0.5 * (v + v_next)  # trapezoid corrector


def sample(field: Field, x: Tensor, grid: Tensor, *, step: Callable = euler_step, cond: dict | None = None,
           callback: Callable[[dict], None] | None = None, progress: bool = False,
           return_trajectory: bool = False, check_every: int = CHECK_EVERY, backward: bool = False):
    """Integrate dx/dt = field(x, t, **cond) over ``grid`` (t_0 = start, t_N = end) with ``step``.

    Args:
        field: velocity field ``field(x, t, **cond) -> v``.
        x: (batch, *dims) state at grid[0] (noise when grid[0] = 0).
        grid: (N + 1,) increasing times; decreasing with ``backward=True`` (inversion, data -> noise: the same
            steps with t_next < t; ``flows.inversion.invert`` reverses a sampling grid).
        step: a step function (``euler_step``, ``heun_step``, or your own with the same signature).
        callback: called after every step with ``{"i", "t", "t_next", "x"}``.
        progress: show a tqdm progress bar.
        return_trajectory: also return the states at every grid point, shape (N + 1, batch, *dims).
        check_every: check that x is finite every this many steps and after the last (1: after every step, which
            names the exact step where it blew up; each check makes a GPU wait for the host once).
    Returns:
        x at grid[-1] (and the trajectory if asked).
    """
    check_x(x)
    grid = check_grid(grid, backward=backward)
    check_every = check_int(check_every, "check_every")
    cond = cond or {}
    times = [float(s) for s in grid.tolist()]
    traj = [x] if return_trajectory else None
    n_steps, checked = len(times) - 1, 0
    with contextlib.ExitStack() as stack:
        for i in tqdm(range(n_steps), disable=not progress, desc=getattr(step, "__name__", "step"), leave=False):
            if i == 1:  # the first step ran with every check on; the field's inputs are known to be valid now
                stack.enter_context(trusted())
            x = step(field, x, times[i], times[i + 1], **cond)
            if (i + 1) % check_every == 0 or i + 1 == n_steps:  # one host sync per check_every steps, not per NFE
                _check_finite(x, checked, i, times)
                checked = i + 1
            if callback is not None:
                callback({"i": i, "t": times[i], "t_next": times[i + 1], "x": x})
            if traj is not None:
                traj.append(x)
    return (x, torch.stack(traj)) if return_trajectory else x


def _check_finite(x: Tensor, first: int, last: int, times: list) -> None:
    """Raise if x is NaN/inf after step ``last``, naming the window of steps first..last where it happened."""
    if not torch.isfinite(x).all():
        where = f"at step {last}" if first == last else \
            f"between steps {first} and {last} (pass check_every=1 to find the exact step)"
        raise FloatingPointError(f"the state became NaN/inf {where}, t = {times[first]:.4g} -> {times[last + 1]:.4g}: "
                                 f"the field returned NaN/inf or the steps are too large for it")


@torch.no_grad()
def generate(field: Field, labels: Tensor | None, *, shape, n: int | None = None, n_steps: int = 50, seed: int = 0,
             step: Callable = euler_step, device=None, progress: bool = False) -> Tensor:
    """Samples of a (class-conditional) field: x0 ~ N(0, I) at t = 0, then ``step`` on a uniform grid to t = 1.

    labels: (n,) classes passed as ``field(x, t, y=labels)``, or None for ``field(x, t)`` (then give ``n``).
    shape: the shape of one sample, e.g. (1, 8, 8) for a digit.  The noise comes from a CPU generator seeded with
    ``seed`` (the same samples on every device); ``device`` defaults to the field's.  Returns (n, *shape).
    """
    if labels is None and n is None:
        raise ValueError("give labels (n,) or, for an unconditional field, the number of samples n")
    n = int(labels.shape[0]) if labels is not None else int(n)
    device = runtime.field_device(field) if device is None else torch.device(device)
    gen = torch.Generator().manual_seed(int(seed))
    x0 = torch.randn((n, *shape), generator=gen).to(device)  # x0 ~ N(0, I) at t = 0
    cond = {} if labels is None else {"y": labels.to(device)}
    return sample(field, x0, schedules.uniform(n_steps), step=step, cond=cond, progress=progress)  # t = 0 -> 1


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
