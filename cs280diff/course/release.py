"""Release: nbgrader's API on this repository's ``nbgrader_config.py``, and ``make release`` (solutions/ -> notebooks/).

nbgrader and its friends are imported lazily: students never need them.
"""
from __future__ import annotations

import re
import shutil
import sys
import tempfile
from pathlib import Path

from cs280diff.course.authoring import REPO, normalise_solutions


# ----------------------------------------------------------------------------------------------- nbgrader
def nbgrader_api(root: Path, **overrides):
    """An ``NbGraderAPI`` using the repository's nbgrader_config.py with its course root moved to ``root``.

    overrides: dotted traitlets settings, e.g. ``{"Execute.timeout": 10}`` as ``Execute__timeout=10``.
    """
    from nbgrader.apps import NbGraderAPI
    from nbgrader.coursedir import CourseDirectory
    from traitlets.config.loader import PyFileConfigLoader

    cfg = PyFileConfigLoader("nbgrader_config.py", path=str(REPO)).load_config()
    cfg.CourseDirectory.root = str(root)
    cfg.CourseDirectory.db_url = f"sqlite:///{Path(root) / 'gradebook.db'}"
    for key, value in overrides.items():
        section, name = key.split("__")
        cfg[section][name] = value
    _alembic_on_path()
    return NbGraderAPI(coursedir=CourseDirectory(config=cfg), config=cfg)


def _alembic_on_path() -> None:
    """nbgrader shells out to ``alembic`` when it creates a gradebook: put this interpreter's bin/ on PATH."""
    import os

    bindir = str(Path(sys.executable).parent)
    if bindir not in os.environ.get("PATH", "").split(os.pathsep):
        os.environ["PATH"] = bindir + os.pathsep + os.environ.get("PATH", "")


STUB = "raise NotImplementedError()"


def name_stubs(nb):
    """Every answer stub of a released notebook names its exercise: ``raise NotImplementedError("path_xt: ...")``
    instead of nbgrader's bare ``NotImplementedError()``, so a student who runs it sees which exercise is missing."""
    for cell in nb.cells:
        meta = cell.metadata.get("nbgrader", {})
        if cell.cell_type == "code" and meta.get("solution") and STUB in cell.source:
            message = f"exercise {meta['grade_id']} is not written yet: replace this line with your code"
            cell.source = re.sub(rf"^([ \t]*){re.escape(STUB)}",  # two lines, so that it fits the cell's width
                                 lambda m: f'{m[1]}raise NotImplementedError(\n{m[1]}    "{message}")',
                                 cell.source, flags=re.M)
    return nb


def generate_release(solutions: Path, out: Path, only: list[str] | None = None) -> None:
    """Run nbgrader's generate_assignment on solutions/<id>/ into out/<id>/ (with a throwaway gradebook).

    only: notebook ids to release (default: all).
    """
    import nbformat

    with tempfile.TemporaryDirectory() as tmp:
        shutil.copytree(solutions, Path(tmp) / "solutions")
        api = nbgrader_api(Path(tmp))
        for src in sorted((Path(tmp) / "solutions").iterdir()):
            if src.is_dir() and (not only or src.name in only):
                result = api.generate_assignment(src.name, force=True, create=True)
                if not result["success"]:
                    raise RuntimeError(f"generate_assignment {src.name} failed:\n{result.get('error') or result['log']}")
        out.mkdir(parents=True, exist_ok=True)
        for path in (Path(tmp) / "notebooks").glob("*/*.ipynb"):
            nbformat.write(name_stubs(nbformat.read(path, as_version=4)), path)
        for rel in sorted((Path(tmp) / "notebooks").iterdir()):
            shutil.rmtree(out / rel.name, ignore_errors=True)
            shutil.copytree(rel, out / rel.name)


def release(root: Path = REPO, only: list[str] | None = None) -> None:
    """``make release``: normalise solutions/ and regenerate notebooks/ from them (all, or the ids in ``only``)."""
    normalise_solutions(root, only)
    generate_release(Path(root) / "solutions", Path(root) / "notebooks", only)
    print(f"released {', '.join(only) if only else 'all notebooks'} into {Path(root) / 'notebooks'}")
