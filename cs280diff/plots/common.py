"""Helpers shared by the figures: evaluating any field on a grid of points, a labelled heat map."""
from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import torch

from cs280diff.runtime import field_device

Tensor = torch.Tensor


@torch.no_grad()
def eval_field(field, x: Tensor, t: Tensor, device=None) -> Tensor:
    """field(x, t) on ``device`` (default: the field's), returned as a float64 CPU tensor of x's shape."""
    device = torch.device(device) if device is not None else field_device(field)
    return field(x.to(device), t.to(device)).detach().double().cpu()


def plot_heatmap(values, row_labels, col_labels, *, ax=None, title: str | None = None, xlabel: str | None = None,
                 ylabel: str | None = None, cbar_label: str | None = None, log: bool = True, fmt: str = "{:.2g}",
                 cmap: str = "viridis_r", vmin: float | None = None, vmax: float | None = None):
    """A table of numbers as an annotated heat map: values (rows, cols), e.g. distance over (noise level, NFE).

    log: logarithmic colour scale (errors spanning decades).  Lower is better with the default ``viridis_r``.
    """
    from matplotlib.colors import LogNorm, Normalize

    v = np.asarray(values, dtype=float)
    if v.shape != (len(row_labels), len(col_labels)):
        raise ValueError(f"values have shape {v.shape} but there are {len(row_labels)} rows and {len(col_labels)} cols")
    if ax is None:
        _, ax = plt.subplots(figsize=(1.1 * len(col_labels) + 2, 0.55 * len(row_labels) + 1.5))
    lo, hi = vmin if vmin is not None else np.nanmin(v), vmax if vmax is not None else np.nanmax(v)
    norm = LogNorm(max(lo, 1e-300), hi) if log else Normalize(lo, hi)
    im = ax.imshow(v, cmap=cmap, norm=norm, aspect="auto")
    for i in range(v.shape[0]):
        for j in range(v.shape[1]):
            shade = norm(v[i, j])
            ax.text(j, i, fmt.format(v[i, j]), ha="center", va="center", fontsize=8,
                    color="white" if shade > 0.6 else "black")
    ax.set_xticks(range(len(col_labels)), [str(c) for c in col_labels])
    ax.set_yticks(range(len(row_labels)), [str(r) for r in row_labels])
    ax.set_xlabel(xlabel or "")
    ax.set_ylabel(ylabel or "")
    ax.set_title(title or "")
    ax.figure.colorbar(im, ax=ax, label=cbar_label or "")
    return ax
