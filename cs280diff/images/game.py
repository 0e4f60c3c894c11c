"""A playable toy world (notebook 8, part 2; slide "Generate a playable world ...: Condition on the First Frame and
Actions, Generate an Interactive Environment").

The simulator: a disc of radius 2 on a 16 × 16 frame, moved by one of four actions (up, down, left, right) by 2
pixels, stopped by the walls.  A world model learns the next frame given the previous frame and the action
(``batch``: cond = [previous frame, the action one-hot as 4 constant planes]) and is *rolled out* autoregressively:
each generated frame is the context of the next (``rollout``).  Its errors feed back, so the sprite drifts; training
with noise on the context frames (``sampler(noise_aug=...)``), as many world models do, makes it robust to its own
imperfect frames.  ``position`` reads the sprite's position from a frame (its ink's centre of mass).

Convention: frames in [-1, 1], background -1, sprite +1; positions (x, y) in pixels, y down.
"""
from __future__ import annotations

from typing import Callable

import torch

from cs280diff.flows import schedules, solvers
from cs280diff.images.worlds import TEST_SEED, _disc_or_square, _grid
from cs280diff.nets.conditioning import concat_condition
from cs280diff.validate import check_int

Tensor = torch.Tensor

__all__ = ["SIZE", "RADIUS", "ACTIONS", "MOVES", "render", "move", "random_positions", "condition", "batch",
           "sampler", "position", "true_rollout", "rollout", "sprite_errors", "rollout_errors", "test_episodes"]

SIZE, RADIUS = 16, 2.0
ACTIONS = ("up", "down", "left", "right")
MOVES = torch.tensor([[0.0, -2.0], [0.0, 2.0], [-2.0, 0.0], [2.0, 0.0]])  # (dx, dy) of each action, y down
LO, HI = RADIUS + 0.5, SIZE - RADIUS - 0.5  # the walls: the centre stays in [LO, HI]


def render(pos: Tensor) -> Tensor:
    """(n, 2) positions -> (n, 1, SIZE, SIZE) frames: the disc (soft edge) as +1 on a -1 background."""
    r = torch.full((pos.shape[0],), RADIUS)
    cover = _disc_or_square(pos[:, 0], pos[:, 1], r, torch.zeros(pos.shape[0], dtype=torch.bool), SIZE)
    return (2 * cover - 1)[:, None]


def move(pos: Tensor, action: Tensor) -> Tensor:
    """The simulator's step: (n, 2) positions, (n,) actions in 0..3 -> the new positions, stopped by the walls."""
    return (pos + MOVES[action.long()]).clamp(LO, HI)


def random_positions(n: int, generator: torch.Generator) -> Tensor:
    """(n, 2) positions drawn uniformly inside the walls."""
    return LO + (HI - LO) * torch.rand(check_int(n, "n"), 2, generator=generator)


def condition(frame: Tensor, action: Tensor) -> Tensor:
    """The world model's condition: [the previous frame, the action one-hot as 4 constant planes], (n, 5, S, S)."""
    one_hot = torch.nn.functional.one_hot(action.long().to(frame.device), len(ACTIONS)).to(frame.dtype)
    return concat_condition(frame, vectors=[one_hot])


def batch(n: int, generator: torch.Generator, noise_aug: float = 0.0) -> tuple[Tensor, Tensor]:
    """n training pairs (next frame (n, 1, S, S), cond (n, 5, S, S)); the context frame gets Gaussian noise of a
    standard deviation drawn uniformly from [0, noise_aug] (0: clean context)."""
    pos = random_positions(n, generator)
    action = torch.randint(len(ACTIONS), (n,), generator=generator)
    frame = render(pos)
    if noise_aug > 0:
        sigma = noise_aug * torch.rand(n, 1, 1, 1, generator=generator)
        frame = frame + sigma * torch.randn(frame.shape, generator=generator)  # noise augmentation of the context
    return render(move(pos, action)), condition(frame, action)


def sampler(noise_aug: float = 0.0) -> Callable:
    """``sample_data(n, generator) -> (x1, {"cond": cond})`` for ``nets.training.train``."""
    def sample_data(n, generator):
        x1, cond = batch(n, generator, noise_aug)
        return x1, {"cond": cond}

    return sample_data


def position(frames: Tensor) -> Tensor:
    """(n, 1, S, S) frames -> (n, 2) the centre of mass of their ink ((frame + 1) / 2, clamped to [0, 1])."""
    w = ((frames[:, 0].clamp(-1, 1) + 1) / 2).double()
    gx, gy = (g.double().to(frames.device) for g in _grid(frames.shape[-1]))
    mass = w.sum((1, 2)).clamp_min(1e-9)
    return torch.stack([(w * gx).sum((1, 2)) / mass, (w * gy).sum((1, 2)) / mass], 1).float()


def true_rollout(pos0: Tensor, actions: Tensor) -> Tensor:
    """The simulator's positions (n, T + 1, 2) from pos0 (n, 2) under actions (n, T)."""
    out = [pos0]
    for k in range(actions.shape[1]):
        out.append(move(out[-1], actions[:, k]))
    return torch.stack(out, 1)


@torch.no_grad()
def rollout(model, frame0: Tensor, actions: Tensor, *, n_steps: int = 10, seed: int = 0) -> Tensor:
    """The world model rolled out from frame0 (n, 1, S, S) under actions (n, T), each frame generated from the
    previous *generated* frame (Euler, n_steps per frame, seeded noise): (n, T, 1, S, S)."""
    grid = schedules.uniform(check_int(n_steps, "n_steps")).to(frame0.device)
    g = torch.Generator().manual_seed(seed)
    frame, out = frame0, []
    for k in range(actions.shape[1]):
        z = torch.randn(frame0.shape, generator=g).to(frame0.device)
        frame = solvers.sample(model, z, grid, cond={"cond": condition(frame, actions[:, k])})  # the next frame
        out.append(frame)
    return torch.stack(out, 1)


def sprite_errors(frames: Tensor, truth: Tensor) -> Tensor:
    """Rolled-out frames (n, T, 1, S, S) against the simulator's positions (n, T, 2): the mean distance (pixels)
    between the sprites after each step, (T,)."""
    return (position(frames.flatten(0, 1).cpu()).reshape(truth.shape) - truth).norm(dim=2).mean(0)


def rollout_errors(model, pos0: Tensor, actions: Tensor, *, n_steps: int = 10, seed: int = 0) -> tuple[Tensor, Tensor]:
    """Per step k = 1 .. T, the mean distance (pixels) between the sprite of the model's rollout and the simulator's,
    and the same for copying the first frame: two (T,) tensors."""
    truth = true_rollout(pos0, actions)[:, 1:]  # (n, T, 2)
    frames = rollout(model, render(pos0), actions, n_steps=n_steps, seed=seed)
    return sprite_errors(frames, truth), (truth - pos0[:, None]).norm(dim=2).mean(0)


def test_episodes(n: int = 128, length: int = 12) -> tuple[Tensor, Tensor]:
    """Held-out episodes: start positions (n, 2) and random actions (n, length), the same every time."""
    g = torch.Generator().manual_seed(TEST_SEED + 50)
    return random_positions(n, g), torch.randint(len(ACTIONS), (n, length), generator=g)
