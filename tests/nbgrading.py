"""Drive nbgrader from Python for the pipeline tests: a temporary course, submissions built from the release, grades.

A *submission* starts from the released student notebook and fills its solution cells, either with the instructor's
solution (markers stripped) or with a *mutant*: the solution with one planted bug (tests/mutants/<notebook>.py).
"""
from __future__ import annotations

import copy
import importlib.util
import shutil
from pathlib import Path

import nbformat

from cs280diff import course

REPO = course.REPO
MARKERS = ("### BEGIN SOLUTION", "### END SOLUTION")


def notebook_ids() -> list[str]:
    return [p.parent.name for p in course.solution_notebooks()]


def _mutants_module(aid: str):
    """tests/mutants/<aid>.py as a module."""
    path = REPO / "tests" / "mutants" / f"{aid}.py"
    spec = importlib.util.spec_from_file_location(f"mutants_{aid}", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def load_mutants(aid: str) -> dict:
    """MUTANTS = {solution grade_id: [(bug, find, replace), ...]} from tests/mutants/<aid>.py."""
    return _mutants_module(aid).MUTANTS


def load_shortcuts(aid: str) -> dict:
    """SHORTCUTS = {solution grade_id: an answer that calls the exercise's own reference} of tests/mutants/<aid>.py."""
    return getattr(_mutants_module(aid), "SHORTCUTS", {})


def load_alternatives(aid: str) -> dict:
    """ALTERNATIVES = {solution grade_id: a correct answer written unlike the solution} of tests/mutants/<aid>.py."""
    return getattr(_mutants_module(aid), "ALTERNATIVES", {})


def solution_sources(aid: str) -> dict[str, str]:
    """{grade_id: what a perfect student writes} for every autograded-exercise cell of the solution notebook."""
    nb = nbformat.read(REPO / "solutions" / aid / f"{aid}.ipynb", as_version=4)
    out = {}
    for cell in nb.cells:
        meta = cell.metadata.get("nbgrader", {})
        if meta.get("solution") and not meta.get("grade") and cell.cell_type == "code":
            lines = [ln for ln in cell.source.splitlines() if ln.strip() not in MARKERS]
            out[meta["grade_id"]] = "\n".join(lines)
    return out


def exercise_tests(aid: str) -> dict[str, list[str]]:
    """{solution grade_id: [its test cell ids]}: the convention is test_<grade_id> (and test_<grade_id>_*)."""
    nb = nbformat.read(REPO / "solutions" / aid / f"{aid}.ipynb", as_version=4)
    tests = [c.metadata["nbgrader"]["grade_id"] for c in nb.cells
             if c.metadata.get("nbgrader", {}).get("grade") and c.cell_type == "code"]
    return {sid: [t for t in tests if t == f"test_{sid}" or t.startswith(f"test_{sid}__")]
            for sid in solution_sources(aid)}


def mutate(source: str, find: str, replace: str, where: str) -> str:
    count = source.count(find)
    if count != 1:
        raise AssertionError(f"mutant for {where} is stale: {find!r} occurs {count} times in the solution (need 1)")
    return source.replace(find, replace)


def submission(aid: str, fills: dict[str, str] | None = None, edit_tests: dict[str, str] | None = None):
    """The released notebook with solution cells replaced by ``fills`` (unfilled cells keep the stub)."""
    nb = nbformat.read(REPO / "notebooks" / aid / f"{aid}.ipynb", as_version=4)
    nb = copy.deepcopy(nb)
    for cell in nb.cells:
        gid = cell.metadata.get("nbgrader", {}).get("grade_id")
        if fills and gid in fills:
            cell.source = fills[gid]
        if edit_tests and gid in edit_tests:
            cell.source = edit_tests[gid]
    return nb


class Course:
    """A temporary nbgrader course holding one assignment (generated with a gradebook)."""

    def __init__(self, root: Path, aid: str, **overrides):
        self.root, self.aid = Path(root), aid
        shutil.copytree(REPO / "solutions" / aid, self.root / "solutions" / aid)
        self.api = course.nbgrader_api(self.root, **overrides)
        result = self.api.generate_assignment(aid, force=True, create=True)
        assert result["success"], result.get("error") or result["log"]

    def autograde(self, student: str, nb) -> dict[str, tuple[float, float]]:
        """Submit ``nb`` as ``student``, autograde it, return {grade_id: (score, max_score)} of autograded cells."""
        from nbgrader.api import Gradebook

        dest = self.root / "submitted" / student / self.aid
        dest.mkdir(parents=True, exist_ok=True)
        nbformat.write(nb, dest / f"{self.aid}.ipynb")
        result = self.api.autograde(self.aid, student, force=True, create=True)
        assert result["success"], f"autograde crashed for {student}:\n{result.get('error') or result['log']}"
        self._report_timeouts(student)
        with Gradebook(self.api.coursedir.db_url) as gb:
            snb = gb.find_submission_notebook(self.aid, self.aid, student)
            return {g.name: (g.score, g.max_score) for g in snb.grades if g.cell.cell_type == "code"}

    def _report_timeouts(self, student: str) -> None:
        """Print every cell that hit Execute.timeout (it costs the whole timeout; pytest -rP shows it)."""
        nb = nbformat.read(self.root / "autograded" / student / self.aid / f"{self.aid}.ipynb", as_version=4)
        for i, cell in enumerate(nb.cells):
            if any(o.get("ename") == "CellTimeoutError" for o in cell.get("outputs", [])):
                print(f"TIMEOUT {self.aid} {student} cell {i}: {cell.source[:200]!r}")

    def feedback(self, student: str) -> dict[str, str]:
        """{grade_id: the text a student sees under that test cell} of the autograded notebook."""
        nb = nbformat.read(self.root / "autograded" / student / self.aid / f"{self.aid}.ipynb", as_version=4)
        out = {}
        for cell in nb.cells:
            gid = cell.metadata.get("nbgrader", {}).get("grade_id")
            if gid and cell.cell_type == "code":
                out[gid] = "\n".join(o.get("text", "") + o.get("evalue", "") for o in cell.get("outputs", []))
        return out
