"""The one module that owns the path and every parameterization conversion.

The sheet: ``docs/conventions.md``.  Time t in [0, 1]; **t = 0 is pure noise** x0 ~ N(0, I), **t = 1 is data** x1.
  path                    x_t = (1 - t) x0 + t x1
  conditional velocity    u = x1 - x0
  from a velocity v at (x_t, t):
    image prediction      x̂1 = x_t + (1 - t) v
    noise prediction      x̂0 = x_t - t v
    score                 ∇ log p_t(x_t) = -x̂0 / (1 - t) = (t v - x_t) / (1 - t)      (t < 1)
  EDM's sigma-space:      sigma = (1 - t) / t,  y = x_t / t,  D(y, sigma) = x̂1          (t > 0)
Shapes: x is (batch, *dims); t is a float, a 0-d tensor or a (batch,) tensor and is broadcast here.  A t within
``validate.T_TOL`` of [0, 1] is clamped into it (adaptive solvers overshoot their end time); further out raises.
"""
from __future__ import annotations

import math

import torch

from cs280diff.validate import check_same_shape, check_t, check_x

Tensor = torch.Tensor


def expand_t(t: Tensor, x: Tensor) -> Tensor:
    """Reshape a checked t (shape () or (batch,)) to (batch, 1, ..., 1) so that it broadcasts against x."""
    if t.ndim == 0:
        return t
    return t.reshape(-1, *([1] * (x.ndim - 1)))


# ----------------------------------------------------------------------------------------------- the path
def path(x0: Tensor, x1: Tensor, t) -> Tensor:
    """x_t = (1 - t) x0 + t x1.  x0 noise, x1 data: (batch, *dims); t float or (batch,). Returns (batch, *dims)."""
    check_x(x0, "x0"), check_x(x1, "x1"), check_same_shape(x0, x1, "x0", "x1")
    tt = expand_t(check_t(t, x0), x0)
    return (1 - tt) * x0 + tt * x1


def conditional_velocity(x0: Tensor, x1: Tensor) -> Tensor:
    """u = d x_t / dt = x1 - x0 for the linear path.  Shapes (batch, *dims) -> (batch, *dims)."""
    check_x(x0, "x0"), check_x(x1, "x1"), check_same_shape(x0, x1, "x0", "x1")
    return x1 - x0


# ----------------------------------------------------------------------------------------------- conversions
def _xtv(x: Tensor, t, v: Tensor):
    check_x(x), check_x(v, "v"), check_same_shape(x, v, "x", "v")
    return expand_t(check_t(t, x), x)


def x1_from_velocity(x: Tensor, t, v: Tensor) -> Tensor:
    """Image prediction x̂1 = x_t + (1 - t) v.  Valid for t in [0, 1]."""
    tt = _xtv(x, t, v)
    return x + (1 - tt) * v


def x0_from_velocity(x: Tensor, t, v: Tensor) -> Tensor:
    """Noise prediction x̂0 = x_t - t v.  Valid for t in [0, 1]."""
    tt = _xtv(x, t, v)
    return x - tt * v


def score_from_velocity(x: Tensor, t, v: Tensor) -> Tensor:
    """Score ∇ log p_t(x) = -x̂0 / (1 - t) = (t v - x) / (1 - t).  Needs t < 1 (the score blows up at the data)."""
    tt = _xtv(x, t, v)
    if (tt >= 1).any():
        raise ValueError("the score is undefined at t = 1 (pure data); use t < 1")
    return (tt * v - x) / (1 - tt)


def velocity_from_x1(x: Tensor, t, x1_hat: Tensor) -> Tensor:
    """Velocity from an image prediction: v = (x̂1 - x_t) / (1 - t).  Needs t < 1."""
    tt = _xtv(x, t, x1_hat)
    if (tt >= 1).any():
        raise ValueError("v cannot be recovered from x̂1 at t = 1 (x̂1 = x_t there); use t < 1")
    return (x1_hat - x) / (1 - tt)


def velocity_from_x0(x: Tensor, t, x0_hat: Tensor) -> Tensor:
    """Velocity from a noise prediction: v = (x_t - x̂0) / t.  Needs t > 0."""
    tt = _xtv(x, t, x0_hat)
    if (tt <= 0).any():
        raise ValueError("v cannot be recovered from x̂0 at t = 0 (x̂0 = x_t there); use t > 0")
    return (x - x0_hat) / tt


def velocity_from_score(x: Tensor, t, score: Tensor) -> Tensor:
    """Velocity from a score: v = (x_t + (1 - t) score) / t = x_t / t + ((1 - t) / t) score.  Needs t > 0."""
    tt = _xtv(x, t, score)
    if (tt <= 0).any():
        raise ValueError("v cannot be recovered from the score at t = 0; use t > 0")
    return x / tt + velocity_change_from_score_change(tt, score)


def velocity_change_from_score_change(t, d_score: Tensor) -> Tensor:
    """Δv = ((1 - t) / t) Δscore: how the velocity moves when the score moves (v is affine in the score).

    Classifier guidance adds s ∇ log p(c | x_t) to the score, so it adds ((1 - t) / t) s ∇ log p(c | x_t) to v.
    t: a float or a tensor broadcastable against d_score, with t > 0.
    """
    tt = torch.as_tensor(t, dtype=d_score.dtype, device=d_score.device)
    if (tt <= 0).any():
        raise ValueError("the score-to-velocity factor (1 - t) / t is infinite at t = 0; use t > 0")
    return ((1 - tt) / tt) * d_score


# ----------------------------------------------------------------------------------------------- EDM sigma-space
def sigma_from_t(t) -> Tensor:
    """EDM noise level sigma = (1 - t) / t (t = 1 -> sigma = 0; t -> 0 -> sigma -> inf).  Needs t > 0."""
    t = check_t(t)
    if (t <= 0).any():
        raise ValueError("sigma = (1 - t) / t is infinite at t = 0; use t > 0")
    return (1 - t) / t


def t_from_sigma(sigma) -> Tensor:
    """Inverse of sigma_from_t: t = 1 / (1 + sigma), for sigma >= 0 (sigma = inf gives t = 0)."""
    sigma = torch.as_tensor(sigma, dtype=torch.get_default_dtype()) if not isinstance(sigma, Tensor) else sigma
    if torch.isnan(sigma).any() or (sigma < 0).any():
        raise ValueError("sigma must be >= 0 and not NaN")
    return 1 / (1 + sigma)


def edm_y_from_x(x: Tensor, t) -> Tensor:
    """EDM's variable y = x_t / t (y = x1 + sigma x0 in distribution).  Needs t > 0."""
    check_x(x)
    tt = expand_t(check_t(t, x), x)
    if (tt <= 0).any():
        raise ValueError("y = x_t / t is undefined at t = 0; use t > 0")
    return x / tt


def x_from_edm_y(y: Tensor, sigma) -> Tensor:
    """Back from EDM's y to the path: x_t = t y with t = 1 / (1 + sigma)."""
    check_x(y, "y")
    t = t_from_sigma(torch.as_tensor(sigma, dtype=y.dtype, device=y.device))
    return expand_t(check_t(t, y), y) * y


def denoiser_from_velocity(field):
    """Wrap a velocity field as EDM's denoiser D(y, sigma) = x̂1, with x_t = t y and t = 1 / (1 + sigma)."""

    def denoiser(y: Tensor, sigma, **cond) -> Tensor:
        sigma = torch.as_tensor(sigma, dtype=y.dtype, device=y.device)
        t = t_from_sigma(sigma)
        x = expand_t(check_t(t, y), y) * y
        return x1_from_velocity(x, t, field(x, t, **cond))

    return denoiser


def gaussian_log_normalizer(var: Tensor, dim: int) -> Tensor:
    """-(D/2) log(2π var): the log-normaliser of an isotropic D-dimensional Gaussian with variance ``var``."""
    return -0.5 * dim * (math.log(2 * math.pi) + torch.log(var))
