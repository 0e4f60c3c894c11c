"""A view -> a pose (notebook 8, part 2; slide "Condition on Ego View, Generate Human Poses"), as a 2D two-link arm.

The arm: a shoulder at the origin, links of lengths L1 = 1 and L2 = 0.7, joint angles θ = (θ1, θ2) (θ2 relative to
the first link).  The "view" is where the hand is, the target point (x, y).  Every reachable target comes from two
poses, elbow up and elbow down (θ2 of either sign, ``inverse_kinematics``): the answer is ambiguous.  A pose is
modelled as the 4 features (cos θ1, sin θ1, cos θ2, sin θ2), free of the ±π wrap; ``pose_angles`` reads them back.
    A generative model of p(pose | target) samples both elbows; a regression to the mean returns their average,
    whose hand is far from the target.  ``evaluate`` measures both: the hand's distance to the target and how often
    the K samples of one target cover both elbows.
"""
from __future__ import annotations

import math
from typing import Callable

import torch

from cs280diff.flows import schedules, solvers
from cs280diff.validate import check_int

Tensor = torch.Tensor

__all__ = ["L1", "L2", "MIN_BEND", "TEST_SEED", "forward_kinematics", "pose_features", "pose_angles", "sample_poses",
           "batch", "sampler", "test_set", "sample", "inverse_kinematics", "hand_error", "elbow_sign", "evaluate"]

L1, L2 = 1.0, 0.7
MIN_BEND = 0.3  # |θ2| >= 0.3 rad: the two elbows of a target are always apart
TEST_SEED = 280_100


def forward_kinematics(angles: Tensor) -> tuple[Tensor, Tensor]:
    """Joint angles (n, 2) -> (elbow (n, 2), hand (n, 2)) positions."""
    t1, t2 = angles[:, 0], angles[:, 1]
    elbow = torch.stack([L1 * torch.cos(t1), L1 * torch.sin(t1)], 1)  # the end of the first link
    hand = elbow + torch.stack([L2 * torch.cos(t1 + t2), L2 * torch.sin(t1 + t2)], 1)  # the second link's end
    return elbow, hand


def pose_features(angles: Tensor) -> Tensor:
    """(n, 2) angles -> (n, 4) features (cos θ1, sin θ1, cos θ2, sin θ2)."""
    return torch.cat([torch.cos(angles), torch.sin(angles)], 1)[:, [0, 2, 1, 3]]


def pose_angles(features: Tensor) -> Tensor:
    """(n, 4) features (any scale) -> (n, 2) angles in (-π, π], by atan2 of each (sin, cos) pair."""
    return torch.stack([torch.atan2(features[:, 1], features[:, 0]), torch.atan2(features[:, 3], features[:, 2])], 1)


def sample_poses(n: int, generator: torch.Generator) -> Tensor:
    """(n, 2) random poses: θ1 ~ U(-π, π), |θ2| ~ U(MIN_BEND, π - MIN_BEND) with a random sign (elbow up / down)."""
    u = torch.rand(check_int(n, "n"), 3, generator=generator)
    t1 = math.pi * (2 * u[:, 0] - 1)
    bend = MIN_BEND + (math.pi - 2 * MIN_BEND) * u[:, 1]
    return torch.stack([t1, torch.where(u[:, 2] < 0.5, bend, -bend)], 1)


def batch(n: int, generator: torch.Generator) -> tuple[Tensor, Tensor]:
    """n training pairs: (pose features (n, 4), target (n, 2) where that pose puts the hand)."""
    angles = sample_poses(n, generator)
    return pose_features(angles), forward_kinematics(angles)[1]


def sampler() -> Callable:
    """``sample_data(n, generator) -> (x1, {"cond": target})`` for ``nets.training.train``."""
    def sample_data(n, generator):
        x1, target = batch(n, generator)
        return x1, {"cond": target}

    return sample_data


def test_set(n: int = 512) -> tuple[Tensor, Tensor]:
    """The held-out pairs (features, target): the same n every time (generator seeded with TEST_SEED)."""
    return batch(n, torch.Generator().manual_seed(TEST_SEED))


@torch.no_grad()
def sample(model, target: Tensor, *, k: int = 8, n_steps: int = 50, seed: int = 0) -> Tensor:
    """k pose samples (k, n, 4) per target (n, 2) of a conditional field ``model(x, t, cond=target)``, Euler on a
    uniform grid, the i-th from noise seeded with seed + i."""
    grid = schedules.uniform(check_int(n_steps, "n_steps"))
    return torch.stack([solvers.sample(model, torch.randn(target.shape[0], 4, generator=torch.Generator().manual_seed(
        seed + i)), grid, cond={"cond": target}) for i in range(check_int(k, "k"))])


def inverse_kinematics(target: Tensor) -> tuple[Tensor, Tensor]:
    """The two exact poses (n, 2) that put the hand on target (n, 2): (elbow with θ2 > 0, elbow with θ2 < 0)."""
    r2 = (target ** 2).sum(1)
    cos2 = ((r2 - L1 ** 2 - L2 ** 2) / (2 * L1 * L2)).clamp(-1, 1)  # the law of cosines
    phi = torch.atan2(target[:, 1], target[:, 0])
    poses = []
    for sign in (1.0, -1.0):
        t2 = sign * torch.acos(cos2)
        t1 = phi - torch.atan2(L2 * torch.sin(t2), L1 + L2 * torch.cos(t2))
        poses.append(torch.stack([torch.atan2(torch.sin(t1), torch.cos(t1)), t2], 1))
    return poses[0], poses[1]


def hand_error(angles: Tensor, target: Tensor) -> Tensor:
    """(n,) distance from the hand of each pose (n, 2) to its target (n, 2)."""
    return (forward_kinematics(angles)[1] - target).norm(dim=1)


def elbow_sign(angles: Tensor) -> Tensor:
    """(n,) +1 for θ2 > 0, -1 for θ2 < 0 (which of the two elbows)."""
    return torch.sign(angles[:, 1])


def evaluate(samples: Tensor, target: Tensor, *, tol: float = 0.1, hand: Callable | None = None) -> dict:
    """Pose samples as features (k, n, 4) for targets (n, 2): the mean hand error, the share of samples whose hand
    is within ``tol`` of the target, and "both_elbows": the share of targets for which the k samples include a
    pose of each elbow with its hand within ``tol``.  ``hand``: features (m, 4) -> hand positions (m, 2) (default:
    the forward kinematics of ``pose_angles``; notebook 8 passes the student's end-effector check)."""
    k, n = samples.shape[:2]
    flat = samples.reshape(k * n, 4)
    angles = pose_angles(flat)
    where = forward_kinematics(angles)[1] if hand is None else hand(flat)
    err = (where - target.repeat(k, 1)).norm(dim=1).reshape(k, n)
    good = err < tol
    sign = elbow_sign(angles).reshape(k, n)
    both = ((good & (sign > 0)).any(0) & (good & (sign < 0)).any(0)).double().mean().item()
    return {"hand_error": err.mean().item(), "hit_rate": good.double().mean().item(), "both_elbows": both}
