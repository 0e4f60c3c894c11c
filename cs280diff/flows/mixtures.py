"""Gaussian mixtures with exact oracles: their marginal velocity, score and posteriors in closed form.

A mixture p1 = Σ_k π_k N(μ_k, s_k² I_D) pushed along the path x_t = (1 - t) x0 + t x1 (x0 ~ N(0, I)) stays a mixture:
  x_t | k ~ N(t μ_k, var_k(t) I),   var_k(t) = (1 - t)² + t² s_k².
Posterior of the component:  w_k(x, t) = softmax_k[ log π_k - (D/2) log(2π var_k) - |x - t μ_k|² / (2 var_k) ].
Exact marginal velocity:     v*(x, t) = Σ_k w_k [ μ_k + ((t s_k² - (1 - t)) / var_k) (x - t μ_k) ].
Score:                       ∇ log p_t(x) = -Σ_k w_k (x - t μ_k) / var_k.
The direct form of v* has no 1/(1 - t) and stays accurate up to t = 1 in float32.
"""
from __future__ import annotations

import math

import torch

from cs280diff.conventions import gaussian_log_normalizer
from cs280diff.validate import check_positive, check_t, check_x

Tensor = torch.Tensor


class GaussianMixture:
    """An isotropic Gaussian mixture in D dimensions with the exact flow-matching oracle.

    Args:
        means: (K, D) component means μ_k (a (K,) sequence is read as D = 1).
        stds: (K,) component standard deviations s_k > 0 (a scalar is shared by all components).
        weights: (K,) mixture weights π_k > 0 (normalised here); default uniform.

    The object is a velocity field: ``mixture(x, t)`` returns the exact marginal velocity v*(x, t) for
    x of shape (batch, D) (or (batch, *dims) with prod(dims) = D) and t a float or a (batch,) tensor.
    """

    def __init__(self, means, stds, weights=None):
        means = torch.as_tensor(means, dtype=torch.float64)
        if means.ndim == 1:
            means = means[:, None]
        if means.ndim != 2 or means.shape[0] < 1:
            raise ValueError(f"means must have shape (K, D), got {tuple(means.shape)}")
        k = means.shape[0]
        stds = torch.as_tensor(stds, dtype=torch.float64).reshape(-1)
        stds = stds.expand(k).clone() if stds.numel() == 1 else stds
        weights = torch.full((k,), 1.0 / k, dtype=torch.float64) if weights is None else \
            torch.as_tensor(weights, dtype=torch.float64).reshape(-1)
        if stds.shape != (k,) or weights.shape != (k,):
            raise ValueError(f"stds and weights need {k} entries (one per mean), got {tuple(stds.shape)} and "
                             f"{tuple(weights.shape)}")
        for name, v in (("means", means), ("stds", stds), ("weights", weights)):
            if not torch.isfinite(v).all():
                raise ValueError(f"{name} contains NaN or inf")
        if (stds <= 0).any():
            raise ValueError("stds must be > 0")
        if (weights <= 0).any():
            raise ValueError("weights must be > 0")
        self.means, self.stds, self.weights = means, stds, weights / weights.sum()

    # ------------------------------------------------------------------------------------------- basics
    @property
    def dim(self) -> int:
        """D, the data dimension."""
        return self.means.shape[1]

    @property
    def n_components(self) -> int:
        """K, the number of components."""
        return self.means.shape[0]

    def __repr__(self) -> str:
        return f"GaussianMixture(K={self.n_components}, D={self.dim})"

    def params(self, like: Tensor | None = None) -> tuple[Tensor, Tensor, Tensor]:
        """(means (K, D), stds (K,), weights (K,)) on the dtype/device of ``like`` (float64 CPU by default)."""
        if like is None:
            return self.means, self.stds, self.weights
        return tuple(p.to(dtype=like.dtype, device=like.device) for p in (self.means, self.stds, self.weights))

    def mean(self) -> Tensor:
        """E[x1], shape (D,)."""
        return self.weights @ self.means

    def covariance(self) -> Tensor:
        """Cov[x1], shape (D, D)."""
        m = self.mean()
        d = self.means - m
        second = (self.weights[:, None, None] * (d[:, :, None] * d[:, None, :])).sum(0)
        return second + torch.diag((self.weights * self.stds**2).sum().expand(self.dim))

    def sample(self, n: int, generator: torch.Generator | None = None, *, return_labels: bool = False,
               dtype=None, device=None):
        """n samples of the data x1 ~ p1, shape (n, D); with ``return_labels`` also the component of each, (n,)."""
        if not isinstance(n, int) or n < 1:
            raise ValueError(f"n must be a positive int, got {n!r}")
        gen_device = generator.device if generator is not None else torch.device("cpu")
        k = torch.multinomial(self.weights.to(gen_device), n, replacement=True, generator=generator)
        z = torch.randn(n, self.dim, generator=generator, device=gen_device, dtype=torch.float64)
        means, stds = self.means.to(gen_device), self.stds.to(gen_device)
        x = means[k] + stds[k, None] * z
        x = x.to(dtype=dtype or torch.get_default_dtype(), device=device)
        return (x, k.to(device)) if return_labels else x

    # ------------------------------------------------------------------------------------------- the path
    def _flat(self, x: Tensor) -> Tensor:
        check_x(x)
        flat = x.reshape(x.shape[0], -1)
        if flat.shape[1] != self.dim:
            raise ValueError(f"x has {flat.shape[1]} features per sample but the mixture has D = {self.dim}; "
                             f"x must have shape (batch, {self.dim})")
        return flat

    def _terms(self, x: Tensor, t):
        """Shared pieces at (x, t): flat x (N, D), t (N, 1), var (N, K), diff = x - t μ_k (N, K, D), logits (N, K)."""
        xf = self._flat(x)
        t = check_t(t, x).reshape(-1, 1).expand(xf.shape[0], 1)
        means, stds, weights = self.params(xf)
        var = (1 - t) ** 2 + t**2 * stds**2
        diff = xf[:, None, :] - t[:, :, None] * means[None]
        logits = torch.log(weights) + gaussian_log_normalizer(var, self.dim) - (diff**2).sum(-1) / (2 * var)
        return xf, t, var, diff, logits

    def log_prob_t(self, x: Tensor, t) -> Tensor:
        """log p_t(x), the density of x_t (t = 1: the data; t = 0: N(0, I)).  x (N, D) -> (N,)."""
        return torch.logsumexp(self._terms(x, t)[-1], dim=1)

    def log_prob(self, x: Tensor) -> Tensor:
        """log p1(x), the data density.  x (N, D) -> (N,)."""
        return self.log_prob_t(x, 1.0)

    def posteriors(self, x: Tensor, t) -> Tensor:
        """Component posteriors w_k(x, t) = P(k | x_t = x), shape (N, K), rows sum to 1 (log-sum-exp)."""
        return torch.softmax(self._terms(x, t)[-1], dim=1)

    def velocity(self, x: Tensor, t, **cond) -> Tensor:
        """Exact marginal velocity v*(x, t) = E[x1 - x0 | x_t = x], same shape as x.  Accurate for all t in [0, 1]."""
        if cond:
            raise TypeError(f"this mixture takes no conditioning, got {sorted(cond)}")
        return self._velocity(x, t, tau=1.0)

    __call__ = velocity

    def score(self, x: Tensor, t) -> Tensor:
        """Exact score ∇_x log p_t(x) = -Σ_k w_k (x - t μ_k) / var_k, same shape as x."""
        return self._score(x, t, tau=1.0)

    def _velocity(self, x: Tensor, t, tau: float, log_mask: Tensor | None = None) -> Tensor:
        """Σ_k w_k [μ_k + ((t s_k² - (1 - t)) / var_k)(x - t μ_k)] with w = softmax(logits / tau) (tau = 1: exact).

        log_mask (N, K): added to the logits (-inf drops a component: the field of a sub-mixture, e.g. one class).
        """
        xf, t, var, diff, logits = self._terms(x, t)
        means, stds, _ = self.params(xf)
        logits = logits / tau if log_mask is None else logits / tau + log_mask
        w = torch.softmax(logits, dim=1)  # (tempered) posteriors
        coef = (t * stds**2 - (1 - t)) / var
        v = (w[:, :, None] * (means[None] + coef[:, :, None] * diff)).sum(1)
        return v.reshape(x.shape)

    def _score(self, x: Tensor, t, tau: float) -> Tensor:
        """-Σ_k w_k (x - t μ_k) / var_k with w = softmax(logits / tau) (tau = 1: the exact score)."""
        xf, t, var, diff, logits = self._terms(x, t)
        w = torch.softmax(logits / tau, dim=1)
        return (-(w / var)[:, :, None] * diff).sum(1).reshape(x.shape)

    def x1_posterior_mean(self, x: Tensor, t) -> Tensor:
        """E[x1 | x_t = x] = Σ_k w_k [μ_k + (t s_k² / var_k)(x - t μ_k)], same shape as x."""
        xf, t, var, diff, logits = self._terms(x, t)
        means, stds, _ = self.params(xf)
        w = torch.softmax(logits, dim=1)
        return (w[:, :, None] * (means[None] + (t * stds**2 / var)[:, :, None] * diff)).sum(1).reshape(x.shape)

    def tempered(self, tau: float) -> "TemperedField":
        """An *imperfect* field built from this oracle: component posteriors softened with temperature tau.

        See ``TemperedField``; ``tau = 1`` gives back the exact field.
        """
        return TemperedField(self, tau)

    # ------------------------------------------------------------------------------------------- 1D helpers
    def cdf_1d(self, x: Tensor, t: float = 1.0) -> Tensor:
        """CDF of p_t in one dimension (D = 1).  x any shape -> same shape."""
        if self.dim != 1:
            raise ValueError("cdf_1d needs a one-dimensional mixture")
        tt = float(check_t(t))
        xs = torch.as_tensor(x, dtype=torch.float64)
        sd = torch.sqrt((1 - tt) ** 2 + tt**2 * self.stds**2)
        z = (xs[..., None] - tt * self.means[:, 0]) / sd
        return (self.weights * 0.5 * (1 + torch.erf(z / math.sqrt(2)))).sum(-1)


def lecture_1d() -> GaussianMixture:
    """The practicum's 1D data: three modes of different widths and weights (as in the lecture's 1D example)."""
    return GaussianMixture(means=[-2.0, 0.3, 2.2], stds=[0.30, 0.15, 0.40], weights=[0.35, 0.20, 0.45])


def ring_2d(n_modes: int = 8, radius: float = 2.0, std: float = 0.1) -> GaussianMixture:
    """A ring of ``n_modes`` equal-weight Gaussians of std ``std`` at distance ``radius`` from the origin (D = 2)."""
    angle = torch.arange(n_modes, dtype=torch.float64) * 2 * math.pi / n_modes
    means = radius * torch.stack([torch.cos(angle), torch.sin(angle)], dim=1)
    return GaussianMixture(means, std)


class TemperedField:
    """An analytic *imperfect model*: the mixture's exact field with softened component posteriors.

    w_k^tau(x, t) ∝ (π_k N(x; t μ_k, var_k(t) I))^(1/tau) = softmax_k(logits_k / tau), and
        v_tau(x, t) = Σ_k w_k^tau [ μ_k + ((t s_k² - (1 - t)) / var_k)(x - t μ_k) ],
    the exact per-component velocities averaged with the wrong weights.  tau = 1 is the exact field v*; tau > 1
    blurs the boundaries between modes, as a network that is too smooth (too small, trained too briefly) cannot draw
    sharp ones: where two components compete, v_tau points between them, so ODE samples near a boundary land
    *between* the modes.  Near a mode (and as t -> 1, where the logits grow) the posterior is still one-hot, so the
    field there stays right: that local correctness is what fresh noise (SDE / churn) can exploit to pull samples
    back onto the modes.  It models a *model error*, not a truncation error.

    The score a sampler derives from it, (t v_tau - x)/(1 - t), is the same softening of the exact score:
    Σ_k w_k^tau s_k with s_k = -(x - t μ_k) / var_k.  Call it like any field: ``field(x, t) -> v`` (no conditioning).
    """

    def __init__(self, mixture: GaussianMixture, tau: float):
        if not isinstance(mixture, GaussianMixture):
            raise TypeError(f"mixture must be a GaussianMixture, got {type(mixture).__name__}")
        self.mixture, self.tau = mixture, check_positive(tau, "tau (1 = exact field, > 1 = softer)")

    def __repr__(self) -> str:
        return f"TemperedField({self.mixture!r}, tau={self.tau:g})"

    def posteriors(self, x: Tensor, t) -> Tensor:
        """Softened posteriors w_k^tau(x, t) = softmax_k(logits_k / tau), shape (N, K)."""
        return torch.softmax(self.mixture._terms(x, t)[-1] / self.tau, dim=1)

    def velocity(self, x: Tensor, t, **cond) -> Tensor:
        """v_tau(x, t): exact per-component velocities weighted by the softened posteriors; same shape as x."""
        if cond:
            raise TypeError(f"this field takes no conditioning, got {sorted(cond)}")
        return self.mixture._velocity(x, t, tau=self.tau)

    __call__ = velocity

    def score(self, x: Tensor, t) -> Tensor:
        """The score implied by v_tau: -Σ_k w_k^tau (x - t μ_k) / var_k = (t v_tau - x)/(1 - t); same shape as x."""
        return self.mixture._score(x, t, tau=self.tau)
