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


# ----------------------------------------------------------------------------------------------- integrity
def test_tampering_sees_replaced_functions_methods_code_modules_and_builtins():
    import builtins
    import sys

    from cs280diff import integrity
    from cs280diff.flows import mixtures, solvers

    assert integrity.tampering() == []
    saved = (solvers.heun_step, solvers.euler_step.__code__, mixtures.GaussianMixture.posteriors,
             sys.modules["cs280diff.flows.schedules"], builtins.isinstance, grading.check_close)
    try:
        solvers.heun_step = lambda *a, **k: None
        solvers.euler_step.__code__ = (lambda field, x, t, t_next, **cond: x).__code__
        mixtures.GaussianMixture.posteriors = lambda self, x, t: None
        grading.check_close = lambda *a, **k: None
        found = "\n".join(integrity.tampering())
        for name in ("solvers.heun_step", "solvers.euler_step", "GaussianMixture.posteriors", "grading.check_close"):
            assert name in found, (name, found)
        with pytest.raises(grading.GradingError, match="changed the package"):
            grading.passed("never")
        sys.modules["cs280diff.flows.schedules"] = object()
        assert any("sys.modules['cs280diff.flows.schedules']" in p for p in integrity.tampering())
        builtins.isinstance = lambda a, b: True
        assert integrity.tampering() == ["builtins.isinstance was replaced"]
    finally:
        builtins.isinstance = saved[4]
        solvers.heun_step, solvers.euler_step.__code__, mixtures.GaussianMixture.posteriors = saved[:3]
        sys.modules["cs280diff.flows.schedules"], grading.check_close = saved[3], saved[5]
    assert integrity.tampering() == []


def test_an_exercise_may_not_call_its_own_reference_by_any_name():
    from cs280diff.flows import mixtures, solvers
    from cs280diff.flows.solvers import heun_step as h

    ring, x = mixtures.ring_2d(), torch.randn(3, 2)
    want = solvers.heun_step(ring, x, 0.1, 0.3)

    def by_alias(field, x, t, t_next):
        return h(field, x, t, t_next)

    def swallowed(field, x, t, t_next):
        try:
            return solvers.heun_step(field, x, t, t_next)
        except Exception:  # a shortcut that hides the failure still counts
            return x

    def own(field, x, t, t_next):
        v = field(x, t)
        x_euler = x + (t_next - t) * v
        return x + (t_next - t) * 0.5 * (v + field(x_euler, t_next))

    try:
        grading.exercise("heun_step", forbid=[solvers.heun_step])
        for shortcut in (by_alias, swallowed, solvers.heun_step):
            with pytest.raises(grading.ShortcutError, match="the package's own answer"):
                grading.call(shortcut, ring, x, 0.1, 0.3)
        torch.testing.assert_close(grading.call(own, ring, x, 0.1, 0.3), want)  # an own answer passes
        torch.testing.assert_close(solvers.heun_step(ring, x, 0.1, 0.3), want)  # the reference is armed again
    finally:
        grading.exercise(None)


def test_a_check_helper_called_inside_the_students_function_is_not_a_false_tamper():
    """A test's field may call grading.check_true from inside the student's function (notebook 2's linear field does);
    the references then hold our tripwires, and a tamper check running there (its 50 ms throttle expired) flagged
    "fm_loss was replaced" and cost a correct answer its points (seen once in CI)."""
    import time

    from cs280diff.nets import training

    def field(x, t):
        time.sleep(0.06)  # past the tamper check's throttle
        grading.check_true(True, "never shown")
        return torch.zeros_like(x)

    def loss(model, x1, generator):
        return (model(x1, torch.zeros(len(x1))) ** 2).mean()

    grading.exercise("flow_matching_loss", forbid=[training.fm_loss])
    assert grading.call(loss, field, torch.randn(4, 2), torch.Generator()).item() == 0.0
    grading.passed("no false flag")  # the forced check after the call sees the restored reference
