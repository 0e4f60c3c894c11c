"""Repair a submitted notebook against its release before autograding (nbgrader #1398, #1083, #1682).

Editors lose what nbgrader relies on: Colab and VS Code round trips drop cell metadata, change cell ids, turn cells
into another type; students delete, duplicate or edit cells.  ``repair(submitted, released)`` rebuilds the
notebook from the release and puts the student's work back into it:

  - every released cell is matched to the submitted cells that are its copies: by cell id first, then by nbgrader
    grade id, then by content (the same source; for an answer cell, a code cell defining the same functions; for a
    written answer, the cell after its question; else a close text match);
  - answer cells take the student's source (the last copy where there are several), with the release's metadata
    and cell type; an answer cell that cannot be found stays the stub (it scores 0 and the report says so);
  - test cells and other locked cells always take the release's source: an edited, deleted or duplicated test cell
    is restored once;
  - other cells keep the student's version where it is found; the student's extra cells stay where they were.

The report lists every repair, one line each, for the TA; ``repair`` never raises on a malformed cell.
"""
from __future__ import annotations

import copy
import difflib
import hashlib
import re

__all__ = ["repair", "nbgrader_meta"]

_DEF = re.compile(r"^\s*def\s+(\w+)\s*\(", re.M)


def nbgrader_meta(cell) -> dict:
    """The cell's nbgrader metadata ({} when none)."""
    meta = cell.get("metadata", {}).get("nbgrader", {})
    return meta if isinstance(meta, dict) else {}


def _source(cell) -> str:
    src = cell.get("source", "")
    return "".join(src) if isinstance(src, list) else str(src)


def _norm(text: str) -> str:
    return "\n".join(line.rstrip() for line in text.strip().splitlines())


def _defs(text: str) -> tuple[str, ...]:
    return tuple(_DEF.findall(text))


def _kind(cell) -> str:
    """"answer" (a solution cell), "locked" (a test or read-only cell) or "plain"."""
    meta = nbgrader_meta(cell)
    if meta.get("solution"):
        return "answer"
    return "locked" if meta.get("grade") or meta.get("locked") else "plain"


def _match(submitted: list, released: list) -> dict[int, list[int]]:
    """{released index: [submitted indices that are copies of it]} by id, grade id, then content."""
    by_id = {c.get("id"): i for i, c in enumerate(released) if c.get("id")}
    by_gid = {nbgrader_meta(c).get("grade_id"): i for i, c in enumerate(released) if nbgrader_meta(c).get("grade_id")}
    by_src: dict[str, list[int]] = {}  # released cells of one source, in order (e.g. every "YOUR ANSWER HERE")
    for i, c in enumerate(released):
        if _norm(_source(c)):
            by_src.setdefault(_norm(_source(c)), []).append(i)
    seen_src: dict[str, int] = {}
    stubs = [(set(_defs(_source(c))), i) for i, c in enumerate(released)
             if _kind(c) == "answer" and c.get("cell_type") == "code" and _defs(_source(c))]
    owner: dict[int, int] = {}
    for j, cell in enumerate(submitted):
        defs = set(_defs(_source(cell))) if cell.get("cell_type") in ("code", "raw", "markdown") else set()
        by_defs = next((i for names, i in stubs if names <= defs), None)
        src, same = _norm(_source(cell)), None
        if src in by_src:  # the k-th submitted copy of a repeated source is the k-th released one
            k = seen_src.get(src, 0)
            same, seen_src[src] = by_src[src][min(k, len(by_src[src]) - 1)], k + 1
        candidates = (by_id.get(cell.get("id")), by_gid.get(nbgrader_meta(cell).get("grade_id")), same, by_defs)
        i = next((i for i in candidates if i is not None), None)
        if i is not None:
            owner[j] = i
    _match_written_answers(submitted, released, owner)
    _match_fuzzy(submitted, released, owner)
    out: dict[int, list[int]] = {}
    for j, i in sorted(owner.items()):
        out.setdefault(i, []).append(j)
    return out


def _match_written_answers(submitted: list, released: list, owner: dict[int, int]) -> None:
    """A written answer without metadata: the unmatched markdown cell right after its question's copy."""
    for i, cell in enumerate(released):
        if _kind(cell) != "answer" or cell.get("cell_type") != "markdown" or i in owner.values() or i == 0:
            continue
        before = [j for j, k in owner.items() if k == i - 1]
        for j in before:
            if j + 1 < len(submitted) and j + 1 not in owner and submitted[j + 1].get("cell_type") in ("markdown", "raw"):
                owner[j + 1] = i
                break


def _match_fuzzy(submitted: list, released: list, owner: dict[int, int]) -> None:
    """Still unmatched cells: the closest unmatched released plain or locked cell (an edited copy, ratio >= 0.8)."""
    free = [i for i, c in enumerate(released) if i not in owner.values() and _kind(c) != "answer"]
    for j, cell in enumerate(submitted):
        if j in owner or not free:
            continue
        best = max(free, key=lambda i: difflib.SequenceMatcher(None, _source(released[i]), _source(cell)).ratio())
        if difflib.SequenceMatcher(None, _source(released[best]), _source(cell)).ratio() >= 0.8:
            owner[j] = best
            free.remove(best)


def _name(cell, i: int) -> str:
    return nbgrader_meta(cell).get("grade_id") or cell.get("id") or f"cell {i}"


def repair(submitted, released) -> tuple[object, list[str]]:
    """(the repaired notebook, the list of repairs made); ``submitted`` is not modified."""
    sub, rel = list(submitted.get("cells", [])), released["cells"]
    matches, report = _match(sub, rel), []
    placed = {j: i for i, js in matches.items() for j in js}
    anchor, last = {}, None  # each extra cell of the student's: the recognised cell it follows (None: the top)
    for j in range(len(sub)):
        if j in placed:
            last = j
        else:
            anchor[j] = last
    extras_after: dict = {}
    for j, a in anchor.items():
        extras_after.setdefault(a, []).append(j)
    cells = [_extra(sub[j]) for j in extras_after.get(None, [])]
    for i, r in enumerate(rel):
        copies = matches.get(i, [])
        cells.append(_restore(r, [sub[j] for j in copies], _name(r, i), report))
        for j in copies:  # the student's own cells that followed a copy of this one
            cells.extend(_extra(sub[k]) for k in extras_after.get(j, []))
    extras = len(anchor)
    if extras:
        report.append(f"{extras} cell(s) added by the student kept in place (not graded)")
    nb = copy.deepcopy(released)
    nb["cells"] = cells
    _unique_ids(nb, report)
    return nb, report


def _restore(r, copies: list, name: str, report: list[str]):
    """The released cell r with the student's work from its submitted copies put back, and what was repaired."""
    kind, out = _kind(r), copy.deepcopy(r)
    if kind == "locked":
        if not copies:
            report.append(f"{name}: deleted in the submission, restored from the release")
        elif any(_norm(_source(c)) != _norm(_source(r)) for c in copies):
            report.append(f"{name}: edited in the submission, restored from the release")
        if len(copies) > 1:
            report.append(f"{name}: {len(copies)} copies in the submission, kept one")
    elif copies:
        s = copies[-1]
        out["source"] = _source(s)
        if kind == "answer":
            if len(copies) > 1:
                report.append(f"{name}: {len(copies)} copies of the answer, graded the last one")
            if s.get("cell_type") != r["cell_type"]:
                report.append(f"{name}: the answer was a {s.get('cell_type')} cell, made {r['cell_type']} again")
            if nbgrader_meta(s).get("grade_id") != nbgrader_meta(r).get("grade_id"):
                how = "cell id" if s.get("id") == r.get("id") else "content"
                report.append(f"{name}: nbgrader metadata missing, restored (matched by {how})")
    elif kind == "answer":
        report.append(f"{name}: answer cell not found in the submission, graded as unanswered")
    if out.get("cell_type") == "code":
        out["outputs"], out["execution_count"] = [], None
    return out


def _extra(cell):
    """A student's own cell, cleaned: no nbgrader metadata (it is not graded), no outputs."""
    out = copy.deepcopy(cell)
    out.setdefault("metadata", {})
    out["metadata"].pop("nbgrader", None)
    out["metadata"]["cs280diff_extra"] = True
    if out.get("cell_type") not in ("code", "markdown", "raw"):
        out["cell_type"] = "raw"
    if out["cell_type"] == "code":
        out["outputs"], out["execution_count"] = [], None
    else:
        out.pop("outputs", None), out.pop("execution_count", None)
    out["source"] = _source(out)
    return out


def _unique_ids(nb, report: list[str]) -> None:
    """Give every cell a unique id (duplicates break nbformat validation, nbgrader #1083)."""
    seen = set()
    for k, cell in enumerate(nb["cells"]):
        cid = cell.get("id")
        if not cid or cid in seen:
            cell["id"] = f"x{k:03d}-" + hashlib.sha1(_source(cell).encode()).hexdigest()[:8]
            if cid:
                report.append(f"duplicate cell id {cid} renamed")
        seen.add(cell["id"])
