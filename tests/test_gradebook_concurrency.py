"""One gradebook, many workers: ``cs280diff-grade`` with 6 parallel workers over 18 submissions of a tiny notebook
(so that the workers' gradebook writes collide often), on SQLite and on a real PostgreSQL server started on
loopback for the test.  Every grade must be present and right, none lost or clobbered.

PostgreSQL: Debian's package (``initdb`` / ``pg_ctl`` on PATH or under /usr/lib/postgresql/*/bin); without it the
test is skipped with a message, except under CI=true, where it fails.
"""
import csv
import glob
import os
import shutil
import socket
import subprocess
import tempfile
import time
from pathlib import Path

import nbformat
import pytest

from cs280diff.course.authoring import notebook_from_text
from conftest import system_tool
from cs280diff.course.grade import Settings, grade

TINY = '''# %% [markdown]
A tiny assignment: double a number.

# %% [solution] id=double
def double(x):
    """2 x."""
    ### BEGIN SOLUTION
    return 2 * x
    ### END SOLUTION

# %% [tests] id=test_double points=1
assert double(3) == 6

# %% [tests] id=test_double__more points=2
assert double(-1.5) == -3.0 and double(0) == 0
'''
ANSWERS = {"right": "def double(x):\n    return x + x", "half": "def double(x):\n    return 6 if x == 3 else x",
           "wrong": "def double(x):\n    return x"}
EXPECTED = {"right": (1.0, 2.0), "half": (1.0, 0.0), "wrong": (0.0, 0.0)}
N_STUDENTS, WORKERS = 18, 6


def _kind(i: int) -> str:
    return ("right", "half", "wrong")[i % 3]


def _course(tmp: Path) -> tuple[Path, Path]:
    course = tmp / "course"
    (course / "solutions" / "tiny").mkdir(parents=True)
    nbformat.write(notebook_from_text(TINY), course / "solutions" / "tiny" / "tiny.ipynb")
    shutil.copyfile(Path(__file__).parents[1] / "nbgrader_config.py", course / "nbgrader_config.py")
    inbox = tmp / "inbox"
    return course, inbox


def _submissions(course: Path, inbox: Path, settings: Settings) -> None:
    """The release (generated once through grade's own first step), answered by every student."""
    from cs280diff.course.grade import _prepare

    released = _prepare(course, ["tiny"], settings)["tiny"]
    for i in range(N_STUDENTS):
        nb = nbformat.from_dict(released)
        for cell in nb.cells:
            if cell.metadata.get("nbgrader", {}).get("grade_id") == "double":
                cell.source = ANSWERS[_kind(i)]
        (inbox / f"s{i:02d}").mkdir(parents=True)
        nbformat.write(nb, inbox / f"s{i:02d}" / "tiny.ipynb")


def _check(course: Path, csv_path: Path, db_url: str) -> None:
    from nbgrader.api import Gradebook

    with open(csv_path) as f:
        rows = list(csv.DictReader(f))
    got = {(r["student"], r["cell"]): float(r["score"]) for r in rows}
    for i in range(N_STUDENTS):
        one, two = EXPECTED[_kind(i)]
        s = f"s{i:02d}"
        assert (got[(s, "test_double")], got[(s, "test_double__more")], got[(s, "TOTAL")]) == (one, two, one + two), s
    assert len(rows) == 3 * N_STUDENTS
    with Gradebook(db_url) as gb:
        assert len(gb.students) == N_STUDENTS
        for i in range(N_STUDENTS):
            snb = gb.find_submission_notebook("tiny", "tiny", f"s{i:02d}")
            assert sorted((g.name, g.score) for g in snb.grades) == sorted(
                zip(("test_double", "test_double__more"), EXPECTED[_kind(i)])), i


def _run(tmp: Path, db_url: str | None) -> None:
    course, inbox = _course(tmp)
    settings = Settings(cell_timeout=60, total_timeout=300, workers=WORKERS, db_url=db_url)
    _submissions(course, inbox, settings)
    path = grade(inbox, course, settings=settings, only=["tiny"], log=lambda _: None)
    _check(course, path, db_url or f"sqlite:///{course / 'gradebook.db'}")


def test_six_workers_share_one_sqlite_gradebook(tmp_path):
    _run(tmp_path, None)


def _pg_bin(name: str) -> str | None:
    found = shutil.which(name) or next(iter(sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"))[-1:]), None)
    return found


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def postgres(tmp_path):
    """A throwaway PostgreSQL server on 127.0.0.1 (trust authentication), stopped afterwards; yields its URL."""
    initdb = system_tool(_pg_bin("initdb"), "PostgreSQL is not installed (Debian: apt-get install postgresql)")
    pg_ctl = system_tool(_pg_bin("pg_ctl"), "PostgreSQL is not installed (Debian: apt-get install postgresql)")
    home = Path(tempfile.mkdtemp(prefix="cs280diff-pg-"))  # outside pytest's private (0700) tmp folders
    data, port, as_user = home / "data", _free_port(), []
    if os.geteuid() == 0:  # PostgreSQL refuses to run as root: run it as the postgres user
        home.chmod(0o755)
        shutil.chown(home, "postgres")
        as_user = ["runuser", "-u", "postgres", "--"]
    subprocess.run(as_user + [initdb, "-D", str(data), "-A", "trust", "-U", "grader"], check=True,
                   stdout=subprocess.DEVNULL)
    subprocess.run(as_user + [pg_ctl, "-D", str(data), "-l", str(home / "pg.log"), "-w", "-o",
                              f"-h 127.0.0.1 -p {port} -k {home}", "start"], check=True, stdout=subprocess.DEVNULL)
    try:
        url = f"postgresql+psycopg2://grader@127.0.0.1:{port}/postgres"
        for _ in range(50):
            try:
                import psycopg2

                psycopg2.connect(url.replace("+psycopg2", "")).close()
                break
            except Exception:  # noqa: BLE001  still starting
                time.sleep(0.2)
        yield url
    finally:
        subprocess.run(as_user + [pg_ctl, "-D", str(data), "-m", "immediate", "stop"], stdout=subprocess.DEVNULL)
        shutil.rmtree(home, ignore_errors=True)


def test_six_workers_share_one_postgresql_gradebook(tmp_path, postgres):
    work = tmp_path / "work"
    work.mkdir()
    _run(work, postgres)
