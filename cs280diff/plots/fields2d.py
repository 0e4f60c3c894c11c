"""2D figures: velocity fields as arrows (learned beside exact), samples over the data density."""
from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import torch

from cs280diff.flows.metrics import assign_modes
from cs280diff.flows.mixtures import GaussianMixture
from cs280diff.plots.common import eval_field

Tensor = torch.Tensor


def plot_quiver_2d(field, t: float, *, ax=None, lim: float = 3.0, n: int = 17, mixture: GaussianMixture | None = None,
                   style: dict | None = None, device=None, title: str | None = None) -> dict:
    """Arrows of a 2D field v(x, t) on an n × n grid over [-lim, lim]², over the density p_t of ``mixture`` if given.

    Arrow colour is the speed |v|; arrow length is proportional to |v| up to ``clip`` (the 90th percentile of the
    speeds by default) and capped there, so that the huge velocities far from the data (|v| grows like 1 / (1 - t)
    near t = 1) do not hide the rest.  ``style`` = {"scale", "clip", "vmax"} as returned by an earlier call draws
    another field to the same scale and colours.  Returns the style used.
    """
    if ax is None:
        _, ax = plt.subplots(figsize=(4, 4))
    g = torch.linspace(-lim, lim, n, dtype=torch.float64)
    gy, gx = torch.meshgrid(g, g, indexing="ij")
    pts = torch.stack([gx.reshape(-1), gy.reshape(-1)], dim=1)
    v = eval_field(field, pts.float(), torch.full((n * n,), float(t)), device).numpy()
    speed = np.linalg.norm(v, axis=1)
    if mixture is not None:
        fine = torch.linspace(-lim, lim, 150, dtype=torch.float64)
        fy, fx = torch.meshgrid(fine, fine, indexing="ij")
        dens = mixture.log_prob_t(torch.stack([fx.reshape(-1), fy.reshape(-1)], 1), float(t)).exp().reshape(150, 150)
        ax.imshow(np.sqrt(dens.numpy()), origin="lower", extent=(-lim, lim, -lim, lim), cmap="Greys", alpha=0.6)
    if style is None:
        clip = max(float(np.quantile(speed, 0.9)), 1e-12)
        style = {"clip": clip, "scale": clip / (1.2 * 2 * lim / (n - 1)), "vmax": max(float(speed.max()), 1e-12)}
    shrink = np.minimum(1.0, style["clip"] / np.maximum(speed, 1e-12))  # cap the arrow length at clip
    ax.quiver(pts[:, 0].numpy(), pts[:, 1].numpy(), v[:, 0] * shrink, v[:, 1] * shrink, speed, cmap="plasma",
              norm=plt.Normalize(0.0, style["vmax"]), angles="xy", scale_units="xy", scale=style["scale"],
              width=0.005)
    ax.set(xlim=(-lim, lim), ylim=(-lim, lim), aspect="equal", title=title or f"t = {t:.2f}")
    return style


def plot_fields_2d(mixture: GaussianMixture, field, ts=(0.1, 0.5, 0.8, 0.95), *, lim: float = 3.0, n: int = 17,
                   device=None):
    """Exact (top row) and learned (bottom row) 2D velocity fields at the times ``ts``, over p_t, to the same scale.

    Colour = speed |v| (shared per column); lengths are capped at the exact field's 90th-percentile speed.
    """
    fig, axes = plt.subplots(2, len(ts), figsize=(3.4 * len(ts), 7), squeeze=False)
    for j, t in enumerate(ts):
        style = plot_quiver_2d(mixture, t, ax=axes[0, j], lim=lim, n=n, mixture=mixture, device="cpu",
                               title=f"exact $v^*$, t = {t:.2f}")
        plot_quiver_2d(field, t, ax=axes[1, j], lim=lim, n=n, mixture=mixture, style=style, device=device,
                       title=rf"learned $v_\theta$, t = {t:.2f}")
    fig.suptitle("velocity fields over the density $p_t$ (colour = speed |v|, long arrows capped)", y=1.0)
    fig.tight_layout()
    return fig


# ----------------------------------------------------------------------------------------------- notebook 4: stochastic
def plot_samples_2d(samples: Tensor, mixture: GaussianMixture | None = None, *, ax=None, title: str | None = None,
                    n_std: float = 3.0, lim: float = 3.0, n_show: int = 3000, color: str = "C0", s: float = 2.0):
    """2D samples (at t = 1, the data) as a scatter, with the modes of ``mixture`` drawn as dashed circles of radius
    n_std · s_k (the "near a mode" region of ``metrics.assign_modes``); samples off every mode are drawn in red."""
    if ax is None:
        _, ax = plt.subplots(figsize=(4, 4))
    x = samples.detach().reshape(samples.shape[0], -1).double().cpu()[:n_show]
    if x.shape[1] != 2:
        raise ValueError(f"plot_samples_2d draws 2D samples, got {x.shape[1]} features")
    off = np.zeros(x.shape[0], dtype=bool)
    if mixture is not None:
        off = (assign_modes(x, mixture, n_std) < 0).numpy()
        for mu, sd in zip(mixture.means.tolist(), mixture.stds.tolist()):
            ax.add_patch(plt.Circle(mu, n_std * sd, fill=False, ls="--", lw=0.8, color="0.4"))
    ax.scatter(x[~off, 0], x[~off, 1], s=s, alpha=0.35, color=color, lw=0, label="near a mode")
    ax.scatter(x[off, 0], x[off, 1], s=2.5 * s, alpha=0.8, color="C3", lw=0, label=f"off the modes ({off.mean():.1%})")
    ax.set_xlim(-lim, lim)
    ax.set_ylim(-lim, lim)
    ax.set_aspect("equal")
    ax.set_title(title or "samples at t = 1")
    ax.legend(fontsize=9, loc="upper right", markerscale=2)
    return ax


# ----------------------------------------------------------------------------------------------- notebook 7: guidance
def plot_density_samples_2d(masses: Tensor, lim: float, samples: Tensor | None = None, *, ax=None,
                            title: str | None = None, n_show: int = 2000, color: str = "C1", cmap: str = "Blues"):
    """A density's cell masses (n, n) over [-lim, lim]² (rows = y, as ``metrics.grid_total_variation`` returns them)
    as an image, with 2D samples scattered on top: where the samples go against where the density says."""
    if ax is None:
        _, ax = plt.subplots(figsize=(4, 4))
    ax.imshow(masses.detach().cpu().numpy(), origin="lower", extent=(-lim, lim, -lim, lim), cmap=cmap,
              interpolation="bilinear")
    if samples is not None:
        x = samples.detach().reshape(samples.shape[0], -1).double().cpu()[:n_show]
        ax.scatter(x[:, 0], x[:, 1], s=1.5, alpha=0.35, color=color, lw=0)
    ax.set_xlim(-lim, lim)
    ax.set_ylim(-lim, lim)
    ax.set_aspect("equal")
    ax.set_title(title or "")
    return ax
