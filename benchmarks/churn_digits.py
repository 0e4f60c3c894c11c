"""Is stochasticity always helpful?  FD-digits against EDM's S_churn at equal NFE, for a strong and a weak digits model.

Run: ``make bench`` or ``.venv/bin/python benchmarks/churn_digits.py`` (about 12-15 minutes on one CPU thread; the
UNet costs nearly all of it).  ``--quick`` is a smoke run (seeds 0-1, NFE 32 only, about a minute); ``--out FILE``.
Writes ``benchmarks/churn_digits.md`` with:
  1. NFE 32 (16 Heun steps on EDM's rho = 7 grid): S_churn in {0, 1, 2, 5, 10}, seeds 0-4, for ``digits_unet``
     (strong) and ``digits_mlp`` (weak), churning over the full noise range (S_tmin = 0, S_tmax = inf) and only
     where 0.05 <= sigma <= 50 (S_churn = 0 is the same run in both windows, so it is run once): FD-digits
     mean ± std over seeds, the paired difference FD(S) - FD(0) (mean, standard error, seeds where FD(S) < FD(0)),
     and class accuracy;
  2. the MLP alone at NFE 32, full window, seeds 0-19 (it is cheap): the same paired differences;
  3. NFE 16 and 64 (8 and 32 Heun steps), S_churn in {0, 5}, seeds 0-4, full window, both models;
  4. where γ = min(S_churn / N, sqrt(2) - 1) saturates (``studies.churn_saturation(N)``);
  5. the median wall time of one run (sampling 359 digits + FD-digits + accuracy) per model and NFE;
and a "What holds" section computed from these numbers.
Every run is ``studies.churn_fd``: the 359 test labels (the n of the real-data floor ``metrics.real_data_floors()``),
seed s fixing the starting noise (``manual_seed(s)``) and the churn noise (``manual_seed(1000 + s)``), so two
values of S_churn at one seed differ only by S_churn and differences are paired.  Conventions: t = 0 noise, t = 1
data, EDM's sigma = (1 - t) / t.  One torch thread (OMP_NUM_THREADS=1).
"""
from __future__ import annotations

import argparse
import math
import os
import platform
import statistics
import sys
import time
from pathlib import Path

os.environ.setdefault("OMP_NUM_THREADS", "1")  # before torch is imported

import torch  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run from a checkout without installing

from cs280diff.flows import schedules, stochastic  # noqa: E402
from cs280diff.images import metrics, studies  # noqa: E402
from cs280diff.nets import registry  # noqa: E402

MODELS = {"digits_unet": "strong", "digits_mlp": "weak"}
S_MAIN = [0.0, 1.0, 2.0, 5.0, 10.0]  # part 1
WINDOW = (0.05, 50.0)  # (S_tmin, S_tmax) of the restricted window
S_NFE = [0.0, 5.0]  # part 3
NFE_MAIN, NFE_OTHERS = 32, (16, 64)
MARGIN = 0.04  # "FD(5) < FD(0) - MARGIN" in What holds


def log(msg: str) -> None:
    print(msg, flush=True)


# ----------------------------------------------------------------------------------------------- running
class Timer:
    """A ``progress`` wrapper for ``studies.churn_fd`` that times every (S_churn, seed) run and logs a line per run."""

    def __init__(self, label: str, start: float):
        self.label, self.start, self.times = label, start, []

    def __call__(self, pairs):
        for k, pair in enumerate(pairs):
            t0 = time.perf_counter()
            yield pair  # churn_fd samples and scores this pair before asking for the next
            self.times.append(time.perf_counter() - t0)
            log(f"  {self.label}: run {k + 1}/{len(pairs)} {self.times[-1]:.1f} s "
                f"(total {time.perf_counter() - self.start:.0f} s)")


def run(model, S_churns, n_steps, seeds, window, timer) -> dict:
    S_tmin, S_tmax = window
    return studies.churn_fd(model, S_churns, n_steps=n_steps, seeds=seeds, grid=schedules.edm_rho,
                            S_tmin=S_tmin, S_tmax=S_tmax, progress=timer)


def row_of(res: dict, S: float) -> int:
    return res["S_churn"].index(float(S))


# ----------------------------------------------------------------------------------------------- statistics
def mean_std(v: torch.Tensor) -> tuple[float, float]:
    return v.mean().item(), (v.std(unbiased=True).item() if v.numel() > 1 else float("nan"))


def paired(fd_s: torch.Tensor, fd_0: torch.Tensor) -> dict:
    """Paired difference FD(S) - FD(0) over seeds: mean, standard error, and the seeds where FD(S) < FD(0)."""
    d = fd_s - fd_0
    se = d.std(unbiased=True).item() / math.sqrt(d.numel()) if d.numel() > 1 else float("nan")
    return {"mean": d.mean().item(), "se": se, "wins": int((d < 0).sum()), "n": d.numel()}


def gamma(S: float, n_steps: int) -> float:
    """EDM's γ at a noise level inside the window (the package's rule, not a second copy of it)."""
    return stochastic.churn_gamma(0.5, n_steps, S_churn=S)


# ----------------------------------------------------------------------------------------------- markdown
def _pm(m: float, s: float, digits: int = 3) -> str:
    return f"{m:.{digits}f} ± {s:.{digits}f}"


def _diff(p: dict | None) -> tuple[str, str]:
    if p is None:
        return "—", "—"
    return f"{p['mean']:+.3f} ± {p['se']:.3f}", f"{p['wins']}/{p['n']}"


HEAD = ("| model | window | NFE (N) | S_churn | γ | FD mean ± std | FD(S) − FD(0) mean ± SE | FD(S) < FD(0) | "
        "accuracy |", "|---|---|---|---|---|---|---|---|---|")


def table_rows(model: str, window: str, n_steps: int, S_list, res_s: dict, res_0: dict) -> list[str]:
    """Rows for S in S_list, FD and accuracy from res_s (S = 0 from res_0), paired against S = 0 of res_0."""
    fd0 = res_0["FD"][row_of(res_0, 0.0)]
    lines = []
    for S in S_list:
        res = res_0 if S == 0 else res_s
        i = row_of(res, S)
        fd, acc = res["FD"][i], res["acc"][i]
        diff, wins = _diff(None if S == 0 else paired(fd, fd0))
        lines.append(f"| {model} | {window} | {2 * n_steps} ({n_steps}) | {S:g} | {gamma(S, n_steps):.3f} | "
                     f"{_pm(*mean_std(fd))} | {diff} | {wins} | {acc.mean().item():.3f} |")
    return lines


def per_seed_rows(model: str, window: str, S_list, res_s: dict, res_0: dict) -> list[str]:
    lines = []
    for S in S_list:
        res = res_0 if S == 0 else res_s
        fd = res["FD"][row_of(res, S)]
        lines.append(f"| {model} | {window} | {S:g} | " + " | ".join(f"{v:.3f}" for v in fd.tolist()) + " |")
    return lines


# ----------------------------------------------------------------------------------------------- main
def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="smoke run: seeds 0-1, NFE 32 only")
    parser.add_argument("--out", default=str(Path(__file__).with_suffix(".md")), help="markdown file to write")
    args = parser.parse_args(argv)
    torch.set_num_threads(1)
    start = time.perf_counter()

    seeds = (0, 1) if args.quick else tuple(range(5))
    mlp_seeds = tuple(range(5)) if args.quick else tuple(range(20))
    n_main = NFE_MAIN // 2
    full, window = (0.0, math.inf), WINDOW
    floor = metrics.real_data_floors()["fd"]
    log(f"real-data floor FD-digits {floor:.3f}; seeds {seeds}; one thread: {torch.get_num_threads()}")

    models = {name: registry.load_pretrained(name, torch.device("cpu")) for name in MODELS}
    main_res, times = {}, {}  # main_res[model] = (full-window result, restricted-window result)
    for name, model in models.items():
        log(f"{name}, NFE {NFE_MAIN}, full window")
        t = Timer(f"{name} NFE {NFE_MAIN} full", start)
        res_full = run(model, S_MAIN, n_main, seeds, full, t)
        log(f"{name}, NFE {NFE_MAIN}, window S_tmin={window[0]:g}, S_tmax={window[1]:g}")
        t2 = Timer(f"{name} NFE {NFE_MAIN} window", start)
        res_win = run(model, [s for s in S_MAIN if s > 0], n_main, seeds, window, t2)
        main_res[name] = (res_full, res_win)
        times[(name, NFE_MAIN)] = t.times + t2.times

    # checks, on the cheap MLP: S = 0 is the same run in either window; S = 10 (> saturation at N = 16) = S = 20.
    mlp = models["digits_mlp"]
    check = studies.churn_fd(mlp, [0.0, 10.0, 20.0], n_steps=n_main, seeds=seeds[:1], S_tmin=window[0],
                             S_tmax=window[1])
    res_full_mlp = main_res["digits_mlp"][0]
    assert check["FD"][0, 0] == res_full_mlp["FD"][row_of(res_full_mlp, 0.0), 0], "S=0 differs between windows"
    assert check["FD"][1, 0] == check["FD"][2, 0], "S_churn = 10 and 20 differ at N = 16 (no saturation?)"
    checks = [f"S_churn = 0 with the window {window} gives the same FD as with the full window "
              f"(digits_mlp, seed {seeds[0]}: {check['FD'][0, 0].item():.6f}), so it is run once and reused.",
              f"S_churn = 10 and 20 give the same FD at N = {n_main} in the window (digits_mlp, seed {seeds[0]}: "
              f"{check['FD'][1, 0].item():.6f}): above {studies.churn_saturation(n_main):.2f} γ is capped."]

    log(f"digits_mlp, NFE {NFE_MAIN}, full window, seeds {mlp_seeds[0]}-{mlp_seeds[-1]}")
    t = Timer(f"digits_mlp NFE {NFE_MAIN} full {len(mlp_seeds)} seeds", start)
    mlp_many = run(mlp, S_MAIN, n_main, mlp_seeds, full, t)
    times[("digits_mlp", NFE_MAIN)] += t.times
    k = len(seeds)
    assert torch.equal(mlp_many["FD"][:, :k], res_full_mlp["FD"]), "seeds 0-4 of the 20-seed run differ from part 1"
    checks.append(f"The {len(mlp_seeds)}-seed MLP run reproduces part 1's FD exactly on seeds "
                  f"{seeds[0]}-{seeds[-1]} (fixed seeding).")

    nfe_res = {}
    if not args.quick:
        for name, model in models.items():
            for nfe in NFE_OTHERS:
                log(f"{name}, NFE {nfe}, full window")
                t = Timer(f"{name} NFE {nfe}", start)
                nfe_res[(name, nfe)] = run(model, S_NFE, nfe // 2, seeds, full, t)
                times[(name, nfe)] = t.times
    elapsed = time.perf_counter() - start

    # ------------------------------------------------------------------------------------------- markdown
    wlabel = f"{window[0]:g} ≤ σ ≤ {window[1]:g}"
    md = [
        "# Is stochasticity always helpful? FD-digits vs EDM's S_churn at equal NFE",
        "",
        f"Written by `benchmarks/churn_digits.py{' --quick' if args.quick else ''}` in {elapsed:.0f} s on "
        f"{platform.machine()} {platform.system()} with {os.cpu_count()} CPUs, python {platform.python_version()}, "
        f"torch {torch.__version__}, {torch.get_num_threads()} torch thread(s) (OMP_NUM_THREADS="
        f"{os.environ.get('OMP_NUM_THREADS')}). Every run is `studies.churn_fd`: EDM's churn sampler with Heun steps "
        "(2 NFE per step for every S_churn, so columns at one NFE cost the same) on `schedules.edm_rho` (rho = 7, "
        "sigma in [0.002, 80]), 359 class-conditional samples (the test labels), scored by FD-digits against the "
        f"training digits and by class accuracy. The real-data floor at this n is FD-digits **{floor:.3f}** "
        "(`metrics.real_data_floors()['fd']`, real test digits vs train). Seed s fixes the starting noise "
        "(`manual_seed(s)`) and the churn noise (`manual_seed(1000 + s)`), so FD(S) − FD(0) is paired by seed; "
        "std is over seeds (ddof 1), SE = std of the paired differences / sqrt(seeds), and `FD(S) < FD(0)` counts "
        "the seeds where churn helped. Windows: `full` churns wherever sigma > 0 (S_tmin = 0, S_tmax = inf); "
        f"`{wlabel}` only where S_tmin = {window[0]:g} ≤ sigma ≤ S_tmax = {window[1]:g}. "
        "t = 0 is noise, t = 1 data, sigma = (1 − t)/t.",
        "",
        f"## 1. NFE {NFE_MAIN}: FD-digits vs S_churn, seeds {seeds[0]}–{seeds[-1]}",
        "",
        "S_churn = 0 (the deterministic Heun ODE) is the same run in both windows; it is run once and both windows' "
        "differences are paired against it.",
        "",
        *HEAD,
    ]
    for name in MODELS:
        res_full, res_win = main_res[name]
        md += table_rows(name, "full", n_main, S_MAIN, res_full, res_full)
        md += table_rows(name, wlabel, n_main, [s for s in S_MAIN if s > 0], res_win, res_full)
    md += ["", "Per-seed FD-digits:", "",
           "| model | window | S_churn | " + " | ".join(f"seed {s}" for s in seeds) + " |",
           "|---|---|---|" + "---|" * len(seeds)]
    for name in MODELS:
        res_full, res_win = main_res[name]
        md += per_seed_rows(name, "full", S_MAIN, res_full, res_full)
        md += per_seed_rows(name, wlabel, [s for s in S_MAIN if s > 0], res_win, res_full)

    md += ["", f"## 2. digits_mlp at NFE {NFE_MAIN}, full window, seeds {mlp_seeds[0]}–{mlp_seeds[-1]}", "",
           f"The weak model is cheap, so {len(mlp_seeds)} seeds tighten its paired differences.", "", *HEAD]
    md += table_rows("digits_mlp", "full", n_main, S_MAIN, mlp_many, mlp_many)

    if nfe_res:
        md += ["", f"## 3. NFE 16, 32 and 64: S_churn in {{0, 5}}, full window, seeds {seeds[0]}–{seeds[-1]}", "",
               "NFE 32 rows repeat part 1. At N = 8 steps S_churn = 5 is past saturation "
               f"({studies.churn_saturation(8):.2f}): γ is at its cap sqrt(2) − 1.", "", *HEAD]
        for name in MODELS:
            for nfe in sorted((NFE_MAIN, *NFE_OTHERS)):
                res = main_res[name][0] if nfe == NFE_MAIN else nfe_res[(name, nfe)]
                md += table_rows(name, "full", nfe // 2, S_NFE, res, res)

    md += ["", "## 4. Saturation of γ", "",
           "EDM's γ_i = min(S_churn / N, sqrt(2) − 1) (`stochastic.churn_gamma`) stops growing at S_churn = "
           "`studies.churn_saturation(N)` = (sqrt(2) − 1) N; any larger S_churn is the *same sampler* (same "
           "numbers, asserted below for S_churn = 10 vs 20 at N = 16).", "",
           "| NFE | N | saturates above S_churn | γ at S = 1 | γ at S = 2 | γ at S = 5 | γ at S = 10 |",
           "|---|---|---|---|---|---|---|"]
    for nfe in sorted((NFE_MAIN, *NFE_OTHERS)):
        n = nfe // 2
        md.append(f"| {nfe} | {n} | {studies.churn_saturation(n):.2f} | "
                  + " | ".join(f"{gamma(S, n):.3f}" for S in (1, 2, 5, 10)) + " |")
    md += ["", f"So at N = {n_main} (NFE {NFE_MAIN}) S_churn = 10 (γ = {gamma(10, n_main):.3f}) is the saturated "
           f"sampler: S_churn ≥ {studies.churn_saturation(n_main):.1f} all give these numbers."]

    md += ["", "## 5. Wall time per run", "",
           "One run = sampling 359 digits (2 N network calls) + FD-digits + accuracy, on one thread; median "
           "(min–max) over all runs of that model and NFE (every S_churn and window; churn itself costs little).", "",
           "| model | NFE | runs | median s | min s | max s |", "|---|---|---|---|---|---|"]
    for (name, nfe), ts in sorted(times.items(), key=lambda kv: (list(MODELS).index(kv[0][0]), kv[0][1])):
        md.append(f"| {name} | {nfe} | {len(ts)} | {statistics.median(ts):.2f} | {min(ts):.2f} | {max(ts):.2f} |")

    # ------------------------------------------------------------------------------------------- what holds
    md += ["", "## What holds (computed from the tables above)", ""]
    for name in MODELS:
        res_full, res_win = main_res[name]
        means = {S: res_full["FD"][row_of(res_full, S)].mean().item() for S in S_MAIN}
        best = min(means, key=means.get)
        p5 = paired(res_full["FD"][row_of(res_full, 5.0)], res_full["FD"][row_of(res_full, 0.0)])
        win_means = {S: res_win["FD"][row_of(res_win, S)].mean().item() for S in S_MAIN if S > 0}
        best_win = min(win_means, key=win_means.get)
        md += [f"**{name}** ({MODELS[name]}), NFE {NFE_MAIN}, seeds {seeds[0]}–{seeds[-1]}:", "",
               "- mean FD by S_churn (full window): " + ", ".join(f"{S:g}: {m:.3f}" for S, m in means.items())
               + f". Best S_churn = {best:g}; best > 0: **{best > 0}**.",
               f"- mean FD(5) = {means[5.0]:.3f} < mean FD(0) − {MARGIN} = {means[0.0] - MARGIN:.3f}: "
               f"**{means[5.0] < means[0.0] - MARGIN}** (paired FD(5) − FD(0) = {p5['mean']:+.3f} ± {p5['se']:.3f} "
               f"SE, {abs(p5['mean']) / p5['se']:.1f} SE from 0; churn helped on {p5['wins']}/{p5['n']} seeds).",
               f"- window {wlabel}: best S_churn = {best_win:g} at mean FD {win_means[best_win]:.3f} vs "
               f"S_churn = 0 at {means[0.0]:.3f}; window's best beats the ODE: "
               f"**{win_means[best_win] < means[0.0]}**.",
               f"- best mean FD over both windows {min(means[best], win_means[best_win]):.3f} − real-data floor "
               f"{floor:.3f} = {min(means[best], win_means[best_win]) - floor:+.3f}; within 0.02 of the floor: "
               f"**{min(means[best], win_means[best_win]) < floor + 0.02}**.", ""]
    many = {S: paired(mlp_many["FD"][row_of(mlp_many, S)], mlp_many["FD"][row_of(mlp_many, 0.0)])
            for S in S_MAIN if S > 0}
    worse = [S for S, p in many.items() if p["mean"] > 2 * p["se"]]
    md += [f"**digits_mlp, {len(mlp_seeds)} seeds** (full window): FD(S) − FD(0) = "
           + ", ".join(f"S {S:g}: {p['mean']:+.3f} ± {p['se']:.3f}" for S, p in many.items())
           + f". S_churn values where churn is worse by more than 2 SE: **{[f'{s:g}' for s in worse] or 'none'}**; "
           f"every S_churn > 0 worse on average: **{all(p['mean'] > 0 for p in many.values())}**.", ""]
    if nfe_res:
        for name in MODELS:
            parts = []
            for nfe in sorted((NFE_MAIN, *NFE_OTHERS)):
                res = main_res[name][0] if nfe == NFE_MAIN else nfe_res[(name, nfe)]
                p = paired(res["FD"][row_of(res, 5.0)], res["FD"][row_of(res, 0.0)])
                f0, f5 = res["FD"][row_of(res, 0.0)].mean().item(), res["FD"][row_of(res, 5.0)].mean().item()
                parts.append((nfe, f0, f5, p))
            helps = [nfe for nfe, f0, f5, _ in parts if f5 < f0]
            md.append(f"**{name}**, S_churn 5 vs 0 across NFE: "
                      + "; ".join(f"NFE {nfe}: {f0:.3f} → {f5:.3f} ({p['mean']:+.3f} ± {p['se']:.3f})"
                                  for nfe, f0, f5, p in parts)
                      + f". Churn helps (mean FD(5) < FD(0)) at every NFE: **{len(helps) == len(parts)}**; "
                      f"at NFEs {helps}.")
            md.append("")
    md += ["## Checks (asserted by the script)", ""] + [f"- {c}" for c in checks] + [""]
    Path(args.out).write_text("\n".join(md))
    log(f"wrote {args.out} in {elapsed:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
