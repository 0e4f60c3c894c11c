"""Authoring: the set-up cell every notebook starts with, notebooks as plain text, and clean committed notebooks.

The text format is jupytext's percent format (``py:percent``): cells start with ``# %%`` (code) or
``# %% [markdown]``, markdown is commented with ``# ``, and a cell's nbgrader metadata sits in its header as
``nbgrader={...}`` (``to-text`` writes it, ``from-text`` reads it; ``jupytext --sync`` and every editor that knows
``# %%`` cells work on the same files).  For writing new cells by hand, ``from-text`` also accepts compact headers
``# %% [kind] key=value ...`` (markdown bodies then uncommented), expanded to that metadata:
  kinds: markdown, code, solution (graded answer cell), tests (autograded tests; points=), answer (manually graded
  markdown; points=), readonly (locked code), task (manually graded task; points=).
Cell ids are derived from the position and the grade id (``c05-path_xt``), so a round trip keeps them.
"""
from __future__ import annotations

import json
import re
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
SETUP_TAG = "# cs280diff set-up"
_HEADER = re.compile(r"^# %%(?: \[(\w+)\])?(.*)$")


# ----------------------------------------------------------------------------------------------- the set-up cell
def repository_url() -> str:
    """The repository the notebooks install from: ``[project.urls] Repository`` in pyproject.toml (one place)."""
    pyproject = REPO / "pyproject.toml"
    if pyproject.exists():
        try:
            import tomllib
        except ModuleNotFoundError:  # Python 3.10
            tomllib = None
        if tomllib is not None:
            return tomllib.loads(pyproject.read_text())["project"]["urls"]["Repository"]
    import importlib.metadata as md

    for entry in md.metadata("cs280diff").get_all("Project-URL") or []:
        label, _, url = entry.partition(",")
        if label.strip() == "Repository":
            return url.strip()
    raise RuntimeError("no Repository URL in pyproject.toml [project.urls]")


def setup_cell_source(url: str | None = None) -> str:
    """The first code cell of every notebook: installs cs280diff on Colab, does nothing where it is installed, and
    when the install fails says so and what to do (instead of failing later on an import).  Lines stay short."""
    url = url or repository_url()
    return (f"{SETUP_TAG}: on Colab this installs the helper package;\n"
            "# where it is installed already, it does nothing.\n"
            "import importlib.util, subprocess, sys\n"
            f"PACKAGE = \"git+{url}\"\n"
            "if importlib.util.find_spec(\"cs280diff\") is None:\n"
            "    _pip = subprocess.run([sys.executable, \"-m\", \"pip\", \"install\", \"--quiet\", PACKAGE],\n"
            "                          capture_output=True, text=True)\n"
            "    if _pip.returncode != 0:\n"
            "        raise RuntimeError(\n"
            "            f\"Could not install the course's helper package cs280diff from {PACKAGE}\\n\"\n"
            "            + _pip.stderr[-1500:] + \"\\nIs this runtime online? Run this cell again. If it still \"\n"
            "            \"fails, tell the course staff (the URL may be out of date), or install the package \"\n"
            "            f\"yourself: pip install {PACKAGE}\")\n"
            "    importlib.invalidate_caches()  # the new package is importable in this kernel")


# ----------------------------------------------------------------------------------------------- text <-> notebook
def _meta(kind: str, opts: dict) -> dict:
    gid = opts.get("id")
    base = {"schema_version": 3, "grade": False, "solution": False, "locked": False, "task": False}
    if kind in ("markdown", "code"):
        return {}
    if not gid:
        raise ValueError(f"a {kind} cell needs id=...")
    if kind == "solution":
        return {"nbgrader": {**base, "solution": True, "grade_id": gid}}
    if kind == "tests":
        return {"nbgrader": {**base, "grade": True, "locked": True, "grade_id": gid, "points": int(opts["points"])}}
    if kind == "answer":
        return {"nbgrader": {**base, "grade": True, "solution": True, "grade_id": gid, "points": int(opts["points"])}}
    if kind == "readonly":
        return {"nbgrader": {**base, "locked": True, "grade_id": gid}}
    if kind == "task":
        return {"nbgrader": {**base, "task": True, "locked": True, "grade_id": gid, "points": int(opts["points"])}}
    raise ValueError(f"unknown cell kind {kind!r}")


_COMPACT = {"code", "solution", "tests", "answer", "readonly", "task"}


def _expand_compact(text: str) -> str:
    """Compact headers -> jupytext headers with nbgrader metadata; the markdown bodies commented, as jupytext's."""
    out, markdown = [], False
    for line in text.splitlines():
        m = _HEADER.match(line)
        if m:
            kind = m.group(1) or "code"
            opts = dict(kv.split("=", 1) for kv in m.group(2).split())
            meta, markdown = _meta(kind, opts), kind in ("markdown", "answer")
            out.append("# %%" + (" [markdown]" if markdown else "")
                       + (f" nbgrader={json.dumps(meta['nbgrader'], sort_keys=True)}" if meta else ""))
        elif markdown:
            out.append(f"# {line}" if line else "#")
        else:
            out.append(line)
    return "\n".join(out) + "\n"


def notebook_from_text(text: str):
    """Build an nbformat notebook (python3 kernel, no outputs) from jupytext's percent format or compact headers."""
    import jupytext

    compact = any((m := _HEADER.match(line)) and m.group(1) in _COMPACT for line in text.splitlines())
    nb = jupytext.reads(_expand_compact(text) if compact else text, fmt="py:percent")
    for k, cell in enumerate(nb.cells):
        cell.source = cell.source.strip("\n")
        gid = cell.metadata.get("nbgrader", {}).get("grade_id")
        kind = "markdown" if cell.cell_type == "markdown" and not gid else "code" if not gid else gid
        cell.id = f"c{k:02d}-" + re.sub(r"[^A-Za-z0-9_-]", "", kind)[:40]
        if cell.cell_type == "code":
            cell.outputs, cell.execution_count = [], None
    nb.metadata = {"kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"},
                   "language_info": {"name": "python"}}
    return nb


def text_from_notebook(nb) -> str:
    """The notebook in jupytext's percent format, nbgrader metadata in the cell headers (``notebook_from_text``
    reads it back to the same cells, metadata and ids)."""
    import copy

    import jupytext

    nb = copy.deepcopy(nb)
    nb.metadata = {"jupytext": {"notebook_metadata_filter": "-all", "cell_metadata_filter": "nbgrader"}}
    return jupytext.writes(nb, fmt="py:percent")


# ----------------------------------------------------------------------------------------------- normalising
def clean_notebook(nb):
    """Strip outputs, execution counts and editor metadata; keep nbgrader metadata and the kernelspec."""
    for cell in nb.cells:
        keep = {k: v for k, v in cell.metadata.items() if k == "nbgrader"}
        cell.metadata = keep
        if cell.cell_type == "code":
            cell.outputs, cell.execution_count = [], None
    nb.metadata = {k: v for k, v in nb.metadata.items() if k in ("kernelspec", "language_info")}
    nb.metadata.setdefault("kernelspec", {"name": "python3", "display_name": "Python 3", "language": "python"})
    nb.metadata["language_info"] = {"name": "python"}
    return nb


def with_setup_cell(nb, url: str | None = None):
    """Write the set-up cell (from pyproject's URL) into the notebook's first code cell, which must carry the tag."""
    first = next(c for c in nb.cells if c.cell_type == "code")
    if not first.source.startswith(SETUP_TAG):
        raise ValueError(f"the first code cell of every notebook must be the set-up cell (starting {SETUP_TAG!r})")
    first.source = setup_cell_source(url)
    return nb


def solution_notebooks(root: Path = REPO) -> list[Path]:
    """solutions/<id>/<id>.ipynb, sorted."""
    return sorted(p for p in (Path(root) / "solutions").glob("*/*.ipynb") if p.parent.name == p.stem)


def normalise_solutions(root: Path = REPO, only: list[str] | None = None) -> None:
    """Clean every solution notebook (or those in ``only``) in place and refresh its set-up cell."""
    import nbformat

    for path in solution_notebooks(root):
        if only and path.parent.name not in only:
            continue
        nb = with_setup_cell(clean_notebook(nbformat.read(path, as_version=4)))
        nbformat.write(nb, path)
