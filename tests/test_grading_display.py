"""In a notebook kernel a failed check shows as one line, its message, and still fails the cell (an error output
that nbgrader and nbval see); any other exception keeps its full traceback."""
import nbformat
import pytest
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionError

from cs280diff.course.kernels import PatientKernelManager

KERNEL = {"kernel_name": "python3", "kernel_manager_class": PatientKernelManager}

CHECK = "grading.check_true(1 + 1 == 3, 'path_xt(x0, x1, t=0) is wrong: expected x0')"


def test_a_failed_check_is_one_line_and_other_errors_keep_their_traceback():
    nb = nbformat.v4.new_notebook(cells=[
        nbformat.v4.new_code_cell("from cs280diff import grading"),
        nbformat.v4.new_code_cell(CHECK),
        nbformat.v4.new_code_cell("def f():\n    raise ValueError('a bug of mine')\nf()"),
        nbformat.v4.new_code_cell("print('the next cell runs')"),
    ])
    NotebookClient(nb, timeout=60, allow_errors=True, **KERNEL).execute()
    failed = [o for o in nb.cells[1].outputs if o.output_type == "error"]
    assert len(failed) == 1 and failed[0].ename == "GradingError" and len(failed[0].traceback) == 1
    assert "path_xt(x0, x1, t=0) is wrong: expected x0" in failed[0].traceback[0]
    other = [o for o in nb.cells[2].outputs if o.output_type == "error"]
    assert other[0].ename == "ValueError" and len(other[0].traceback) > 2  # the student's own bug: every frame
    assert nb.cells[3].outputs[0].text == "the next cell runs\n"


def test_the_cell_still_fails():
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("from cs280diff import grading"),
                                         nbformat.v4.new_code_cell(CHECK)])
    with pytest.raises(CellExecutionError, match="path_xt"):
        NotebookClient(nb, timeout=60, allow_errors=False, **KERNEL).execute()


def test_a_failing_cell_shows_no_half_drawn_figure():
    """runtime._no_figures_from_failed_cells: a cell that raises after creating a figure shows the traceback only;
    a cell that succeeds shows its figure, also when drawn after a failed one."""
    nb = nbformat.v4.new_notebook(cells=[
        nbformat.v4.new_code_cell("%matplotlib inline\nimport matplotlib.pyplot as plt\nfrom cs280diff import runtime"),
        nbformat.v4.new_code_cell("fig, ax = plt.subplots()\nraise NotImplementedError('exercise x is not written yet')"),
        nbformat.v4.new_code_cell("fig, ax = plt.subplots()\nax.plot([0, 1], [1, 0])"),
    ])
    NotebookClient(nb, timeout=60, allow_errors=True, **KERNEL).execute()
    failed, drawn = nb.cells[1].outputs, nb.cells[2].outputs
    assert [o.output_type for o in failed] == ["error"]
    assert any("image/png" in o.get("data", {}) for o in drawn)


def _bars_shown(nb, cell):
    """For each widget a cell displayed: is it visible (its layout not ``display: none``) in the saved state?"""
    state = nb.metadata["widgets"]["application/vnd.jupyter.widget-state+json"]["state"]
    ids = [o.data["application/vnd.jupyter.widget-view+json"]["model_id"] for o in cell.outputs
           if "application/vnd.jupyter.widget-view+json" in o.get("data", {})]
    layout = {i: state[i]["state"]["layout"].removeprefix("IPY_MODEL_") for i in ids}
    return {i: state[layout[i]]["state"].get("display") != "none"
            and state[layout[i]]["state"].get("visibility") != "hidden" for i in ids}


def test_progress_bars_of_a_failing_cell_are_not_left_behind():
    """cs280diff.progress: a loop that fails at once shows no bar; a bar already drawn when its cell fails is
    hidden (on the page and in the saved widget state); a loop that finishes keeps its bar."""
    nb = nbformat.v4.new_notebook(cells=[
        nbformat.v4.new_code_cell("import time\nfrom cs280diff.progress import tqdm"),
        nbformat.v4.new_code_cell("for i in tqdm(range(100), desc='train'):\n"
                                  "    raise NotImplementedError('exercise x is not written yet')"),
        nbformat.v4.new_code_cell("for i in tqdm(range(40), desc='train', leave=False):\n    time.sleep(0.02)\n"
                                  "for i in tqdm(range(100), desc='sample'):\n    time.sleep(0.02)\n"
                                  "    if i == 60:\n        raise ValueError('a bug at step 60')"),
        nbformat.v4.new_code_cell("for i in tqdm(range(40), desc='sweep', leave=True):\n    time.sleep(0.02)"),
    ])
    NotebookClient(nb, timeout=60, allow_errors=True, **KERNEL).execute()
    assert [o.output_type for o in nb.cells[1].outputs] == ["error"]  # no bar at 0 % above the traceback
    shown = _bars_shown(nb, nb.cells[2])
    assert len(shown) == 2 and not any(shown.values())  # drawn after the delay; tqdm hid 'train', we 'sample'

    assert nb.cells[2].outputs[-1].output_type == "error"
    kept = _bars_shown(nb, nb.cells[3])
    assert kept and all(kept.values())  # a finished loop's bar stays
