"""The TA's one command (``cs280diff-grade``) on an inbox of bad submissions, all graded in one run with 3 workers
sharing one SQLite gradebook: each kind gets the right score, the gradebook holds every grade, and the other
students (and the other exercises of the same student) are untouched.

Notebook 1 (five exercises, 11 points); every fixture plants its problem in ``path_xt`` (2 points) unless it says
otherwise.  A cell timeout of 20 s and a total of 90 s per submission keep the run short.
"""
import copy
import csv
import io
import zipfile

import nbformat
import pytest

import nbgrading as G
from cs280diff.course.grade import Settings, grade

AID = "01_one_d_flow"
POINTS = {"test_path_xt": 2.0, "test_conditional_velocity": 1.0, "test_component_posteriors": 3.0,
          "test_marginal_velocity": 3.0, "test_swap_fraction": 2.0}
SOL = G.solution_sources(AID)
PATH = SOL["path_xt"]
BODY = "    return (1 - t) * x0 + t * x1  # straight line: noise at t = 0, data at t = 1"
assert BODY in PATH


def _answer(**fills):
    return G.submission(AID, dict(SOL, **fills))


def _wrong_path():
    return PATH.replace(BODY, "    return t * x0 + (1 - t) * x1  # backwards")


def _strip(nb, keep_ids=False):
    out = copy.deepcopy(nb)
    for k, cell in enumerate(out.cells):
        cell.metadata = {}
        if not keep_ids:
            cell.id = f"colab{k:04d}"
    out.metadata = {"colab": {"provenance": []}, "kernelspec": {"name": "python3", "display_name": "Python 3"}}
    return out


def _without_ids(nb):
    """An nbformat 4.0 notebook as older tools write it: no cell ids at all."""
    out = _strip(nb)
    out.nbformat_minor = 0
    for cell in out.cells:
        cell.pop("id", None)
    return out


def _edit_test(nb, gid, source=None, delete=False, duplicate=False):
    out = copy.deepcopy(nb)
    k = next(i for i, c in enumerate(out.cells) if c.metadata.get("nbgrader", {}).get("grade_id") == gid)
    if delete:
        del out.cells[k]
    elif duplicate:
        twin = copy.deepcopy(out.cells[k])
        twin.id = "twin"
        out.cells.insert(k + 1, twin)
    else:
        out.cells[k].source = source
    return out


_LOST_PATH = {"test_path_xt": 0.0}
_CASES = {  # student: (how the notebook arrives, the submission, {test: expected score} where it differs from full)
    "control": ("folder", _answer(), {}),
    "exception": ("folder", _answer(path_xt=PATH.replace(BODY, "    raise ValueError('oops')")), _LOST_PATH),
    "infinite_loop": ("folder", _answer(path_xt="while True:\n    pass\n" + PATH), _LOST_PATH),
    "ignores_ctrl_c": ("folder", _answer(path_xt="while True:\n    try:\n        while True:\n            pass\n"
                                                 "    except KeyboardInterrupt:\n        pass\n" + PATH), _LOST_PATH),
    "os_exit": ("folder", _answer(path_xt="import os\nos._exit(3)\n" + PATH), _LOST_PATH),
    "segfault": ("folder", _answer(path_xt="import ctypes\nctypes.string_at(0)\n" + PATH), _LOST_PATH),
    "memory_hog": ("folder", _answer(path_xt="hog = bytearray(64 * 2**30)\n" + PATH), _LOST_PATH),
    "huge_output": ("folder", _answer(path_xt="for i in range(200_000):\n    print(i, 'x' * 40)\n" + PATH), {}),
    "nan": ("folder", _answer(path_xt=PATH.replace(BODY, "    return ((1 - t) * x0 + t * x1) * float('nan')")), _LOST_PATH),
    "wrong_shape": ("folder", _answer(path_xt=PATH.replace(BODY, "    return ((1 - t) * x0 + t * x1)[:1]")), _LOST_PATH),
    "wrong_dtype": ("folder", _answer(path_xt=PATH.replace(BODY, "    return ((1 - t) * x0 + t * x1).half()")), _LOST_PATH),
    "gpu_only": ("folder", _answer(path_xt=PATH.replace(BODY, "    return ((1 - t) * x0 + t * x1).cuda()")), _LOST_PATH),
    "edited_test": ("folder", _edit_test(_answer(path_xt=_wrong_path()), "test_path_xt", "print('all tests pass')"),
                    _LOST_PATH),
    "deleted_test": ("folder", _edit_test(_answer(path_xt=_wrong_path()), "test_path_xt", delete=True), _LOST_PATH),
    "duplicated_test": ("folder", _edit_test(_answer(), "test_path_xt", duplicate=True), {}),
    "torch_patched": ("folder", _answer(conditional_velocity="import torch\ntorch.allclose = lambda *a, **k: True\n"
                                        + SOL["conditional_velocity"]),
                      {t: 0.0 for t in POINTS if t != "test_path_xt"}),
    "helpers_patched": ("folder", _answer(conditional_velocity="grading.check_close = lambda *a, **k: None\n"
                                          + SOL["conditional_velocity"]),
                        {t: 0.0 for t in POINTS if t != "test_path_xt"}),
    "imports_reference": ("folder", _answer(path_xt=G.load_shortcuts(AID)["path_xt"]), _LOST_PATH),
    "renamed": ("renamed", _answer(), {}),
    "stripped_metadata": ("folder", _strip(_answer()), {}),
    "no_cell_ids": ("zip", _without_ids(_answer()), {}),
}


def _inbox(tmp):
    inbox = tmp / "inbox"
    inbox.mkdir()
    for student, (how, nb, _) in _CASES.items():
        text = nbformat.writes(nb)
        if how == "zip":
            buf = io.BytesIO()
            with zipfile.ZipFile(buf, "w") as z:
                z.writestr(f"{student}/homework/01.ipynb", text)
            (inbox / f"{student}.zip").write_bytes(buf.getvalue())
        elif how == "renamed":
            (inbox / f"{student}__Copy of 01_one_d_flow (2).ipynb").write_text(text)
        else:
            (inbox / student).mkdir()
            (inbox / student / f"{AID}.ipynb").write_text(text)
    return inbox


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("ta")
    log = []
    settings = Settings(cell_timeout=20, total_timeout=90, memory_gb=6.0, workers=3)
    path = grade(_inbox(tmp), tmp / "course", settings=settings, only=[AID], log=log.append)
    with open(path) as f:
        rows = list(csv.DictReader(f))
    return tmp / "course", rows, log


def _scores(rows, student):
    return {r["cell"]: float(r["score"]) for r in rows if r["student"] == student}


@pytest.mark.parametrize("student", list(_CASES))
def test_each_kind_of_submission_gets_the_right_score(graded, student):
    _, rows, log = graded
    expected = dict(POINTS, **_CASES[student][2])
    expected["TOTAL"] = sum(expected.values())
    got = _scores(rows, student)
    assert got == expected, (student, got, [line for line in log if student in line])


def test_every_grade_is_in_the_gradebook_and_the_csv(graded):
    from nbgrader.api import Gradebook

    course, rows, _ = graded
    with Gradebook(f"sqlite:///{course / 'gradebook.db'}") as gb:
        for student in _CASES:
            snb = gb.find_submission_notebook(AID, AID, student)
            assert {g.name for g in snb.grades if g.cell.cell_type == "code"} == set(POINTS), student
    assert {r["student"] for r in rows} == set(_CASES)
    assert len(rows) == len(_CASES) * (len(POINTS) + 1)


def test_statuses_repairs_and_feedback(graded):
    course, rows, log = graded
    status = {r["student"]: r["status"] for r in rows if r["cell"] == "TOTAL"}
    for student in ("ignores_ctrl_c", "os_exit", "segfault"):
        assert status[student] == "graded after quarantine; quarantined path_xt", status[student]
    assert all(s == "graded" for k, s in status.items() if k not in ("ignores_ctrl_c", "os_exit", "segfault"))
    report = (course / "reports" / "stripped_metadata" / f"{AID}.md").read_text()
    assert "path_xt: nbgrader metadata missing, restored" in report
    assert "test_path_xt: 2 copies in the submission, kept one" in (course / "reports" / "duplicated_test" / f"{AID}.md").read_text()
    assert "test_path_xt: deleted in the submission" in (course / "reports" / "deleted_test" / f"{AID}.md").read_text()
    for student in ("helpers_patched", "torch_patched"):  # the integrity flag on the answer that tampers
        assert "## answer cell `conditional_velocity`" in (course / "reports" / student / f"{AID}.md").read_text()
    assert "## answer cell" not in (course / "reports" / "control" / f"{AID}.md").read_text()
    for student in _CASES:
        assert (course / "feedback" / student / AID / f"{AID}.html").exists(), student
    assert (course / "originals" / "renamed" / f"{AID}.ipynb").exists()
    with open(course / "grades_by_notebook.csv") as f:  # one row per student, one column per notebook
        totals = {r["student"]: float(r["total"]) for r in csv.DictReader(f)}
    assert totals == {k: float(v["score"]) for k, v in {r["student"]: r for r in rows if r["cell"] == "TOTAL"}.items()}
    assert totals["control"] == sum(POINTS.values())
    # huge output: the autograded notebook stays small (nbgrader's LimitOutput)
    assert (course / "autograded" / "huge_output" / AID / f"{AID}.ipynb").stat().st_size < 5_000_000
