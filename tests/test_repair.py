"""course.repair: submitted notebooks damaged the ways editors and students damage them, rebuilt from the release
with the student's answers put back (nbgrader #1398 metadata lost, #1083 duplicate ids, #1682 deleted cells)."""
import copy

import nbformat
import pytest

import nbgrading as G
from cs280diff.course.repair import nbgrader_meta, repair

AID = "01_one_d_flow"


@pytest.fixture(scope="module")
def released():
    return nbformat.read(G.REPO / "notebooks" / AID / f"{AID}.ipynb", as_version=4)


@pytest.fixture(scope="module")
def answered(released):
    """The release with every answer filled with the solution: what a good student submits."""
    return G.submission(AID, G.solution_sources(AID))


def _answers(nb) -> dict:
    return {nbgrader_meta(c)["grade_id"]: c.source for c in nb.cells if nbgrader_meta(c).get("solution")}


def _locked(nb) -> dict:
    return {nbgrader_meta(c)["grade_id"]: c.source for c in nb.cells
            if nbgrader_meta(c).get("grade") or nbgrader_meta(c).get("locked")}


def _same_skeleton(nb, released):
    """Every released cell is there once, in order, with its metadata; the locked cells are the release's."""
    graded = [nbgrader_meta(c).get("grade_id") for c in nb.cells if nbgrader_meta(c)]
    assert graded == [nbgrader_meta(c).get("grade_id") for c in released.cells if nbgrader_meta(c)]
    assert _locked(nb) == _locked(released)
    nbformat.validate(nb)


def _strip(nb, new_ids=True):
    """What an editor that drops nbgrader's metadata does: no cell metadata, fresh cell ids, outputs kept."""
    out = copy.deepcopy(nb)
    for k, cell in enumerate(out.cells):
        cell.metadata = {}
        if new_ids:
            cell.id = f"colab{k:04d}"
    out.metadata = {"colab": {"provenance": []}, "kernelspec": {"name": "python3", "display_name": "Python 3"}}
    return out


def test_an_intact_submission_is_left_as_it_is(released, answered):
    nb, report = repair(answered, released)
    assert report == []
    _same_skeleton(nb, released)
    assert _answers(nb) == _answers(answered)


def test_stripped_metadata_and_new_ids_are_restored(released, answered):
    nb, report = repair(_strip(answered), released)
    _same_skeleton(nb, released)
    assert _answers(nb) == _answers(answered)
    restored = [line for line in report if "metadata missing, restored" in line]
    assert len(restored) == len(_answers(answered)), report
    # metadata kept but ids regenerated (another editor): matched by grade id, nothing to report but the ids
    keep_meta = copy.deepcopy(answered)
    for k, cell in enumerate(keep_meta.cells):
        cell.id = f"vsc-{k}"
    nb2, report2 = repair(keep_meta, released)
    assert _answers(nb2) == _answers(answered) and report2 == []


def test_reordered_deleted_duplicated_and_retyped_cells(released, answered):
    sub = copy.deepcopy(answered)
    cells = sub.cells
    gid = {nbgrader_meta(c).get("grade_id"): k for k, c in enumerate(cells) if nbgrader_meta(c)}
    test_cell = cells[gid["test_path_xt"]]
    edited = copy.deepcopy(cells[gid["test_conditional_velocity"]])
    edited.source = "print('all good')  # the student replaced the test"
    cells[gid["test_conditional_velocity"]] = edited
    answer = copy.deepcopy(cells[gid["path_xt"]])
    answer.source = answer.source.replace("def path_xt", "def path_xt") + "\n# my second try"
    answer.id = "copy-of-answer"
    retyped = cells[gid["marginal_velocity"]]
    retyped.cell_type = "markdown"
    retyped.pop("outputs"), retyped.pop("execution_count")
    del cells[gid["test_swap_fraction"]]  # deleted test
    scratch = nbformat.v4.new_code_cell("print('my scratch work')")
    cells.insert(gid["path_xt"] + 1, scratch)
    cells.insert(gid["path_xt"] + 2, answer)  # a duplicated answer, edited
    cells.insert(0, copy.deepcopy(test_cell))  # a duplicated test cell, moved to the top
    moved = next(k for k, c in enumerate(cells) if nbgrader_meta(c).get("grade_id") == "conditional_velocity")
    cells.append(cells.pop(moved))  # an answer moved to the end of the notebook
    nb, report = repair(sub, released)
    _same_skeleton(nb, released)
    text = "\n".join(report)
    assert "test_path_xt: 2 copies in the submission, kept one" in text
    assert "test_conditional_velocity: edited in the submission, restored" in text
    assert "test_swap_fraction: deleted in the submission, restored" in text
    assert "path_xt: 2 copies of the answer, graded the last one" in text
    assert "marginal_velocity: the answer was a markdown cell, made code again" in text
    got = _answers(nb)
    assert got["conditional_velocity"] == _answers(answered)["conditional_velocity"]  # back in its place
    assert got["path_xt"].endswith("# my second try") and got["marginal_velocity"] == _answers(answered)["marginal_velocity"]
    k = [c.source for c in nb.cells].index("print('my scratch work')")
    assert nbgrader_meta(nb.cells[k - 1]).get("grade_id") == "path_xt"  # kept where the student put it
    assert nb.cells[k].metadata.get("cs280diff_extra") and "1 cell(s) added by the student" in text


def test_a_missing_answer_stays_unanswered_and_duplicate_ids_are_renamed(released, answered):
    sub = copy.deepcopy(answered)
    sub.cells = [c for c in sub.cells if nbgrader_meta(c).get("grade_id") != "swap_fraction"]
    sub.cells.append(copy.deepcopy(sub.cells[1]))  # a plain cell pasted twice, same id
    sub.cells[-1].source += "\nprint('again')"
    nb, report = repair(sub, released)
    _same_skeleton(nb, released)
    assert _answers(nb)["swap_fraction"] == _answers(released)["swap_fraction"]  # the stub
    assert any("swap_fraction: answer cell not found" in line for line in report)
    assert len({c.id for c in nb.cells}) == len(nb.cells)


def test_written_answers_without_metadata_are_found_after_their_question(released, answered):
    sub = _strip(answered)
    for cell in sub.cells:
        if cell.source.startswith("YOUR ANSWER HERE"):
            cell.source = "Because the velocity field is a function of (x, t): two paths cannot cross."
    nb, _ = repair(sub, released)
    written = {nbgrader_meta(c)["grade_id"]: c.source for c in nb.cells
               if nbgrader_meta(c).get("solution") and c.cell_type == "markdown"}
    assert written and all(s.startswith("Because the velocity") for s in written.values()), written
