"""What keeps grading honest: stderr shown as notes, tamper detection, and tripwires on an exercise's own reference.

Used by ``cs280diff.grading`` (the check helpers that test cells call); nothing here is for students to call.

- ``stderr_to_stdout()``: nbgrader 0.9 scores a test cell with any stderr output as 0, so while nbgrader executes a
  notebook everything meant for stderr goes to stdout, each line marked ``[stderr]``.
- ``tampering()``: what a notebook changed in the package or the interpreter: a function or class of a cs280diff
  module replaced or deleted (including a swapped ``__code__``), a cs280diff entry of ``sys.modules`` replaced, a
  builtin or a torch function replaced.  The truth is the package's source on disk: every ``def`` and ``class`` of a
  module must still be the object compiled from that module's file.  The check helpers refuse to grade while it is
  not empty.
- ``disarmed(refs, exercise)``: while the function under test runs, each reference in ``refs`` (the package's own
  answer to the exercise) has its code replaced by a tripwire, so calling it by any name or alias fails the check.
"""
from __future__ import annotations

import ast
import builtins
import contextlib
import functools
import inspect
import io
import logging
import os
import sys
import types
from pathlib import Path

import torch

PACKAGE_DIR = Path(__file__).resolve().parent
# The interpreter as it was when grading started (before any answer cell): the builtin functions and types, less
# those IPython and ipykernel rebind themselves (input per execution, the display hook's _, __, ___, ...).
_KERNEL_OWNED = {"input", "raw_input", "display", "get_ipython", "exit", "quit", "help"}
_BUILTINS = {k: v for k, v in vars(builtins).items()
             if (not k.startswith("_") or k in ("__import__", "__build_class__")) and k not in _KERNEL_OWNED
             and isinstance(v, (type, types.BuiltinFunctionType))}
_TORCH = {k: v for k, v in vars(torch).items() if callable(v) and not isinstance(v, types.ModuleType)}
_TENSOR = {k: v for k, v in vars(torch.Tensor).items() if callable(v)}


class GradingError(AssertionError):
    """A failed check; the message says what was expected and, where it can tell, the likely bug."""


class ShortcutError(GradingError):
    """The function under test called the package's reference answer to its own exercise."""


# ----------------------------------------------------------------------------------------------- stderr as notes
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
    """Send Python's stderr, the logging handlers on it and file descriptor 2 to stdout as notes.  Idempotent."""
    if isinstance(sys.stderr, StderrAsNote):
        return
    old, note = sys.stderr, StderrAsNote()
    loggers = [logging.getLogger()] + [lg for lg in logging.Logger.manager.loggerDict.values()
                                       if isinstance(lg, logging.Logger)]
    for handler in (h for lg in loggers for h in lg.handlers):
        if isinstance(handler, logging.StreamHandler) and handler.stream in (old, sys.__stderr__):
            handler.setStream(note)
    sys.stderr = note
    with contextlib.suppress(OSError):
        os.dup2(1, 2)  # compiled code writing to file descriptor 2 now writes where stdout goes


# ----------------------------------------------------------------------------------------------- tamper detection
@functools.lru_cache(maxsize=None)
def _definitions(path: str) -> dict[str, dict[str, str | None]]:
    """{"": {name: None} of top-level defs and classes, class name: {attr: None or the def it aliases}}."""
    tree = ast.parse(Path(path).read_text())
    out: dict[str, dict[str, str | None]] = {"": {}}
    for node in tree.body:
        if isinstance(node, (ast.FunctionDef, ast.ClassDef)):
            out[""][node.name] = None
        if isinstance(node, ast.ClassDef):
            body = out.setdefault(node.name, {})
            for item in node.body:
                if isinstance(item, ast.FunctionDef):
                    body[item.name] = None
                elif isinstance(item, ast.Assign) and isinstance(item.value, ast.Name):
                    body.update({t.id: item.value.id for t in item.targets if isinstance(t, ast.Name)})
    return out


def _code_file(obj) -> str | None:
    """The file an object's code was compiled from (functions, through decorators, properties, static methods)."""
    code = _code(obj)
    return code.co_filename if code is not None else None


def _check_module(name: str, module, problems: list[str]) -> None:
    """Compare every def and class of a cs280diff module with its source file (the first time the module is seen;
    afterwards with the objects verified then, which is much faster)."""
    seen = _VERIFIED.get(name)
    if seen is not None and seen[0] is module:
        for namespace, attr, obj, fn, code, label in seen[1]:
            if namespace.get(attr) is not obj or (fn is not None and fn.__code__ is not code):
                problems.append(f"{label} was replaced")
        return
    path = getattr(module, "__file__", None)
    resolved = Path(path).resolve() if isinstance(path, str) else None
    if not isinstance(module, types.ModuleType) or resolved is None or PACKAGE_DIR not in resolved.parents:
        problems.append(f"sys.modules[{name!r}] is not the package's module any more")
        return
    before = len(problems)
    entries = []
    path = str(resolved)
    defs = _definitions(path)
    for attr in defs[""]:
        obj = getattr(module, attr, None)
        if obj is None:
            problems.append(f"{name}.{attr} was deleted")
        elif isinstance(obj, type):
            if obj.__module__ != name:
                problems.append(f"{name}.{attr} was replaced by another class")
                continue
            entries.append(_entry(module.__dict__, attr, obj, f"{name}.{attr}"))
            for meth, alias in defs.get(attr, {}).items():
                value = inspect.getattr_static(obj, meth, None)
                if alias is not None:
                    if value is not inspect.getattr_static(obj, alias, None):
                        problems.append(f"{name}.{attr}.{meth} was replaced")
                elif value is None or (_code_file(value) is not None and _code_file(value) != path):
                    problems.append(f"{name}.{attr}.{meth} was replaced or deleted")
                entries.append(_entry(obj.__dict__, meth, value, f"{name}.{attr}.{meth}"))
        elif _code_file(obj) != path:
            problems.append(f"{name}.{attr} was replaced")
        else:
            entries.append(_entry(module.__dict__, attr, obj, f"{name}.{attr}"))
    if len(problems) == before:
        _VERIFIED[name] = (module, entries)


_VERIFIED: dict[str, tuple] = {}  # module name -> (module, [_entry(...)]) once checked against its source


def _function(obj):
    """The plain function behind a function, method, property or decorated function (None for other objects)."""
    if isinstance(obj, property):
        obj = obj.fget
    obj = getattr(obj, "__func__", obj)  # static, class and bound methods
    with contextlib.suppress(ValueError):
        obj = inspect.unwrap(obj)
    return obj if isinstance(getattr(obj, "__code__", None), types.CodeType) else None


def _code(obj) -> types.CodeType | None:
    fn = _function(obj)
    return fn.__code__ if fn is not None else None


def _entry(namespace: dict, attr: str, obj, label: str) -> tuple:
    """What a later check compares: the namespace still holds ``obj``, whose function still runs its code."""
    fn = _function(obj)
    return namespace, attr, obj, fn, (fn.__code__ if fn is not None else None), label


def _same(now, then) -> bool:
    """``now`` is ``then``, or a wrapper of it (torch wraps some of its functions lazily, e.g. for torch.compile)."""
    if now is then:
        return True
    with contextlib.suppress(ValueError):
        return now is not None and inspect.unwrap(now) is then
    return False


def tampering() -> list[str]:
    """What the running notebook changed in the package or the interpreter (empty when nothing was)."""
    current = builtins.__dict__
    problems = [f"builtins.{k} was replaced" for k, v in _BUILTINS.items() if current.get(k) is not v]
    if problems:  # the checks below would run on the replaced builtins
        return problems
    torch_now, tensor_now = torch.__dict__, torch.Tensor.__dict__
    problems += [f"torch.{k} was replaced" for k, v in _TORCH.items() if not _same(torch_now.get(k), v)]
    problems += [f"torch.Tensor.{k} was replaced" for k, v in _TENSOR.items() if not _same(tensor_now.get(k), v)]
    for name, module in list(sys.modules.items()):
        if name == "cs280diff" or name.startswith("cs280diff."):
            _check_module(name, module, problems)
    return problems


# ----------------------------------------------------------------------------------------------- shortcut tripwires
_FIRED: list[str] = []
_DISARMED = [0]  # how many disarmed blocks are active (a check helper may run inside one)


def fire(label: str):
    """Called by a tripwire: record it (so a caught exception still counts) and fail."""
    _FIRED.append(label)
    raise ShortcutError(label)


def _tripwire_code(label: str) -> types.CodeType:
    src = ("def tripwire(*args, **kwargs):\n"
           f"    return __import__('cs280diff.integrity', fromlist=['fire']).fire({label!r})\n")
    namespace: dict = {}
    exec(compile(src, "<cs280diff tripwire>", "exec"), namespace)  # noqa: S102  (our own constant source)
    return namespace["tripwire"].__code__


def _plain_function(ref) -> types.FunctionType:
    fn = _function(ref)
    if not isinstance(fn, types.FunctionType) or fn.__code__.co_freevars:
        raise TypeError(f"cannot guard {ref!r}: only plain functions and methods without closures can be disarmed")
    return fn


def disarming() -> bool:
    """True while a ``disarmed`` block is active: the package's references then carry our own tripwire code, which
    the tamper check must not mistake for an answer cell's tampering."""
    return _DISARMED[0] > 0


@contextlib.contextmanager
def disarmed(refs, exercise: str):
    """Inside this block every function in ``refs`` fails when called; yields the list of tripwires that fired."""
    fns = [_plain_function(r) for r in refs]
    saved = [(fn, fn.__code__) for fn in fns]
    start = len(_FIRED)
    fired: list[str] = []
    _DISARMED[0] += 1
    try:
        for fn in fns:
            label = (f"{exercise} calls {fn.__module__}.{fn.__qualname__}, the package's own answer to this "
                     f"exercise: write it yourself (the reference is off limits in this exercise's test)")
            fn.__code__ = _tripwire_code(label)
        yield fired
    finally:
        for fn, code in saved:
            fn.__code__ = code
        _DISARMED[0] -= 1
        fired += _FIRED[start:]
        del _FIRED[start:]
