"""Figures of ODE solvers: error against NFE on log-log axes, local errors over t, 2D trajectories, knob sweeps."""
from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import torch

from cs280diff.flows.mixtures import GaussianMixture

Tensor = torch.Tensor


def plot_error_vs_nfe(curves: dict, *, ax=None, title: str | None = None, slopes=(1, 2), floor: float | None = None,
                      floor_label: str = "model error"):
    """Mean endpoint error against NFE on log-log axes, with dashed guides of slope -1 and -2.

    curves: {label: (nfes, errors)} or {label: (nfes, errors, plot kwargs)}; errors are plotted as given.
    slopes: orders p of the guide lines C · NFE^-p; the i-th guide is anchored below the end of the i-th curve.
    floor: draws a horizontal dotted line at this error (e.g. the model error of a learned field).
    """
    if ax is None:
        _, ax = plt.subplots(figsize=(6.5, 4.5))
    ends = []
    for label, curve in curves.items():
        nfes, errors, kw = (*curve, {}) if len(curve) == 2 else curve
        nfes, errors = np.asarray(nfes, dtype=float), np.asarray(errors, dtype=float)
        ax.loglog(nfes, errors, label=label, **{"lw": 1.5, "marker": "o", "ms": 4, **kw})
        ends.append((nfes, errors))
    for i, p in enumerate(slopes):
        if i < len(ends):
            nfes, errors = ends[i]
            c = 0.5 * errors[-1] * nfes[-1] ** p  # the guide passes at half the curve's last error
            xs = np.array([nfes[len(nfes) // 2], nfes[-1]])
            ax.loglog(xs, c * xs ** (-float(p)), ls="--", color="0.4", lw=1)
            ax.annotate(f"slope $-{p}$", (xs[0], c * xs[0] ** (-float(p))), fontsize=8, color="0.3",
                        textcoords="offset points", xytext=(2, -14), ha="left")
    if floor is not None:
        ax.axhline(floor, ls=":", color="k", lw=1.2, label=f"{floor_label} = {floor:.2g}")
    ticks = sorted({float(n) for nfes, _ in ends for n in nfes})
    ax.set_xticks(ticks, [f"{n:g}" for n in ticks], minor=False)
    ax.set_xticks([], minor=True)
    ax.set_xlabel("NFE (network function evaluations)")
    ax.set_ylabel("mean endpoint error at t = 1 (data)")
    ax.set_title(title or "error vs NFE")
    ax.grid(True, which="major", alpha=0.3)
    ax.legend(fontsize=9)
    return ax


def plot_local_errors(local: dict, *, ax=None, title: str | None = None, xscale: str = "logit", t_clip: float = 1e-4):
    """Per-step local error as a staircase over t: step i is a flat segment from t_i to t_{i+1} at its error.

    local: {label: (grid (N + 1,), errors (N,))}, grid increasing from t = 0 (noise) to t = 1 (data); errors are the
    mean endpoint errors of one step started from the exact trajectory.  The y axis is logarithmic.
    xscale: "logit" (default) stretches both ends: logit(t) = log(t / (1 - t)) = -log(sigma), EDM's log noise level;
    the grid's end points t = 0 and t = 1 are then drawn at t_clip and 1 - t_clip.  "linear" shows t as it is.
    """
    if xscale not in ("logit", "linear"):
        raise ValueError(f"xscale must be 'logit' or 'linear', got {xscale!r}")
    if ax is None:
        _, ax = plt.subplots(figsize=(7, 4))
    for label, (grid, errors) in local.items():
        g = np.asarray(grid.tolist() if isinstance(grid, Tensor) else grid, dtype=float)
        e = np.maximum(np.asarray(errors, dtype=float), 1e-16)  # log axis: a step with zero error sits at 1e-16
        if xscale == "logit":
            g = np.clip(g, t_clip, 1 - t_clip)  # t = 0 and t = 1 are at infinity on a logit axis
            z = np.log(g / (1 - g))
            mid = 1 / (1 + np.exp(-0.5 * (z[1:] + z[:-1])))  # the middle of each step on the logit axis
        else:
            mid = 0.5 * (g[1:] + g[:-1])
        art = ax.stairs(e, g, baseline=None, lw=1.8, label=f"{label} (sum {e.sum():.2g})")
        ax.plot(mid, e, ".", color=art.get_edgecolor(), ms=4)
    ax.set_yscale("log")
    if xscale == "logit":
        ax.set_xscale("logit")
        ax.set_xlim(t_clip, 1 - t_clip)
        ticks = [v for v in (1e-3, 1e-2, 0.1, 0.5, 0.9, 0.99, 0.999) if t_clip < v < 1 - t_clip]
        ax.set_xticks(ticks, [f"{v:g}" for v in ticks])
        ax.set_xticks([], minor=True)
        ax.set_xlabel(r"t   (0 = noise, 1 = data; logit axis, i.e. $-\log\sigma$: both ends stretched)")
    else:
        ax.set_xlim(0, 1)
        ax.set_xlabel("t   (0 = noise, 1 = data)")
    ax.set_ylabel("local error of the step")
    ax.set_title(title or "where the error is made: local error per step")
    ax.grid(True, alpha=0.3)
    ax.legend(fontsize=9)
    return ax


def plot_trajectories_2d(mixture: GaussianMixture, trajectories: Tensor, *, x_ref: Tensor | None = None, ax=None,
                         lim: float = 3.0, n_lines: int = 64, title: str | None = None, center=None,
                         legend: bool = True):
    """ODE trajectories in the plane over the data density p_1 (t = 1); noise starts (t = 0) as grey dots.

    trajectories: (N + 1, batch, 2) states on the time grid (``solvers.sample(..., return_trajectory=True)``).
    x_ref: (batch, 2) exact endpoints: drawn as open circles, with a red segment from each to the sampler's endpoint.
    center, lim: the view is the square center ± lim (center defaults to the origin).
    """
    if mixture.dim != 2:
        raise ValueError("plot_trajectories_2d draws two-dimensional mixtures")
    if ax is None:
        _, ax = plt.subplots(figsize=(5, 5))
    cx, cy = (0.0, 0.0) if center is None else (float(center[0]), float(center[1]))
    xs = torch.linspace(cx - lim, cx + lim, 200, dtype=torch.float64)
    ys = torch.linspace(cy - lim, cy + lim, 200, dtype=torch.float64)
    gx, gy = torch.meshgrid(xs, ys, indexing="xy")
    logp = mixture.log_prob(torch.stack([gx.reshape(-1), gy.reshape(-1)], 1)).reshape(200, 200)
    ax.imshow(logp.exp().sqrt().numpy(), origin="lower", extent=(cx - lim, cx + lim, cy - lim, cy + lim),
              cmap="Greys", alpha=0.6)
    tr = trajectories.detach().cpu().double().numpy()
    idx = np.arange(min(n_lines, tr.shape[1]))
    ax.plot(tr[:, idx, 0], tr[:, idx, 1], color="C0", lw=0.7, alpha=0.6)
    ax.plot(tr[0, idx, 0], tr[0, idx, 1], ".", color="0.5", ms=3, label="noise, t = 0")
    ax.plot(tr[-1, idx, 0], tr[-1, idx, 1], ".", color="C0", ms=5, label="sampler, t = 1")
    if x_ref is not None:
        ref = x_ref.detach().cpu().double().numpy()
        ax.plot(ref[idx, 0], ref[idx, 1], "o", mfc="none", color="C1", ms=6, label="exact endpoint")
        for i in idx:
            ax.plot([ref[i, 0], tr[-1, i, 0]], [ref[i, 1], tr[-1, i, 1]], color="C3", lw=1.2)
    ax.set_xlim(cx - lim, cx + lim)
    ax.set_ylim(cy - lim, cy + lim)
    ax.set_aspect("equal")
    ax.set_title(title or "ODE trajectories from noise (t = 0) to data (t = 1)")
    if legend:
        ax.legend(fontsize=9, loc="upper right")
    return ax


def plot_knob_sweep(curves: dict, *, ax=None, xlabel: str, ylabel: str, title: str | None = None,
                    floor: float | None = None, floor_label: str = "floor", vline: float | None = None,
                    vline_label: str | None = None):
    """A metric against one sampler knob (EDM's Fig. 4 style): one line per setting, ± one std shaded.

    curves: {label: (knob values, means, stds or None)}; the first point (e.g. S_churn = 0, the ODE) is also drawn
    as a dashed horizontal reference.  floor: a dotted line (e.g. what real data gets); vline: a dotted vertical
    line (e.g. where the knob stops having an effect).
    """
    if ax is None:
        _, ax = plt.subplots(figsize=(6.2, 4.2))
    for label, (xs, means, stds) in curves.items():
        xs, means = np.asarray(xs, dtype=float), np.asarray(means, dtype=float)
        (line,) = ax.plot(xs, means, marker="o", ms=5, lw=1.6, label=label)
        if stds is not None:
            stds = np.asarray(stds, dtype=float)
            ax.fill_between(xs, means - stds, means + stds, color=line.get_color(), alpha=0.15, lw=0)
        ax.axhline(means[0], ls="--", lw=1, color=line.get_color(), alpha=0.6)
    if floor is not None:
        ax.axhline(floor, ls=":", color="k", lw=1.2, label=f"{floor_label} = {floor:.2f}")
    if vline is not None:
        ax.axvline(vline, ls=":", color="0.5", lw=1.2, label=vline_label)
    ax.set(xlabel=xlabel, ylabel=ylabel, title=title or "")
    ax.grid(True, alpha=0.3)
    ax.legend(fontsize=9)
    return ax
