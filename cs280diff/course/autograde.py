"""``make autograde``: grade every submitted/<student>/<id>/ into the gradebook (gradebook.db) and feedback/, and
write the TA's integrity report of each submission to reports/<student>/<id>.md (``course.report``)."""
from __future__ import annotations

from pathlib import Path

from cs280diff.course.authoring import REPO, solution_notebooks
from cs280diff.course.release import nbgrader_api
from cs280diff.course.report import scan_submission, write_report


def autograde(root: Path = REPO) -> None:
    """``make autograde``: grade every submitted/<student>/<id>/, write feedback/ and reports/ (gradebook.db at the
    root).  Prints one line per submission, with the number of flagged answer cells."""
    import nbformat

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
            flags = integrity_report(Path(root), student, aid, nbformat.read(path, as_version=4))
            print(f"graded {student} / {aid}" + (f"; {len(flags)} answer cells flagged in reports/" if flags else ""))


def integrity_report(root: Path, student: str, aid: str, instructor_nb) -> dict[str, list[str]]:
    """Scan every notebook of submitted/<student>/<aid>/ and write reports/<student>/<aid>.md; returns the flags."""
    import nbformat

    flags: dict[str, list[str]] = {}
    for nb_path in sorted((Path(root) / "submitted" / student / aid).glob("*.ipynb")):
        flags.update(scan_submission(nbformat.read(nb_path, as_version=4), instructor_nb))
    write_report(Path(root) / "reports" / student / f"{aid}.md", student, aid, flags)
    return flags


def _check(result: dict, what: str) -> None:
    if not result["success"]:
        raise RuntimeError(f"{what} failed:\n{result.get('error') or result.get('log')}")
