"""Check helpers for the notebooks' test cells: explicit tolerances and messages that name the likely bug.

Every check raises ``GradingError`` (an AssertionError, so nbgrader marks the cell as failed) with a message meant
for the student, and prints a ✔ line when it passes. ``substitute`` lets a test cell check one exercise in isolation
by standing the package's reference in for the student's other answers.  In a notebook a failed check shows as one
line, its message.

Honest grading (the mechanisms live in ``cs280diff.integrity``):
- *Only a failed check fails a cell.*  nbgrader 0.9 scores a test cell with any stderr output as 0, so while nbgrader
  executes a notebook, importing this module sends stderr (warnings, logging, progress bars, file descriptor 2) to
  stdout as ``[stderr]`` notes.  Every notebook imports ``grading`` before its first test cell (a test checks it).
- *An exercise's own reference is off limits in its own test.*  A test cell declares it with
  ``grading.exercise("heun_step", forbid=[solvers.heun_step])``; every ``grading.call`` in that cell then runs the
  student's function with those references disarmed, so calling one by any name or alias fails the check.
- *Tampering is detected.*  Every helper first checks that no answer cell replaced a function of the package, a
  cs280diff module, a builtin or a torch function, and fails the cell (and so costs its points) if one did.
"""
from __future__ import annotations

import contextlib
import os
import time
from typing import Callable, Mapping

import torch

from cs280diff.integrity import GradingError, ShortcutError, disarmed, disarming, stderr_to_stdout, tampering
from cs280diff.runtime import ipython_shell

Tensor = torch.Tensor

__all__ = ["GradingError", "ShortcutError", "exercise", "passed", "rel_error", "call", "check_tensor", "check_close",
           "check_true", "substitute"]


if os.environ.get("NBGRADER_EXECUTION"):
    stderr_to_stdout()


def _one_line_failures() -> None:
    """In a notebook, show a failed check as one line, its message, without the frames of this module above it.

    IPython's custom-exception hook replaces the traceback display only: the handler itself publishes the error
    output (``_showtraceback``), so the cell still ends in an error that nbgrader and nbval see (a handler that
    only returned the text would leave the cell without an error output, which nbgrader scores as passed).
    """
    shell = ipython_shell()
    if shell is None or not hasattr(shell, "set_custom_exc"):
        return

    def show(shell, etype, value, tb, tb_offset=None):
        stb = [f"\x1b[0;31m{etype.__name__}\x1b[0m: {value}"]
        shell._showtraceback(etype, value, stb)  # the error output of the cell
        return stb

    shell.set_custom_exc((GradingError,), show)


_one_line_failures()


_EXERCISE: dict = {"name": None, "forbid": ()}  # set by exercise() at the top of a test cell
_LAST_CHECK = [-1.0]  # time of the last tamper check


def _untampered(force: bool = False) -> None:
    """Fail the check if an answer cell changed the package, a cs280diff module, a builtin or a torch function.

    A check costs about a millisecond, so helpers called in a tight loop check at most every 50 ms; ``exercise`` and
    ``passed``, at the start and the end of every test cell, always check.
    """
    if disarming():  # a helper called from inside the student's function: the references hold our tripwires now;
        return  # the next helper after the call (``passed`` at the latest) checks again
    now = time.perf_counter()
    if not force and now - _LAST_CHECK[0] < 0.05:
        return
    _LAST_CHECK[0] = now
    problems = tampering()
    if problems:
        raise GradingError("the notebook changed the package or the interpreter, so it cannot be graded: "
                           + "; ".join(problems[:5]) + (" ..." if len(problems) > 5 else "")
                           + ". Restart the kernel and do not modify cs280diff, builtins or torch.")


def exercise(name: str, *, forbid=()) -> None:
    """Declare the exercise this test cell checks and the package references its function may not call.

    Every later ``call(...)`` (until the next ``exercise``) runs the function under test with the references in
    ``forbid`` disarmed: calling one, under any name or alias, fails with a ShortcutError.
    """
    _untampered(force=True)
    _EXERCISE.update(name=name, forbid=tuple(forbid))


def passed(message: str) -> None:
    """Print a success line (after a last tamper check)."""
    _untampered(force=True)
    print(f"\u2714 {message}")


def rel_error(a: Tensor, b: Tensor) -> float:
    """cs231n's relative error: max |a - b| / max(1e-8, |a| + |b|), elementwise maximum."""
    a, b = a.double(), b.double()
    return ((a - b).abs() / ((a.abs() + b.abs()).clamp_min(1e-8))).max().item()


def call(fn: Callable, *args, name: str | None = None, **kwargs):
    """Call a student's function, turning 'not implemented yet' and crashes into a clear GradingError."""
    _untampered()
    label = name or getattr(fn, "__name__", "your function")
    try:
        with disarmed(_EXERCISE["forbid"], _EXERCISE["name"] or label) as fired:
            out = fn(*args, **kwargs)
        if fired:  # a tripwire fired even though the function caught the exception
            raise ShortcutError(fired[0])
        return out
    except NotImplementedError:
        raise GradingError(f"{label} is not implemented yet (it still raises NotImplementedError)") from None
    except GradingError:
        raise
    except Exception as err:  # a crash in student code is a failed check, with the original error attached
        raise GradingError(f"{label} raised {type(err).__name__}: {err}") from err


def check_tensor(value, *, name: str, shape: tuple | None = None, dtype: torch.dtype | None = None,
                 device: torch.device | str | None = None) -> Tensor:
    """Check that ``value`` is a finite tensor of the given shape, dtype and device."""
    _untampered()
    if not isinstance(value, Tensor):
        raise GradingError(f"{name} should return a torch.Tensor, got {type(value).__name__}"
                           + (" (did you forget a return statement?)" if value is None else ""))
    if shape is not None and tuple(value.shape) != tuple(shape):
        raise GradingError(f"{name} has shape {tuple(value.shape)}, expected {tuple(shape)}")
    if dtype is not None and value.dtype != dtype:
        raise GradingError(f"{name} has dtype {value.dtype}, expected {dtype} (keep the dtype of the input)")
    if device is not None and value.device.type != torch.device(device).type:
        raise GradingError(f"{name} is on {value.device}, expected {device} (create new tensors on x.device)")
    if value.is_floating_point() and not torch.isfinite(value).all():
        raise GradingError(f"{name} contains NaN or inf values")
    return value


def check_close(actual, expected: Tensor, *, name: str, atol: float = 1e-6, rtol: float = 1e-5,
                likely_bugs: Mapping[str, Tensor] | None = None, hint: str | None = None) -> None:
    """Check ``actual`` ≈ ``expected`` (|a - e| <= atol + rtol |e| elementwise) with a diagnosis on failure.

    likely_bugs: {description: what a known wrong answer would return}; when ``actual`` matches one of them the
    message names that bug.
    """
    _untampered()
    expected = torch.as_tensor(expected)
    actual = check_tensor(actual, name=name, shape=tuple(expected.shape))
    a, e = actual.detach().double().cpu(), expected.detach().double().cpu()
    if torch.allclose(a, e, atol=atol, rtol=rtol):
        return
    for bug, wrong in (likely_bugs or {}).items():
        w = torch.as_tensor(wrong).detach().double().cpu()
        if w.shape == a.shape and torch.allclose(a, w, atol=max(atol, 1e-6), rtol=max(rtol, 1e-4)):
            raise GradingError(f"{name} is wrong. Likely bug: {bug}")
    err = (a - e).abs().max().item()
    msg = f"{name} is wrong: max |error| = {err:.3g} (tolerance atol={atol:g}, rtol={rtol:g})."
    raise GradingError(msg + (f" Hint: {hint}" if hint else ""))


def check_true(condition: bool, message: str) -> None:
    """Fail with ``message`` unless ``condition`` holds."""
    _untampered()
    if not bool(condition):
        raise GradingError(message)


@contextlib.contextmanager
def substitute(namespace: dict, **replacements):
    """Temporarily replace names in ``namespace`` (e.g. a notebook's ``globals()``) and restore them afterwards.

    A test cell uses it to check one exercise with the package's reference standing in for the others, so a mistake
    is charged once: ``with substitute(globals(), component_posteriors=ref.posteriors): ...``.
    """
    missing = object()
    saved = {k: namespace.get(k, missing) for k in replacements}
    namespace.update(replacements)
    try:
        yield
    finally:
        for k, v in saved.items():
            if v is missing:
                namespace.pop(k, None)
            else:
                namespace[k] = v
