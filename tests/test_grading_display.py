"""In a notebook kernel a failed check shows as one line, its message, and still fails the cell (an error output
that nbgrader and nbval see); any other exception keeps its full traceback."""
import nbformat
import pytest
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionError

CHECK = "grading.check_true(1 + 1 == 3, 'path_xt(x0, x1, t=0) is wrong: expected x0')"


def test_a_failed_check_is_one_line_and_other_errors_keep_their_traceback():
    nb = nbformat.v4.new_notebook(cells=[
        nbformat.v4.new_code_cell("from cs280diff import grading"),
        nbformat.v4.new_code_cell(CHECK),
        nbformat.v4.new_code_cell("def f():\n    raise ValueError('a bug of mine')\nf()"),
        nbformat.v4.new_code_cell("print('the next cell runs')"),
    ])
    NotebookClient(nb, timeout=60, allow_errors=True, kernel_name="python3").execute()
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
        NotebookClient(nb, timeout=60, allow_errors=False, kernel_name="python3").execute()
