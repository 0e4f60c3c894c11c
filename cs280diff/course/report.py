"""The TA's integrity report: answer cells that touch the grading helpers, the package's references or the interpreter.

A static read of every answer cell of a submission (nothing is run).  Flagged:
  - assigning to, deleting or ``setattr``-ing an attribute of a module the notebook imported (``grading.check_close =
    ...``, ``solvers.heun_step = ...``, ``torch.allclose = ...``) or of a class from cs280diff;
  - rebinding a name the notebook imported from cs280diff (``grading = ...``);
  - touching the interpreter: ``sys.modules``, ``builtins`` / ``__builtins__``, ``__code__``, ``importlib.reload``,
    writes into ``globals()``;
  - an exercise's answer that names its own reference (the ``forbid=[...]`` of ``grading.exercise`` in its test cell).
The test cells catch these at run time too (they cost the points); the report tells the TA where to look.
"""
from __future__ import annotations

import ast
from pathlib import Path

INTERPRETER = {"modules": "sys.modules", "__builtins__": "__builtins__", "__code__": "__code__",
               "reload": "importlib.reload"}
OWNED_BY = {"modules": "sys", "reload": "importlib"}  # model.modules() and other reloads are not the interpreter


def imported_names(nb) -> dict[str, str]:
    """{name bound in the notebook: the module or object it came from} for every import in the notebook."""
    out = {}
    for cell in nb.cells:
        if cell.cell_type != "code":
            continue
        for node in ast.walk(_parse(cell.source)):
            if isinstance(node, ast.Import):
                out.update({(a.asname or a.name.split(".")[0]): a.name for a in node.names})
            elif isinstance(node, ast.ImportFrom) and node.module:
                out.update({(a.asname or a.name): f"{node.module}.{a.name}" for a in node.names})
    return out


def forbidden_names(nb) -> dict[str, set[str]]:
    """{exercise: the last attribute names of its forbidden references}, read from ``grading.exercise`` calls."""
    out: dict[str, set[str]] = {}
    for cell in nb.cells:
        for node in ast.walk(_parse(cell.source)) if cell.cell_type == "code" else ():
            if isinstance(node, ast.Call) and getattr(node.func, "attr", None) == "exercise" and node.args and \
                    isinstance(node.args[0], ast.Constant):
                refs = next((k.value for k in node.keywords if k.arg == "forbid"), None)
                names = {e.attr for e in getattr(refs, "elts", []) if isinstance(e, ast.Attribute)}
                out.setdefault(node.args[0].value, set()).update(names)
    return out


def _parse(source: str) -> ast.AST:
    lines = [ln for ln in source.splitlines() if not ln.lstrip().startswith(("%", "!"))]  # IPython magics
    try:
        return ast.parse("\n".join(lines))
    except SyntaxError:
        return ast.parse("")


def _base(node) -> str | None:
    """The leftmost name of an attribute chain: a.b.c -> a."""
    while isinstance(node, ast.Attribute):
        node = node.value
    return node.id if isinstance(node, ast.Name) else None


def scan_cell(source: str, imported: dict[str, str], own_refs: set[str] = frozenset()) -> list[str]:
    """The flags of one answer cell (see the module docstring)."""
    flags, tree = [], _parse(source)
    watched = {n for n, src in imported.items() if src.split(".")[0] in ("cs280diff", "torch", "sys", "builtins",
                                                                          "numpy", "importlib")}
    for node in ast.walk(tree):
        targets = node.targets if isinstance(node, ast.Assign) else [node.target] \
            if isinstance(node, (ast.AugAssign, ast.AnnAssign)) else node.targets if isinstance(node, ast.Delete) \
            else []
        for target in targets:
            base = _base(target)
            if isinstance(target, ast.Attribute) and base in watched:
                flags.append(f"line {node.lineno}: changes {ast.unparse(target)} (an attribute of {imported[base]})")
            elif isinstance(target, ast.Name) and target.id in watched and \
                    imported[target.id].startswith("cs280diff"):
                flags.append(f"line {node.lineno}: rebinds {target.id}, imported from {imported[target.id]}")
            elif isinstance(target, ast.Subscript) and isinstance(target.value, ast.Call) and \
                    getattr(target.value.func, "id", None) == "globals":
                flags.append(f"line {node.lineno}: writes into globals()")
        if isinstance(node, ast.Call) and getattr(node.func, "id", None) in ("setattr", "delattr") and node.args:
            if _base(node.args[0]) in watched:
                flags.append(f"line {node.lineno}: {node.func.id} on {ast.unparse(node.args[0])}")
        if isinstance(node, ast.Attribute) and node.attr in INTERPRETER and (
                node.attr not in OWNED_BY or imported.get(_base(node), "").split(".")[0] == OWNED_BY[node.attr]):
            flags.append(f"line {node.lineno}: touches {INTERPRETER[node.attr]} ({ast.unparse(node)})")
        if isinstance(node, ast.Name) and node.id in ("builtins", "__builtins__"):
            flags.append(f"line {node.lineno}: touches {node.id}")
        if isinstance(node, ast.Attribute) and node.attr in own_refs and _base(node) not in (None, "self"):
            flags.append(f"line {node.lineno}: names its own reference {ast.unparse(node)}")
        if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("cs280diff"):
            hits = [a.name for a in node.names if a.name in own_refs]
            if hits:
                flags.append(f"line {node.lineno}: imports its own reference {node.module}.{hits[0]}")
    return sorted(set(flags), key=lambda f: int(f.split()[1].rstrip(":")))


def scan_submission(nb, reference_nb) -> dict[str, list[str]]:
    """{answer cell grade_id: flags} for the answer cells of ``nb`` that have any; imports and the forbidden
    references are read from ``reference_nb`` (the instructor's notebook) so a submission cannot hide them."""
    imported = {**imported_names(reference_nb), **imported_names(nb)}
    forbid = forbidden_names(reference_nb)
    out = {}
    for cell in nb.cells:
        meta = cell.metadata.get("nbgrader", {})
        if cell.cell_type == "code" and meta.get("solution") and not meta.get("grade"):
            flags = scan_cell(cell.source, imported, forbid.get(meta.get("grade_id"), set()))
            if flags:
                out[meta["grade_id"]] = flags
    return out


def write_report(path: Path, student: str, aid: str, flags: dict[str, list[str]], repairs: list[str] | None = None) -> None:
    """Write one submission's report as markdown: the repairs made before grading (``course.repair``), then the
    integrity flags."""
    lines = [f"# Integrity report: {student} / {aid}", ""]
    if repairs is not None:
        lines += ["## repairs before grading", *([f"- {r}" for r in repairs] or ["- none: the notebook was intact"]), ""]
    if not flags:
        lines.append("No answer cell touches the grading helpers, the package's references or the interpreter.")
    for gid, items in flags.items():
        lines += [f"## answer cell `{gid}`", *[f"- {f}" for f in items], ""]
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join(lines) + "\n")
