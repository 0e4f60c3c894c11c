"""The package's layout: imports point one way (no module cycle, rooms in a fixed order), nothing student-facing imports
the maintainer and TA tooling, and every room says in its docstring what it holds and what it may import.

The import graph is read from the source (every ``import`` statement, also those inside functions), nothing is run.
"""
from __future__ import annotations

import ast
import shutil
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "cs280diff"

# What each room may import.  "top" is the package's own top-level modules (conventions, validate, runtime, grading).
ALLOWED = {
    "top": {"top"},
    "flows": {"top", "flows"},
    "nets": {"top", "flows", "nets"},
    "distill": {"top", "flows", "nets", "distill"},
    "images": {"top", "flows", "nets", "images"},
    "plots": {"top", "flows", "nets", "distill", "images", "plots"},
    "recipes": {"top", "flows", "nets", "distill", "images", "recipes"},
    "course": {"top", "course"},
}
TOOLING = {"recipes", "course"}  # for maintainers and TAs: nothing student-facing may import them


def modules(root: Path) -> dict[str, Path]:
    """{dotted module name: file} for every .py file of the package at ``root``."""
    out = {}
    for path in sorted(root.rglob("*.py")):
        parts = list(path.relative_to(root.parent).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts.pop()
        out[".".join(parts)] = path
    return out


def _targets(name: str, path: Path, node: ast.AST) -> list[str]:
    if isinstance(node, ast.Import):
        return [a.name for a in node.names]
    if isinstance(node, ast.ImportFrom):
        if node.level:  # relative import
            base = name.split(".") if path.name == "__init__.py" else name.split(".")[:-1]
            base = base[:len(base) - node.level + 1]
            head = ".".join(base + ([node.module] if node.module else []))
        else:
            head = node.module or ""
        return [head] + [f"{head}.{a.name}" for a in node.names]
    return []


def import_graph(root: Path) -> dict[str, set[str]]:
    """{module: the package modules it imports}; ``from pkg import mod`` counts as importing pkg.mod."""
    mods = modules(root)
    graph = {m: set() for m in mods}
    for name, path in mods.items():
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            for target in _targets(name, path, node):
                parts = target.split(".")
                for k in range(len(parts), 0, -1):  # the longest prefix that is a module of the package
                    cand = ".".join(parts[:k])
                    if cand in mods:
                        if cand != name and not name.startswith(cand + "."):  # a package's own __init__ is no edge
                            graph[name].add(cand)
                        break
    return graph


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """One import cycle as a list of modules (first = last), or None."""
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(u: str):
        state[u] = 1
        stack.append(u)
        for v in sorted(graph[u]):
            if state.get(v) == 1:
                return stack[stack.index(v):] + [v]
            if v not in state:
                found = visit(v)
                if found:
                    return found
        stack.pop()
        state[u] = 2
        return None

    for u in sorted(graph):
        if u not in state:
            found = visit(u)
            if found:
                return found
    return None


def room(module: str) -> str:
    """The room of a module: its subpackage (cs280diff.flows.solvers -> flows), or "top"."""
    parts = module.split(".")
    return parts[1] if len(parts) > 2 or (len(parts) == 2 and (PACKAGE / parts[1]).is_dir()) else "top"


def test_every_import_of_the_package_names_a_module_that_exists():
    """Also the imports inside functions, which only fail when the function runs."""
    mods = modules(PACKAGE)
    bad = []
    for name, path in mods.items():
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.ImportFrom) and not node.level and (node.module or "").startswith("cs280diff"):
                if node.module not in mods:
                    bad.append(f"{name}: from {node.module} import ...")
                elif (PACKAGE.parent / node.module.replace(".", "/")).is_dir():
                    bad += [f"{name}: from {node.module} import {a.name}" for a in node.names
                            if f"{node.module}.{a.name}" not in mods and not _defines(mods[node.module], a.name)]
            elif isinstance(node, ast.Import):
                bad += [f"{name}: import {a.name}" for a in node.names
                        if a.name.startswith("cs280diff") and a.name not in mods]
    assert not bad, "imports of modules or names that do not exist:\n" + "\n".join(bad)


def _defines(path: Path, attr: str) -> bool:
    """Whether a package's __init__ binds ``attr`` (an assignment, def, class or import)."""
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, (ast.FunctionDef, ast.ClassDef)) and node.name == attr:
            return True
        if isinstance(node, (ast.Import, ast.ImportFrom)) and any((a.asname or a.name) == attr for a in node.names):
            return True
        if isinstance(node, ast.Assign) and any(getattr(t, "id", None) == attr for t in node.targets):
            return True
    return False


def test_no_import_cycle():
    cycle = find_cycle(import_graph(PACKAGE))
    assert cycle is None, "import cycle: " + " -> ".join(cycle)


def test_rooms_import_one_way_and_nothing_student_facing_imports_the_tooling():
    bad = []
    for module, targets in import_graph(PACKAGE).items():
        for target in targets:
            src, dst = room(module), room(target)
            if dst not in ALLOWED[src]:
                kind = "student-facing code imports the tooling" if dst in TOOLING and src not in TOOLING else \
                    "import against the room order"
                bad.append(f"{module} -> {target} ({kind}: {src} may import {sorted(ALLOWED[src])})")
    assert not bad, "\n".join(bad)


def test_every_room_is_known_and_documents_what_it_may_import():
    rooms = sorted(p.name for p in PACKAGE.iterdir() if (p / "__init__.py").is_file() and p.name != "__pycache__")
    for name in rooms:
        assert name in ALLOWED, f"new room cs280diff/{name}/: add it to ALLOWED in tests/test_layout.py"
        doc = ast.get_docstring(ast.parse((PACKAGE / name / "__init__.py").read_text())) or ""
        assert "import" in doc, f"cs280diff/{name}/__init__.py must say what the room may import"
    assert {"flows", "nets", "images", "plots", "recipes", "course"} <= set(rooms)


def test_files_stay_short_and_cite_only_files_in_the_repository():
    repo = PACKAGE.parent
    for path in PACKAGE.rglob("*.py"):
        text = path.read_text()
        assert len(text.splitlines()) <= 400, f"{path.relative_to(repo)} has {len(text.splitlines())} lines"
        assert "DESIGN.md" not in text, f"{path.relative_to(repo)} cites DESIGN.md, which is not in the repository"
        for cited in ("docs/conventions.md",):
            if cited in text:
                assert (repo / cited).is_file(), f"{path.relative_to(repo)} cites {cited}, which is missing"


@pytest.mark.parametrize("plant, expect", [
    ("cs280diff/validate.py", "cycle"),  # validate <- conventions, and now validate -> conventions
    ("cs280diff/flows/mixtures.py", "plots"),  # a room importing a later room
    ("cs280diff/nets/mlp.py", "tooling"),  # student-facing code importing the course tooling
])
def test_the_checks_catch_a_planted_bad_import(tmp_path, plant, expect):
    """Plant one bad import in a copy of the package: the checks above must fail on it (they can fail)."""
    copy = tmp_path / "cs280diff"
    shutil.copytree(PACKAGE, copy, ignore=shutil.ignore_patterns("*.safetensors", "__pycache__"))
    line = {"cycle": "from cs280diff import conventions  # planted\n",
            "plots": "from cs280diff.plots import common  # planted\n",
            "tooling": "from cs280diff.course import authoring  # planted\n"}[expect]
    target = tmp_path / plant
    target.write_text(target.read_text() + line)
    graph = import_graph(copy)
    if expect == "cycle":
        cycle = find_cycle(graph)
        assert cycle is not None and "cs280diff.validate" in cycle and "cs280diff.conventions" in cycle, cycle
    else:
        module = ".".join(Path(plant).with_suffix("").parts)
        bad = [t for t in graph[module] if room(t) not in ALLOWED[room(module)]]
        assert bad, f"the planted import in {plant} was not flagged"
