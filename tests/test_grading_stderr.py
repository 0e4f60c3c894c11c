"""Only a failed check fails a test cell: correct answers that warn, write to stderr, log or run a text progress bar
keep full marks (nbgrader 0.9 scores any test cell with stderr output as 0; ``cs280diff.grading`` sends stderr to
stdout while nbgrader executes a notebook, as ``[stderr]`` notes)."""
import re

import nbformat
import pytest

import nbgrading as G

AID = "02_flow_matching"


@pytest.fixture(scope="module")
def course(tmp_path_factory):
    return G.Course(tmp_path_factory.mktemp("stderr"), AID)


def _noisy_but_correct() -> dict[str, str]:
    sol = G.solution_sources(AID)
    fills = dict(sol)
    fills["flow_matching_loss"] = "import warnings\n" + sol["flow_matching_loss"].replace(
        "    return ((v - u) ** 2).mean()",
        "    warnings.warn('my loss is computed in float32')  # a warning of the student's own\n"
        "    return ((v - u) ** 2).mean()")
    fills["time_embedding"] = "import sys\nfrom tqdm import tqdm\n" + sol["time_embedding"].replace(
        '    """\n', '    """\n    print("computing an embedding", file=sys.stderr)\n'
                   "    for _ in tqdm(range(3), desc='warming up'):  # a text progress bar on stderr\n"
                   "        pass\n", 1)
    # the train step of the report: zero_grad *after* step (also correct) and float(loss), which makes PyTorch warn
    # "Converting a tensor with requires_grad=True to a scalar ..."; plus one log line
    fills["train_step"] = (
        "import logging\n"
        "def train_step(model, optimizer, x1, generator):\n"
        "    loss = flow_matching_loss(model, x1, generator)\n"
        "    loss.backward()\n"
        "    optimizer.step()\n"
        "    optimizer.zero_grad()\n"
        "    if not getattr(train_step, 'logged', False):\n"
        "        logging.warning('first training step done')\n"
        "        train_step.logged = True\n"
        "    return float(loss)\n")
    return fills


def test_correct_answers_that_write_to_stderr_keep_full_marks(course):
    fills = _noisy_but_correct()
    assert "requires_grad" not in fills["train_step"]  # the warning comes from PyTorch, not from the text
    grades = course.autograde("noisy", G.submission(AID, fills))
    assert all(score == full for score, full in grades.values()), grades
    feedback = course.feedback("noisy")
    assert "[stderr]" in feedback["test_flow_matching_loss"] and "my loss is computed" in \
        feedback["test_flow_matching_loss"]
    assert "[stderr] computing an embedding" in feedback["test_time_embedding"]
    assert "warming up" in feedback["test_time_embedding"]
    assert "first training step done" in feedback["test_train_step"]
    assert "\u2714" in feedback["test_train_step"]


def test_a_failed_check_still_fails_a_noisy_cell(course):
    """The notes change nothing for a wrong answer: the noisy loss with the target's sign flipped scores 0."""
    fills = _noisy_but_correct()
    fills["flow_matching_loss"] = G.mutate(fills["flow_matching_loss"], "u = ref.conditional_velocity(x0, x1)",
                                           "u = x0 - x1", "noisy flow_matching_loss")
    grades = course.autograde("noisy_wrong", G.submission(AID, fills))
    assert grades["test_flow_matching_loss"][0] == 0
    assert grades["test_train_step"][0] == grades["test_train_step"][1]


@pytest.mark.parametrize("aid", G.notebook_ids())
def test_every_notebook_imports_grading_before_its_first_test_cell(aid):
    """The mechanism lives in the import of cs280diff.grading, so every notebook must import it early."""
    nb = nbformat.read(G.REPO / "solutions" / aid / f"{aid}.ipynb", as_version=4)
    first_import = first_test = None
    for i, cell in enumerate(nb.cells):
        if cell.cell_type != "code":
            continue
        if first_import is None and re.search(r"^from cs280diff import .*\bgrading\b", cell.source, re.M):
            first_import = i
        if first_test is None and cell.metadata.get("nbgrader", {}).get("grade"):
            first_test = i
    assert first_import is not None and first_test is not None and first_import < first_test, (first_import,
                                                                                              first_test)
