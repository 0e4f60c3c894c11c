"""Notebook 8's conditional tasks on the procedural worlds: what is given, what is generated, the baseline to beat.

  inbetween   start + end frame -> the 3 frames between them     x1 (n, 3, S, S), cond (n, 2, S, S)   cross-fade
  novel_view  image + camera turn Δ -> the view after the turn    x1 (n, 1, S, S), cond (n, 3, S, S)   copy the input
              (cond = the view and (cos Δ, sin Δ) as two constant planes: ``nets.conditioning.concat_condition``)
  depth       pixels -> the depth map of what is visible          x1 (n, 1, S, S), cond (n, 1, S, S)   constant depth
  inpaint     an 8×8 digit with a hole -> the whole digit         x1 (n, 1, 8, 8), cond (n, 2, 8, 8)   mean fill,
              (cond = the digit with the hole set to 0, and the mask, 1 = known)                nearest neighbour

A conditional model is a field ``model(x, t, cond=c)`` (``TinyUNet(cond_channels=...)``); ``sampler(task)`` feeds
``nets.training.train``; ``test_batch(task)`` is the held-out set (``worlds.test_set``); MSE is over all entries.
"""
from __future__ import annotations

from typing import Callable

import torch

from cs280diff.flows import inpainting, schedules, solvers
from cs280diff.images import digits, worlds
from cs280diff.nets import training
from cs280diff.nets.conditioning import concat_condition
from cs280diff.validate import check_int

Tensor = torch.Tensor

__all__ = ["TASKS", "batch", "sampler", "test_batch", "baselines", "generate", "mse", "score", "regression_scores", "against_regression",
           "replacement_inpaint"]

TASKS = ("inbetween", "novel_view", "depth", "inpaint")
_WORLD = {"inbetween": "sprites", "novel_view": "views", "depth": "depth", "inpaint": "masks"}


def _split(task: str, sample: dict) -> tuple[Tensor, Tensor]:
    """A world's sample -> (x1, cond) for the task."""
    if task == "inbetween":
        f = sample["frames"][:, :, 0]  # (n, 5, S, S)
        return f[:, 1:4], f[:, [0, 4]]  # generate frames 1-3 from frames 0 and 4
    if task == "novel_view":
        return sample["target"], concat_condition(sample["view"], vectors=[sample["camera"]])
    if task == "inpaint":
        x1, mask = sample["digits"], sample["mask"]
        return x1, torch.cat([x1 * mask, mask], dim=1)  # the hole reads 0, and where it is
    return sample["depth"], sample["image"]


def _digits_with_masks(split: str, n: int | None, generator: torch.Generator) -> dict:
    """Digits of a split (n drawn with replacement from ``generator``, or all of them) with a mask each."""
    x, _ = digits.load_digits(split)
    if n is not None:
        x = x[torch.randint(x.shape[0], (n,), generator=generator)]
    return {"digits": x, "mask": worlds.masks(x.shape[0], generator, size=8)["mask"]}


def _check(task: str) -> str:
    if task not in TASKS:
        raise ValueError(f"unknown task {task!r}; the tasks are {TASKS}")
    return task


def batch(task: str, n: int, generator: torch.Generator) -> tuple[Tensor, Tensor]:
    """n fresh training pairs (x1, cond) of a task, drawn from ``generator`` (inpaint: training digits)."""
    n = check_int(n, "n")
    if _check(task) == "inpaint":
        return _split(task, _digits_with_masks("train", n, generator))
    return _split(task, worlds.WORLDS[_WORLD[task]](n, generator))


def sampler(task: str) -> Callable:
    """``sample_data(n, generator) -> (x1, {"cond": cond})`` for ``nets.training.train``."""
    _check(task)

    def sample_data(n, generator):
        x1, cond = batch(task, n, generator)
        return x1, {"cond": cond}

    return sample_data


def test_batch(task: str, n: int = 512) -> tuple[Tensor, Tensor]:
    """The held-out pairs (x1, cond) of a task: fixed, never drawn in training (inpaint: the 359 test digits, each
    with a held-out mask; n is ignored)."""
    if _check(task) == "inpaint":
        return _split(task, _digits_with_masks("test", None, torch.Generator().manual_seed(worlds.TEST_SEED + 99)))
    return _split(task, worlds.test_set(_WORLD[task], n))


def baselines(task: str, cond: Tensor) -> dict[str, Tensor]:
    """The naive answers to beat, {name: prediction shaped like x1}: the cross-fade of the two frames, a copy of the
    input view, or a constant depth (the background's: every pixel far)."""
    _check(task)
    if task == "inbetween":
        w = torch.tensor([0.75, 0.5, 0.25], dtype=cond.dtype, device=cond.device)[None, :, None, None]
        return {"cross-fade": w * cond[:, :1] + (1 - w) * cond[:, 1:2]}  # frame k: (1 - k/4) start + (k/4) end
    if task == "novel_view":
        return {"copy the input": cond[:, :1].clone()}
    if task == "inpaint":
        return _inpaint_baselines(cond)
    return {"constant depth": torch.ones_like(cond[:, :1])}


def _inpaint_baselines(cond: Tensor) -> dict[str, Tensor]:
    """The known pixels kept; the hole filled with the training digits' mean image, or with the pixels of the
    training digit nearest on the known pixels."""
    known, mask = cond[:, :1], cond[:, 1:2]
    train, _ = digits.load_digits("train")
    train = train.to(cond)
    mean = train.mean(0, keepdim=True)
    d = (((known[:, None] - train[None]) * mask[:, None]) ** 2).flatten(2).sum(2)  # (n, n_train) on known pixels
    nearest = train[d.argmin(dim=1)]
    return {"mean fill": known + (1 - mask) * mean, "nearest neighbour": known + (1 - mask) * nearest}


@torch.no_grad()
def generate(model, cond: Tensor, *, shape, n_steps: int = 20, seed: int = 0, k: int = 1) -> Tensor:
    """k conditional samples per condition, Euler on a uniform grid from seeded noise: (k, n, *shape)."""
    out = []
    for i in range(check_int(k, "k")):
        z = torch.randn((cond.shape[0], *shape), generator=torch.Generator().manual_seed(seed + i)).to(cond.device)
        out.append(solvers.sample(model, z, schedules.uniform(n_steps).to(cond.device), cond={"cond": cond}))
    return torch.stack(out)


def mse(prediction: Tensor, target: Tensor, where: Tensor | None = None) -> float:
    """Mean squared error over all entries, or over the entries where ``where`` = 1 (e.g. an inpainting hole)."""
    if prediction.shape != target.shape:
        raise ValueError(f"prediction {tuple(prediction.shape)} and target {tuple(target.shape)} differ in shape")
    err = (prediction.double() - target.double().to(prediction.device)) ** 2
    if where is None:
        return err.mean().item()
    w = where.double().to(err.device).expand_as(err)
    return ((err * w).sum() / w.sum()).item()


def score(task: str, prediction: Tensor, target: Tensor, cond: Tensor) -> float:
    """The task's number: MSE over all entries, over the hole for inpaint."""
    return mse(prediction, target, (1 - cond[:, 1:2]) if _check(task) == "inpaint" else None)


def _spread(maps: Tensor, where: Tensor) -> float:
    """The standard deviation of a batch of maps' values where ``where`` (bool, same shape) holds."""
    return maps[where].double().std().item()


def regression_scores(task: str, samples: Tensor, regression: Tensor, x1: Tensor, cond: Tensor) -> dict:
    """k samples (k, n, ...) of a generative model and a regression's answers (n, ...) against the truth x1.

    Returns MSEs of the regression, one sample, the mean of the k samples and the best of k (per image: is the truth
    among the samples?), and the spread (std) of the values on the pixels that are not background (x1 < 0.99) for
    the truth, the regression and one sample.  The regression estimates the posterior mean, so it wins on MSE;
    where the answer is ambiguous it averages, and its maps are less varied than real ones; a sample's are as
    varied as the truth's.
    """
    k = samples.shape[0]
    per_image = ((samples - x1[None]) ** 2).flatten(2).mean(2)  # (k, n)
    shape = x1 < 0.99
    return {"regression": score(task, regression, x1, cond), "single": score(task, samples[0], x1, cond),
            f"mean{k}": score(task, samples.mean(0), x1, cond), f"best_of_{k}": per_image.min(0).values.mean().item(),
            "spread_truth": _spread(x1, shape), "spread_regression": _spread(regression, shape),
            "spread_sample": _spread(samples[0], shape)}


@torch.no_grad()
def against_regression(model, regressor, task: str = "depth", *, n: int = 512, k: int = 4, n_steps: int = 20,
                       seed: int = 0) -> dict:
    """``regression_scores`` of a generative model (k samples per condition, ``generate``) and a per-pixel
    regression net (``training.predict_regression``) on a task's n held-out pairs."""
    x1, cond = test_batch(task, n)
    samples = generate(model, cond, shape=x1.shape[1:], n_steps=n_steps, seed=seed, k=k)  # (k, n, ...)
    return regression_scores(task, samples, training.predict_regression(regressor, x1, cond=cond), x1, cond)


@torch.no_grad()
def replacement_inpaint(model, known: Tensor, mask: Tensor, y: Tensor | None = None, *, n_steps: int = 20,
                        seed: int = 0, k: int = 1) -> Tensor:
    """Training-free inpainting with an unconditional / class-conditional field (``flows.inpainting.inpaint``):
    k fills per image from seeded noise, Euler on a uniform grid: (k, n, *known.shape[1:])."""
    grid = schedules.uniform(check_int(n_steps, "n_steps")).to(known.device)
    cond = None if y is None else {"y": y}
    return torch.stack([inpainting.inpaint(model, known, mask, grid, cond=cond,
                                           generator=torch.Generator().manual_seed(seed + i)) for i in range(k)])
