"""The nbgrader pipeline, for every notebook: release in sync, stub scores 0, solution full, mutants lose points,
correct answers in another style keep full marks, shortcuts score 0.

One test class per notebook (generated at the bottom), so that `pytest -n 2 --dist loadscope` keeps a notebook's
autogrades on one worker (sharing its course directory) and spreads the notebooks over the workers.
"""
import nbformat
import pytest

import nbgrading as G
from cs280diff import course

NOTEBOOKS = G.notebook_ids()


def test_there_are_notebooks():
    assert NOTEBOOKS and NOTEBOOKS[0] == "01_one_d_flow"


def pytest_generate_tests(metafunc):
    """Mutant set i = 0 .. (most mutants of any exercise of this notebook) - 1."""
    if "index" in metafunc.fixturenames:
        mutants = G.load_mutants(metafunc.cls.aid)
        metafunc.parametrize("index", range(max(len(v) for v in mutants.values())))


class _Pipeline:
    aid = ""

    @pytest.fixture(scope="class")
    @classmethod
    def course_dir(cls, tmp_path_factory):
        return G.Course(tmp_path_factory.mktemp(cls.aid), cls.aid)

    def test_release_is_in_sync(self, tmp_path):
        """notebooks/ equals a fresh generate_assignment of solutions/ (and solutions/ are normalised)."""
        aid = self.aid
        src = course.REPO / "solutions" / aid / f"{aid}.ipynb"
        raw = nbformat.read(src, as_version=4)
        clean = course.with_setup_cell(course.clean_notebook(nbformat.read(src, as_version=4)))
        assert raw == clean, f"solutions/{aid} has outputs, editor metadata or a stale set-up cell: run `make release`"
        course.generate_release(course.REPO / "solutions", tmp_path, only=[aid])
        fresh = nbformat.read(tmp_path / aid / f"{aid}.ipynb", as_version=4)
        committed = nbformat.read(course.REPO / "notebooks" / aid / f"{aid}.ipynb", as_version=4)
        assert fresh == committed, f"notebooks/{aid} is stale: regenerate it with `make release` and commit it"

    def test_every_exercise_has_tests_and_mutants(self):
        aid = self.aid
        tests, mutants = G.exercise_tests(aid), G.load_mutants(aid)
        for sid, tids in tests.items():
            assert tids, f"{aid}: exercise {sid} has no test cell named test_{sid}"
            assert mutants.get(sid), f"{aid}: exercise {sid} has no planted mutant in tests/mutants/{aid}.py"
        assert set(mutants) <= set(tests), f"{aid}: mutants for unknown exercises {set(mutants) - set(tests)}"

    def test_stub_scores_zero(self, course_dir):
        grades = course_dir.autograde("stub", G.submission(self.aid))
        assert grades, "no autograded test cells found"
        nonzero = {k: v for k, v in grades.items() if v[0] != 0}
        assert not nonzero, f"the unmodified student notebook earns points: {nonzero}"

    def test_solution_scores_full_marks(self, course_dir):
        grades = course_dir.autograde("solution", G.submission(self.aid, G.solution_sources(self.aid)))
        short = {k: v for k, v in grades.items() if v[0] != v[1]}
        assert not short, f"the solution loses points on {short}"

    def test_mutant_set_loses_points(self, course_dir, index):
        """Mutant set i carries the i-th planted bug of every exercise that has one; the rest are correct.

        Every mutated exercise must lose all its test points (each test checks its exercise in isolation), with
        feedback that names the bug, and every correct exercise must keep its points (a mistake is charged once).
        """
        aid = self.aid
        solutions, tests, mutants = G.solution_sources(aid), G.exercise_tests(aid), G.load_mutants(aid)
        fills, planted, said = dict(solutions), {}, {}
        for sid, bugs in mutants.items():
            if index < len(bugs):
                bug, find, replace, *feedback = bugs[index]
                fills[sid] = G.mutate(solutions[sid], find, replace, f"{aid}:{sid}")
                planted[sid], said[sid] = bug, feedback
        grades = course_dir.autograde(f"mutant{index}", G.submission(aid, fills))
        feedback = course_dir.feedback(f"mutant{index}")
        for sid, tids in tests.items():
            for tid in tids:
                score, full = grades[tid]
                if sid in planted:
                    assert score == 0, f"{aid}: the planted bug '{planted[sid]}' in {sid} still earns {score}/{full} on {tid}"
                    for words in said[sid]:  # the feedback names the likely bug
                        assert words in feedback[tid], f"{aid}: feedback on {tid} should say {words!r}, got:\n{feedback[tid]}"
                else:
                    assert score == full, f"{aid}: correct {sid} lost points on {tid} ({score}/{full}) next to other mutants"

    def test_correct_answers_in_another_style_keep_full_marks(self, course_dir):
        """Every exercise answered correctly but unlike the solution (other names, loops, other but equal formulas,
        float(loss), zero_grad after step) keeps its points: the tests check results, not the solution's wording."""
        aid = self.aid
        alternatives = G.load_alternatives(aid)
        assert set(alternatives) == set(G.exercise_tests(aid)), \
            f"tests/mutants/{aid}.py should have one ALTERNATIVE per exercise, has {sorted(alternatives)}"
        grades = course_dir.autograde("alternative", G.submission(aid, dict(G.solution_sources(aid), **alternatives)))
        short = {k: v for k, v in grades.items() if v[0] != v[1]}
        assert not short, f"{aid}: correct answers in another style lose points on {short}:\n" + "\n".join(
            course_dir.feedback("alternative")[k] for k in short)

    def test_shortcuts_score_zero(self, course_dir):
        """Every exercise answered by calling its own reference (by any name or alias) scores 0, with feedback that
        says so; the submission is otherwise the solution, so the other exercises keep their points."""
        aid = self.aid
        shortcuts = G.load_shortcuts(aid)
        assert shortcuts, f"tests/mutants/{aid}.py plants no SHORTCUTS"
        fills = dict(G.solution_sources(aid), **shortcuts)
        grades = course_dir.autograde("shortcut", G.submission(aid, fills))
        feedback = course_dir.feedback("shortcut")
        for sid, tids in G.exercise_tests(aid).items():
            for tid in tids:
                score, full = grades[tid]
                if sid in shortcuts:
                    assert score == 0, f"{aid}: {sid} answered with its own reference still earns {score}/{full}"
                    assert "the package's own answer" in feedback[tid], feedback[tid]
                else:
                    assert score == full, f"{aid}: correct {sid} lost points on {tid} ({score}/{full})"


for _aid in NOTEBOOKS:
    _name = "TestNotebook_" + _aid
    globals()[_name] = type(_name, (_Pipeline,), {"aid": _aid})
