"""The check helpers name likely bugs, refuse NaN / wrong shapes, and substitute restores names."""
import pytest
import torch

from cs280diff import grading


def test_check_close_names_the_likely_bug():
    e = torch.tensor([1.0, 2.0])
    grading.check_close(e + 1e-8, e, name="f")
    with pytest.raises(grading.GradingError, match="Likely bug: sign"):
        grading.check_close(-e, e, name="f", likely_bugs={"sign": -e})
    with pytest.raises(grading.GradingError, match="max \\|error\\|.*Hint: look"):
        grading.check_close(e * 3, e, name="f", likely_bugs={"sign": -e}, hint="look")


def test_check_tensor_refusals():
    with pytest.raises(grading.GradingError, match="forget a return"):
        grading.check_tensor(None, name="f")
    with pytest.raises(grading.GradingError, match="shape"):
        grading.check_close(torch.zeros(3), torch.zeros(2), name="f")
    with pytest.raises(grading.GradingError, match="NaN"):
        grading.check_tensor(torch.tensor([float("nan")]), name="f")
    with pytest.raises(grading.GradingError, match="dtype"):
        grading.check_tensor(torch.zeros(2), name="f", dtype=torch.float64)


def test_call_reports_unimplemented_and_crashes():
    def stub():
        raise NotImplementedError()

    with pytest.raises(grading.GradingError, match="not implemented"):
        grading.call(stub)
    with pytest.raises(grading.GradingError, match="raised ZeroDivisionError"):
        grading.call(lambda: 1 / 0, name="f")


def test_substitute_restores():
    ns = {"a": 1}
    with grading.substitute(ns, a=2, b=3):
        assert ns == {"a": 2, "b": 3}
    assert ns == {"a": 1}
    with pytest.raises(KeyError):
        with grading.substitute(ns, a=5):
            raise KeyError
    assert ns == {"a": 1}
