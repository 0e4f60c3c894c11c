"""Hidden tests test only what the docstring promises (the grading issue, defect 4).

Every graded cell of every solution notebook (visible and hidden tests) runs here against the solutions, with each
exercise function wrapped to record the forms of the inputs the tests pass it.  Each form must be promised by that
function's docstring: a time ``t`` given as a float, a 0-d tensor or a (batch,) tensor, and tensors with more than
one non-batch dimension (images: ``*dims``, or an explicit shape with as many entries, one of them ``batch``:
``(batch, C, H, W)``, ``(batch, n_tokens, width)``, ``(K, batch, 4)``).
On the commit the issue was filed against, ``path_xt`` was called with a 0-d tensor t that its docstring did not
mention; this test names such gaps.
"""
import functools
import os
import re

import nbformat
import pytest
import torch

import nbgrading as G
from cs280diff import course

# the words a docstring must contain for each form of input that a test passes
PROMISES = {"t as a float": ("float",), "t as a 0-d tensor": ("0-d",), "t as a (batch,) tensor": ("(batch,)",)}


def _forms(name: str, value) -> set[str]:
    """The forms of one argument that need a promise."""
    out = set()
    if name == "t":
        if isinstance(value, float):
            out.add("t as a float")
        elif isinstance(value, torch.Tensor) and value.ndim == 0:
            out.add("t as a 0-d tensor")
        elif isinstance(value, torch.Tensor) and value.ndim == 1:
            out.add("t as a (batch,) tensor")
    if isinstance(value, torch.Tensor) and value.ndim >= 3:
        out.add(f"a {value.ndim}-d tensor (more than one non-batch dimension)")
    return out


def _promised(form: str, doc: str) -> bool:
    """Whether the docstring promises the form: its words, or for a k-d tensor "*dims" or an explicit shape of k
    entries, one of them the batch (e.g. "(batch, C, H, W)", "(batch, T, 1, H, W)", "(K, batch, 4)")."""
    if form in PROMISES:
        return any(w in doc for w in PROMISES[form])
    ndim = int(form.split("-d ", 1)[0].rsplit(" ", 1)[1])
    shapes = (m.split(",") for m in re.findall(r"\(([^()]*)\)", doc))
    return "*dims" in doc or any(len(p) == ndim and any(x.strip() == "batch" for x in p) for p in shapes)


def _recording(fn, seen: set):
    import inspect

    signature = inspect.signature(fn)

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        bound = signature.bind_partial(*args, **kwargs)
        for name, value in bound.arguments.items():
            seen.update(_forms(name, value))
        return fn(*args, **kwargs)

    return wrapper


def _graded_run(aid: str) -> dict[str, tuple[str, set]]:
    """Run the set-up cells, every solution cell and every test cell of a solution notebook; return
    {function name: (its docstring, the forms its tests passed)} for the functions the solution cells define."""
    nb = nbformat.read(course.REPO / "solutions" / aid / f"{aid}.ipynb", as_version=4)
    first_section = next(i for i, c in enumerate(nb.cells) if c.cell_type == "markdown" and c.source.startswith("## "))
    ns: dict = {"__name__": "__main__"}
    recorded: dict[str, tuple[str, set]] = {}
    for i, cell in enumerate(nb.cells):
        meta = cell.metadata.get("nbgrader", {})
        graded = meta.get("solution") or meta.get("grade")
        if cell.cell_type != "code" or not (i < first_section or graded):
            continue
        source = "\n".join(ln for ln in cell.source.splitlines() if not ln.lstrip().startswith(("%", "!")))
        before = set(ns)
        exec(compile(source, f"{aid}:cell{i}", "exec"), ns)  # noqa: S102  our own solution notebook
        if meta.get("solution") and not meta.get("grade"):
            for name in set(ns) - before:
                if callable(ns[name]) and getattr(ns[name], "__module__", None) == "__main__":
                    seen: set = set()
                    recorded[name] = (ns[name].__doc__ or "", seen)
                    ns[name] = _recording(ns[name], seen)
    return recorded


@pytest.mark.parametrize("aid", G.notebook_ids())
def test_hidden_tests_use_only_documented_inputs(aid, monkeypatch):
    monkeypatch.setenv("CS280DIFF_PROFILE", "fast")
    monkeypatch.setenv("MPLBACKEND", "Agg")
    os.environ.pop("NBGRADER_EXECUTION", None)
    recorded = _graded_run(aid)
    assert recorded, f"{aid}: no exercise functions found"
    gaps = [f"{name}: the tests pass {form}, but its docstring does not say so (expected "
            f"{' or '.join(map(repr, PROMISES.get(form, ('*dims', 'an explicit shape such as (batch, C, H, W)'))))})"
            for name, (doc, seen) in recorded.items() for form in sorted(seen) if not _promised(form, doc)]
    assert not gaps, f"{aid}:\n" + "\n".join(gaps)
