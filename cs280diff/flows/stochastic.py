"""Stochastic samplers: inject fresh noise while integrating from t = 0 (noise) to t = 1 (data).

Convention (docs/conventions.md): x_t = (1 - t) x0 + t x1, t = 0 is noise x0 ~ N(0, I), t = 1 is data; a velocity
field is ``field(x, t, **cond) -> v``; grids come from ``flows.schedules`` (t_0 < ... < t_N); ``solvers.sample`` runs
the loop.  Both samplers take an explicit ``torch.Generator`` for their noise, so a run is reproducible.

**The SDE family.**  For any g(t) >= 0, the SDE  dx = [v + (g²/2) ∇log p_t] dt + g dW  has the same marginals p_t as
the ODE dx = v dt (the extra drift (g²/2)∇log p_t cancels, in the Fokker–Planck equation, the spreading g²/2 Δp of the
noise).  With the score from the velocity, ∇log p_t = (t v - x) / (1 - t), and the choice g² = 2η(1 - t):

    dx = [v + η (t v - x)] dt + sqrt(2η (1 - t)) dW,

free of singularities on [0, 1].  η = 0 is the probability-flow ODE; larger η means more fresh noise *and* a stronger
pull along the score.  ``sde_euler_maruyama`` discretises it with Euler–Maruyama.

**EDM's churn** (Karras et al. 2022, Alg. 2).  In EDM's sigma-space, sigma = (1 - t)/t and y = x_t / t:

    y = x_t / t = x1 + sigma x0      (in distribution, x0 ~ N(0, I) independent of x1).

Adding independent noise sqrt(sigma_hat² - sigma²) ξ to y (ξ ~ N(0, I)) gives x1 + sigma_hat x0' in distribution,
i.e. a sample of EDM's noise level sigma_hat > sigma.  Back on our path, t_hat = 1 / (1 + sigma_hat) and
x_hat = t_hat y_hat, so the re-noising step from x_t to the *earlier* time t_hat < t is

    sigma_hat = sigma (1 + γ),   t_hat = 1 / (1 + sigma_hat),
    x_hat = (t_hat / t) x_t + t_hat sqrt(sigma_hat² - sigma²) ξ,

and it maps p_t exactly onto p_{t_hat} for *any* data distribution (the scale t_hat / t shrinks the signal part
t x1 to t_hat x1, the noise tops the noise part up from (1 - t) to (1 - t_hat) in standard deviation:
(t_hat / t)² (1 - t)² + t_hat² (sigma_hat² - sigma²) = t_hat² sigma_hat² = (1 - t_hat)²).
``churn_sampler`` re-noises (churn) and then takes one ODE step from t_hat to the next grid time.

NFE (counted with ``solvers.NFECounter`` in the tests): ``sde_euler_maruyama`` uses 1 per step, N in all;
``churn_sampler`` uses what its ODE step uses per step: N with ``euler_step``, 2N with ``heun_step`` (churn itself
evaluates nothing).
"""
from __future__ import annotations

import math
from typing import Callable

import torch

from cs280diff.flows.solvers import Field, euler_step, heun_step, sample
from cs280diff.runtime import randn
from cs280diff.validate import check_generator, check_grid, check_number, check_x

Tensor = torch.Tensor

__all__ = ["sde_drift", "em_step", "sde_euler_maruyama", "churn_renoise", "churn_gamma", "churn_sampler"]


def _noise(x: Tensor, generator: torch.Generator) -> Tensor:
    """ξ ~ N(0, I) of x's shape, drawn on the generator's device (same seed, same noise on CPU and GPU)."""
    return randn(x.shape, generator, device=x.device, dtype=x.dtype)


# ----------------------------------------------------------------------------------------------- the SDE
def sde_drift(x: Tensor, t: float, v: Tensor, eta: float) -> Tensor:
    """Drift of the SDE with g² = 2η(1 - t): v + (g²/2) score = v + η (1 - t)(t v - x)/(1 - t) = v + η (t v - x).

    x, v: (batch, *dims); t a float in [0, 1] (the form has no 1/(1 - t), so t = 1 is fine); returns (batch, *dims).
    """
    return v + eta * (t * v - x)


def em_step(field: Field, x: Tensor, t: float, t_next: float, *, eta: float, noise: Tensor, **cond) -> Tensor:
    """One Euler–Maruyama step of dx = [v + η (t v - x)] dt + sqrt(2η (1 - t)) dW from t to t_next.  1 NFE.

    x_next = x + h [v + η (t v - x)] + sqrt(2η (1 - t) h) ξ,  h = t_next - t,  ξ = ``noise`` ~ N(0, I) (x's shape).
    The Brownian increment over a step of length h has variance h, hence the sqrt(h) on the noise.
    """
    h = t_next - t
    v = field(x, t, **cond)  # velocity at the start of the step
    drift = sde_drift(x, t, v, eta)  # v + (g²/2) score
    return x + h * drift + math.sqrt(2 * eta * (1 - t) * h) * noise  # Euler on the drift, sqrt(g² h) ξ on the noise


def sde_euler_maruyama(field: Field, x: Tensor, grid: Tensor, *, eta: float, generator: torch.Generator,
                       cond: dict | None = None, callback: Callable[[dict], None] | None = None,
                       progress: bool = False, return_trajectory: bool = False, step: Callable = em_step):
    """Sample the SDE dx = [v + η (t v - x)] dt + sqrt(2η (1 - t)) dW over ``grid`` with Euler–Maruyama.

    Every step but the last is ``step(field, x, t, t_next, eta=eta, noise=ξ, **cond)`` with fresh ξ ~ N(0, I) from
    ``generator``; the **last step is the deterministic Euler step** x + h v (for a grid ending at t = 1 it is the
    denoised prediction x̂1 = x + (1 - t) v), so no fresh noise is left in the output.  η = 0 is exactly Euler on
    the ODE.  With the exact field the SDE leaves every marginal p_t invariant (tests/test_stochastic.py).

    Args:
        field: velocity field ``field(x, t, **cond) -> v``.
        x: (batch, *dims) state at grid[0].
        grid: (N + 1,) increasing times from ``cs280diff.flows.schedules``.
        eta: noise level η >= 0 (g² = 2η(1 - t)).
        generator: the ``torch.Generator`` that draws the noise (required: runs are reproducible).
        cond, callback, progress, return_trajectory: as in ``solvers.sample``.
        step: the stochastic step (``em_step`` or your own with its signature).
    Returns:
        x at grid[-1] (and the trajectory (N + 1, batch, *dims) if asked).  NFE = N.
    """
    eta = check_number(eta, "eta")
    generator = check_generator(generator)
    check_x(x)
    grid = check_grid(grid)
    t_last = float(grid[-2])

    def one_step(field_, x_, t, t_next, **cond_):
        if t >= t_last:  # the final step: deterministic (probability-flow Euler), no noise left in the output
            return euler_step(field_, x_, t, t_next, **cond_)
        return step(field_, x_, t, t_next, eta=eta, noise=_noise(x_, generator), **cond_)

    one_step.__name__ = f"sde_em(eta={eta:g})"
    return sample(field, x, grid, step=one_step, cond=cond, callback=callback, progress=progress,
                  return_trajectory=return_trajectory)


# ----------------------------------------------------------------------------------------------- EDM churn
def churn_renoise(x: Tensor, t: float, gamma: float, noise: Tensor, S_noise: float = 1.0) -> tuple[Tensor, float]:
    """Step back from time t to the earlier t_hat by adding fresh noise (EDM's churn on the path x_t).

    sigma = (1 - t)/t, sigma_hat = sigma (1 + γ), t_hat = 1/(1 + sigma_hat),
    x_hat = (t_hat / t) x + t_hat sqrt(sigma_hat² - sigma²) S_noise ξ   (ξ = ``noise`` ~ N(0, I), x's shape).
    Maps p_t exactly onto p_{t_hat} when S_noise = 1 (derivation in the module docstring).
    x: (batch, *dims); t a float in (0, 1]; γ >= 0.  Returns (x_hat (batch, *dims), t_hat float).
    """
    sigma = (1 - t) / t  # EDM noise level of x_t
    sigma_hat = sigma * (1 + gamma)  # raised noise level
    t_hat = 1 / (1 + sigma_hat)  # back on the path: an earlier time
    x_hat = (t_hat / t) * x + t_hat * math.sqrt(sigma_hat**2 - sigma**2) * S_noise * noise  # rescale + top up
    return x_hat, t_hat


def churn_gamma(t: float, n_steps: int, *, S_churn: float, S_tmin: float = 0.0, S_tmax: float = math.inf) -> float:
    """EDM's γ_i = min(S_churn / N, sqrt(2) - 1) when S_tmin <= sigma <= S_tmax, else 0; sigma = (1 - t)/t.

    S_tmin / S_tmax bound the *noise level* sigma, as in EDM (whose "t" is sigma), so EDM's published values carry
    over.  No churn at t = 0: nothing is noisier than pure noise.
    """
    if t <= 0:
        return 0.0
    sigma = (1 - t) / t
    return min(S_churn / n_steps, math.sqrt(2) - 1) if S_tmin <= sigma <= S_tmax else 0.0


def churn_sampler(field: Field, x: Tensor, grid: Tensor, *, S_churn: float, generator: torch.Generator,
                  S_tmin: float = 0.0, S_tmax: float = math.inf, S_noise: float = 1.0, step: Callable = heun_step,
                  cond: dict | None = None, callback: Callable[[dict], None] | None = None, progress: bool = False,
                  return_trajectory: bool = False, renoise: Callable = churn_renoise):
    """EDM's stochastic sampler (Alg. 2) on the path x_t: churn back to t_hat, then one ODE step to the next time.

    For each step t_i -> t_{i+1} (N = len(grid) - 1 steps):
      γ_i = ``churn_gamma(t_i, N, S_churn, S_tmin, S_tmax)``; if γ_i > 0:
      x_hat, t_hat = ``renoise(x, t_i, γ_i, ξ, S_noise)`` with fresh ξ ~ N(0, I) from ``generator``, else (x, t_i);
      x_{i+1} = ``step(field, x_hat, t_hat, t_{i+1})`` (``heun_step`` as in EDM, or ``euler_step``).
    S_churn = 0 is exactly the ODE sampler with ``step``.  The final step adds noise *before* its ODE step, so the
    output carries no fresh noise.  The callback's ``"t"`` is t_i (the re-noised t_hat is not reported).

    Returns x at grid[-1] (and the trajectory if asked).  NFE = N × (NFE of ``step``): N for Euler, 2N for Heun.
    """
    S_churn = check_number(S_churn, "S_churn")
    S_tmin, S_tmax = check_number(S_tmin, "S_tmin"), check_number(S_tmax, "S_tmax", allow_inf=True)
    S_noise = check_number(S_noise, "S_noise")
    generator = check_generator(generator)
    check_x(x)
    grid = check_grid(grid)
    n_steps = grid.numel() - 1

    def one_step(field_, x_, t, t_next, **cond_):
        gamma = churn_gamma(t, n_steps, S_churn=S_churn, S_tmin=S_tmin, S_tmax=S_tmax)  # how far to step back
        if gamma > 0:
            x_, t = renoise(x_, t, gamma, _noise(x_, generator), S_noise)  # fresh noise: x_t -> x_{t_hat}
        return step(field_, x_, t, t_next, **cond_)  # ODE step from t_hat to t_next

    one_step.__name__ = f"churn(S_churn={S_churn:g})"
    return sample(field, x, grid, step=one_step, cond=cond, callback=callback, progress=progress,
                  return_trajectory=return_trajectory)
