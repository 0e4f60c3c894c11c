"""Progressive distillation (Salimans & Ho 2022) in velocity form, on this package's path (t = 0 noise, t = 1 data).

A teacher sampled with N uniform Euler steps (h = 1/N) is distilled into a student with N/2 steps: at the student's
grid times t ∈ {0, 2h, ..., 1 − 2h} the student's one step of size 2h must land where two teacher steps land,
    x_{t+h} = x_t + h v_T(x_t, t),  x_{t+2h} = x_{t+h} + h v_T(x_{t+h}, t + h),  target = (x_{t+2h} − x_t) / (2h).
The student starts as a copy of the teacher; after the round it becomes the teacher of the next (N/2 -> N/4 ...).
"""
from __future__ import annotations

import copy
import math
from typing import Callable

import torch
from torch import nn
from cs280diff.progress import tqdm

from cs280diff.conventions import path
from cs280diff.validate import check_int, check_positive

Tensor = torch.Tensor

__all__ = ["pd_target", "student_times", "pd_round", "progressive_distillation"]


def pd_target(teacher: Callable, x_t: Tensor, t: Tensor, h: float, **cond) -> Tensor:
    """The velocity a student must output at (x_t, t) to match two teacher Euler steps of size h.

    x_t (batch, *dims); t a float or (batch,) tensor with t + 2h <= 1; returns (x_{t+2h} − x_t) / (2h), (batch, *dims).
    """
    t = torch.as_tensor(t, dtype=x_t.dtype, device=x_t.device)
    x_mid = x_t + h * teacher(x_t, t, **cond)  # first teacher Euler step, t -> t + h
    x_end = x_mid + h * teacher(x_mid, t + h, **cond)  # second teacher Euler step, t + h -> t + 2h
    return (x_end - x_t) / (2 * h)  # the slope of one student step of size 2h


def student_times(n_student: int, batch: int, generator: torch.Generator, dtype=torch.float32) -> Tensor:
    """(batch,) times drawn uniformly from the student's grid {0, 1/n, ..., (n − 1)/n} (n = n_student steps)."""
    k = torch.randint(0, n_student, (batch,), generator=generator)  # which student step
    return k.to(dtype) / n_student


def pd_round(teacher: Callable, student: nn.Module, optimizer: torch.optim.Optimizer, sample_x1: Callable,
             n_teacher: int, *, iters: int, batch_size: int, generator: torch.Generator, labels: bool = False,
             scheduler=None, progress: bool = False) -> list[float]:
    """Train ``student`` in place with ``optimizer`` to take n_teacher / 2 steps where the teacher takes n_teacher.

    sample_x1(n, generator) -> x1 (n, *dims), or (x1, y) when ``labels`` (then both nets get ``y=``).  Each iteration
    draws, in this order: x1 = sample_x1(batch_size, generator); x0 = torch.randn(x1.shape, generator=generator,
    dtype=x1.dtype); k = torch.randint(0, n_teacher // 2, (batch_size,), generator=generator), t = k / (n_teacher // 2)
    (the student's grid); then x_t = (1 − t) x0 + t x1, the target ``pd_target`` with h = 1 / n_teacher (no grad),
    the mean squared error of student(x_t, t) against it, and one optimizer step (``scheduler.step()`` after it when
    given).  Returns the loss of every iteration (floats).
    """
    n_teacher = check_int(n_teacher, "n_teacher", lo=2)
    if n_teacher % 2:
        raise ValueError(f"n_teacher must be even (the student takes n_teacher / 2 steps), got {n_teacher}")
    iters, h, n_student = check_int(iters, "iters"), 1.0 / n_teacher, n_teacher // 2
    device = next(student.parameters()).device
    losses = []
    student.train()
    for _ in tqdm(range(iters), disable=not progress, desc=f"PD {n_teacher} -> {n_student}", leave=False):
        data = sample_x1(batch_size, generator)
        x1, cond = (data[0], {"y": data[1].to(device)}) if labels else (data, {})
        x0 = torch.randn(x1.shape, generator=generator, dtype=x1.dtype)  # x0 ~ N(0, I)
        t = student_times(n_student, batch_size, generator, dtype=x1.dtype)  # on the student's grid
        x1, x0, t = x1.to(device), x0.to(device), t.to(device)
        x_t = path(x0, x1, t)  # x_t = (1 - t) x0 + t x1
        with torch.no_grad():
            target = pd_target(teacher, x_t, t, h, **cond)  # two teacher steps of size h
        loss = torch.mean((student(x_t, t, **cond) - target) ** 2)  # one student step of size 2h
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        if scheduler is not None:
            scheduler.step()
        losses.append(loss.item())
    student.eval()
    return losses


def progressive_distillation(teacher: nn.Module, sample_x1: Callable, *, start_steps: int = 64, end_steps: int = 1,
                             iters: int | Callable[[int], int] = 1000, batch_size: int = 512, lr: float = 1e-4,
                             seed: int = 0, labels: bool = False, init: nn.Module | None = None,
                             callback: Callable[[dict], None] | None = None, progress: bool = True
                             ) -> dict[int, nn.Module]:
    """Rounds start_steps -> start_steps / 2 -> ... -> end_steps; returns {n_steps: student} (frozen, eval mode).

    Round r's student is a copy of its teacher (round 1: ``teacher``, untouched; or a copy of ``init`` when the
    first teacher is not a network, e.g. an exact mixture oracle).  ``iters``: per round, or a function
    of the student's step count.  ``callback({"round", "n_steps", "student", "losses"})`` after every round.
    """
    start_steps, end_steps = check_int(start_steps, "start_steps"), check_int(end_steps, "end_steps")
    rounds = math.log2(start_steps / end_steps)
    if rounds != int(rounds) or rounds < 1:
        raise ValueError(f"start_steps / end_steps must be a power of two >= 2, got {start_steps} / {end_steps}")
    generator = torch.Generator().manual_seed(int(seed))
    if init is None and not isinstance(teacher, nn.Module):
        raise TypeError("the first student is a copy of the teacher: give a network as teacher, or init=")
    students, current, n = {}, teacher, start_steps
    bar = tqdm(range(int(rounds)), disable=not progress, desc="progressive distillation")
    for r in bar:
        first = init if (r == 0 and init is not None) else current
        student = copy.deepcopy(first).requires_grad_(True)  # initialised from its teacher
        n_iters = iters(n // 2) if callable(iters) else iters
        optimizer = torch.optim.Adam(student.parameters(), lr=check_positive(lr, "lr"))
        scheduler = torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, n_iters)  # cosine decay per round
        losses = pd_round(current, student, optimizer, sample_x1, n, iters=n_iters, batch_size=batch_size,
                          generator=generator, labels=labels, scheduler=scheduler)
        student.requires_grad_(False)
        n //= 2
        students[n] = current = student
        bar.set_postfix(steps=n, loss=f"{sum(losses[-50:]) / len(losses[-50:]):.4f}")
        if callback is not None:
            callback({"round": r + 1, "n_steps": n, "student": student, "losses": losses})
    return students
