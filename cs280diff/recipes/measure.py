"""The metrics measured on each shipped model when it is built (written to the manifest, compared on a rebuild)."""
from __future__ import annotations

import contextlib
from pathlib import Path

import torch

from cs280diff import conventions
from cs280diff.distill import fewstep
from cs280diff.flows import metrics, mixtures, schedules, solvers
from cs280diff.images import digits, game, poses, prompts, studies, tasks, video
from cs280diff.images import metrics as image_metrics
from cs280diff.images.retrain import EVAL_SEED, EVAL_STEPS, measure_like_shipped
from cs280diff.nets import classifiers, training
from cs280diff.nets.registry import load_pretrained, read_manifest

__all__ = ["measure_one", "deterministic"]


@contextlib.contextmanager
def deterministic():
    """One thread and deterministic kernels while building; the previous settings are restored afterwards."""
    threads, det = torch.get_num_threads(), torch.are_deterministic_algorithms_enabled()
    torch.set_num_threads(1)
    torch.use_deterministic_algorithms(True)
    try:
        yield
    finally:
        torch.use_deterministic_algorithms(det)
        torch.set_num_threads(threads)




def _measure_classifier(model, kind: str) -> dict:
    """Clean: accuracies and the real-data floors of the image metrics.  Noisy: accuracy on x_t over t."""
    x_test, y_test = digits.load_digits("test")
    if kind == "classifier":
        x_train, y_train = digits.load_digits("train")
        floors = image_metrics.real_data_floors(model)
        return {"test_accuracy": classifiers.accuracy(model, x_test, y_test),
                "train_accuracy": classifiers.accuracy(model, x_train, y_train),
                **{f"floor_{k}": v for k, v in floors.items() if k in ("fd", "precision", "recall", "diversity_ratio")}}
    x0 = torch.randn(x_test.shape, generator=torch.Generator().manual_seed(EVAL_SEED))  # fixed noise
    return {f"accuracy_t{t:.1f}": classifiers.accuracy(model, conventions.path(x0, x_test, t), y_test, t=t)
            for t in (0.0, 0.2, 0.4, 0.6, 0.8, 1.0)}  # on x_t = (1 - t) x0 + t x1 of the test digits


def _measure_mixture_velocity(model, data: str) -> dict:
    """Model error from the same 2,000 x0 (Heun, 100 steps each): mean |x_model(1) - x_exact(1)| for the
    unconditional field (y = None vs the exact marginal field) and for the conditional one (y = i mod K vs the
    exact field of component y); sliced W1 of model samples vs exact samples, beside its floor (two exact sets)."""
    mixture = {"ring_2d": mixtures.ring_2d, "lecture_1d": mixtures.lecture_1d}[data]()
    gen = torch.Generator().manual_seed(EVAL_SEED)
    x0 = torch.randn(2000, mixture.dim, generator=gen)
    grid = schedules.uniform(100)
    labels = torch.arange(2000) % mixture.n_components
    parts = [mixtures.GaussianMixture(mixture.means[k:k + 1], mixture.stds[k:k + 1]) for k in range(mixture.n_components)]

    def exact_conditional(x, t, y):  # the exact field of each sample's own component
        v = torch.empty_like(x)
        for k, part in enumerate(parts):
            v[y == k] = part(x[y == k], t)
        return v

    with torch.no_grad():
        x_model = solvers.sample(model, x0, grid, step=solvers.heun_step)
        x_exact = solvers.sample(mixture, x0.double(), grid, step=solvers.heun_step).float()
        c_model = solvers.sample(model, x0, grid, step=solvers.heun_step, cond={"y": labels})
        c_exact = solvers.sample(exact_conditional, x0.double(), grid, step=solvers.heun_step,
                                 cond={"y": labels}).float()
    real_a, real_b = mixture.sample(2000, gen), mixture.sample(2000, gen)
    sw = lambda a, b: metrics.sliced_wasserstein(a, b, generator=torch.Generator().manual_seed(0))  # noqa: E731
    return {"endpoint_error": metrics.mean_endpoint_error(x_model, x_exact),
            "cond_endpoint_error": metrics.mean_endpoint_error(c_model, c_exact),
            "sw_model": sw(x_model, real_a), "sw_floor": sw(real_b, real_a)}


RING_EVAL_N = 20_000


def _ring_scores(x, ring, x_ode, suffix: str = "") -> dict:
    """Exact sliced W1, the fraction near a mode, the per-mode mass error and the coupling to the exact ODE."""
    scores = {**metrics.mixture_scores(x, ring, seed=EVAL_SEED), "coupling": fewstep.coupling(x, x_ode)}
    return {f"{k}{suffix}": v for k, v in scores.items()}


def _measure_distilled(model, entry: dict, directory: Path) -> dict:
    """Ring: scores of 20k samples at the model's own step count (PD), 1 step (DMD), 1 and 4 steps (reflow).
    Digits (PD student, DMD generator): FD-digits (359 test labels) and accuracy, beside the teacher's Euler at equal
    NFE."""
    cfg = entry["train"]
    if cfg["data"] == "ring_2d":
        ring = mixtures.ring_2d()
        z = torch.randn(RING_EVAL_N, 2, generator=torch.Generator().manual_seed(EVAL_SEED))
        x_ode = solvers.sample(ring, z.double(), schedules.uniform(64), step=solvers.heun_step).float()
        if entry["kind"] == "dmd":
            return _ring_scores(fewstep.one_step(model)(z), ring, x_ode)
        steps = [cfg["steps"]] if entry["kind"] == "pd" else [1, 4]
        out = {}
        for n in steps:
            out.update(_ring_scores(fewstep.ode(model, n)(z), ring, x_ode, "" if n == steps[0] else f"_{n}"))
        return out
    labels, z = studies.study_labels(), studies.start_noise(EVAL_SEED)
    teacher = load_pretrained(cfg["teacher"], directory=directory)
    classifier = load_pretrained("digits_classifier", directory=directory)
    n = 1 if entry["kind"] == "dmd" else cfg["steps"]
    mine = fewstep.one_step(model) if entry["kind"] == "dmd" else fewstep.ode(model, n)
    out = {}
    for prefix, sampler in (("", mine), ("euler_", fewstep.ode(teacher, n))):
        x = sampler(z, y=labels)
        out[f"{prefix}fd_n359"] = image_metrics.fd_digits(x, classifier)
        out[f"{prefix}accuracy"] = image_metrics.class_accuracy(x, labels, classifier)
    return out


def _baseline_scores(task: str, x1, cond) -> dict:
    """{"baseline_<name>": the task's score of each naive baseline} on these pairs."""
    return {f"baseline_{k.replace(' ', '_')}": tasks.score(task, p, x1, cond)
            for k, p in tasks.baselines(task, cond).items()}


def _measure_conditional(model, task: str) -> dict:
    """A notebook-8 task on its held-out pairs: MSE (inpaint: over the hole) of one sample and of the mean of 4
    (Euler 20), and of each baseline; ``gain``: the best baseline's MSE over the single sample's."""
    x1, cond = tasks.test_batch(task)
    samples = tasks.generate(model, cond, shape=x1.shape[1:], n_steps=20, seed=EVAL_SEED, k=4)
    out = {"mse": tasks.score(task, samples[0], x1, cond), "mse_mean4": tasks.score(task, samples.mean(0), x1, cond)}
    base = _baseline_scores(task, x1, cond)
    out.update(base)
    out["gain"] = min(base.values()) / out["mse"]
    return out


def _measure_regression(model, task: str) -> dict:
    """A notebook-8 regression baseline (``training.predict_regression``) on its task's held-out pairs."""
    x1, cond = tasks.test_batch(task)
    with torch.no_grad():
        prediction = training.predict_regression(model, x1, cond=cond)
    return {"mse": tasks.score(task, prediction, x1, cond), **_baseline_scores(task, x1, cond)}


def _measure_pose(model, regression: bool) -> dict:
    """The arm's held-out targets: hand error, hit rate and elbow coverage of 8 samples (Euler 50) per target, or
    of the regression's one answer."""
    x1, target = poses.test_set()
    if regression:
        with torch.no_grad():
            samples = training.predict_regression(model, x1, cond=target)[None]
    else:
        samples = poses.sample(model, target, k=8, n_steps=EVAL_STEPS, seed=EVAL_SEED)
    return poses.evaluate(samples, target)


def _measure_world(model) -> dict:
    """Held-out episodes of images.game (128 x 12 actions, Euler 10 per frame): the mean distance between the
    rolled-out sprite and the simulator's after 1, 4 and 12 steps, and the copy-the-first-frame baseline's."""
    err, copy = game.rollout_errors(model, *game.test_episodes(), seed=EVAL_SEED)
    return {f"{what}_{k}": float(v[k - 1]) for k in (1, 4, 12) for what, v in (("error", err), ("copy", copy))}


def _measure_video(model, first_only: bool) -> dict:
    """Held-out videos of images.video (128 x 16 frames, Euler 10 per frame): how well the size follows the signal
    (``video.follow_score``) and the pixel MSE, for the model and for copying the first frame."""
    v = video.test_set()
    frames = video.generate(model, v["frames"][:, 0], None if first_only else v["signal"], seed=EVAL_SEED)
    copy = v["frames"][:, :1].expand_as(v["frames"])
    ours, base = video.evaluate(frames, v["frames"], v["signal"]), video.evaluate(copy, v["frames"], v["signal"])
    return {**ours, **{f"copy_{k}": x for k, x in base.items()}}


def _measure_prompts(model) -> dict:
    """Notebook 8's composition experiment: digit and style accuracy on the seen and the held-out prompts."""
    r = prompts.composition(model, n_per=100, seed=EVAL_SEED)
    return {k: r[k] for k in ("seen_digit", "seen_style", "held_out_digit", "held_out_style", "real_bold_digit")}


def measure_one(name: str, directory: Path) -> dict:
    """The build-time metrics of model ``name`` of the weights folder ``directory``."""
    entry = read_manifest(directory)["models"][name]
    model = load_pretrained(name, directory=directory)
    with deterministic():
        if entry["kind"] in ("classifier", "noisy_classifier"):
            return _measure_classifier(model, entry["kind"])
        if entry["kind"] in ("pd", "dmd", "reflow"):
            return _measure_distilled(model, entry, directory)
        if entry["kind"] == "world_model":
            return _measure_world(model)
        if entry["kind"] == "video_frame":
            return _measure_video(model, first_only=entry["train"]["data"] == "video/first_only")
        if entry["kind"] == "prompt_velocity":
            return _measure_prompts(model)
        if entry["kind"] in ("pose_velocity", "regression") and entry["train"]["data"].startswith("poses/"):
            return _measure_pose(model, regression=entry["kind"] == "regression")
        if entry["kind"] == "regression":
            return _measure_regression(model, entry["train"]["data"].split("/", 1)[1])
        if entry["kind"] == "conditional":
            return _measure_conditional(model, entry["train"]["data"].split("/", 1)[1])
        if entry["kind"] == "digits_velocity":
            return measure_like_shipped(model, load_pretrained("digits_classifier", directory=directory))
        return _measure_mixture_velocity(model, entry["train"]["data"])
