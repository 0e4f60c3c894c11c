"""Runtime helpers: device choice, seeding, the fast/full profile and the environment doctor.

Profiles: ``fast`` (CPU: CI, autograding, laptops) and ``full`` (GPU: Colab). The profile is ``fast`` when no GPU
is present or when nbgrader is executing the notebook (it sets ``NBGRADER_EXECUTION``), and ``full`` on a GPU.
Override with ``CS280DIFF_PROFILE=fast|full``; override the device with ``CS280DIFF_DEVICE=cpu|cuda|mps``.
"""
from __future__ import annotations

import os
import platform
import random
import sys

import numpy as np
import torch

PROFILE_ENV = "CS280DIFF_PROFILE"
DEVICE_ENV = "CS280DIFF_DEVICE"
PROFILES = ("fast", "full")


def _one_thread_while_grading() -> None:
    """nbgrader runs many kernels side by side: one torch thread each avoids CPU oversubscription."""
    if os.environ.get("NBGRADER_EXECUTION"):
        torch.set_num_threads(1)


_one_thread_while_grading()


def ipython_shell():
    """The running IPython shell (a notebook kernel or IPython), or None in plain Python."""
    try:
        from IPython import get_ipython
    except ImportError:
        return None
    return get_ipython()


def _no_figures_from_failed_cells() -> None:
    """In a notebook, a cell that raises shows its traceback and no figure and no progress bar: the panels it
    created before the error would be empty or half drawn, its bar stuck.  A post-execute callback closes them
    before matplotlib's inline backend sends the cell's figures (it is registered ahead of the backend's
    ``flush_figures``) and hides the bars of ``cs280diff.progress``."""
    shell = ipython_shell()
    if shell is None or not hasattr(shell, "events"):
        return

    def close_if_failed():
        failed = not shell.last_execution_succeeded
        if failed and "matplotlib.pyplot" in sys.modules:
            sys.modules["matplotlib.pyplot"].close("all")
        if "cs280diff.progress" in sys.modules:
            try:
                sys.modules["cs280diff.progress"].end_of_cell(failed)
            except Exception:  # noqa: BLE001 (tidying the page must never add an error of its own to the cell)
                pass

    callbacks = shell.events.callbacks["post_execute"]
    if not any(getattr(c, "__name__", "") == "close_if_failed" for c in callbacks):
        callbacks.insert(0, close_if_failed)  # before the inline backend's flush_figures


_no_figures_from_failed_cells()


def cpu_threads() -> int:
    """Torch threads for large batched work on the CPU (convolutions over hundreds of images): every core this
    process may use, capped by ``OMP_NUM_THREADS`` when it is set (``make test`` sets 1), and 1 while nbgrader grades.
    Small tensors (the 2D toys) run fastest on one thread; notebooks switch to this for their image sections."""
    if os.environ.get("NBGRADER_EXECUTION"):
        return 1
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
    omp = os.environ.get("OMP_NUM_THREADS", "").strip()
    return max(1, min(cores, int(omp))) if omp.isdigit() else cores


def _mps_available() -> bool:
    mps = getattr(torch.backends, "mps", None)
    return bool(mps is not None and mps.is_available())


def get_device(prefer: str | None = None) -> torch.device:
    """The device to compute on: ``prefer``, else $CS280DIFF_DEVICE, else cuda, then mps, then cpu."""
    name = prefer or os.environ.get(DEVICE_ENV)
    if name:
        device = torch.device(name)
        if device.type == "cuda" and not torch.cuda.is_available():
            raise RuntimeError(f"device {name!r} was asked for, but torch sees no CUDA GPU here")
        if device.type == "mps" and not _mps_available():
            raise RuntimeError(f"device {name!r} was asked for, but torch sees no Apple MPS device here")
        return device
    if torch.cuda.is_available():
        return torch.device("cuda")
    if _mps_available():
        return torch.device("mps")
    return torch.device("cpu")


def field_device(field) -> torch.device:
    """The device a field computes on: its parameters' device for an ``nn.Module`` with parameters, else the CPU."""
    if isinstance(field, torch.nn.Module):
        p = next(field.parameters(), None)
        if p is not None:
            return p.device
    return torch.device("cpu")


def is_grading() -> bool:
    """True while nbgrader executes the notebook (autograde or validate)."""
    return bool(os.environ.get("NBGRADER_EXECUTION"))


def get_profile() -> str:
    """``'fast'`` or ``'full'``: $CS280DIFF_PROFILE if set, else fast when grading or without a GPU, else full."""
    name = os.environ.get(PROFILE_ENV, "").strip().lower()
    if name:
        if name not in PROFILES:
            raise ValueError(f"{PROFILE_ENV} must be one of {PROFILES}, got {name!r}")
        return name
    if is_grading() or not torch.cuda.is_available():
        return "fast"
    return "full"


def pick(fast, full, profile: str | None = None):
    """Choose a hyperparameter by profile: ``pick(fast=2_000, full=50_000)``."""
    profile = profile or get_profile()
    if profile not in PROFILES:
        raise ValueError(f"profile must be one of {PROFILES}, got {profile!r}")
    return fast if profile == "fast" else full


def seed_everything(seed: int) -> torch.Generator:
    """Seed Python, NumPy and torch (all devices); returns a CPU ``torch.Generator`` seeded with ``seed``."""
    if not isinstance(seed, (int, np.integer)) or isinstance(seed, bool):
        raise TypeError(f"seed must be an int, got {type(seed).__name__}")
    random.seed(int(seed))
    np.random.seed(int(seed) % 2**32)
    torch.manual_seed(int(seed))
    return torch.Generator().manual_seed(int(seed))


def make_generator(seed: int, device: torch.device | str = "cpu") -> torch.Generator:
    """A fresh ``torch.Generator`` on ``device`` seeded with ``seed`` (for reproducible noise)."""
    return torch.Generator(device=torch.device(device)).manual_seed(int(seed))


def to_device(x: torch.Tensor, device) -> torch.Tensor:
    """``x.to(device)``; a CPU tensor bound for a GPU goes through pinned memory without blocking.

    A copy from ordinary (pageable) host memory makes the host wait for every kernel queued before it; a pinned,
    non-blocking copy is queued like a kernel, so a loop that draws its noise on the CPU keeps the GPU fed.
    (PyTorch keeps the pinned buffer alive until the copy has run.)
    """
    device = torch.device(device)
    if device.type == "cuda" and x.device.type == "cpu":
        return x.pin_memory().to(device, non_blocking=True)  # queued on the stream, no host wait
    return x.to(device)


def randn(shape, generator: torch.Generator | None = None, device=None, dtype=None) -> torch.Tensor:
    """Standard normal noise drawn on the generator's device and moved to ``device`` (``to_device``).

    Drawing on the generator's device (CPU by default) makes the same seed give the same noise on CPU and GPU.
    """
    gen_device = generator.device if generator is not None else torch.device("cpu")
    z = torch.randn(tuple(shape), generator=generator, device=gen_device, dtype=dtype or torch.get_default_dtype())
    return to_device(z, device) if device is not None else z


def summary() -> str:
    """One line: device, profile and whether nbgrader is grading."""
    return f"device={get_device()} profile={get_profile()} grading={is_grading()} torch={torch.__version__}"


def doctor() -> str:
    """A report on the environment: versions, device, profile, threads."""
    import importlib.metadata as md

    lines = [
        f"cs280diff  {_version('cs280diff', md)}",
        f"python     {sys.version.split()[0]} ({platform.platform()})",
    ]
    for pkg in ("torch", "numpy", "scipy", "matplotlib", "ipywidgets", "tqdm", "nbgrader", "jupyterlab"):
        lines.append(f"{pkg:<10} {_version(pkg, md)}")
    cuda = torch.cuda.get_device_name(0) if torch.cuda.is_available() else "none"
    lines += [
        f"device     {get_device()} (cuda: {cuda}; mps: {_mps_available()})",
        f"profile    {get_profile()} (override with {PROFILE_ENV}=fast|full)",
        f"threads    {torch.get_num_threads()} torch threads on {os.cpu_count()} cpus",
        f"grading    {is_grading()} (NBGRADER_EXECUTION={os.environ.get('NBGRADER_EXECUTION', '')!r})",
    ]
    return "\n".join(lines)


def _version(pkg: str, md) -> str:
    try:
        return md.version(pkg)
    except md.PackageNotFoundError:
        return "not installed"
