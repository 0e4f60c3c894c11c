"""The measurements behind the experiment exercises of notebooks 1-4 (each notebook's student writes its own; the
tests compare with these).

  swap_fraction         notebook 1: the share of neighbouring trajectories whose order swaps (which paths cross)
  field_error_by_time   notebook 2: the loss at each t split into the field error E|v_θ - v*|² and the floor L*(t)
  crossover_nfe         notebook 3: the budget from which one solver stays ahead of another
  eta_sweep             notebook 4: the SDE's noise level swept at a fixed NFE, with fresh noise per η
  round_trip_errors     notebook 5: round-trip and latent errors of inversion against the number of steps, with orders

Conventions (docs/conventions.md): t = 0 noise, t = 1 data, x_t = (1 - t) x0 + t x1, fields are field(x, t, **cond).
"""
from __future__ import annotations

from typing import Callable

import torch

from cs280diff import conventions
from cs280diff.flows import inversion, metrics, schedules, solvers, stochastic
from cs280diff.flows.solvers import Field
from cs280diff.validate import check_int, check_number, check_x

Tensor = torch.Tensor

__all__ = ["swap_fraction", "field_error_by_time", "crossover_nfe", "eta_sweep", "round_trip_errors"]


def swap_fraction(x_start: Tensor, x_end: Tensor) -> float:
    """Share of neighbouring pairs whose order swaps between x_start and x_end, both (n, 1) with n >= 2.

    Sort the samples by x_start; of the n - 1 pairs of neighbours in that order, the fraction whose x_end values are
    in the opposite order (strictly: the left one's x_end > the right one's).  0 for an order-preserving map (a 1D
    ODE flow), 1 for an order-reversing one, about 1/2 when x_end is independent of x_start.
    """
    a, b = check_x(x_start, "x_start"), check_x(x_end, "x_end")
    if a.shape != b.shape or a.ndim != 2 or a.shape[1] != 1 or a.shape[0] < 2:
        raise ValueError(f"x_start and x_end must both have shape (n, 1) with n >= 2, got {tuple(a.shape)} and "
                         f"{tuple(b.shape)}")
    order = torch.argsort(a[:, 0])  # neighbours in the order of the starting points
    return (b[order, 0].diff() < 0).double().mean().item()  # share of neighbours whose end order is reversed


@torch.no_grad()
def field_error_by_time(model, mixture, ts, n: int, seed: int, device="cpu") -> tuple[Tensor, Tensor]:
    """The field error E|v_θ - v*|² and the loss floor L*(t) = E|u - v*|² at each time t in ts, on the same samples.

    For the i-th t: g = manual_seed(seed + i), x1 = mixture.sample(n, g), then x0 = randn(x1.shape, g) (float32, CPU);
    x_t = (1 - t) x0 + t x1, u = x1 - x0, v* = mixture(x_t, t) (t = 0 noise, t = 1 data).  The model sees x_t and a
    (n,) tensor of t on ``device``.  Both results are (len(ts),) float64, means over samples and coordinates; the
    loss at time t is their sum (the decomposition of notebook 2, section 1).
    """
    n = check_int(n, "n")
    errors, floors = [], []
    for i, t in enumerate(torch.as_tensor(ts, dtype=torch.float64).reshape(-1).tolist()):
        g = torch.Generator().manual_seed(seed + i)  # fresh draws per time, reproducible
        x1 = mixture.sample(n, g)  # data first ...
        x0 = torch.randn(x1.shape, generator=g)  # ... then the noise
        t_vec = torch.full((n,), t)
        x_t = conventions.path(x0, x1, t_vec)  # a point of the straight path at time t
        v_star = mixture(x_t, t_vec)  # the exact marginal velocity there
        v = model(x_t.to(device), t_vec.to(device)).cpu()  # the model's velocity
        errors.append(((v - v_star) ** 2).mean().item())  # what the model gets wrong
        floors.append(((x1 - x0 - v_star) ** 2).mean().item())  # what no model can get right
    return torch.tensor(errors, dtype=torch.float64), torch.tensor(floors, dtype=torch.float64)


def crossover_nfe(nfes, err_base, err_new):
    """The smallest NFE budget from which ``err_new`` < ``err_base`` at that budget and at every larger one.

    nfes: increasing budgets; err_base, err_new: errors of two methods at those budgets.  None if the new method is
    not ahead at the largest budget.  (Where the curves cross more than once, the last crossing counts.)
    """
    n = [int(v) for v in torch.as_tensor(nfes).reshape(-1).tolist()]
    a = torch.as_tensor(err_base, dtype=torch.float64).reshape(-1).tolist()
    b = torch.as_tensor(err_new, dtype=torch.float64).reshape(-1).tolist()
    if not (len(n) == len(a) == len(b)) or not n:
        raise ValueError(f"nfes, err_base and err_new must have the same positive length, got {len(n)}, {len(a)}, {len(b)}")
    if any(m <= k for k, m in zip(n, n[1:])):
        raise ValueError(f"nfes must be increasing, got {n}")
    start = None
    for nfe, ea, eb in zip(n, a, b):
        start = (nfe if start is None else start) if eb < ea else None  # a run of budgets where the new method is ahead
    return start


def eta_sweep(field: Field, etas, nfe: int, x0: Tensor, seed: int, metric: Callable[[Tensor], float], *,
              step: Callable = stochastic.em_step, cond: dict | None = None) -> tuple[Tensor, float]:
    """Sweep the SDE's noise level at a fixed NFE: one ``sde_euler_maruyama`` run per η, scored by ``metric``.

    The k-th η runs from the same x0 (batch, *dims) at t = 0 on ``schedules.uniform(nfe)`` (nfe steps, 1 NFE each)
    with *fresh* noise from ``torch.Generator().manual_seed(seed + k)``.  Returns (scores, best_eta): scores is a
    (len(etas),) float64 tensor of ``metric(samples at t = 1)`` (lower is better), best_eta the η of the lowest one.
    """
    etas = [check_number(e, "eta") for e in etas]
    nfe = check_int(nfe, "nfe")
    if not etas:
        raise ValueError("etas must hold at least one noise level")
    scores = torch.zeros(len(etas), dtype=torch.float64)
    for k, eta in enumerate(etas):
        gen = torch.Generator().manual_seed(seed + k)  # fresh noise for every noise level
        x1 = stochastic.sde_euler_maruyama(field, x0, schedules.uniform(nfe), eta=eta, generator=gen, step=step, cond=cond)
        scores[k] = float(metric(x1))  # lower is better
    return scores, etas[int(scores.argmin())]


def round_trip_errors(field: Field, x1: Tensor, z_exact: Tensor, n_steps, *, step: Callable = solvers.euler_step,
                      invert: Callable | None = None) -> dict:
    """Invert x1 (batch, *dims) on ``schedules.uniform(n)`` for each n in ``n_steps``, regenerate on the same grid.

    ``invert(field, x1, grid, step=step)`` defaults to ``flows.inversion.invert``; z_exact is the exact inverse of x1
    (e.g. ``solvers.reference_solution`` from t = 1 to 0).  Returns {"round_trip": (len,) float64 mean endpoint error
    of the regenerated x1, "latent": (len,) float64 mean endpoint error of the latents against z_exact,
    "order_round_trip", "order_latent": ``metrics.convergence_order`` fitted over n_steps}.
    """
    invert = invert or inversion.invert
    n_steps = [check_int(n, "n_steps") for n in n_steps]
    if len(n_steps) < 2:
        raise ValueError("n_steps needs at least two step counts to fit an order")
    rt, lat = torch.zeros(len(n_steps), dtype=torch.float64), torch.zeros(len(n_steps), dtype=torch.float64)
    for k, n in enumerate(n_steps):
        grid = schedules.uniform(n)
        z = invert(field, x1, grid, step=step)  # data -> noise
        back = solvers.sample(field, z, grid, step=step)  # noise -> data on the same grid
        rt[k], lat[k] = metrics.mean_endpoint_error(back, x1), metrics.mean_endpoint_error(z, z_exact)
    return {"round_trip": rt, "latent": lat, "order_round_trip": metrics.convergence_order(n_steps, rt),
            "order_latent": metrics.convergence_order(n_steps, lat)}
