"""One few-step sampler interface for every method of notebook 6, so that its table compares them at equal NFE.

A ``FewStep`` is a named callable ``sampler(z, **cond) -> x`` from noise z (n, *dims) at t = 0 to samples at t = 1,
with its cost ``nfe`` (network evaluations per sample).  Build one with ``ode`` (a field and a solver: naive Euler,
Heun, a PD student or a reflowed field) or ``one_step`` (a DMD generator).  ``table`` scores them all from the same
noise, and ``coupling`` measures how far each lands from the teacher's ODE output from that noise.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import torch

from cs280diff.flows import metrics, schedules, solvers
from cs280diff.validate import check_int

Tensor = torch.Tensor

__all__ = ["FewStep", "ode", "one_step", "coupling", "table", "seconds_per_nfe"]


@dataclass(frozen=True)
class FewStep:
    """A sampler z -> x with a name and its NFE; ``method`` says which family it belongs to (for tables, plots)."""
    name: str
    method: str
    nfe: int
    fn: Callable

    def __call__(self, z: Tensor, **cond) -> Tensor:
        with torch.no_grad():
            return self.fn(z, **cond)


def ode(field: Callable, nfe: int, *, solver: str = "euler", method: str | None = None,
        name: str | None = None) -> FewStep:
    """Solve the field's ODE on a uniform grid within ``nfe`` evaluations: Euler takes nfe steps, Heun nfe / 2."""
    nfe = check_int(nfe, "nfe")
    step = {"euler": solvers.euler_step, "heun": solvers.heun_step}[solver]
    per_step = 1 if solver == "euler" else 2
    if nfe % per_step:
        raise ValueError(f"{solver} costs {per_step} NFE per step, so it cannot run at {nfe} NFE")
    grid = schedules.uniform(nfe // per_step)
    fn = lambda z, **cond: solvers.sample(field, z, grid, step=step, cond=cond)  # noqa: E731
    method = method or solver
    return FewStep(name or f"{method} ({nfe} NFE)", method, nfe, fn)


def one_step(generator: Callable, *, method: str = "DMD", name: str | None = None) -> FewStep:
    """A one-step generator x = G(z, **cond) (1 NFE)."""
    return FewStep(name or f"{method} (1 NFE)", method, 1, lambda z, **cond: generator(z, **cond))


def coupling(x: Tensor, x_ode: Tensor) -> float:
    """Mean distance |x_i − x_ode_i| between a method's samples and the teacher's ODE outputs from the same noise."""
    return metrics.mean_endpoint_error(x, x_ode)


def table(samplers: list[FewStep], z: Tensor, score: Callable[[Tensor], dict], *, x_ode: Tensor | None = None,
          cond: dict | None = None) -> list[dict]:
    """One row per sampler: {"name", "method", "nfe", **score(x), "coupling" (when x_ode is given)}, same noise z."""
    rows = []
    for s in samplers:
        x = s(z, **(cond or {}))  # every method from the same noise
        row = {"name": s.name, "method": s.method, "nfe": s.nfe, **score(x)}
        if x_ode is not None:
            row["coupling"] = coupling(x, x_ode)
        rows.append(row)
    return rows


def seconds_per_nfe(field: Callable, x: Tensor, *, t: float = 0.5, repeats: int = 20, **cond) -> float:
    """Median wall time of one evaluation field(x, t, **cond) on x's device (after 2 warm-up calls; CUDA synced)."""
    import time

    check_int(repeats, "repeats")
    sync = torch.cuda.synchronize if x.device.type == "cuda" else (lambda: None)
    times = []
    with torch.no_grad():
        for i in range(repeats + 2):
            sync()
            start = time.perf_counter()
            field(x, t, **cond)
            sync()
            if i >= 2:  # the first calls pay for allocation and kernel selection
                times.append(time.perf_counter() - start)
    return sorted(times)[len(times) // 2]
