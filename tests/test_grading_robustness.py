"""Grading survives bad submissions: infinite loops, exceptions, NaNs, edited test cells, a crashing kernel."""
import pytest

import nbgrading as G

AID = "01_one_d_flow"


@pytest.fixture(scope="module")
def course(tmp_path_factory):
    return G.Course(tmp_path_factory.mktemp("robust"), AID, Execute__timeout=10)


def test_bad_submission_is_graded_cell_by_cell(course):
    sol = G.solution_sources(AID)
    fills = dict(sol)
    fills["path_xt"] = sol["path_xt"].replace("return (1 - t) * x0 + t * x1", "while True:\n        pass")
    fills["conditional_velocity"] = sol["conditional_velocity"].replace("return x1 - x0", "raise ValueError('oops')")
    fills["component_posteriors"] = sol["component_posteriors"].replace(
        "return torch.softmax(logits, dim=1)", "return torch.full_like(logits, float('nan'))")
    # marginal_velocity is correct; its test cell is "edited" to pass trivially and must be restored by the grader
    edits = {"test_marginal_velocity": "pass", "test_component_posteriors": "pass"}
    grades = course.autograde("bad", G.submission(AID, fills, edit_tests=edits))
    assert grades["test_path_xt"][0] == 0  # the infinite loop was interrupted, graded 0, and grading went on
    assert grades["test_conditional_velocity"][0] == 0  # the exception costs this exercise only
    assert grades["test_component_posteriors"][0] == 0  # NaN caught although its test cell was edited to `pass`
    assert grades["test_marginal_velocity"][0] == grades["test_marginal_velocity"][1]  # correct answer keeps points
    feedback = course.feedback("bad")
    assert "NaN" in feedback["test_component_posteriors"]
    assert "raised ValueError: oops" in feedback["test_conditional_velocity"]


def test_a_crashing_submission_does_not_affect_another_student(course):
    sol = G.solution_sources(AID)
    crash = dict(sol, path_xt="import os\nos._exit(1)")
    try:
        course.autograde("crasher", G.submission(AID, crash))
    except AssertionError:
        pass  # nbgrader may report the dead kernel as a failed autograde of this one student
    grades = course.autograde("good", G.submission(AID, sol))
    assert all(score == full for score, full in grades.values()), grades
