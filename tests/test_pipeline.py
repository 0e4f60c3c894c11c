"""The nbgrader pipeline, for every notebook: release in sync, stub scores 0, solution full, mutants lose points."""
import filecmp
import tempfile
from pathlib import Path

import nbformat
import pytest

import nbgrading as G
from cs280diff import course

NOTEBOOKS = G.notebook_ids()


def test_there_are_notebooks():
    assert NOTEBOOKS and NOTEBOOKS[0] == "01_one_d_flow"


@pytest.mark.parametrize("aid", NOTEBOOKS)
def test_release_is_in_sync(aid, tmp_path):
    """notebooks/ equals a fresh generate_assignment of solutions/ (and solutions/ are normalised)."""
    src = course.REPO / "solutions" / aid / f"{aid}.ipynb"
    raw = nbformat.read(src, as_version=4)
    clean = course.with_setup_cell(course.clean_notebook(nbformat.read(src, as_version=4)))
    assert raw == clean, f"solutions/{aid} has outputs, editor metadata or a stale set-up cell: run `make release`"
    course.generate_release(course.REPO / "solutions", tmp_path)
    fresh = nbformat.read(tmp_path / aid / f"{aid}.ipynb", as_version=4)
    committed = nbformat.read(course.REPO / "notebooks" / aid / f"{aid}.ipynb", as_version=4)
    assert fresh == committed, f"notebooks/{aid} is stale: regenerate it with `make release` and commit it"


@pytest.mark.parametrize("aid", NOTEBOOKS)
def test_every_exercise_has_tests_and_mutants(aid):
    tests, mutants = G.exercise_tests(aid), G.load_mutants(aid)
    for sid, tids in tests.items():
        assert tids, f"{aid}: exercise {sid} has no test cell named test_{sid}"
        assert mutants.get(sid), f"{aid}: exercise {sid} has no planted mutant in tests/mutants/{aid}.py"
    assert set(mutants) <= set(tests), f"{aid}: mutants for unknown exercises {set(mutants) - set(tests)}"


@pytest.fixture(scope="module")
def courses():
    made, dirs = {}, []

    def get(aid):
        if aid not in made:
            dirs.append(tempfile.TemporaryDirectory())
            made[aid] = G.Course(Path(dirs[-1].name), aid)
        return made[aid]

    yield get
    for d in dirs:
        d.cleanup()


@pytest.mark.parametrize("aid", NOTEBOOKS)
def test_stub_scores_zero(aid, courses):
    grades = courses(aid).autograde("stub", G.submission(aid))
    assert grades, "no autograded test cells found"
    nonzero = {k: v for k, v in grades.items() if v[0] != 0}
    assert not nonzero, f"the unmodified student notebook earns points: {nonzero}"


@pytest.mark.parametrize("aid", NOTEBOOKS)
def test_solution_scores_full_marks(aid, courses):
    grades = courses(aid).autograde("solution", G.submission(aid, G.solution_sources(aid)))
    short = {k: v for k, v in grades.items() if v[0] != v[1]}
    assert not short, f"the solution loses points on {short}"


def _mutant_sets(aid):
    mutants = G.load_mutants(aid)
    return range(max(len(v) for v in mutants.values()))


@pytest.mark.parametrize("aid, index", [(aid, i) for aid in NOTEBOOKS for i in _mutant_sets(aid)])
def test_mutant_set_loses_points(aid, index, courses):
    """Mutant set i carries the i-th planted bug of every exercise that has one; the rest are correct.

    Every mutated exercise must lose all its test points (each test checks its exercise in isolation), and every
    correct exercise must keep its points (a mistake is charged once).
    """
    solutions, tests, mutants = G.solution_sources(aid), G.exercise_tests(aid), G.load_mutants(aid)
    fills, planted, said = dict(solutions), {}, {}
    for sid, bugs in mutants.items():
        if index < len(bugs):
            bug, find, replace, *feedback = bugs[index]
            fills[sid] = G.mutate(solutions[sid], find, replace, f"{aid}:{sid}")
            planted[sid], said[sid] = bug, feedback
    grades = courses(aid).autograde(f"mutant{index}", G.submission(aid, fills))
    feedback = courses(aid).feedback(f"mutant{index}")
    for sid, tids in tests.items():
        for tid in tids:
            score, full = grades[tid]
            if sid in planted:
                assert score == 0, f"{aid}: the planted bug '{planted[sid]}' in {sid} still earns {score}/{full} on {tid}"
                for words in said[sid]:  # the feedback names the likely bug
                    assert words in feedback[tid], f"{aid}: feedback on {tid} should say {words!r}, got:\n{feedback[tid]}"
            else:
                assert score == full, f"{aid}: correct {sid} lost points on {tid} ({score}/{full}) next to other mutants"
