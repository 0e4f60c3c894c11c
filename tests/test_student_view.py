"""The student's first run: each released notebook, executed top to bottom as it ships (every exercise a stub),
shows only what helps.  A failed cell shows its error and no figure or progress bar (runtime and
cs280diff.progress tidy them), and every stub's error names its exercise."""
import re
import shutil
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

from cs280diff.course.kernels import PatientKernelManager

REPO = Path(__file__).resolve().parents[1]
STUDENT = sorted(p.parent.name for p in REPO.glob("notebooks/*/*.ipynb"))
VIEW = "application/vnd.jupyter.widget-view+json"
STUB_ERROR = re.compile(r"^exercise (\w+) is not written yet")


def _visible_widgets(nb, cell) -> list[str]:
    """The model ids of the widgets a cell shows that are not hidden (layout display none / visibility hidden)."""
    state = nb.metadata.get("widgets", {}).get("application/vnd.jupyter.widget-state+json", {}).get("state", {})
    shown = []
    for out in cell.outputs:
        model = out.get("data", {}).get(VIEW, {}).get("model_id")
        if model is None:
            continue
        layout = state.get(model, {}).get("state", {}).get("layout", "").removeprefix("IPY_MODEL_")
        style = state.get(layout, {}).get("state", {})
        if style.get("display") != "none" and style.get("visibility") != "hidden":
            shown.append(model)
    return shown


@pytest.mark.parametrize("aid", STUDENT)
def test_a_fresh_student_notebook_shows_errors_without_empty_figures_or_stale_bars(aid, tmp_path):
    shutil.copytree(REPO / "notebooks" / aid, tmp_path / aid)
    path = tmp_path / aid / f"{aid}.ipynb"
    nb = nbformat.read(path, as_version=4)
    exercises = {c.metadata["nbgrader"]["grade_id"] for c in nb.cells
                 if c.metadata.get("nbgrader", {}).get("solution") and c.cell_type == "code"}
    NotebookClient(nb, timeout=600, allow_errors=True, kernel_name="python3", kernel_manager_class=PatientKernelManager,
                   resources={"metadata": {"path": str(path.parent)}}).execute()
    failed = 0
    for i, cell in enumerate(nb.cells):
        errors = [o for o in cell.get("outputs", []) if o.output_type == "error"]
        if not errors:
            continue
        failed += 1
        images = [o for o in cell.outputs if "image/png" in o.get("data", {})]
        assert not images, f"{aid} cell {i} failed ({errors[0].ename}) and still shows {len(images)} figure(s)"
        bars = _visible_widgets(nb, cell)
        assert not bars, f"{aid} cell {i} failed ({errors[0].ename}) and still shows {len(bars)} progress bar(s)"
        if errors[0].ename == "NotImplementedError":
            named = STUB_ERROR.match(errors[0].evalue)
            assert named and named[1] in exercises, f"{aid} cell {i}: a stub error that names no exercise: " \
                                                    f"{errors[0].evalue!r}"
    assert failed >= len(exercises) > 0  # the stubs did fail: each exercise's test cell at least
