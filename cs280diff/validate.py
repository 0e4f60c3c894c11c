"""Every argument check of the package, in one place, with messages that say what was expected.

Times follow the sheet in ``docs/conventions.md``: t in [0, 1], t = 0 noise, t = 1 data.  A time within ``T_TOL`` of
[0, 1] is clamped into it, because adaptive solvers (torchdiffeq's and flow_matching's ``dopri5``) evaluate the field
slightly past their end time and interpolate back; a NaN, or a time further out, raises.

Validation happens at the entry points.  The sampling loop (``flows.solvers.sample``) checks its inputs once, runs its
first step with every check on, and the remaining steps inside ``trusted()``: there the checks that need the *values*
of a tensor (NaN, ranges of t and of labels) are skipped, so a GPU never waits for the host once per NFE.  Checks of
types, shapes, dtypes and devices (metadata) always run.  Outside ``trusted()`` everything is checked.
"""
from __future__ import annotations

import contextlib
import contextvars
import math
import numbers

import torch

Tensor = torch.Tensor

__all__ = ["T_TOL", "trusted", "is_trusted", "check_x", "check_t", "check_same_shape", "check_int", "check_positive",
           "check_number", "check_fraction", "check_generator", "check_grid"]

T_TOL = 0.1  # times in [-T_TOL, 0) and (1, 1 + T_TOL] are clamped to 0 and 1 (adaptive solvers overshoot)

_TRUSTED = contextvars.ContextVar("cs280diff_trusted", default=False)


@contextlib.contextmanager
def trusted():
    """Skip the value checks (NaN, ranges) inside this block; the caller has validated the inputs already."""
    token = _TRUSTED.set(True)
    try:
        yield
    finally:
        _TRUSTED.reset(token)


def is_trusted() -> bool:
    """True inside ``trusted()``."""
    return _TRUSTED.get()


# ----------------------------------------------------------------------------------------------- tensors
def check_x(x, name: str = "x") -> Tensor:
    """Validate a batch ``x`` of shape (batch, *dims): a finite floating tensor with at least one dimension."""
    if not isinstance(x, Tensor):
        raise TypeError(f"{name} must be a torch.Tensor of shape (batch, *dims), got {type(x).__name__}; "
                        f"convert with torch.as_tensor({name}, dtype=torch.float32)")
    if not x.is_floating_point():
        raise TypeError(f"{name} must be a floating-point tensor, got dtype {x.dtype}; use {name}.float()")
    if x.ndim < 1:
        raise ValueError(f"{name} must have shape (batch, *dims), got a 0-d tensor")
    if not is_trusted() and not torch.isfinite(x).all():
        raise ValueError(f"{name} contains NaN or inf values")
    return x


def _range_error(name: str, bad: float, lo: float, hi: float, tol: float) -> ValueError:
    hint = ""
    if tol > 0 and lo - 1 <= bad <= hi + 1:
        hint = (f"; times within {tol:g} of the interval are clamped into it (adaptive solvers such as dopri5 step "
                f"slightly past their end time): a larger overshoot comes from loose rtol/atol, so tighten them")
    return ValueError(f"{name} must lie in [{lo:g}, {hi:g}] (t = 0 is noise, t = 1 is data); got {bad:g}{hint}")


def check_t(t, x: Tensor | None = None, *, lo: float = 0.0, hi: float = 1.0, name: str = "t",
            tol: float = T_TOL) -> Tensor:
    """Validate a time ``t`` (float, 0-d or (batch,) tensor); returns it clamped into [lo, hi] as a tensor.

    The result has x's dtype and device (a Python number is written there without a host-to-device copy).  Raises a
    clear error for NaN, a time more than ``tol`` outside [lo, hi], a batch size that does not match ``x``, or a
    tensor on another device than ``x``.  Inside ``trusted()`` a tensor's values are not inspected (only clamped).
    """
    if isinstance(t, bool) or not isinstance(t, (numbers.Real, Tensor)):
        raise TypeError(f"{name} must be a float or a torch.Tensor of shape () or (batch,), got {type(t).__name__}")
    if not isinstance(t, Tensor):
        value = float(t)
        if math.isnan(value):
            raise ValueError(f"{name} is NaN")
        if not lo - tol <= value <= hi + tol:
            raise _range_error(name, value, lo, hi, tol)
        value = min(max(value, lo), hi)  # clamp an adaptive solver's overshoot
        if x is None:
            return torch.tensor(value, dtype=torch.get_default_dtype())
        return torch.full((), value, dtype=x.dtype, device=x.device)
    if x is not None and t.device != x.device:
        raise ValueError(f"{name} is on {t.device} but x is on {x.device}; move them to the same device")
    if t.ndim > 1:
        raise ValueError(f"{name} must have shape () or (batch,), got {tuple(t.shape)}")
    if t.ndim == 1 and x is not None and t.shape[0] not in (1, x.shape[0]):
        raise ValueError(f"{name} has {t.shape[0]} entries but x has batch size {x.shape[0]}")
    dtype = x.dtype if x is not None else t.dtype if t.is_floating_point() else torch.get_default_dtype()
    t = t.to(dtype)
    if not is_trusted():
        if torch.isnan(t).any():
            raise ValueError(f"{name} contains NaN")
        out = (t < lo - tol) | (t > hi + tol)
        if out.any():
            raise _range_error(name, t[out].flatten()[0].item(), lo, hi, tol)
    return t.clamp(lo, hi)


def check_same_shape(a: Tensor, b: Tensor, na: str, nb: str) -> None:
    """Raise unless ``a`` and ``b`` have the same shape."""
    if a.shape != b.shape:
        raise ValueError(f"{na} and {nb} must have the same shape, got {tuple(a.shape)} and {tuple(b.shape)}")


# ----------------------------------------------------------------------------------------------- numbers
def check_int(value, name: str, lo: int = 1) -> int:
    """An integer >= lo (bools refused)."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < lo:
        raise ValueError(f"{name} must be {'a positive int' if lo == 1 else f'an int >= {lo}'}, got {value!r}")
    return int(value)


def check_positive(value, name: str) -> float:
    """A finite number > 0."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real) or not 0 < value < math.inf:
        raise ValueError(f"{name} must be a finite number > 0, got {value!r}")
    return float(value)


def check_number(value, name: str, *, lo: float = 0.0, allow_inf: bool = False) -> float:
    """A number >= lo, finite unless ``allow_inf`` (NaN refused)."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real) or math.isnan(value) or value < lo \
            or (value == math.inf and not allow_inf):
        raise ValueError(f"{name} must be a {'' if allow_inf else 'finite '}number >= {lo:g}, got {value!r}")
    return float(value)


def check_fraction(value, name: str) -> float:
    """A number in [0, 1) (a probability that must leave something: dropout, condition dropout)."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real) or not 0.0 <= value < 1.0:
        raise ValueError(f"{name} must lie in [0, 1), got {value!r}")
    return float(value)


# ----------------------------------------------------------------------------------------------- sampling inputs
def check_generator(generator) -> torch.Generator:
    """A ``torch.Generator`` (fresh noise must be reproducible)."""
    if not isinstance(generator, torch.Generator):
        raise TypeError("pass generator=torch.Generator().manual_seed(seed): the fresh noise must be reproducible")
    return generator


def check_grid(grid: Tensor, *, backward: bool = False) -> Tensor:
    """Validate a time grid: 1-d, at least 2 points, inside [0, 1], strictly increasing (sampling: noise -> data) or,
    with ``backward=True``, strictly decreasing (inversion: data -> noise)."""
    if not isinstance(grid, Tensor) or grid.ndim != 1 or grid.numel() < 2:
        raise ValueError("a time grid must be a 1-d tensor with at least 2 points (t_0, ..., t_N)")
    if not torch.isfinite(grid).all() or grid.min() < 0 or grid.max() > 1:
        raise ValueError("a time grid must lie in [0, 1] (t = 0 is noise, t = 1 is data)")
    if backward and not (grid[1:] < grid[:-1]).all():
        raise ValueError("a backward (inversion) grid must be strictly decreasing: it runs from t = 1 (data) to t = 0 "
                         "(noise); flows.inversion.invert reverses a sampling grid for you")
    if not backward and not (grid[1:] > grid[:-1]).all():
        raise ValueError("a time grid must be strictly increasing: sampling runs from t = 0 (noise) to t = 1 (data); "
                         "to integrate backwards (inversion) use flows.inversion.invert")
    return grid
