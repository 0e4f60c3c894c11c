"""A video from a first frame and a signal (notebook 8, part 2; slide "OmniHuman: Condition on the First frame and
Audio, Generate the Video"), at toy scale.

The world: a sprite (a disc or a square, at a random place) whose size follows a toy "audio" track, its loudness
s_k in [0, 1] at frame k (``loudness``: a smooth random sum of two sines).  Its radius is
R_MIN + (R_MAX - R_MIN) s_k.  The first frame fixes what and where the sprite is; the signal says how big it is at
each later frame.  A frame model learns p(frame_k | first frame, s_k): its condition is [the first frame, the
loudness as one constant plane 2 s_k - 1] (``signal_condition``), and a video is generated frame by frame, all
frames from the same first frame (``generate``), so errors do not feed back.
    Baselines: copying the first frame, and the same network given the first frame only (``first_only=True``; it
    can only guess an average size).  ``size`` reads the sprite's radius from a frame (its ink), and
    ``follow_score`` measures how well the motion follows the signal: the correlation, per video, between the
    signal and the measured size.

Convention: frames in [-1, 1], background -1, sprite +1; frame 0 is the first frame; signals (n, T) in [0, 1].
"""
from __future__ import annotations

import math
from typing import Callable

import torch

from cs280diff.flows import schedules, solvers
from cs280diff.images.worlds import TEST_SEED, _disc_or_square
from cs280diff.validate import check_int

Tensor = torch.Tensor

__all__ = ["SIZE", "FRAMES", "R_MIN", "R_MAX", "loudness", "radius", "render", "videos", "signal_condition",
           "batch", "sampler", "test_set", "generate", "size", "correlation", "follow_score", "evaluate"]

SIZE, FRAMES = 16, 16
R_MIN, R_MAX = 1.5, 4.5  # the sprite's radius at loudness 0 and 1 (pixels)


def loudness(n: int, generator: torch.Generator, frames: int = FRAMES) -> Tensor:
    """(n, frames) smooth random loudness tracks in [0, 1]: 1/2 + 1/2 (a sin(w1 k + p1) + (1 - a) sin(w2 k + p2))."""
    n, frames = check_int(n, "n"), check_int(frames, "frames", lo=2)
    u = torch.rand(n, 5, generator=generator)
    k = torch.arange(frames, dtype=torch.float32)[None]
    w1, w2 = 0.25 + 0.35 * u[:, :1], 0.6 + 0.6 * u[:, 1:2]  # two frequencies (radians per frame)
    a = 0.5 + 0.5 * u[:, 2:3]  # the weight of the slower one
    wave = a * torch.sin(w1 * k + 2 * math.pi * u[:, 3:4]) + (1 - a) * torch.sin(w2 * k + 2 * math.pi * u[:, 4:5])
    return 0.5 + 0.5 * wave


def radius(signal: Tensor) -> Tensor:
    """Loudness in [0, 1] (any shape) -> the sprite's radius in pixels."""
    return R_MIN + (R_MAX - R_MIN) * signal


def render(centre: Tensor, r: Tensor, square: Tensor) -> Tensor:
    """(n, 2) centres, (n,) radii, (n,) bool kinds -> (n, 1, SIZE, SIZE) frames, the sprite +1 on -1."""
    return (2 * _disc_or_square(centre[:, 0], centre[:, 1], r, square, SIZE) - 1)[:, None]


def videos(n: int, generator: torch.Generator, frames: int = FRAMES) -> dict:
    """n videos: {"frames": (n, frames, 1, S, S), "signal": (n, frames)}; at its largest the sprite's edge
    reaches the border pixels' centres, no further."""
    n = check_int(n, "n")
    signal = loudness(n, generator, frames)
    u = torch.rand(n, 3, generator=generator)
    lo, hi = R_MAX + 0.5, SIZE - R_MAX - 0.5
    centre, square = lo + (hi - lo) * u[:, :2], u[:, 2] < 0.5
    r = radius(signal)  # (n, frames)
    out = torch.stack([render(centre, r[:, k], square) for k in range(frames)], 1)
    return {"frames": out, "signal": signal}


def signal_condition(first: Tensor, s: Tensor) -> Tensor:
    """The frame model's condition: [the first frame (n, 1, S, S), the loudness s (n,) in [0, 1] as one constant
    plane 2 s - 1], (n, 2, S, S)."""
    plane = (2 * s.to(first.dtype) - 1)[:, None, None, None].expand(-1, 1, *first.shape[-2:])
    return torch.cat([first, plane], 1)


def batch(n: int, generator: torch.Generator, first_only: bool = False) -> tuple[Tensor, Tensor]:
    """n training pairs (frame k (n, 1, S, S), cond): k drawn in 1..FRAMES-1; cond is ``signal_condition`` of the
    first frame and s_k, (n, 2, S, S), or the first frame alone (n, 1, S, S) with ``first_only``."""
    v = videos(n, generator)
    k = torch.randint(1, FRAMES, (n,), generator=generator)
    rows = torch.arange(n)
    first, frame = v["frames"][:, 0], v["frames"][rows, k]
    return frame, (first if first_only else signal_condition(first, v["signal"][rows, k]))


def sampler(first_only: bool = False) -> Callable:
    """``sample_data(n, generator) -> (x1, {"cond": cond})`` for ``nets.training.train``."""
    def sample_data(n, generator):
        x1, cond = batch(n, generator, first_only)
        return x1, {"cond": cond}

    return sample_data


def test_set(n: int = 128) -> dict:
    """Held-out videos (``videos``), the same every time (their own seed)."""
    return videos(n, torch.Generator().manual_seed(TEST_SEED + 60))


def _check_signal(signal: Tensor, n: int) -> None:
    """A clear error for a signal that is not (n, T >= 2) of finite values in [0, 1]."""
    if not isinstance(signal, Tensor) or signal.dim() != 2 or signal.shape[0] != n or signal.shape[1] < 2:
        got = tuple(signal.shape) if isinstance(signal, Tensor) else type(signal).__name__
        raise ValueError(f"signal must be ({n}, T) with T >= 2 (one loudness per video and frame), got {got}")
    if not torch.isfinite(signal).all() or signal.min() < 0 or signal.max() > 1:
        raise ValueError("signal must hold finite loudness values in [0, 1]")


@torch.no_grad()
def generate(model, first: Tensor, signal: Tensor | None, *, n_steps: int = 10, seed: int = 0,
             encode: Callable | None = None) -> Tensor:
    """A video from its first frame (n, 1, S, S) and signal (n, T): frame k (k >= 1) sampled from the frame model
    given the first frame and s_k (Euler, n_steps; signal None: the first-frame-only model).  ``encode(first, s_k)``
    builds the condition (default ``signal_condition``; notebook 8 passes the student's).  Returns
    (n, T, 1, S, S) with the given first frame as frame 0; with signal None, T = FRAMES."""
    encode = encode or signal_condition
    n_steps = check_int(n_steps, "n_steps")
    if signal is not None:
        _check_signal(signal, first.shape[0])
    frames = FRAMES if signal is None else signal.shape[1]
    grid = schedules.uniform(n_steps).to(first.device)
    g = torch.Generator().manual_seed(seed)
    out = [first]
    for k in range(1, frames):
        z = torch.randn(first.shape, generator=g).to(first.device)
        cond = first if signal is None else encode(first, signal[:, k].to(first.device))
        out.append(solvers.sample(model, z, grid, cond={"cond": cond}))  # frame k, from the first frame and s_k
    return torch.stack(out, 1)


def size(frames: Tensor) -> Tensor:
    """Frames (..., 1, S, S) -> (...) the sprite's size: the square root of its ink ((frame + 1) / 2, clamped)."""
    return ((frames.clamp(-1, 1) + 1) / 2).sum((-3, -2, -1)).sqrt()


def correlation(a: Tensor, b: Tensor) -> Tensor:
    """Pearson correlation along the last axis of two (n, T) tensors -> (n,); 0 where either is constant."""
    a, b = a - a.mean(-1, keepdim=True), b - b.mean(-1, keepdim=True)
    den = (a.norm(dim=-1) * b.norm(dim=-1))
    return torch.where(den > 1e-6, (a * b).sum(-1) / den.clamp_min(1e-12), torch.zeros_like(den))


def follow_score(frames: Tensor, signal: Tensor) -> float:
    """How well a video follows its signal: the mean over videos of the correlation between s_k and the measured
    size of frame k, over frames 1..T-1.  frames (n, T, 1, S, S), signal (n, T)."""
    return float(correlation(size(frames[:, 1:]).double(), signal[:, 1:].double()).mean())


def evaluate(frames: Tensor, truth: Tensor, signal: Tensor) -> dict:
    """{"follow": ``follow_score``, "mse": per-pixel MSE of frames 1..T-1 against the true video}."""
    return {"follow": follow_score(frames, signal), "mse": float(((frames[:, 1:] - truth[:, 1:]) ** 2).mean())}
