"""Distances between sample sets and against exact distributions."""
from __future__ import annotations

import torch

Tensor = torch.Tensor


def wasserstein_1d(a: Tensor, b: Tensor) -> float:
    """Exact W1 between two 1D empirical distributions with the same number of samples (sorted matching).

    a, b: (n,) or (n, 1).  For equal sample sizes W1 = mean |sort(a) - sort(b)|.
    """
    a, b = a.reshape(-1).double(), b.reshape(-1).double()
    if a.numel() != b.numel():
        raise ValueError(f"wasserstein_1d needs equal sample sizes, got {a.numel()} and {b.numel()}")
    return (torch.sort(a).values - torch.sort(b).values).abs().mean().item()


def wasserstein_1d_to_cdf(samples: Tensor, cdf, n_grid: int = 20_001) -> float:
    """W1 between 1D samples and an exact distribution given by its CDF: ∫ |F_n(x) - F(x)| dx on a fine grid."""
    s = torch.sort(samples.reshape(-1).double()).values
    lo, hi = s[0].item(), s[-1].item()
    pad = 0.5 * (hi - lo) + 1.0
    x = torch.linspace(lo - pad, hi + pad, n_grid, dtype=torch.float64)
    f_n = torch.searchsorted(s, x, right=True).double() / s.numel()
    return torch.trapezoid((f_n - cdf(x)).abs(), x).item()
