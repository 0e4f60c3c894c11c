"""Distances between sample sets and against exact distributions, and solver-accuracy measures.

All results are computed in float64.  Sample sets are (n, *dims) tensors, flattened to (n, D) where needed.
"""
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


# ----------------------------------------------------------------------------------------------- sample-set distances
def _as_sets(a: Tensor, b: Tensor, *, equal: bool) -> tuple[Tensor, Tensor]:
    """Flatten two sample sets (n, *dims) to (n, D) float64; check D (and n when ``equal``)."""
    for name, s in (("a", a), ("b", b)):
        if not isinstance(s, Tensor):
            raise TypeError(f"{name} must be a torch.Tensor of shape (n, *dims), got {type(s).__name__}")
        if s.ndim < 1 or s.shape[0] < 1:
            raise ValueError(f"{name} must have shape (n, *dims) with n >= 1, got {tuple(s.shape)}")
    a, b = a.detach().reshape(a.shape[0], -1).double(), b.detach().reshape(b.shape[0], -1).double().to(a.device)
    if a.shape[1] != b.shape[1]:
        raise ValueError(f"a and b must have the same number of features, got {a.shape[1]} and {b.shape[1]}")
    if equal and a.shape[0] != b.shape[0]:
        raise ValueError(f"a and b need the same number of samples, got {a.shape[0]} and {b.shape[0]}")
    if not (torch.isfinite(a).all() and torch.isfinite(b).all()):
        raise ValueError("a and b must not contain NaN or inf")
    return a, b


def sliced_wasserstein(a: Tensor, b: Tensor, n_projections: int = 256,
                       generator: torch.Generator | None = None) -> float:
    """Sliced W1: the exact 1D W1 of the projections onto random unit directions θ, averaged over θ.

    a, b: (n, *dims) with the same n (flattened to (n, D)).  SW1 = E_θ W1(θ·a, θ·b) with θ uniform on the sphere,
    estimated with ``n_projections`` directions drawn from ``generator``.  In 1D it is the exact W1.
    For a shift b = a + m: SW1 = E|θ·m| (= |m| in 1D, 2|m|/π in 2D).
    """
    if isinstance(n_projections, bool) or not isinstance(n_projections, int) or n_projections < 1:
        raise ValueError(f"n_projections must be a positive int, got {n_projections!r}")
    a, b = _as_sets(a, b, equal=True)
    gen_device = generator.device if generator is not None else torch.device("cpu")
    theta = torch.randn(a.shape[1], n_projections, generator=generator, device=gen_device, dtype=torch.float64)
    theta = (theta / theta.norm(dim=0, keepdim=True)).to(a.device).T  # random unit directions (P, D)
    pa, pb = torch.sort(theta @ a.T, dim=1).values, torch.sort(theta @ b.T, dim=1).values  # sorted projections (P, n)
    return (pa - pb).abs().mean().item()  # W1 per direction (sorted matching), averaged over directions


def _mean_pairwise_distance(a: Tensor, b: Tensor, chunk: int) -> Tensor:
    """E|a - b'| over all pairs (V-statistic), computed in row chunks of ``chunk`` to bound memory."""
    total = torch.zeros((), dtype=torch.float64, device=a.device)
    for i in range(0, a.shape[0], chunk):
        total += torch.cdist(a[i:i + chunk], b, compute_mode="donot_use_mm_for_euclid_dist").sum()  # exact |a - b|
    return total / (a.shape[0] * b.shape[0])


def energy_distance(a: Tensor, b: Tensor, chunk: int = 2048) -> float:
    """Energy distance (V-statistic) 2 E|a - b| - E|a - a'| - E|b - b'| between sample sets (n, *dims), (m, *dims).

    Euclidean norms over the flattened features; >= 0, and 0 for identical sets.  Population value for 1D
    N(μ1, σ²) vs N(μ2, σ²) with Δ = μ2 - μ1, s = √2 σ: 2 (s √(2/π) e^{-Δ²/(2s²)} + Δ erf(Δ / (√2 s))) - 4σ/√π.
    """
    a, b = _as_sets(a, b, equal=False)
    if isinstance(chunk, bool) or not isinstance(chunk, int) or chunk < 1:
        raise ValueError(f"chunk must be a positive int, got {chunk!r}")
    ab = _mean_pairwise_distance(a, b, chunk)  # E|a - b|
    aa = _mean_pairwise_distance(a, a, chunk)  # E|a - a'| (diagonal zeros included: V-statistic)
    bb = _mean_pairwise_distance(b, b, chunk)  # E|b - b'|
    return (2 * ab - aa - bb).clamp_min(0.0).item()


# ----------------------------------------------------------------------------------------------- solver accuracy
def endpoint_error(x: Tensor, x_ref: Tensor) -> Tensor:
    """Per-sample Euclidean error |x_i - x_ref_i| over all non-batch dims.  x, x_ref: (batch, *dims) -> (batch,)."""
    if not isinstance(x, Tensor) or not isinstance(x_ref, Tensor):
        raise TypeError("x and x_ref must be torch.Tensors of shape (batch, *dims)")
    if x.shape != x_ref.shape:
        raise ValueError(f"x and x_ref must have the same shape, got {tuple(x.shape)} and {tuple(x_ref.shape)}")
    if x.ndim < 1:
        raise ValueError("x must have shape (batch, *dims), got a 0-d tensor")
    diff = x.detach().double() - x_ref.detach().double().to(x.device)
    return diff.reshape(x.shape[0], -1).norm(dim=1)


def mean_endpoint_error(x: Tensor, x_ref: Tensor) -> float:
    """Mean over the batch of ``endpoint_error`` (a float)."""
    return endpoint_error(x, x_ref).mean().item()


def median_endpoint_error(x: Tensor, x_ref: Tensor) -> float:
    """Median over the batch of ``endpoint_error`` (a float)."""
    return endpoint_error(x, x_ref).median().item()


def convergence_order(nfes, errors) -> float:
    """Empirical order p from err ≈ C · NFE^(-p): least-squares slope of -log(err) against log(NFE).

    nfes, errors: sequences (or 1-d tensors) of the same length >= 2, all finite and > 0, at least two distinct NFEs.
    Euler should give p ≈ 1 and Heun p ≈ 2 once the steps are small enough.
    """
    n = torch.as_tensor(nfes, dtype=torch.float64).reshape(-1)
    e = torch.as_tensor(errors, dtype=torch.float64).reshape(-1)
    if n.numel() != e.numel():
        raise ValueError(f"nfes and errors must have the same length, got {n.numel()} and {e.numel()}")
    if n.numel() < 2 or torch.unique(n).numel() < 2:
        raise ValueError("convergence_order needs at least two distinct NFE values")
    if not (torch.isfinite(n).all() and torch.isfinite(e).all()) or (n <= 0).any() or (e <= 0).any():
        raise ValueError("nfes and errors must be finite and > 0 (an error of exactly 0 has no logarithm)")
    x, y = torch.log(n), -torch.log(e)
    xc = x - x.mean()
    return ((xc * (y - y.mean())).sum() / (xc**2).sum()).item()  # least-squares slope
