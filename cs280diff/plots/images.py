"""Figures of images: grids of digits, one row per class, and x_t / x̂1 strips along a trajectory."""
from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import torch

from cs280diff.conventions import x1_from_velocity

Tensor = torch.Tensor


def _images_np(images) -> np.ndarray:
    """(n, 1, s, s) or (n, s, s) images in [-1, 1] -> (n, s, s) NumPy array in [0, 1] (clamped) for display."""
    x = torch.as_tensor(images).detach().cpu().double()
    if x.ndim == 4:
        if x.shape[1] != 1:
            raise ValueError(f"grey-scale images (n, 1, s, s) expected, got {tuple(x.shape)}")
        x = x[:, 0]
    if x.ndim != 3:
        raise ValueError(f"images must have shape (n, 1, s, s) or (n, s, s), got {tuple(x.shape)}")
    return ((x + 1) / 2).clamp(0, 1).numpy()


def image_grid(images, n_cols: int = 10, *, ax=None, title: str | None = None, row_labels=None,
               col_labels=None, pad: int = 1, cmap: str = "gray_r"):
    """Tile images (n, 1, s, s) in [-1, 1] (+1 = ink, drawn dark) into rows of ``n_cols``, one pixel of padding.

    row_labels / col_labels: text beside each row / above each column (e.g. classes, times).  Returns the axes.
    """
    x = _images_np(images)
    n, h, w = x.shape
    n_rows = -(-n // n_cols)
    canvas = np.full((n_rows * (h + pad) + pad, n_cols * (w + pad) + pad), np.nan)
    for i in range(n):
        r, c = divmod(i, n_cols)
        canvas[pad + r * (h + pad): pad + r * (h + pad) + h, pad + c * (w + pad): pad + c * (w + pad) + w] = x[i]
    if ax is None:
        _, ax = plt.subplots(figsize=(0.45 * n_cols + 0.8, 0.45 * n_rows + 0.6))
    cm = plt.get_cmap(cmap).with_extremes(bad="#d0d8e8")  # the padding
    ax.imshow(canvas, cmap=cm, vmin=0, vmax=1, interpolation="nearest")
    ax.set_xticks([] if col_labels is None else [pad + c * (w + pad) + (w - 1) / 2 for c in range(len(col_labels))])
    ax.set_yticks([] if row_labels is None else [pad + r * (h + pad) + (h - 1) / 2 for r in range(len(row_labels))])
    if col_labels is not None:
        ax.set_xticklabels([str(c) for c in col_labels], fontsize=8)
        ax.xaxis.tick_top()
    if row_labels is not None:
        ax.set_yticklabels([str(r) for r in row_labels], fontsize=8)
    ax.tick_params(length=0)
    for spine in ax.spines.values():
        spine.set_visible(False)
    if title:
        ax.set_title(title)
    return ax


def plot_class_grid(samples, labels, *, n_per_class: int = 10, n_classes: int = 10, ax=None,
                    title: str | None = None):
    """Class-conditional samples as a grid: row c shows the first ``n_per_class`` samples generated for class c.

    samples (n, 1, s, s) in [-1, 1], labels (n,) the classes they were generated for.  Missing cells stay blank.
    """
    labels = torch.as_tensor(labels).cpu()
    x = torch.as_tensor(samples).detach().cpu()
    if labels.shape != (x.shape[0],):
        raise ValueError(f"labels must have shape ({x.shape[0]},), got {tuple(labels.shape)}")
    cells = torch.full((n_classes * n_per_class, *x.shape[1:]), float("nan"), dtype=x.dtype)
    for c in range(n_classes):
        members = x[labels == c][:n_per_class]
        cells[c * n_per_class: c * n_per_class + members.shape[0]] = members
    ax = image_grid(cells, n_per_class, ax=ax, title=title, row_labels=[f"y = {c}" for c in range(n_classes)])
    return ax


def plot_image_trajectory(trajectory, grid, *, field=None, x1_hat=None, index: int = 0, n_show: int = 8,
                          cond: dict | None = None, axes=None, title: str | None = None):
    """One image's sampling trajectory: x_t (top row) and the image prediction x̂1 = x_t + (1 - t) v (bottom row).

    trajectory: (N + 1, batch, 1, s, s) states at the times ``grid`` (N + 1,) (from
    ``solvers.sample(..., return_trajectory=True)``; t = 0 noise, t = 1 data); ``index`` picks the image.
    x̂1 comes from ``x1_hat`` (same shape as trajectory) or is computed with ``field(x, t, **cond)``; without
    either only x_t is drawn.  ``n_show`` times are picked evenly along the grid.
    """

    traj = torch.as_tensor(trajectory).detach()
    g = torch.as_tensor(grid).detach().cpu().double()
    if traj.ndim != 5 or traj.shape[0] != g.numel():
        raise ValueError(f"trajectory must be (N + 1, batch, 1, s, s) with N + 1 = len(grid) = {g.numel()}, got "
                         f"{tuple(traj.shape)}")
    steps = np.unique(np.linspace(0, g.numel() - 1, min(n_show, g.numel())).round().astype(int))
    xs = traj[steps, index]  # (k, 1, s, s)
    preds = None
    if x1_hat is not None:
        preds = torch.as_tensor(x1_hat).detach()[steps, index]
    elif field is not None:
        cond = cond or {}
        sel = {k: (v[index:index + 1] if isinstance(v, torch.Tensor) and v.ndim > 0 else v) for k, v in cond.items()}
        with torch.no_grad():
            preds = torch.cat([x1_from_velocity(xs[i:i + 1], float(g[s]), field(xs[i:i + 1], float(g[s]), **sel))
                               for i, s in enumerate(steps)])  # x̂1 = x_t + (1 - t) v
    rows = 1 if preds is None else 2
    if axes is None:
        _, axes = plt.subplots(rows, 1, figsize=(0.9 * len(steps) + 1.2, 1.25 * rows + 0.5), squeeze=False)
        axes = axes[:, 0]
    axes = np.atleast_1d(axes)
    times = [f"t={g[s]:.2f}" for s in steps]
    image_grid(xs, len(steps), ax=axes[0], col_labels=times, row_labels=["$x_t$"])
    if preds is not None:
        image_grid(preds, len(steps), ax=axes[1], row_labels=[r"$\hat{x}_1$"])
    axes[0].figure.suptitle(title or "sampling trajectory: $x_t$ and the prediction $\\hat{x}_1 = x_t + (1-t)\\,v$"
                            "   (t = 0 noise → t = 1 data)", fontsize=9)
    return axes
