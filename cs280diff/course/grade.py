"""``cs280diff-grade INBOX``: the TA's one command, from a folder of downloads to grades, feedback and a CSV.

  1. release: nbgrader's generate_assignment of every notebook (the gradebook learns the tests and their points);
  2. collect: the inbox into submitted/<student>/<id>/ (``course.collect``: folders, zips, renamed files);
  3. repair: every submission against its release (``course.repair``); the original is kept in originals/ and the
     repairs go to reports/<student>/<id>.md with the integrity flags (``course.report``);
  4. autograde in parallel: ``workers`` submissions at once, each in its own process with nbgrader's per-cell
     timeout, an address-space cap per process (a memory-hungry cell gets a MemoryError) and a bounded total time.
     A submission whose kernel dies (``os._exit``, a segfault) or that outlives the total (a loop that ignores the
     interrupt) is *quarantined*: the cell that stopped the kernel is found by running the notebook cell by cell, it
     is replaced by a cell that raises, and the submission is graded again, so only that exercise loses its points;
  5. feedback HTML per student (feedback/), grades.csv (one row per student, notebook and test cell, plus one total
     row per notebook, with each submission's status), grades_by_notebook.csv (a row per student, a column per
     notebook) and grading_log.json (each submission's status and seconds).
Workers share one gradebook: SQLite on one machine (a write that meets a locked database is retried), or any
database nbgrader's SQLAlchemy gradebook supports through ``db_url`` (PostgreSQL for workers on several machines).
"""
from __future__ import annotations

import csv
import json
import os
import shutil
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from cs280diff.course.authoring import REPO
from cs280diff.course.collect import collect
from cs280diff.course.repair import repair
from cs280diff.course.report import scan_submission, write_report

__all__ = ["Settings", "grade", "KILLER_SOURCE", "DEAD_KERNEL"]

KILLER_SOURCE = ("raise RuntimeError('cs280diff grader: this cell stopped the grading kernel (it exited, crashed or "
                 "ignored the time limit), so it was not run; the rest of the notebook was graded')")
DEAD_KERNEL = "the kernel died"  # the reason autograde-one gives when nbgrader's kernel died mid-run


@dataclass(frozen=True)
class Settings:
    """How a submission is graded: per-cell timeout (s), total per submission (s), address space per process (GB),
    parallel workers, and the gradebook URL (None: sqlite:///<course>/gradebook.db)."""
    cell_timeout: int = 120
    total_timeout: int = 1200
    memory_gb: float = 8.0
    workers: int = 2
    db_url: str | None = None


def _aids(root: Path, only) -> list[str]:
    return [p.name for p in sorted((root / "solutions").iterdir())
            if (p / f"{p.name}.ipynb").exists() and (not only or p.name in only)]


def _prepare(root: Path, aids: list[str], settings: Settings) -> dict:
    """solutions/ in the course folder (copied from the package's repository when absent) and the release."""
    import nbformat

    from cs280diff.course.release import name_stubs, nbgrader_api

    api = nbgrader_api(root, **_db(settings))
    released = {}
    for aid in aids:
        result = api.generate_assignment(aid, force=True, create=True)
        if not result["success"]:
            raise RuntimeError(f"generate_assignment {aid} failed:\n{result.get('error') or result.get('log')}")
        path = root / "notebooks" / aid / f"{aid}.ipynb"
        released[aid] = name_stubs(nbformat.read(path, as_version=4))
        nbformat.write(released[aid], path)  # the release as `make release` writes it
    return released


def _db(settings: Settings) -> dict:
    return {"CourseDirectory__db_url": settings.db_url} if settings.db_url else {}


def _repair_all(root: Path, released: dict, placed: dict) -> dict:
    """Repair every submission collected in this run in place (originals kept), write the reports; returns
    {(student, aid): [repairs]}."""
    import nbformat

    out = {}
    for student, aid in sorted((st, aid) for st, nbs in placed.items() for aid in nbs):
        path = root / "submitted" / student / aid / f"{aid}.ipynb"
        original = root / "originals" / student / f"{aid}.ipynb"
        original.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(path, original)
        nb, repairs = repair(nbformat.read(path, as_version=4), released[aid])
        nbformat.write(nb, path)
        flags = scan_submission(nb, nbformat.read(root / "solutions" / aid / f"{aid}.ipynb", as_version=4))
        write_report(root / "reports" / student / f"{aid}.md", student, aid, flags, repairs=repairs)
        out[(student, aid)] = repairs
    return out


def _run_one(root: Path, aid: str, student: str, settings: Settings) -> dict:
    """Autograde one submission in a child process (its own session, killed with its kernel at the total time)."""
    cmd = [sys.executable, "-m", "cs280diff.course", "autograde-one", str(root), aid, student,
           "--cell-timeout", str(settings.cell_timeout), "--memory-gb", str(settings.memory_gb)]
    if settings.db_url:
        cmd += ["--db-url", settings.db_url]
    env = dict(os.environ, OMP_NUM_THREADS="1", PYTHONWARNINGS="ignore")
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env,
                            start_new_session=True)
    try:
        out, _ = proc.communicate(timeout=settings.total_timeout)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, 9)  # the grader, its kernel and anything the kernel started
        proc.communicate()
        return {"success": False, "reason": f"over the total time of {settings.total_timeout} s"}
    last = [line for line in out.splitlines() if line.startswith("{\"success\"")]
    return json.loads(last[-1]) if last else {"success": False, "reason": f"grader exited {proc.returncode}: {out[-500:]}"}


def _grade_one(root: Path, aid: str, student: str, settings: Settings) -> dict:
    """Autograde, and on a dead kernel or a timeout quarantine the culprit cell and grade again (3 times at most).
    A kernel that died although every cell runs when run one by one (a loaded machine, not the submission) is
    graded once more before the submission counts as failed."""
    status = {"student": student, "notebook": aid, "quarantined": [], "start": time.time()}
    try:
        return _attempts(root, aid, student, settings, status)
    finally:
        status["seconds"] = round(time.time() - status.pop("start"), 2)


def _attempts(root: Path, aid: str, student: str, settings: Settings, status: dict) -> dict:
    status["retries"] = 0
    for _ in range(1 + 1 + 3):  # the first run, one regrade after an unrepeated death, three quarantines
        result = _run_one(root, aid, student, settings)
        if result["success"]:
            status["status"] = "graded" + (" after quarantine" if status["quarantined"] else "")
            return status
        path = root / "submitted" / student / aid / f"{aid}.ipynb"
        culprit = _find_killer(path, settings)
        if culprit is None and result.get("reason") == DEAD_KERNEL and not status["retries"]:
            status["retries"] += 1  # every cell ran when run one by one: a death of the machine's, not the cell's
            continue
        if culprit is None or len(status["quarantined"]) >= 3:
            status["status"] = f"failed: {result.get('reason', 'autograde failed')}"
            return status
        status["quarantined"].append(culprit)
    status["status"] = "failed: too many quarantined cells"
    return status


def _find_killer(path: Path, settings: Settings) -> str | None:
    """Run the notebook cell by cell in a child process; the first cell that kills the kernel or outlives the
    cell timeout is replaced by KILLER_SOURCE.  Returns its name (grade id or index), or None."""
    cmd = [sys.executable, "-m", "cs280diff.course", "find-killer", str(path), "--cell-timeout",
           str(settings.cell_timeout), "--memory-gb", str(settings.memory_gb)]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, start_new_session=True,
                            env=dict(os.environ, OMP_NUM_THREADS="1"))
    try:
        out, _ = proc.communicate(timeout=settings.total_timeout)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, 9)
        return None
    found = [line[len("KILLER "):] for line in out.splitlines() if line.startswith("KILLER ")]
    return found[-1] if found else None


def grade(inbox: Path, root: Path | None = None, *, settings: Settings = Settings(), only=None, log=print) -> Path:
    """The whole workflow (see the module docstring); returns the path of grades.csv."""
    root = Path(root or REPO).resolve()
    if not (root / "solutions").is_dir():
        shutil.copytree(REPO / "solutions", root / "solutions")
        shutil.copyfile(REPO / "nbgrader_config.py", root / "nbgrader_config.py")
    aids = _aids(root, only)
    start = phase = time.perf_counter()
    phases = {}

    def lap(name):
        nonlocal phase
        phases[name], phase = round(time.perf_counter() - phase, 2), time.perf_counter()

    released = _prepare(root, aids, settings)
    lap("release")
    collected = collect(Path(inbox), root, released)
    for problem in collected.problems:
        log(f"collect: {problem}")
    repairs = _repair_all(root, released, collected.placed)
    lap("collect_and_repair")
    jobs = sorted(repairs)
    log(f"grading {len(jobs)} submissions of {len(collected.placed)} students with {settings.workers} workers")
    with ThreadPoolExecutor(max_workers=settings.workers) as pool:
        statuses = list(pool.map(lambda job: _grade_one(root, job[1], job[0], settings), jobs))
    lap("autograde")
    for s in statuses:
        s["repairs"] = repairs[(s["student"], s["notebook"])]
        log(f"{s['student']} / {s['notebook']}: {s['status']}" + (f", quarantined {s['quarantined']}" if s["quarantined"] else "")
            + (f", {len(s['repairs'])} repairs" if s["repairs"] else "")
            + (", graded again after a kernel death that running it cell by cell did not repeat" if s.get("retries") else ""))
    _feedback(root, statuses, settings)
    path = write_csv(root, statuses, settings)
    lap("feedback_and_csv")
    seconds = time.perf_counter() - start
    (root / "grading_log.json").write_text(json.dumps({"seconds": round(seconds, 2), "workers": settings.workers,
                                                       "phases": phases, "submissions": statuses}, indent=1))
    log(f"grades in {path}, totals per notebook in {root / 'grades_by_notebook.csv'} ({seconds:.0f} s)")
    return path


def _feedback(root: Path, statuses: list, settings: Settings) -> None:
    from cs280diff.course.release import nbgrader_api

    api = nbgrader_api(root, **_db(settings))
    for s in statuses:
        if s["status"].startswith("graded"):
            api.generate_feedback(s["notebook"], s["student"], force=True)


def write_csv(root: Path, statuses: list, settings: Settings) -> Path:
    """grades.csv: student, notebook, cell (a test cell's grade id, or TOTAL), score, max_score, status."""
    from nbgrader.api import Gradebook, MissingEntry

    db_url = settings.db_url or f"sqlite:///{root / 'gradebook.db'}"
    path = root / "grades.csv"
    with Gradebook(db_url) as gb, open(path, "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["student", "notebook", "cell", "score", "max_score", "status"])
        for s in sorted(statuses, key=lambda s: (s["student"], s["notebook"])):
            status = s["status"] + (f"; quarantined {', '.join(s['quarantined'])}" if s["quarantined"] else "")
            try:
                snb = gb.find_submission_notebook(s["notebook"], s["notebook"], s["student"])
            except MissingEntry:
                w.writerow([s["student"], s["notebook"], "TOTAL", 0, "", status])
                continue
            graded = s["status"].startswith("graded")  # a failed submission scores 0 everywhere
            for g in sorted(snb.grades, key=lambda g: g.name):
                if g.cell.cell_type == "code":
                    w.writerow([s["student"], s["notebook"], g.name, (g.score or 0.0) if graded else 0.0,
                                g.max_score, status])
            total = snb.code_score if graded else 0.0
            w.writerow([s["student"], s["notebook"], "TOTAL", total, snb.max_code_score, status])
    _by_notebook(path)
    return path


def _by_notebook(path: Path) -> None:
    """grades_by_notebook.csv next to grades.csv: one row per student, one column per notebook, and the total."""
    with open(path) as f:
        totals = [r for r in csv.DictReader(f) if r["cell"] == "TOTAL"]
    notebooks = sorted({r["notebook"] for r in totals})
    table: dict = {}
    for r in totals:
        table.setdefault(r["student"], {})[r["notebook"]] = float(r["score"])
    with open(path.with_name("grades_by_notebook.csv"), "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["student", *notebooks, "total"])
        for student in sorted(table):
            row = [table[student].get(aid, 0.0) for aid in notebooks]
            w.writerow([student, *row, sum(row)])
