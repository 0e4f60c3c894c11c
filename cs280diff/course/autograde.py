"""``make autograde``: grade every submitted/<student>/<id>/ into the gradebook (gradebook.db) and feedback/."""
from __future__ import annotations

from pathlib import Path

from cs280diff.course.authoring import REPO, solution_notebooks
from cs280diff.course.release import nbgrader_api


def autograde(root: Path = REPO) -> None:
    """``make autograde``: grade every submitted/<student>/<id>/ and write feedback/ (gradebook.db at the root)."""
    api = nbgrader_api(Path(root))
    submitted = Path(root) / "submitted"
    if not submitted.is_dir():
        raise SystemExit("nothing to grade: put submissions in submitted/<student>/<notebook id>/")
    for path in solution_notebooks(root):
        aid = path.parent.name
        _check(api.generate_assignment(aid, force=True, create=True), f"generate_assignment {aid}")
        for student in sorted(p.name for p in submitted.iterdir() if (p / aid).is_dir()):
            _check(api.autograde(aid, student, force=True, create=True), f"autograde {aid} {student}")
            _check(api.generate_feedback(aid, student, force=True), f"feedback {aid} {student}")
            print(f"graded {student} / {aid}")


def _check(result: dict, what: str) -> None:
    if not result["success"]:
        raise RuntimeError(f"{what} failed:\n{result.get('error') or result.get('log')}")
