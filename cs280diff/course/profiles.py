"""``docs/profiles.md``: what the fast and the full profile change in each notebook, read from the notebooks.

Every notebook keeps its hyperparameters in one cell near the top, where a setting that depends on the profile is
written ``NAME = <grading value> if GRADING else runtime.pick(fast=<value>, full=<value>)  # what it is``.  This
module reads those lines with ``ast`` (nothing is executed) and writes one table per notebook, so the document
cannot drift from the notebooks: ``python -m cs280diff.course profiles`` rewrites it and a test compares.
"""
from __future__ import annotations

import ast
from pathlib import Path

from cs280diff.course.authoring import REPO, solution_notebooks

DOC = REPO / "docs" / "profiles.md"

INTRO = """\
# What the fast and the full profile change, notebook by notebook

`cs280diff.runtime` picks the profile: **fast** on a CPU (CI, laptops) and whenever nbgrader executes a notebook,
**full** on a GPU (Colab); `CS280DIFF_PROFILE=fast|full` overrides it. Both run the same code: only the settings
below differ. A third column, **grading**, is what nbgrader runs (seconds per notebook: the checks need the
students' functions, not the experiments). Settings not listed are the same in every profile.

Written by `python -m cs280diff.course profiles` from each notebook's hyperparameter cell (a test keeps this file
in sync). Measured wall times of both profiles: `benchmarks/notebooks_fast_cpu.md`,
`benchmarks/notebooks_full_cpu.md` and, once a GPU run was made, `benchmarks/notebooks_full_cuda.md`.
"""


def _is_pick(node: ast.AST) -> bool:
    return (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == "pick"
            and isinstance(node.func.value, ast.Name) and node.func.value.id == "runtime")


def _comment(line: str) -> str:
    """The trailing ``# comment`` of a source line, if any (a '#' inside a string is not a comment)."""
    depth_quote = None
    for i, ch in enumerate(line):
        if depth_quote:
            if ch == depth_quote:
                depth_quote = None
        elif ch in "'\"":
            depth_quote = ch
        elif ch == "#":
            return line[i + 1:].strip()
    return ""


def settings(source: str) -> list[dict]:
    """The profile-dependent assignments of a cell: name, fast, full, grading (or ""), comment."""
    tree, lines, found = ast.parse(source), source.splitlines(), []
    for node in tree.body:
        if not isinstance(node, ast.Assign):
            continue
        value, grading = node.value, ""
        if isinstance(value, ast.IfExp) and _is_pick(value.orelse):
            grading, value = ast.get_source_segment(source, value.body), value.orelse
        if not _is_pick(value):
            continue
        kw = {k.arg: ast.get_source_segment(source, k.value) for k in value.keywords}
        found.append({"name": ", ".join(ast.get_source_segment(source, t) for t in node.targets),
                      "fast": kw.get("fast", ""), "full": kw.get("full", ""), "grading": grading,
                      "comment": _comment(lines[node.end_lineno - 1])})
    return found


def _title(nb) -> str:
    first = next((c.source for c in nb.cells if c.cell_type == "markdown"), "")
    return first.splitlines()[0].lstrip("# ").strip() if first else ""


def render() -> str:
    import nbformat

    parts = [INTRO]
    for path in solution_notebooks():
        nb = nbformat.read(path, as_version=4)
        rows = [s for c in nb.cells if c.cell_type == "code" and "runtime.pick(" in c.source
                for s in settings(c.source)]
        parts.append(f"## {path.stem}: {_title(nb)}\n")
        if not rows:
            parts.append("The same settings in both profiles.\n")
            continue
        parts.append("| setting | fast (CPU) | full (GPU) | grading | what it is |\n|---|---|---|---|---|")
        esc = lambda text: text.replace("|", "\\|")  # noqa: E731
        parts.extend(f"| `{r['name']}` | `{esc(r['fast'])}` | `{esc(r['full'])}` | "
                     + (f"`{esc(r['grading'])}`" if r["grading"] else "as fast")
                     + f" | {esc(r['comment'])} |" for r in rows)
        parts.append("")
    return "\n".join(parts)


def write(path: Path = DOC) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(render())
    return path
