"""docs/profiles.md is what the notebooks' hyperparameter cells say (cs280diff.course.profiles)."""
from cs280diff.course import profiles


def test_settings_reads_picks_with_their_grading_value_and_comment():
    cell = ('GRADING = runtime.is_grading()\n'
            'N = 300 if GRADING else runtime.pick(fast=3_000, full=10_000)  # samples per run\n'
            'GRID = runtime.pick(fast=[8, 16],\n'
            '                    full=[8, 16, 32])  # the "#" of steps\n'
            'SAME = 5  # not a profile setting\n')
    assert profiles.settings(cell) == [
        {"name": "N", "fast": "3_000", "full": "10_000", "grading": "300", "comment": "samples per run"},
        {"name": "GRID", "fast": "[8, 16]", "full": "[8, 16, 32]", "grading": "", "comment": 'the "#" of steps'}]


def test_the_committed_document_is_up_to_date():
    assert profiles.DOC.read_text() == profiles.render(), "run `python -m cs280diff.course profiles` and commit"


def test_every_notebook_with_a_profile_setting_has_its_table():
    text = profiles.render()
    for path in profiles.solution_notebooks():
        assert f"## {path.stem}:" in text
        if "runtime.pick(" in path.read_text():
            assert text.split(f"## {path.stem}:", 1)[1].split("\n## ", 1)[0].count("\n| `") >= 1, path.stem
