"""Check helpers for the notebooks' test cells: explicit tolerances and messages that name the likely bug.

Every check raises ``GradingError`` (an AssertionError, so nbgrader marks the cell as failed) with a message meant
for the student, and prints a ✔ line when it passes. ``substitute`` lets a test cell check one exercise in isolation
by standing the package's reference in for the student's other answers.

Only a failed check fails a cell.  nbgrader 0.9 scores a test cell 0 as soon as it has *any* output on stderr, so a
warning, a log line or a text progress bar from correct student code would wipe out the exercise while the cell still
printed its ✔ lines.  While nbgrader executes a notebook (``NBGRADER_EXECUTION`` is set), importing this module
therefore sends everything meant for stderr to stdout, each line marked ``[stderr]`` so the student still sees it as
a note: Python's ``sys.stderr`` (warnings, ``print(..., file=sys.stderr)``, tqdm), the logging handlers that write to
it, and file descriptor 2 (output of compiled code).  Every notebook imports ``grading`` before its first test cell
(tests/test_pipeline.py checks it).
"""
from __future__ import annotations

import contextlib
import io
import logging
import os
import sys
from typing import Callable, Mapping

import torch

Tensor = torch.Tensor


class StderrAsNote(io.TextIOBase):
    """A text stream that writes to the *current* ``sys.stdout``, each line prefixed with ``[stderr] ``."""

    def __init__(self):
        self._at_line_start = True

    def writable(self) -> bool:
        return True

    def write(self, text: str) -> int:
        out = []
        for piece in text.replace("\r", "\n").splitlines(keepends=True):
            if self._at_line_start and piece.strip():
                out.append("[stderr] ")
            out.append(piece)
            self._at_line_start = piece.endswith("\n")
        sys.stdout.write("".join(out))
        return len(text)

    def flush(self) -> None:
        sys.stdout.flush()


def stderr_to_stdout() -> None:
    """Send everything meant for stderr to stdout as ``[stderr]`` notes (see the module docstring).  Idempotent."""
    if isinstance(sys.stderr, StderrAsNote):
        return
    old, note = sys.stderr, StderrAsNote()
    for logger in [logging.getLogger()] + [lg for lg in logging.Logger.manager.loggerDict.values()
                                           if isinstance(lg, logging.Logger)]:
        for handler in logger.handlers:
            if isinstance(handler, logging.StreamHandler) and handler.stream in (old, sys.__stderr__):
                handler.setStream(note)
    sys.stderr = note
    with contextlib.suppress(OSError):
        os.dup2(1, 2)  # compiled code writing to file descriptor 2 now writes where stdout goes


if os.environ.get("NBGRADER_EXECUTION"):
    stderr_to_stdout()


class GradingError(AssertionError):
    """A failed check; the message says what was expected and, where it can tell, the likely bug."""


def passed(message: str) -> None:
    """Print a success line."""
    print(f"\u2714 {message}")


def rel_error(a: Tensor, b: Tensor) -> float:
    """cs231n's relative error: max |a - b| / max(1e-8, |a| + |b|), elementwise maximum."""
    a, b = a.double(), b.double()
    return ((a - b).abs() / ((a.abs() + b.abs()).clamp_min(1e-8))).max().item()


def call(fn: Callable, *args, name: str | None = None, **kwargs):
    """Call a student's function, turning 'not implemented yet' and crashes into a clear GradingError."""
    label = name or getattr(fn, "__name__", "your function")
    try:
        return fn(*args, **kwargs)
    except NotImplementedError:
        raise GradingError(f"{label} is not implemented yet (it still raises NotImplementedError)") from None
    except GradingError:
        raise
    except Exception as err:  # a crash in student code is a failed check, with the original error attached
        raise GradingError(f"{label} raised {type(err).__name__}: {err}") from err


def check_tensor(value, *, name: str, shape: tuple | None = None, dtype: torch.dtype | None = None,
                 device: torch.device | str | None = None) -> Tensor:
    """Check that ``value`` is a finite tensor of the given shape, dtype and device."""
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
