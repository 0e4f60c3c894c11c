"""Wall time, peak memory and figures of every solution notebook, run top to bottom as a self-study reader runs it.

Run: ``make bench`` (all benchmarks) or ``.venv/bin/python benchmarks/notebooks.py`` (this one), options:
  --profile fast|full   the practicum profile (``CS280DIFF_PROFILE``), repeatable; default: fast, then full
  --repeats N           runs per notebook in the fast profile (default 3); the table gives the median and min–max
  --full-repeats N      runs per notebook in the full profile (default 1: on a CPU it takes many minutes)
  --only ID ...         some notebooks (default: all of solutions/)
  --out-dir DIR         where the tables go (default benchmarks/): one file per profile and device,
                        ``notebooks_<profile>_<cpu|cuda>.md``, so a GPU run never overwrites a CPU one
Each run executes a fresh copy of the notebook in a fresh kernel (nbclient), on the device ``cs280diff.runtime``
picks (``CS280DIFF_DEVICE`` overrides it).  Measured per run: the wall time from the first cell's start to the last
cell's reply (nbclient's timing metadata, so kernel start-up is excluded), the kernel's peak resident memory
(``ru_maxrss``), on CUDA ``torch.cuda.max_memory_allocated``, the number of figures (PNG outputs) and of errors
(which must be 0: the run fails otherwise).  The notebooks run one after another, never side by side.
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import statistics
import sys
import tempfile
import time
from datetime import datetime
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
SOLUTIONS = REPO / "solutions"
GOAL_EACH_S, GOAL_ALL_S = 120.0, 12 * 60.0  # issue 18's goals for the fast profile on 2 CPU cores
GPU_GOAL_ALL_S = 5 * 60.0  # and for the full profile on one GPU

PROBE = """
import json, resource, sys
_peak = {"rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}
if "torch" in sys.modules and sys.modules["torch"].cuda.is_available():
    _peak["cuda_mb"] = sys.modules["torch"].cuda.max_memory_allocated() / 2**20
    _peak["cuda_name"] = sys.modules["torch"].cuda.get_device_name()
print("CS280DIFF_PROBE " + json.dumps(_peak))
"""


def run_once(aid: str, profile: str, timeout: int) -> dict:
    """Execute solutions/<aid> once in a temporary copy; returns the measurements of that run."""
    import nbformat
    from nbclient import NotebookClient

    from cs280diff.course.kernels import PatientKernelManager

    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp) / aid
        shutil.copytree(SOLUTIONS / aid, work)
        path = work / f"{aid}.ipynb"
        nb = nbformat.read(path, as_version=4)
        n_cells = len(nb.cells)
        nb.cells.append(nbformat.v4.new_code_cell(PROBE))
        os.environ["CS280DIFF_PROFILE"] = profile
        start = time.perf_counter()
        NotebookClient(nb, timeout=timeout, kernel_name="python3", allow_errors=True,
                       kernel_manager_class=PatientKernelManager,
                       resources={"metadata": {"path": str(work)}}).execute()
        total = time.perf_counter() - start
    cells = nb.cells[:n_cells]
    errors = [(i, o.ename) for i, c in enumerate(cells) if c.cell_type == "code"
              for o in c.outputs if o.output_type == "error"]
    figures = sum("image/png" in o.get("data", {}) for c in cells if c.cell_type == "code" for o in c.outputs)
    stamps = [c.metadata.get("execution", {}) for c in cells if c.cell_type == "code"]
    begin = min(datetime.fromisoformat(s["iopub.execute_input"].replace("Z", "+00:00")) for s in stamps if s)
    end = max(datetime.fromisoformat(s["shell.execute_reply"].replace("Z", "+00:00")) for s in stamps if s)
    probe = next(o.text for o in nb.cells[-1].outputs if o.get("name") == "stdout")
    peak = json.loads(probe.split("CS280DIFF_PROBE ", 1)[1])
    return {"wall_s": (end - begin).total_seconds(), "with_kernel_s": total, "figures": figures, "errors": errors,
            **peak}


def measure(ids: list[str], profile: str, repeats: int, timeout: int) -> list[dict]:
    rows = []
    for aid in ids:
        runs = []
        for r in range(repeats):
            run = run_once(aid, profile, timeout)
            print(f"  {profile:4s} {aid:24s} run {r + 1}/{repeats}: {run['wall_s']:7.1f} s, "
                  f"{run['rss_mb']:6.0f} MB RSS, {run['figures']} figures, {len(run['errors'])} errors", flush=True)
            if run["errors"]:
                raise SystemExit(f"{aid} ({profile}) raised in cells {run['errors']}: fix it before timing it")
            runs.append(run)
        walls = [r["wall_s"] for r in runs]
        rows.append({"id": aid, "profile": profile, "median_s": statistics.median(walls), "min_s": min(walls),
                     "max_s": max(walls), "rss_mb": max(r["rss_mb"] for r in runs),
                     "cuda_mb": max((r.get("cuda_mb", 0.0) for r in runs), default=0.0),
                     "figures": runs[0]["figures"], "cuda_name": runs[0].get("cuda_name")})
    return rows


def table(rows: list[dict], profile: str, on_gpu: bool) -> list[str]:
    goal_each = GOAL_EACH_S if profile == "fast" and not on_gpu else None
    head = "| notebook | median s | min–max s | peak RSS MB |" + (" peak CUDA MB |" if on_gpu else "") + \
           " figures |" + (" ≤ 120 s |" if goal_each else "")
    lines = [head, "|---" * (head.count("|") - 1) + "|"]
    for r in rows:
        line = f"| {r['id']} | {r['median_s']:.1f} | {r['min_s']:.1f}–{r['max_s']:.1f} | {r['rss_mb']:.0f} |"
        line += f" {r['cuda_mb']:.0f} |" if on_gpu else ""
        line += f" {r['figures']} |" + ((" yes |" if r["median_s"] <= goal_each else " **no** |") if goal_each else "")
        lines.append(line)
    total = sum(r["median_s"] for r in rows)
    lines.append(f"| **all {len(rows)}** | {total:.1f} | | {max(r['rss_mb'] for r in rows):.0f} |"
                 + (f" {max(r['cuda_mb'] for r in rows):.0f} |" if on_gpu else "")
                 + f" {sum(r['figures'] for r in rows)} |" + (" |" if goal_each else ""))
    goal = (GPU_GOAL_ALL_S if on_gpu and profile == "full" else GOAL_ALL_S if profile == "fast" and not on_gpu
            else None)
    if goal:
        lines += ["", f"All {len(rows)} together: {total / 60:.1f} min against a goal of ≤ {goal / 60:.0f} min "
                      f"({'met' if total <= goal else 'not met'})."]
    return lines


def machine(on_gpu: bool, gpu_name: str | None) -> str:
    import torch

    text = (f"{platform.machine()} {platform.system()}, {os.cpu_count()} CPUs, torch {torch.__version__} "
            f"({torch.get_num_threads()} threads), python {platform.python_version()}")
    return text + (f", GPU {gpu_name}" if on_gpu else ", no GPU")


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--profile", choices=("fast", "full"), action="append")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--full-repeats", type=int, default=1)
    parser.add_argument("--only", nargs="*")
    parser.add_argument("--timeout", type=int, default=1800, help="seconds a cell may run")
    parser.add_argument("--out-dir", default=str(Path(__file__).parent))
    args = parser.parse_args(argv)
    sys.path.insert(0, str(REPO))
    from cs280diff import runtime

    device = runtime.get_device()
    on_gpu = device.type == "cuda"
    ids = args.only or sorted(p.name for p in SOLUTIONS.iterdir() if (p / f"{p.name}.ipynb").is_file())
    command = "python benchmarks/notebooks.py " + " ".join(argv if argv is not None else sys.argv[1:])
    for profile in args.profile or ["fast", "full"]:
        start = time.perf_counter()
        repeats = args.repeats if profile == "fast" else args.full_repeats
        rows = measure(ids, profile, repeats, args.timeout)
        text = [f"# Solution notebooks in the `{profile}` profile on {device.type}: wall time, peak memory, figures",
                "", f"Written by `{command.strip()}` in {(time.perf_counter() - start) / 60:.1f} min on "
                f"{machine(on_gpu, rows[0]['cuda_name'])}. Each notebook ran {repeats} time(s), one at a time, each "
                "in a fresh kernel; times are from the first cell's start to the last cell's reply (kernel start-up "
                "excluded). Peak RSS is the kernel process's. What the profile changes: `docs/profiles.md`; see "
                "`benchmarks/README.md`.", "", *table(rows, profile, on_gpu), ""]
        out = Path(args.out_dir) / f"notebooks_{profile}_{device.type}.md"
        out.write_text("\n".join(text))
        print(f"wrote {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
