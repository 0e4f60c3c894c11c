"""The lecture's 1D flow picture (density of x_t over t with trajectories), 1D velocity fields learned vs exact."""
from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import torch

from cs280diff.flows.mixtures import GaussianMixture
from cs280diff.plots.common import eval_field

Tensor = torch.Tensor


def density_grid(mixture: GaussianMixture, x_range=(-4.0, 4.0), n_x: int = 300, n_t: int = 200):
    """p_t(x) on a grid: returns (ts (n_t,), xs (n_x,), density (n_x, n_t)) as NumPy arrays (D = 1 only)."""
    if mixture.dim != 1:
        raise ValueError("density_grid draws one-dimensional mixtures")
    ts = torch.linspace(0.0, 1.0, n_t, dtype=torch.float64)
    xs = torch.linspace(*x_range, n_x, dtype=torch.float64)
    dens = torch.stack([mixture.log_prob_t(xs[:, None], float(t)).exp() for t in ts], dim=1)
    return ts.numpy(), xs.numpy(), dens.numpy()


def plot_flow_1d(mixture: GaussianMixture, trajectories: Tensor | None = None, grid: Tensor | None = None, *,
                 x_range=(-4.0, 4.0), ax=None, n_lines: int = 60, title: str | None = None,
                 color: str = "#8fd3ff"):
    """The lecture's 1D figure: p_t(x) as a heat map over (t, x), noise on the left (t = 0), data on the right.

    trajectories: (N + 1, batch, 1) states at the times ``grid`` (N + 1,), as returned by
    ``solvers.sample(..., return_trajectory=True)``; up to ``n_lines`` of them are drawn over the density.
    A side panel shows the data density p_1 and, when trajectories are given, a histogram of their endpoints.
    """
    if ax is None:
        fig, (ax, side) = plt.subplots(1, 2, figsize=(10, 4), gridspec_kw={"width_ratios": [5, 1], "wspace": 0.03},
                                       sharey=True)
    else:
        fig, side = ax.figure, None
    ts, xs, dens = density_grid(mixture, x_range)
    ax.imshow(np.sqrt(dens), origin="lower", aspect="auto", extent=(0, 1, xs[0], xs[-1]), cmap="magma")
    if trajectories is not None:
        if grid is None:
            raise ValueError("pass the time grid of the trajectories as grid=")
        tr = trajectories.detach().cpu().reshape(trajectories.shape[0], -1).numpy()
        g = grid.detach().cpu().numpy()
        idx = np.linspace(0, tr.shape[1] - 1, min(n_lines, tr.shape[1])).astype(int)
        ax.plot(g, tr[:, idx], color=color, lw=0.6, alpha=0.75)
    ax.set_xlabel("t   (0 = noise, 1 = data)")
    ax.set_ylabel("x")
    ax.set_ylim(*x_range)
    ax.set_title(title or "density of $x_t$ (sqrt scale) and ODE trajectories")
    if side is not None:
        side.plot(dens[:, -1], xs, color="C1", label="$p_1$ (data)")
        if trajectories is not None:
            side.hist(tr[-1], bins=60, range=x_range, density=True, orientation="horizontal", alpha=0.5,
                      color="C0", label="endpoints")
        side.legend(fontsize=9, loc="upper right")
        side.set_xticks([])
    return fig


def density_velocity_limits(mixture: GaussianMixture, *, x_range=(-4.0, 4.0), t_max: float = 0.95) -> tuple:
    """(largest density, largest |velocity|) of p_t and v*(., t) over x_range and t in [0, t_max], with a margin:
    fixed axes for a t-slider, so that what moves is the curve, not the scale."""
    xs = torch.linspace(*x_range, 400, dtype=torch.float64)[:, None]
    ts = torch.linspace(0.0, t_max, 20).tolist()
    d = max(mixture.log_prob_t(xs, t).exp().max().item() for t in ts)
    v = max(mixture.velocity(xs, t).abs().max().item() for t in ts)
    return 1.1 * d, 1.1 * v


def plot_density_and_velocity(mixture: GaussianMixture, t: float, *, x_range=(-4.0, 4.0), ax=None,
                              samples: Tensor | None = None, limits: tuple | None = None):
    """p_t(x) and the exact marginal velocity v*(x, t) at one time t (D = 1), on twin axes, with one legend for
    both; ``limits`` = (density max, |velocity| max) fixes the axes (``density_velocity_limits``)."""
    if ax is None:
        _, ax = plt.subplots(figsize=(7, 3.5))
    xs = torch.linspace(*x_range, 400, dtype=torch.float64)[:, None]
    dens = mixture.log_prob_t(xs, t).exp().numpy()
    vel = mixture.velocity(xs, t).numpy()[:, 0]
    ax.fill_between(xs[:, 0].numpy(), dens, color="C0", alpha=0.3, label="$p_t(x)$")
    if samples is not None:
        ax.hist(samples.reshape(-1).cpu().numpy(), bins=80, range=x_range, density=True, histtype="step",
                color="C0", label="samples of $x_t$")
    ax.set_ylabel("density", color="C0")
    ax.set_xlabel("x")
    ax.set_xlim(*x_range)
    ax2 = ax.twinx()
    ax2.plot(xs[:, 0].numpy(), vel, color="C3", label="$v^*(x, t)$")
    ax2.axhline(0, color="C3", lw=0.5, ls=":")
    ax2.set_ylabel("velocity", color="C3")
    if limits is not None:
        ax.set_ylim(0, limits[0])
        ax2.set_ylim(-limits[1], limits[1])
    handles = ax.get_legend_handles_labels()[0] + ax2.get_legend_handles_labels()[0]
    ax2.legend(handles, [h.get_label() for h in handles], loc="upper left", fontsize=9, framealpha=0.9)
    ax.set_title(f"t = {t:.2f}")
    return ax


def field_grid_1d(field, x_range=(-4.0, 4.0), n_x: int = 200, n_t: int = 200, device=None):
    """A 1D field on a grid: returns (ts (n_t,), xs (n_x,), v (n_x, n_t)) as NumPy arrays, t from 0 (noise) to 1."""
    ts = torch.linspace(0.0, 1.0, n_t, dtype=torch.float64)
    xs = torch.linspace(*x_range, n_x, dtype=torch.float64)
    tt, xx = torch.meshgrid(ts, xs, indexing="ij")  # (n_t, n_x)
    v = eval_field(field, xx.reshape(-1, 1).float(), tt.reshape(-1).float(), device)
    return ts.numpy(), xs.numpy(), v.reshape(n_t, n_x).T.numpy()


def plot_fields_1d(mixture: GaussianMixture, field, *, x_range=(-4.0, 4.0), n: int = 200, device=None,
                   title: str | None = None):
    """Learned vs exact velocity over (t, x): heat maps of v*(x, t), v_θ(x, t) and v_θ - v*, with p_t contours.

    The first two panels share one colour scale; the difference has its own.  The contours of the density p_t show
    where the field matters: far from them no sample ever goes, and the network is free to be wrong.
    """
    ts, xs, v_star = field_grid_1d(mixture, x_range, n, n, device="cpu")
    _, _, v_hat = field_grid_1d(field, x_range, n, n, device)
    _, _, dens = density_grid(mixture, x_range, n_x=n, n_t=n)
    vmax = np.abs(v_star).max()
    dmax = max(np.abs(v_hat - v_star).max(), 1e-12)
    fig, axes = plt.subplots(1, 3, figsize=(15, 3.8), sharey=True)
    extent = (0, 1, xs[0], xs[-1])
    panels = [(v_star, "exact field $v^*(x, t)$", vmax), (v_hat, r"learned field $v_\theta(x, t)$", vmax),
              (v_hat - v_star, r"difference $v_\theta - v^*$", dmax)]
    for ax, (img, name, m) in zip(axes, panels):
        im = ax.imshow(img, origin="lower", aspect="auto", extent=extent, cmap="RdBu_r", vmin=-m, vmax=m)
        ax.contour(ts, xs, np.sqrt(dens), levels=4, colors="k", linewidths=0.5, alpha=0.5)
        ax.set(title=name, xlabel="t   (0 = noise, 1 = data)")
        fig.colorbar(im, ax=ax, fraction=0.046, pad=0.02)
    axes[0].set_ylabel("x")
    if title:
        fig.suptitle(title, y=1.02)
    fig.tight_layout()
    return fig
