"""Figures: the lecture's 1D flow picture (density of x_t over t with trajectories) and friends."""
from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import torch

from cs280diff.data import GaussianMixture

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
        side.legend(fontsize=7, loc="upper right")
        side.set_xticks([])
    return fig


def plot_density_and_velocity(mixture: GaussianMixture, t: float, *, x_range=(-4.0, 4.0), ax=None,
                              samples: Tensor | None = None):
    """p_t(x) and the exact marginal velocity v*(x, t) at one time t (D = 1), on twin axes."""
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
    ax.set_title(f"t = {t:.2f}")
    return ax


# ----------------------------------------------------------------------------------------------- notebook 3: solvers
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
    ax.legend(fontsize=8)
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
    ax.legend(fontsize=8)
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
        ax.legend(fontsize=7, loc="upper right")
    return ax


# ----------------------------------------------------------------------------------------------- notebook 2: training
def _field_device(field) -> torch.device:
    """The device a field computes on: its parameters' device for an ``nn.Module``, else the CPU."""
    if isinstance(field, torch.nn.Module):
        p = next(field.parameters(), None)
        if p is not None:
            return p.device
    return torch.device("cpu")


@torch.no_grad()
def _eval_field(field, x: Tensor, t: Tensor, device=None) -> Tensor:
    """field(x, t) on ``device`` (default: the field's), returned as a float64 CPU tensor of x's shape."""
    device = torch.device(device) if device is not None else _field_device(field)
    return field(x.to(device), t.to(device)).detach().double().cpu()


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
    ax.legend(fontsize=8)
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
        ax2.legend(fontsize=8)
    fig.tight_layout()
    return fig


def field_grid_1d(field, x_range=(-4.0, 4.0), n_x: int = 200, n_t: int = 200, device=None):
    """A 1D field on a grid: returns (ts (n_t,), xs (n_x,), v (n_x, n_t)) as NumPy arrays, t from 0 (noise) to 1."""
    ts = torch.linspace(0.0, 1.0, n_t, dtype=torch.float64)
    xs = torch.linspace(*x_range, n_x, dtype=torch.float64)
    tt, xx = torch.meshgrid(ts, xs, indexing="ij")  # (n_t, n_x)
    v = _eval_field(field, xx.reshape(-1, 1).float(), tt.reshape(-1).float(), device)
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
    v = _eval_field(field, pts.float(), torch.full((n * n,), float(t)), device).numpy()
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
        from cs280diff.metrics import assign_modes

        off = (assign_modes(x, mixture, n_std) < 0).numpy()
        for mu, sd in zip(mixture.means.tolist(), mixture.stds.tolist()):
            ax.add_patch(plt.Circle(mu, n_std * sd, fill=False, ls="--", lw=0.8, color="0.4"))
    ax.scatter(x[~off, 0], x[~off, 1], s=s, alpha=0.35, color=color, lw=0, label="near a mode")
    ax.scatter(x[off, 0], x[off, 1], s=2.5 * s, alpha=0.8, color="C3", lw=0, label=f"off the modes ({off.mean():.1%})")
    ax.set_xlim(-lim, lim)
    ax.set_ylim(-lim, lim)
    ax.set_aspect("equal")
    ax.set_title(title or "samples at t = 1")
    ax.legend(fontsize=7, loc="upper right", markerscale=2)
    return ax


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


# ----------------------------------------------------------------------------------------------- images (digits)
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
    from cs280diff.conventions import x1_from_velocity

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
