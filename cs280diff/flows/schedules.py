"""Time grids for sampling: each schedule returns the whole grid t_0 = 0 < t_1 < ... < t_N = 1.

Convention (docs/conventions.md): t = 0 is pure noise, t = 1 is data; samplers integrate from t_0 to t_N and never
build grids themselves. Every schedule returns a float64 CPU tensor of shape (N + 1,) with t_0 = 0 and t_N = 1 *exactly*,
so N steps of Euler cost N NFE and N steps of Heun 2N.  EDM's noise level is sigma = (1 - t) / t, t = 1 / (1 + sigma).

  uniform(N)          t_i = i / N
  edm_rho(N, ...)     Karras et al. (2022), eq. 5: rho-spaced sigmas, "long steps at high noise, short at low noise"
  shift(N, s)         SD3 (Esser et al., 2024): tau' = s tau / (1 + (s - 1) tau) on tau = 1 - t, i.e. sigma' = s sigma
"""
from __future__ import annotations

import torch

from cs280diff.validate import check_int, check_positive

Tensor = torch.Tensor

__all__ = ["uniform", "edm_rho", "shift", "SCHEDULES", "get"]


def uniform(n_steps: int, *, dtype=torch.float64, device=None) -> Tensor:
    """Uniform grid t_i = i / N, i = 0..N.  Returns (N + 1,) float64 by default; t_0 = 0 (noise), t_N = 1 (data)."""
    return torch.linspace(0.0, 1.0, check_int(n_steps, "n_steps") + 1, dtype=dtype, device=device)


def edm_rho(n_steps: int, sigma_min: float = 0.002, sigma_max: float = 80.0, rho: float = 7.0) -> Tensor:
    """EDM's rho-schedule (Karras et al. 2022, eq. 5) mapped into t = 1 / (1 + sigma).  Returns (N + 1,) float64.

    EDM with N steps visits sigma_0 = sigma_max > sigma_1 > ... > sigma_{N-1} = sigma_min and then sigma_N = 0, with
        sigma_i = (sigma_max^(1/rho) + i / (N - 1) (sigma_min^(1/rho) - sigma_max^(1/rho)))^rho,   i = 0..N-1.
    EDM starts from pure noise scaled by sigma_max (it treats sigma_max as infinite noise), so on our path the first
    point becomes t_0 = 0 (sigma = inf) exactly; the last is t_N = 1 (sigma = 0) exactly; the N - 1 interior points
    are t_i = 1 / (1 + sigma_i) for i = 1..N-1 (t_{N-1} = 1 / (1 + sigma_min)).  The grid has exactly N intervals,
    the same steps as EDM's sampler with ``num_steps = N``.  NFE: EDM's Algorithm 1 skips the Heun correction on its
    last step (the one to sigma = 0) and costs 2N - 1; ``flows.solvers.heun_step`` corrects every step, 2N.
    N = 1 gives [0, 1].
    """
    n = check_int(n_steps, "n_steps")
    sigma_min, sigma_max = check_positive(sigma_min, "sigma_min"), check_positive(sigma_max, "sigma_max")
    rho = check_positive(rho, "rho")
    if not sigma_min < sigma_max:
        raise ValueError(f"need 0 < sigma_min < sigma_max, got sigma_min={sigma_min:g}, sigma_max={sigma_max:g}")
    if n == 1:
        return uniform(1)
    i = torch.arange(1, n, dtype=torch.float64)  # interior indices 1..N-1
    lo, hi = sigma_min ** (1 / rho), sigma_max ** (1 / rho)
    sigma = (hi + i / (n - 1) * (lo - hi)) ** rho  # rho-spaced noise levels, decreasing to sigma_min
    t_inner = 1 / (1 + sigma)  # sigma -> t on the path x_t = (1 - t) x0 + t x1
    zero, one = torch.zeros(1, dtype=torch.float64), torch.ones(1, dtype=torch.float64)
    return torch.cat([zero, t_inner, one])  # t_0 = 0 (sigma = inf), t_N = 1 (sigma = 0)


def shift(n_steps: int, s: float) -> Tensor:
    """SD3's shifted grid: tau' = s tau / (1 + (s - 1) tau) on tau = 1 - t of a uniform grid.  (N + 1,) float64.

    Equivalently sigma' = s * sigma with sigma = tau / (1 - tau) = (1 - t) / t.  s = 1 is uniform; s > 1 puts more
    steps near the noise (t = 0), s < 1 more near the data (t = 1).  Endpoints stay t_0 = 0, t_N = 1 exactly.
    """
    n, s = check_int(n_steps, "n_steps"), check_positive(s, "s")
    tau = 1 - uniform(n)  # tau = 1 - t runs from 1 (noise) to 0 (data)
    tau_s = s * tau / (1 + (s - 1) * tau)  # the shift: sigma' = s sigma
    t = 1 - tau_s
    t[0], t[-1] = 0.0, 1.0  # endpoints exact (they already are up to rounding)
    return t


SCHEDULES = {"uniform": uniform, "edm": edm_rho, "shift": shift}


def get(name: str, n_steps: int, **kw) -> Tensor:
    """The grid of schedule ``name`` ("uniform", "edm", "shift") with ``n_steps`` intervals: ``get("shift", 32, s=3)``."""
    if name not in SCHEDULES:
        raise ValueError(f"unknown schedule {name!r}; choose one of {sorted(SCHEDULES)}")
    return SCHEDULES[name](n_steps, **kw)
