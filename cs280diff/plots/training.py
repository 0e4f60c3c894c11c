"""Figures of training: the loss curve with its moving average, the loss floor and the field error."""
from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import torch


Tensor = torch.Tensor


def moving_average(values, window: int = 100) -> np.ndarray:
    """Moving average over ``window`` steps (shorter at the start), same length as ``values``."""
    v = np.asarray(values, dtype=np.float64).reshape(-1)
    if v.size == 0:
        return v
    c = np.cumsum(np.insert(v, 0, 0.0))
    i = np.arange(1, v.size + 1)
    lo = np.maximum(0, i - int(window))
    return (c[i] - c[lo]) / (i - lo)


def plot_loss_curve(losses, floor: float | None = None, *, field_error=None, window: int = 100,
                    title: str | None = None):
    """Flow-matching training loss per step (light), its moving average, and ``floor`` = the loss of the exact field.

    With a floor, a second panel (log-log) shows the smoothed excess loss (loss - floor), a noisy estimate of the
    field error E|v_θ - v*|²; ``field_error`` = (steps, errors) adds that error measured directly against the exact
    field (e.g. on a fixed evaluation set).  Returns the figure.
    """
    losses = np.asarray(losses, dtype=np.float64)
    steps = np.arange(1, losses.size + 1)
    sm = moving_average(losses, window)
    ncols = 2 if floor is not None else 1
    fig, axes = plt.subplots(1, ncols, figsize=(6.5 * ncols, 3.6), squeeze=False)
    ax = axes[0, 0]
    ax.plot(steps, losses, color="C0", alpha=0.25, lw=0.6, label="loss per step (one batch)")
    ax.plot(steps, sm, color="C0", lw=1.8, label=f"moving average ({window} steps)")
    if floor is not None:
        ax.axhline(floor, color="C3", ls="--", lw=1.2, label=f"loss of the exact field $v^*$ = {floor:.3f}")
    if losses.size:
        low = min(floor if floor is not None else np.inf, np.percentile(losses, 1))
        ax.set_ylim(0.9 * low, max(np.percentile(losses, 99), 1.1 * low))
    ax.set(xlabel="training step", ylabel="flow-matching loss", title=title or "training loss")
    ax.legend(fontsize=9)
    if floor is not None:
        ax2 = axes[0, 1]
        excess = sm - floor
        ok = excess > 0
        ax2.loglog(steps[ok], excess[ok], color="C0", lw=1, alpha=0.6, label="smoothed loss $-$ floor (noisy)")
        if field_error is not None:
            fs, fe = (np.asarray(a, dtype=np.float64) for a in field_error)
            ax2.loglog(fs, fe, "o-", color="C2", ms=3, lw=1.5, label=r"$\mathbb{E}\,|v_\theta - v^*|^2$ (exact)")
        ax2.set(xlabel="training step", ylabel="excess loss", title="what training can still remove")
        ax2.grid(True, which="both", alpha=0.3)
        ax2.legend(fontsize=9)
    fig.tight_layout()
    return fig
