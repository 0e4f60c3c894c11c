"""Loop overhead of our sampler against torchdiffeq's, flow_matching's and diffusers' fixed-grid solvers, on the CPU.

Run: ``make bench`` or ``.venv/bin/python benchmarks/loop_overhead.py`` (about a minute on 2 CPU cores).
Writes ``benchmarks/loop_overhead.md``:
  1. v = -x (a field that costs almost nothing, so the loop's own work shows): 256 Euler steps, batch 4096, float32;
  2. the exact ring (``flows.mixtures.ring_2d``, 8 modes): 64 Euler steps and 32 Heun steps, batch 4096, float32.
Each row runs the same field, grid and noise through
  ours        ``flows.solvers.sample`` (checks x once at entry, x's finiteness every 16 steps)
  ours k=1    the same with ``check_every=1`` (a finiteness check, and so a host read, after every step: the old loop)
  torchdiffeq ``odeint(func, x0, [0, 1], method="euler" | "heun2", options={"step_size": 1 / N})``
  flow_matching ``ODESolver(velocity_model).sample(x0, step_size=1 / N, method=..., time_grid=[0, 1])``
  diffusers   ``FlowMatchEulerDiscreteScheduler`` (Euler rows only) on our grid: ``set_timesteps(sigmas=1 - t)``, then
              the usual loop ``x = scheduler.step(-v(x, 1 - sigma), timestep, x).prev_sample``.  diffusers runs
              sigma = 1 - t from noise (1) to data (0), so its model output is -v.  Its Heun scheduler
              (``FlowMatchHeunDiscreteScheduler``) takes no custom grid (only a step count on its own sigma range),
              so no Heun row can use the same grid: it is left out rather than compared on a different one.
(both return the end point only, as ours does; handing them the whole grid instead makes them store every state
and run slower still: 31 ms against 20 ms on v = -x when this was written).
and asserts that they agree to float32 rounding.  Timing: one thread, all contenders in turn inside each repeat
(A B C D, A B C D, ...) in one process, after a warm-up; the table gives each median and the median over repeats
of the per-repeat ratio ours / theirs (< 1: ours is faster).
"""
from __future__ import annotations

import argparse
import platform
import statistics
import sys
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run from a checkout without installing

from cs280diff.flows import mixtures, schedules, solvers  # noqa: E402

BATCH = 4096
COLUMNS = ("ours", "ours k=1", "torchdiffeq", "flow_matching", "diffusers")


def contenders(field, grid: torch.Tensor, method: str) -> dict:
    """{name: x0 -> x1} for one field (called field(x, t)), uniform grid and method ("euler" or "heun")."""
    import torchdiffeq
    from flow_matching.solver import ODESolver

    step = {"euler": solvers.euler_step, "heun": solvers.heun_step}[method]
    theirs = {"euler": "euler", "heun": "heun2"}[method]
    span, h = torch.tensor([0.0, 1.0]), 1.0 / (grid.numel() - 1)  # their uniform grid, from the step size
    fm = ODESolver(velocity_model=lambda x, t: field(x, t))
    func = lambda t, x: field(x, t)  # noqa: E731  (torchdiffeq calls func(t, y))

    def ours(x0):
        return solvers.sample(field, x0, grid, step=step)

    def ours_k1(x0):
        return solvers.sample(field, x0, grid, step=step, check_every=1)

    def tde(x0):
        return torchdiffeq.odeint(func, x0, span, method=theirs, options={"step_size": h})[-1]

    def flow_matching(x0):
        return fm.sample(x_init=x0, step_size=h, method=theirs, time_grid=span)

    runs = {"ours": ours, "ours k=1": ours_k1, "torchdiffeq": tde, "flow_matching": flow_matching}
    if method == "euler":
        runs["diffusers"] = diffusers_euler(field, grid)
    return runs


def diffusers_euler(field, grid: torch.Tensor):
    """x0 -> x1 through diffusers' flow-matching Euler scheduler on the same grid (sigma = 1 - t)."""
    from diffusers import FlowMatchEulerDiscreteScheduler

    scheduler = FlowMatchEulerDiscreteScheduler(num_train_timesteps=1000, shift=1.0)

    def run(x0):
        scheduler.set_timesteps(sigmas=(1 - grid[:-1]).tolist())  # it appends the final sigma = 0 (t = 1) itself
        x = x0
        for sigma, timestep in zip(scheduler.sigmas[:-1], scheduler.timesteps):
            x = scheduler.step(-field(x, 1 - sigma), timestep, x).prev_sample  # its output is d x / d sigma = -v
        return x

    return run


def time_all(runs: dict, x0: torch.Tensor, repeats: int) -> dict[str, list[float]]:
    """Seconds per call of each contender, alternating A B C D within every repeat, after one warm-up round."""
    outs = {name: fn(x0) for name, fn in runs.items()}  # warm-up, and the outputs to compare
    ref = outs["ours"]
    for name, out in outs.items():
        err = (out - ref).abs().max().item()
        assert err < 1e-4 * (1 + ref.abs().max().item()), f"{name} disagrees with ours by {err:.3g}"
    times = {name: [] for name in runs}
    with torch.no_grad():
        for _ in range(repeats):
            for name, fn in runs.items():
                start = time.perf_counter()
                fn(x0)
                times[name].append(time.perf_counter() - start)
    return times


def rows_for(label: str, field, grid, method: str, repeats: int, nfe: int) -> list[str]:
    x0 = torch.randn(BATCH, 2, generator=torch.Generator().manual_seed(0))
    times = time_all(contenders(field, grid, method), x0, repeats)
    med = {k: statistics.median(v) for k, v in times.items()}
    ratio = {k: statistics.median(a / b for a, b in zip(times["ours"], times[k])) for k in times}
    spread = {k: (min(v), max(v)) for k, v in times.items()}
    row = [f"| {label} | {nfe} |"]
    for k in COLUMNS:
        lo, hi = spread.get(k, (None, None))
        row.append(f" {1e3 * med[k]:.2f} ({1e3 * lo:.2f}–{1e3 * hi:.2f}) |" if k in med else " — |")
    row.append("".join(f" {ratio[k]:.3f} |" if k in ratio else " — |" for k in COLUMNS[1:]))
    print("".join(row), flush=True)
    return ["".join(row)]


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--repeats", type=int, default=31)
    parser.add_argument("--out", default=str(Path(__file__).with_suffix(".md")))
    args = parser.parse_args(argv)
    torch.set_num_threads(1)
    ring = mixtures.ring_2d()
    header = ["| field, solver | NFE | " + " | ".join(f"{k} ms" for k in COLUMNS) + " | "
              + " | ".join(f"ours / {k}" for k in COLUMNS[1:]) + " |", "|---" * (2 + 2 * len(COLUMNS) - 1) + "|"]
    rows = []
    rows += rows_for("v = −x, Euler 256 steps", lambda x, t: -x, schedules.uniform(256), "euler", args.repeats, 256)
    rows += rows_for("exact ring, Euler 64 steps", ring, schedules.uniform(64), "euler", args.repeats, 64)
    rows += rows_for("exact ring, Heun 32 steps", ring, schedules.uniform(32), "heun", args.repeats, 64)
    import diffusers
    import flow_matching
    import torchdiffeq

    text = [
        "# Loop overhead: our sampler against torchdiffeq, flow_matching and diffusers (CPU, one thread)",
        "",
        f"`python benchmarks/loop_overhead.py --repeats {args.repeats}`; batch {BATCH} in 2D, float32. Times are",
        "milliseconds per sampling call: median (min–max) over the repeats; the contenders alternate within each",
        "repeat in one process. Ratios are medians of per-repeat ratios; below 1 means ours is faster.",
        "`ours k=1` checks finiteness after every step, as the loop did before it checked every 16 steps.",
        "",
        *header, *rows, "",
        "diffusers: its flow-matching Euler scheduler on our grid (Euler rows only: its Heun scheduler takes no "
        "custom grid).",
        "",
        f"torch {torch.__version__}, torchdiffeq {torchdiffeq.__version__}, flow_matching "
        f"{getattr(flow_matching, '__version__', '?')}, diffusers {diffusers.__version__}, python {platform.python_version()}, "
        f"{platform.machine()} {platform.system()}. The machine is shared: take the ratios, not the milliseconds.",
        "",
    ]
    Path(args.out).write_text("\n".join(text))
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
