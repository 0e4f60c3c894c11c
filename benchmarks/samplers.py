"""Sampler benchmark: truncation error of Euler and Heun under several schedules, on exact Gaussian-mixture fields.

Run: ``make bench`` or ``.venv/bin/python benchmarks/samplers.py`` (about a minute on 2 CPU cores).
Writes ``benchmarks/samplers.md`` with three tables (see benchmarks/README.md):
  1. mean endpoint error vs NFE, for {Euler, Heun} x {uniform, edm, shift s=3, shift s=1/3} on lecture_1d and ring_2d;
  2. the NFE each needs to reach a mean endpoint error of 1e-3, and the Euler/Heun NFE ratio;
  3. our sampler vs torchdiffeq's fixed-grid ``euler`` / ``heun2`` on the same field, grid and noise: agreement
     (asserted) and wall time (median of repeats, same process).
Truth is scipy's DOP853 (``solvers.reference_solution``) from the same float64 noise.  The field is exact, so every
error here is truncation error (no model error).  Conventions: t = 0 noise, t = 1 data.
"""
from __future__ import annotations

import argparse
import os
import platform
import statistics
import sys
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run from a checkout without installing

from cs280diff.flows import metrics, mixtures, schedules, solvers  # noqa: E402

TARGET = 1e-3  # mean endpoint error to reach in table 2
NFE_COLUMNS = [8, 16, 32, 64, 128, 256, 512]  # table 1
MAX_NFE = 16_384  # give up the search for TARGET beyond this
BATCH = 512  # noise samples per problem
SOLVERS = {"euler": (solvers.euler_step, 1), "heun": (solvers.heun_step, 2)}  # step, NFE per step
SCHEDULE_SPECS = [("uniform", "uniform", {}), ("edm", "edm", {}), ("shift s=3", "shift", {"s": 3.0}),
                  ("shift s=1/3", "shift", {"s": 1 / 3})]


def log(msg: str) -> None:
    print(msg, flush=True)


# ----------------------------------------------------------------------------------------------- problems and errors
def make_problems(seed: int = 0) -> dict:
    """{name: (field, x0 (BATCH, D) float64, reference x1, reference accuracy)} for lecture_1d and ring_2d."""
    out = {}
    for name, mix in (("lecture_1d", mixtures.lecture_1d()), ("ring_2d", mixtures.ring_2d())):
        x0 = torch.randn(BATCH, mix.dim, generator=torch.Generator().manual_seed(seed), dtype=torch.float64)
        ref = solvers.reference_solution(mix, x0, rtol=1e-10, atol=1e-10)  # DOP853 truth
        tighter = solvers.reference_solution(mix, x0, rtol=1e-12, atol=1e-12)  # to bound the truth's own error
        out[name] = (mix, x0, ref, metrics.mean_endpoint_error(ref, tighter))
    return out


def grid_for(schedule: str, n_steps: int) -> torch.Tensor:
    name, kw = next((n, kw) for label, n, kw in SCHEDULE_SPECS if label == schedule)
    return schedules.get(name, n_steps, **kw)


def error_at(problem, solver: str, schedule: str, n_steps: int) -> float:
    """Mean endpoint error of ``solver`` with ``n_steps`` steps of ``schedule`` against the reference."""
    field, x0, ref, _ = problem
    x = solvers.sample(field, x0, grid_for(schedule, n_steps), step=SOLVERS[solver][0])
    return metrics.mean_endpoint_error(x, ref)


def nfe_to_reach(problem, solver: str, schedule: str, target: float = TARGET) -> tuple[int | None, dict]:
    """Smallest NFE (to within 1%) with mean error <= target: double the step count until reached, then bisect it.

    Returns (NFE or None if not reached by MAX_NFE, {n_steps: error} of every evaluation).
    """
    per_step, seen = SOLVERS[solver][1], {}

    def err(n):
        if n not in seen:
            seen[n] = error_at(problem, solver, schedule, n)
        return seen[n]

    hi = 1
    while err(hi) > target:  # doubling search for a bracket
        if 2 * hi * per_step > MAX_NFE:
            return None, seen
        hi *= 2
    lo = hi // 2  # err(lo) > target (or lo = 0)
    while hi - lo > max(1, hi // 100):  # bisection on the step count (the error is monotone in practice)
        mid = (lo + hi) // 2
        lo, hi = (lo, mid) if err(mid) <= target else (mid, hi)
    return hi * per_step, seen


# ----------------------------------------------------------------------------------------------- torchdiffeq
def _median_times(fn_a, fn_b, repeats: int) -> tuple[float, float]:
    """Median wall times of two functions, run alternately (after one warm-up each) so drift hits both alike."""
    fn_a(), fn_b()
    times_a, times_b = [], []
    for _ in range(repeats):
        for fn, times in ((fn_a, times_a), (fn_b, times_b)):
            start = time.perf_counter()
            fn()
            times.append(time.perf_counter() - start)
    return statistics.median(times_a), statistics.median(times_b)


def compare_torchdiffeq(problem, schedule: str, n_steps: int, repeats: int) -> list[dict]:
    """Run our Euler/Heun and torchdiffeq's fixed-grid euler/heun2 on the same field, grid and x0."""
    from torchdiffeq import odeint

    field, x0, ref, _ = problem
    grid = grid_for(schedule, n_steps)
    rows = []
    for ours, theirs, tol in (("euler", "euler", 1e-6), ("heun", "heun2", 1e-6)):
        step = SOLVERS[ours][0]
        count_ours, count_theirs = solvers.NFECounter(field), solvers.NFECounter(field)
        x_ours = solvers.sample(count_ours, x0, grid, step=step)
        x_theirs = odeint(lambda t, y: count_theirs(y, t), x0, grid, method=theirs)[-1]
        diff = (x_ours - x_theirs).abs().max().item()
        assert diff < tol, f"{ours} vs torchdiffeq {theirs}: max |difference| {diff:.3g} >= {tol:g}"
        assert count_ours.nfe == count_theirs.nfe, (count_ours.nfe, count_theirs.nfe)
        t_ours, t_theirs = _median_times(lambda: solvers.sample(field, x0, grid, step=step),
                                         lambda: odeint(lambda t, y: field(y, t), x0, grid, method=theirs), repeats)
        rows.append({"ours": ours, "theirs": theirs, "nfe": count_ours.nfe, "diff": diff,
                     "err": metrics.mean_endpoint_error(x_ours, ref), "t_ours": t_ours, "t_theirs": t_theirs})
    return rows


# ----------------------------------------------------------------------------------------------- markdown
def _fmt_nfe(n) -> str:
    return f"> {MAX_NFE}" if n is None else str(n)


def table_errors(name: str, curves: dict) -> list[str]:
    head = "| solver | schedule | " + " | ".join(f"NFE {n}" for n in NFE_COLUMNS) + " | order |"
    lines = [f"#### {name}", "", head, "|" + "---|" * (len(NFE_COLUMNS) + 3)]
    for (solver, schedule), errs in curves.items():
        order = metrics.convergence_order(NFE_COLUMNS[-4:], errs[-4:])  # slope over the four finest columns
        cells = " | ".join(f"{e:.2e}" for e in errs)
        lines.append(f"| {solver} | {schedule} | {cells} | {order:.2f} |")
    return lines + [""]


def table_nfe(results: dict) -> list[str]:
    lines = ["| problem | schedule | Euler NFE | Heun NFE | Euler / Heun |", "|---|---|---|---|---|"]
    for (name, schedule), (n_euler, n_heun) in results.items():
        ratio = f"{n_euler / n_heun:.1f}" if n_euler and n_heun else "n/a"
        lines.append(f"| {name} | {schedule} | {_fmt_nfe(n_euler)} | {_fmt_nfe(n_heun)} | {ratio} |")
    return lines + [""]


def table_torchdiffeq(rows: list[dict]) -> list[str]:
    lines = ["| problem | grid | ours | torchdiffeq | NFE | max abs diff | mean endpoint error | ours (ms) | "
             "torchdiffeq (ms) | ours / torchdiffeq |", "|---|---|---|---|---|---|---|---|---|---|"]
    for r in rows:
        lines.append(f"| {r['problem']} | {r['grid']} | {r['ours']} | {r['theirs']} | {r['nfe']} | {r['diff']:.1e} | "
                     f"{r['err']:.2e} | {1e3 * r['t_ours']:.1f} | {1e3 * r['t_theirs']:.1f} | "
                     f"{r['t_ours'] / r['t_theirs']:.2f} |")
    return lines + [""]


# ----------------------------------------------------------------------------------------------- main
def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default=str(Path(__file__).with_name("samplers.md")), help="markdown file to write")
    parser.add_argument("--repeats", type=int, default=15, help="timing repeats (median) for the torchdiffeq table")
    parser.add_argument("--threads", type=int, default=1, help="torch threads (small batches run fastest on 1)")
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    start = time.perf_counter()

    log("references (DOP853, rtol 1e-10) ...")
    problems = make_problems()
    curves, needed, compare = {}, {}, []
    for name, problem in problems.items():
        log(f"{name}: reference accuracy {problem[3]:.1e} (vs rtol 1e-12)")
        curves[name] = {}
        for schedule, _, _ in SCHEDULE_SPECS:
            found = {}
            for solver, (_, per_step) in SOLVERS.items():
                curves[name][(solver, schedule)] = [error_at(problem, solver, schedule, n // per_step)
                                                    for n in NFE_COLUMNS]
                found[solver], _ = nfe_to_reach(problem, solver, schedule)
                log(f"  {schedule:<12} {solver:<5} NFE to {TARGET:g}: {_fmt_nfe(found[solver]):>7}   "
                    f"({time.perf_counter() - start:.0f} s)")
            needed[(name, schedule)] = (found["euler"], found["heun"])
        for schedule, n_steps in (("uniform", 64), ("edm", 64)):
            for row in compare_torchdiffeq(problem, schedule, n_steps, args.repeats):
                compare.append({"problem": name, "grid": f"{schedule}, {n_steps} steps", **row})
                log(f"  torchdiffeq {row['theirs']:<6} {schedule:<8} diff {row['diff']:.1e}  "
                    f"ours/theirs {row['t_ours'] / row['t_theirs']:.2f}")

    elapsed = time.perf_counter() - start
    md = [
        "# Sampler benchmark (exact fields: truncation error only)",
        "",
        f"Written by `benchmarks/samplers.py` in {elapsed:.0f} s on {platform.machine()} with {os.cpu_count()} CPUs, "
        f"torch {torch.__version__}, {torch.get_num_threads()} torch thread(s). Batch of {BATCH} float64 noise "
        f"samples (seed 0) per problem; truth is DOP853 at rtol = atol = 1e-10 from the same noise. "
        + "Reference accuracy (mean |ref - ref at 1e-12|): "
        + ", ".join(f"{n} {p[3]:.1e}" for n, p in problems.items()) + ". See `benchmarks/README.md`.",
        "",
        "## 1. Mean endpoint error vs NFE",
        "",
        "Euler uses N steps for N NFE, Heun N/2 steps. `order` is the least-squares slope of -log(error) vs "
        f"log(NFE) over NFE {NFE_COLUMNS[-4]}..{NFE_COLUMNS[-1]}.",
        "",
    ]
    for name in problems:
        md += table_errors(name, curves[name])
    md += ["## 2. NFE to reach a mean endpoint error of 1e-3", "",
           "Smallest NFE, to within 1%, whose mean endpoint error is <= 1e-3 (doubling the step count, then bisection "
           "on it); "
           f"`> {MAX_NFE}` means not reached by then.", ""]
    md += table_nfe(needed)
    md += ["## 3. Against torchdiffeq (same field, grid and noise)", "",
           "torchdiffeq 0.2's `odeint(func, x0, grid, method='euler' | 'heun2')` are fixed-grid solvers that step "
           "exactly on `grid`. Agreement is asserted (max |difference| < 1e-6) and NFE must match. Wall time is the "
           f"median of {args.repeats} runs of each, alternating, after a warm-up, in one process; ratio < 1 means ours "
           "is faster.", ""]
    md += table_torchdiffeq(compare)
    Path(args.out).write_text("\n".join(md))
    log(f"wrote {args.out} in {elapsed:.0f} s")


if __name__ == "__main__":
    main()
