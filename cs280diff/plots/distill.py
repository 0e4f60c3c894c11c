"""Notebook 6's figures: what sampling costs, and the few-step methods compared at equal NFE."""
from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np

MARKERS = {"euler": "o", "heun": "s", "PD": "D", "DMD": "*", "reflow": "^"}


def plot_cost(rows: list[dict], *, ax=None, title: str | None = None):
    """Horizontal bars of seconds per batch = NFE × seconds per NFE, one per sampler.

    rows: [{"name", "nfe", "seconds_per_nfe"}]; each bar is labelled with its NFE and total time.
    """
    if ax is None:
        _, ax = plt.subplots(figsize=(7, 0.45 * len(rows) + 1.2))
    names = [r["name"] for r in rows]
    total = np.array([r["nfe"] * r["seconds_per_nfe"] for r in rows])
    ax.barh(names, total, color=[f"C{i % 10}" for i in range(len(rows))])
    for i, (r, s) in enumerate(zip(rows, total)):
        ax.text(s, i, f"  {r['nfe']} NFE × {1e3 * r['seconds_per_nfe']:.2f} ms = {1e3 * s:.0f} ms", va="center",
                fontsize=8)
    ax.set_xlabel("seconds per batch (measured on this machine)")
    ax.set_xlim(0, 1.6 * total.max())
    ax.invert_yaxis()
    ax.set_title(title or "sampling cost = NFE × time per NFE")
    return ax


def plot_nfe_table(rows: list[dict], metric: str, *, ax=None, ylabel: str | None = None, title: str | None = None,
                   floor: float | None = None, floor_label: str = "floor", logy: bool = True):
    """``metric`` against NFE, one line per method (rows of ``distill.fewstep.table``); one-point methods as stars."""
    if ax is None:
        _, ax = plt.subplots(figsize=(5.5, 4))
    methods = list(dict.fromkeys(r["method"] for r in rows))
    for i, m in enumerate(methods):
        pts = sorted((r["nfe"], r[metric]) for r in rows if r["method"] == m)
        nfe, val = zip(*pts)
        ax.plot(nfe, val, marker=MARKERS.get(m, "o"), ms=12 if len(pts) == 1 else 6, label=m, color=f"C{i}")
    if floor is not None:
        ax.axhline(floor, ls=":", color="0.3", label=floor_label)
    ax.set_xscale("log", base=2)
    if logy:
        ax.set_yscale("log")
    ax.set_xlabel("NFE per sample")
    ax.set_ylabel(ylabel or metric)
    ax.set_title(title or f"{metric} at equal NFE")
    ax.legend(fontsize=9)
    ax.grid(alpha=0.3, which="both")
    return ax
