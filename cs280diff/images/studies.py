"""Sampler studies on the digits, shared by notebook 4, tests/ and benchmarks/: one knob swept at equal NFE.

Convention (docs/conventions.md): t = 0 noise, t = 1 data; EDM's noise level sigma = (1 - t) / t.  Every run uses
the 359 labels of the test split, so FD-digits is measured at the n of its real-data floor
(``metrics.real_data_floors()``), and seed s fixes both the starting noise (``manual_seed(s)``) and the sampler's
fresh noise (``manual_seed(1000 + s)``): two settings of the knob differ only by the knob.
"""
from __future__ import annotations

import math
from typing import Callable

import torch

from cs280diff.flows import schedules, stochastic
from cs280diff.images import digits, metrics
from cs280diff.validate import check_int

Tensor = torch.Tensor

__all__ = ["study_labels", "start_noise", "churn_saturation", "churn_fd"]


def study_labels(device=None) -> Tensor:
    """The 359 class labels of the test split (int64, in its order): the labels of every study's samples."""
    return digits.load_digits("test")[1].to(device or "cpu")


def start_noise(seed: int, n: int = 359, device=None) -> Tensor:
    """Starting noise x0 ~ N(0, I) of shape (n, 1, 8, 8) from ``manual_seed(seed)``, drawn on the CPU."""
    return torch.randn(n, 1, 8, 8, generator=torch.Generator().manual_seed(seed)).to(device or "cpu")


def churn_saturation(n_steps: int) -> float:
    """The S_churn beyond which EDM's γ = min(S_churn / N, sqrt(2) - 1) is capped: (sqrt(2) - 1) N."""
    return (math.sqrt(2) - 1) * check_int(n_steps, "n_steps")


@torch.no_grad()
def churn_fd(model, S_churns, *, n_steps: int = 16, seeds=(0,), grid: Callable = schedules.edm_rho,
             S_tmin: float = 0.0, S_tmax: float = math.inf, renoise: Callable = stochastic.churn_renoise,
             device=None, progress: Callable | None = None) -> dict:
    """FD-digits and class accuracy of EDM's churn sampler (Heun steps: 2 N NFE for every S_churn) on the digits.

    Args:
        model: a class-conditional velocity field model(x, t, y=y) on (n, 1, 8, 8) images.
        S_churns: the values of S_churn to run (0 is the deterministic Heun ODE).
        n_steps: N, the number of Heun steps on ``grid(N)`` (EDM's rho-schedule by default).
        seeds: one run per seed and S_churn, all from the same noise for a given seed (see the module docstring).
        S_tmin, S_tmax: churn only where S_tmin <= sigma <= S_tmax, as in EDM.
        renoise: the re-noising step (a student's ``churn_renoise`` in notebook 4).
        progress: wraps the iterable of (S_churn, seed) pairs, e.g. tqdm.
    Returns:
        {"S_churn": list, "seeds": list, "FD": (len(S_churns), len(seeds)) float64, "acc": the same shape,
        "nfe": 2 N}.
    """
    S_churns, seeds = [float(s) for s in S_churns], [int(s) for s in seeds]
    labels = study_labels(device)
    fd = torch.zeros(len(S_churns), len(seeds), dtype=torch.float64)
    acc = torch.zeros_like(fd)
    pairs = [(i, j) for j in range(len(seeds)) for i in range(len(S_churns))]
    for i, j in (progress(pairs) if progress else pairs):
        x = stochastic.churn_sampler(model, start_noise(seeds[j], len(labels), device), grid(n_steps),
                                     S_churn=S_churns[i], S_tmin=S_tmin, S_tmax=S_tmax, renoise=renoise,
                                     generator=torch.Generator().manual_seed(1000 + seeds[j]), cond={"y": labels})
        fd[i, j] = metrics.fd_digits(x.cpu())  # distance of the samples' features to the training digits'
        acc[i, j] = metrics.class_accuracy(x.cpu(), labels.cpu())  # share classified as the class asked for
    return {"S_churn": S_churns, "seeds": seeds, "FD": fd, "acc": acc, "nfe": 2 * n_steps}

