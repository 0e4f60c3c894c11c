"""Collect submissions as students send them into nbgrader's submitted/<student>/<id>/<id>.ipynb layout.

An inbox holds, per student, any of:
  - a folder ``<student>/`` of notebooks (and zips) with any names ("Copy of 03_ode_solvers (1).ipynb");
  - a zip ``<student>.zip`` of notebooks, in folders or not;
  - loose notebooks ``<student>__<anything>.ipynb`` (two underscores), as learning platforms export them.
Which notebook a file is is read from its content (the share of the release's graded cells it contains: by grade id,
cell id, or the same test source), then from its file name (the id or its number, "05_..."); a student's two
candidates for one notebook: the one with more answered cells wins, then the newer.  Unreadable files and files
that match no notebook are reported, never fatal.
"""
from __future__ import annotations

import io
import re
import time
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

from cs280diff.course.repair import nbgrader_meta

__all__ = ["Collected", "collect", "identify"]


@dataclass
class Collected:
    """What ``collect`` did: {student: {notebook id: source description}} and the problems it met."""
    placed: dict = field(default_factory=dict)
    problems: list = field(default_factory=list)


def _keys(nb) -> tuple[set, set, set]:
    cells = nb.get("cells", [])
    gids = {nbgrader_meta(c).get("grade_id") for c in cells} - {None}
    ids = {c.get("id") for c in cells} - {None}
    srcs = {"".join(c.get("source", "")).strip() for c in cells if c.get("cell_type") == "code"}
    return gids, ids, srcs


def identify(nb, filename: str, released: dict) -> str | None:
    """The notebook id of a submission: by content (the share of the release's graded cells found in it, >= 0.3),
    else by the file name (the id, or its two-digit number and letter, e.g. "08b"); None when neither says."""
    gids, ids, srcs = _keys(nb)
    best, best_share = None, 0.0
    for aid, rel in released.items():
        graded = [c for c in rel["cells"] if nbgrader_meta(c).get("grade_id")]
        hit = sum(1 for c in graded if nbgrader_meta(c)["grade_id"] in gids or c.get("id") in ids
                  or "".join(c.get("source", "")).strip() in srcs)
        share = hit / max(1, len(graded))
        if share > best_share:
            best, best_share = aid, share
    if best_share >= 0.3:
        return best
    name = filename.lower()
    for aid in sorted(released, key=len, reverse=True):
        if aid in name:
            return aid
    number = re.match(r"\D*?(\d{2}[a-z]?)(?![a-z0-9])", Path(name).stem.replace(" ", "_"))
    matches = [aid for aid in released if number and aid.split("_")[0] == number.group(1)]
    return matches[0] if len(matches) == 1 else None


def _answered(nb) -> int:
    return sum(1 for c in nb.get("cells", []) if "raise NotImplementedError(" not in "".join(c.get("source", ""))
               and "YOUR ANSWER HERE" not in "".join(c.get("source", "")))


def _notebooks(path: Path):
    """(name, bytes, mtime) of every notebook in a folder or a zip (recursively; zips inside folders too)."""
    if path.is_dir():
        for p in sorted(path.rglob("*")):
            if p.suffix == ".ipynb" and not any(part.startswith(".") for part in p.parts):
                yield p.name, p.read_bytes(), p.stat().st_mtime
            elif p.suffix == ".zip":
                yield from _notebooks(p)
    elif path.suffix == ".zip":
        with zipfile.ZipFile(path) as z:
            for info in z.infolist():
                if info.filename.endswith(".ipynb") and "__MACOSX" not in info.filename:
                    yield Path(info.filename).name, z.read(info), time.mktime(info.date_time + (0, 0, -1))
    elif path.suffix == ".ipynb":
        yield path.name, path.read_bytes(), path.stat().st_mtime


def _student_id(name: str) -> str:
    """A student id safe as a folder name and a gradebook key: runs of other characters become "_"."""
    return re.sub(r"[^\w.@-]+", "_", name).strip("_") or "unnamed"


def _students(inbox: Path) -> dict[str, list[Path]]:
    out: dict[str, list[Path]] = {}
    for p in sorted(inbox.iterdir()):
        if p.name.startswith("."):
            continue
        if p.is_dir() or p.suffix == ".zip":
            out.setdefault(_student_id(p.stem if p.suffix == ".zip" else p.name), []).append(p)
        elif p.suffix == ".ipynb" and "__" in p.stem:
            out.setdefault(_student_id(p.stem.split("__", 1)[0]), []).append(p)
    return out


def collect(inbox: Path, root: Path, released: dict) -> Collected:
    """Copy every student's notebooks from ``inbox`` to root/submitted/<student>/<id>/<id>.ipynb.

    released: {notebook id: the released notebook} (``nbformat`` nodes).  Returns what was placed and the problems.
    """
    import nbformat

    result = Collected()
    for student, paths in _students(Path(inbox)).items():
        chosen: dict[str, tuple] = {}
        for path in paths:
            try:
                found = list(_notebooks(path))
            except (zipfile.BadZipFile, OSError) as err:
                result.problems.append(f"{student}: {path.name} could not be read ({err})")
                continue
            for name, data, mtime in found:
                try:
                    nb = nbformat.reads(io.BytesIO(data).read().decode("utf-8"), as_version=4)
                except Exception as err:  # noqa: BLE001  any broken file is reported, never fatal
                    result.problems.append(f"{student}: {name} is not a readable notebook ({type(err).__name__})")
                    continue
                aid = identify(nb, name, released)
                if aid is None:
                    result.problems.append(f"{student}: {name} matches no notebook of the course, skipped")
                    continue
                rank = (_answered(nb), mtime)
                if aid in chosen:
                    keep, drop = (chosen[aid], (rank, name, nb)) if chosen[aid][0] >= rank else ((rank, name, nb), chosen[aid])
                    result.problems.append(f"{student}: two files for {aid}: graded {keep[1]}, ignored {drop[1]}")
                    chosen[aid] = keep
                else:
                    chosen[aid] = (rank, name, nb)
        for aid, (_, name, nb) in chosen.items():
            dest = Path(root) / "submitted" / student / aid
            dest.mkdir(parents=True, exist_ok=True)
            nbformat.write(nb, dest / f"{aid}.ipynb")
            result.placed.setdefault(student, {})[aid] = name
    return result
