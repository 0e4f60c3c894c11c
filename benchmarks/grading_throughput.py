"""How fast does ``cs280diff-grade`` get through a class?  N synthetic students × every notebook, on this machine.

Run: ``.venv/bin/python benchmarks/grading_throughput.py`` (about 15 minutes on 2 cores: 3 students, 1 and 2
workers); ``--students N``, ``--workers 1 2 4``, ``--only ID ...`` to grade some notebooks, ``--out FILE``.
Every student submits the solution of every notebook; every other student's files have lost their nbgrader
metadata (a Colab round trip), so repair is part of the cost.  Each worker count grades the same inbox into a fresh
course folder.  Writes ``benchmarks/grading_throughput.md`` with:
  1. per worker count: the wall time of the whole command, minutes per full submission (wall / students), the
     speed-up over one worker, and the phases (release, collect + repair, autograde, feedback + CSV);
  2. where the time goes: per notebook, the median seconds of one autograde (its own process: nbgrader, a fresh
     kernel, the notebook's cells in the grading profile), and the same for a one-cell notebook, which is the fixed
     cost of an autograde.
"""
from __future__ import annotations

import argparse
import copy
import json
import os
import platform
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("OMP_NUM_THREADS", "1")
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

import nbformat  # noqa: E402

import nbgrading as G  # noqa: E402
from cs280diff.course.authoring import notebook_from_text  # noqa: E402
from cs280diff.course.grade import Settings, grade  # noqa: E402

TINY = "# %% [solution] id=f\ndef f():\n    ### BEGIN SOLUTION\n    return 1\n    ### END SOLUTION\n\n" \
       "# %% [tests] id=test_f points=1\nassert f() == 1\n"


def _inbox(path: Path, students: int, aids: list[str]) -> None:
    for k in range(students):
        folder = path / f"student{k:02d}"
        folder.mkdir(parents=True)
        for aid in aids:
            nb = G.submission(aid, G.solution_sources(aid))
            if k % 2:  # a Colab round trip: no nbgrader metadata, new cell ids
                nb = copy.deepcopy(nb)
                for i, cell in enumerate(nb.cells):
                    cell.metadata, cell.id = {}, f"colab{i:04d}"
            nbformat.write(nb, folder / f"Copy of {aid}.ipynb")


def _run(inbox: Path, course: Path, workers: int, aids) -> dict:
    start = time.perf_counter()
    grade(inbox, course, settings=Settings(workers=workers), only=aids, log=lambda _: None)
    wall = time.perf_counter() - start
    return dict(json.loads((course / "grading_log.json").read_text()), wall=wall)


def _tiny(tmp: Path) -> float:
    """The median seconds of autograding a one-cell notebook (3 submissions, one worker)."""
    course, inbox = tmp / "tiny_course", tmp / "tiny_inbox"
    (course / "solutions" / "tiny").mkdir(parents=True)
    nbformat.write(notebook_from_text(TINY), course / "solutions" / "tiny" / "tiny.ipynb")
    shutil.copyfile(G.REPO / "nbgrader_config.py", course / "nbgrader_config.py")
    from cs280diff.course.grade import _prepare

    released = _prepare(course, ["tiny"], Settings())["tiny"]
    for k in range(3):
        (inbox / f"s{k}").mkdir(parents=True)
        nbformat.write(released, inbox / f"s{k}" / "tiny.ipynb")
    log = _run(inbox, course, 1, ["tiny"])
    return statistics.median(s["seconds"] for s in log["submissions"])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--students", type=int, default=3)
    ap.add_argument("--workers", type=int, nargs="+", default=[1, 2])
    ap.add_argument("--only", nargs="*", default=None)
    ap.add_argument("--out", default=str(Path(__file__).with_suffix(".md")))
    args = ap.parse_args()
    aids = args.only or G.notebook_ids()
    tmp = Path(tempfile.mkdtemp(prefix="cs280diff-bench-"))
    try:
        _inbox(tmp / "inbox", args.students, aids)
        runs = {w: _run(tmp / "inbox", tmp / f"course_w{w}", w, aids) for w in args.workers}
        tiny = _tiny(tmp)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    lines = [f"# Grading throughput: {args.students} students × {len(aids)} notebooks", "",
             f"`python benchmarks/grading_throughput.py --students {args.students} --workers "
             f"{' '.join(map(str, args.workers))}{' --only ' + ' '.join(args.only) if args.only else ''}` on {os.cpu_count()} CPU cores ({platform.processor() or platform.machine()}), "
             f"Python {platform.python_version()}, {time.strftime('%Y-%m-%d')}. Every student submits every solution "
             f"notebook; half of them without nbgrader metadata (repaired before grading).", "",
             "| workers | wall (min) | min per full submission | speed-up | release (s) | collect + repair (s) | "
             "autograde (s) | feedback + CSV (s) | all graded |", "|---|---|---|---|---|---|---|---|---|"]
    base = runs[args.workers[0]]["wall"]
    for w, r in runs.items():
        ok = all(s["status"] == "graded" for s in r["submissions"])
        p = r["phases"]
        lines.append(f"| {w} | {r['wall'] / 60:.1f} | {r['wall'] / 60 / args.students:.2f} | {base / r['wall']:.2f}x | "
                     f"{p['release']:.0f} | {p['collect_and_repair']:.1f} | {p['autograde']:.0f} | "
                     f"{p['feedback_and_csv']:.0f} | {ok} |")
    one = runs[args.workers[0]]
    per_nb = {aid: statistics.median(s["seconds"] for s in one["submissions"] if s["notebook"] == aid) for aid in aids}
    lines += ["", f"## Where the time goes (one autograde each, {args.workers[0]} worker(s), median over students)", "",
              "| notebook | seconds |", "|---|---|",
              *[f"| `{aid}` | {sec:.1f} |" for aid, sec in per_nb.items()],
              f"| **one full submission** | **{sum(per_nb.values()):.0f}** ({sum(per_nb.values()) / 60:.1f} min) |",
              f"| a one-cell notebook (the fixed cost: process, nbgrader, kernel start, gradebook) | {tiny:.1f} |", ""]
    Path(args.out).write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
