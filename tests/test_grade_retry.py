"""The grading loop's policy on a failed autograde, with the autograde and the cell-by-cell search stubbed:
a kernel death that the cell-by-cell run does not repeat (a loaded machine) is graded once more, a death that it
does repeat quarantines the cell, and a death that keeps coming back unexplained fails the submission."""
from pathlib import Path

import pytest

from cs280diff.course import grade as G

DIED = {"success": False, "reason": G.DEAD_KERNEL}
OK = {"success": True, "reason": ""}


def _run(monkeypatch, results, culprits):
    calls = {"run": 0, "find": 0}

    def run_one(root, aid, student, settings):
        calls["run"] += 1
        return results.pop(0)

    def find_killer(path, settings):
        calls["find"] += 1
        return culprits.pop(0)

    monkeypatch.setattr(G, "_run_one", run_one)
    monkeypatch.setattr(G, "_find_killer", find_killer)
    status = G._grade_one(Path("/nowhere"), "01_one_d_flow", "someone", G.Settings())
    return status, calls


def test_a_kernel_death_that_does_not_repeat_is_graded_again(monkeypatch):
    status, calls = _run(monkeypatch, [DIED, OK], [None])
    assert status["status"] == "graded" and status["retries"] == 1 and status["quarantined"] == []
    assert calls == {"run": 2, "find": 1}


def test_an_unexplained_death_twice_fails_the_submission(monkeypatch):
    status, calls = _run(monkeypatch, [DIED, DIED], [None, None])
    assert status["status"] == f"failed: {G.DEAD_KERNEL}" and status["retries"] == 1
    assert calls == {"run": 2, "find": 2}


def test_a_reproducible_death_is_quarantined_not_retried(monkeypatch):
    status, calls = _run(monkeypatch, [DIED, OK], ["path_xt"])
    assert status["status"] == "graded after quarantine" and status["quarantined"] == ["path_xt"]
    assert status["retries"] == 0 and calls == {"run": 2, "find": 1}


@pytest.mark.parametrize("reason", ["over the total time of 1200 s", "autograde failed"])
def test_other_failures_are_not_retried(monkeypatch, reason):
    status, calls = _run(monkeypatch, [{"success": False, "reason": reason}], [None])
    assert status["status"] == f"failed: {reason}" and status["retries"] == 0 and calls["run"] == 1


def test_the_retry_and_three_quarantines_stop_at_five_runs(monkeypatch):
    status, calls = _run(monkeypatch, [DIED] * 5, [None, "a", "b", "c", "d"])
    assert status["quarantined"] == ["a", "b", "c"] and status["retries"] == 1
    assert status["status"].startswith("failed") and calls["run"] == 5
