"""A shipped model trained again from scratch, in the notebook, with the recipe its weights came from.

The full profile (a GPU) does this instead of loading the weights (notebooks 7 and 8): the student watches the loss
fall and gets a model whose metrics match the shipped one's within the rebuild tolerances of the manifest.  The
recipe is the model's manifest entry (architecture, data, training settings), the initial weights come from
``torch.manual_seed(0)`` (the build's ``Spec.init_seed``), the training is ``nets.training.train`` and the weights
kept are the EMA copy, as in ``python -m cs280diff.recipes build`` (which takes its data from ``data_sampler`` here);
only the device may differ (digits are kept on it).  ``measure_like_shipped`` is the manifest's protocol for the
digits velocity models.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import torch
from torch import nn

from cs280diff.flows import mixtures, solvers
from cs280diff.images import digits, game, poses, prompts, tasks, video
from cs280diff.images import metrics as image_metrics
from cs280diff.nets import registry, training
from cs280diff.validate import check_int

__all__ = ["INIT_SEED", "EVAL_PER_CLASS", "EVAL_STEPS", "EVAL_SEED", "Retrained", "data_sampler",
           "train_like_shipped", "measure_like_shipped", "compare_with_shipped"]

INIT_SEED = 0  # the initial weights of every shipped digits model: torch.manual_seed(0) (recipes.specs.Spec.init_seed)
EVAL_PER_CLASS, EVAL_STEPS, EVAL_SEED = 100, 50, 1  # the manifest's protocol: 100 samples per class, Euler 50, seed 1


@dataclass
class Retrained:
    """What ``train_like_shipped`` returns: the EMA model (eval mode, frozen), one loss per step, the wall time."""
    name: str
    model: nn.Module
    steps: int
    loss_history: list[float] = field(default_factory=list)
    seconds: float = 0.0


def data_sampler(data: str, device=None):
    """``sample_data(n, generator) -> (x1, y)`` (or ``(x1, {conditions})``) for a recipe's data string.

    "digits/<split>/<size>" (kept on ``device``; only the batch indices travel), "task/<name>", "prompts/...",
    "poses/...", "game/<context noise>", "video/<signal|first_only>", "ring_2d", "lecture_1d" (drawn on the CPU, as
    their generator is, and moved by ``training.train``).
    """
    if data.startswith("digits/"):
        _, split, size = data.split("/")
        return digits.digits_sampler(split, int(size), device=device)
    if data.startswith("game/"):
        return game.sampler(float(data.split("/", 1)[1]))  # the playable world, with that context noise
    if data.startswith("video/"):
        return video.sampler(first_only=data == "video/first_only")  # first frame (+ loudness) -> frame k
    if data.startswith("poses/"):
        return poses.sampler()  # notebook 8's two-link arm: target point -> pose
    if data.startswith("prompts/"):
        return prompts.sampler()  # notebook 8's (digit, style) prompts, some combinations held out
    if data.startswith("task/"):
        return tasks.sampler(data.split("/", 1)[1])  # notebook 8's conditional tasks
    if data in ("ring_2d", "lecture_1d"):
        mixture = {"ring_2d": mixtures.ring_2d, "lecture_1d": mixtures.lecture_1d}[data]()
        return lambda n, generator: mixture.sample(n, generator, return_labels=True)
    raise ValueError(f"unknown recipe data {data!r}")


_TRAINED_BY_TRAIN = ("digits_velocity", "mixture_velocity", "conditional", "regression", "prompt_velocity",
                     "pose_velocity", "world_model", "video_frame")  # the kinds the build trains with training.train


def train_like_shipped(name: str, device=None, *, steps: int | None = None, progress: bool = True) -> Retrained:
    """Train the shipped model ``name`` (e.g. "digits_unet", "task_inbetween") from scratch with its recipe.

    Any model the build trains with ``training.train`` (velocity fields, notebook 8's task, prompt, pose, world and
    video models, the regression baselines); not the classifiers or the distilled students.

    device: where to train (default CPU); steps: the number of Adam steps (default the recipe's); everything else
    (architecture, batch size, learning rate, EMA decay, condition dropout, seed) is the manifest's.  Deterministic on
    one device; on the CPU with the recipe's steps it is the build's computation, so the metrics match the shipped
    ones within the manifest's tolerances (on a GPU the rounding differs, the tolerances still hold).
    Returns ``Retrained(name, model, steps, loss_history, seconds)``; ``model`` is the EMA copy, as shipped.
    """
    models = registry.read_manifest()["models"]
    entry = models.get(name)
    if entry is None or entry.get("kind") not in _TRAINED_BY_TRAIN:
        known = sorted(k for k, e in models.items() if e.get("kind") in _TRAINED_BY_TRAIN)
        raise ValueError(f"{name!r} is not a shipped model trained by training.train; these are: {known}")
    device = torch.device(device or "cpu")
    settings = {k: v for k, v in entry["train"].items() if k != "data"}
    if steps is not None:
        settings["steps"] = check_int(steps, "steps")
    with torch.random.fork_rng(devices=[]):  # the initial weights, without moving the notebook's global RNG
        torch.manual_seed(INIT_SEED)
        model = registry.construct(entry["class"], entry["arch"])
    result = training.train(model.to(device), data_sampler(entry["train"]["data"], device), progress=progress,
                            **settings)
    ema = result.ema.eval().requires_grad_(False)
    return Retrained(name, ema, settings["steps"], result.loss_history, result.seconds)


@torch.no_grad()
def measure_like_shipped(model, classifier: nn.Module | None = None) -> dict:
    """The manifest's metrics of a digits velocity model: 100 samples per class (s = 1, Euler 50 steps, seed 1) and
    1,000 unconditional ones (y = None, seed 2); accuracy, fd, precision, recall, diversity_ratio (and uncond_...).

    ``fd_n359`` / ``uncond_fd_n359``: FD-digits of 359 of them with the test split's class counts (the first ones of
    each class), to set beside the classifier's ``floor_fd`` (FD shrinks with the number of samples).
    ``classifier``: the judge (default the shipped ``digits_classifier``).  ``recipes.measure`` writes these numbers
    into the manifest, so a model measured here can be set beside the shipped one.
    """
    labels = torch.arange(10).repeat_interleave(EVAL_PER_CLASS)
    counts = torch.bincount(digits.load_digits("test")[1], minlength=10).tolist()
    subset = torch.cat([torch.arange(c * EVAL_PER_CLASS, c * EVAL_PER_CLASS + k) for c, k in enumerate(counts)])
    x = solvers.generate(model, labels, n_steps=EVAL_STEPS, seed=EVAL_SEED, shape=(1, 8, 8)).cpu()
    cond = image_metrics.evaluate(x, labels, classifier)
    xu = solvers.generate(model, None, n=labels.numel(), n_steps=EVAL_STEPS, seed=EVAL_SEED + 1,
                          shape=(1, 8, 8)).cpu()
    uncond = image_metrics.evaluate(xu, None, classifier)
    return {**{k: v for k, v in cond.items() if k != "n"}, "n": cond["n"],
            "fd_n359": image_metrics.fd_digits(x[subset], classifier),
            **{f"uncond_{k}": uncond[k] for k in ("fd", "precision", "recall", "diversity_ratio")},
            "uncond_fd_n359": image_metrics.fd_digits(xu[subset], classifier)}


COMPARED = ("accuracy", "fd_n359", "precision", "recall", "uncond_fd_n359")  # the rows of ``compare_with_shipped``


def compare_with_shipped(name: str, metrics: dict) -> list[tuple]:
    """Rows (metric, yours, shipped, tolerance, within) of a retrained model's ``measure_like_shipped`` metrics
    beside the manifest's numbers for ``name`` and its rebuild tolerances (|yours - shipped| <= tolerance)."""
    entry = registry.read_manifest()["models"].get(name)
    if entry is None or entry.get("kind") != "digits_velocity":
        raise ValueError(f"{name!r} is not a shipped digits velocity model: compare_with_shipped sets "
                         "measure_like_shipped's digits metrics beside the manifest's")
    missing = [key for key in COMPARED if key not in metrics]
    if missing:
        raise ValueError(f"metrics lacks {missing}: pass the dict measure_like_shipped returns")
    rows = []
    for key in COMPARED:
        mine, theirs, tol = metrics[key], entry["metrics"][key], entry["tolerances"].get(key, 0.0)
        rows.append((key, mine, theirs, tol, abs(mine - theirs) <= tol + 1e-12))
    return rows
