"""Flow-matching training (Lipman et al. 2023; Liu et al. 2023): regress the conditional velocity u = x1 - x0.

Convention (docs/conventions.md): t ~ U[0, 1], t = 0 noise x0 ~ N(0, I), t = 1 data x1; x_t = (1 - t) x0 + t x1.
  L(θ) = E_{t, x0, x1} |v_θ(x_t, t) - (x1 - x0)|²   (mean over all elements)
Its minimiser is the marginal velocity v*(x, t) = E[x1 - x0 | x_t = x], the exact field of ``cs280diff.flows.mixtures``.
"""
from __future__ import annotations

import contextlib
import copy
import math
import numbers
import time
from dataclasses import dataclass, field
from typing import Callable

import torch
from torch import nn
from cs280diff.progress import tqdm

from cs280diff.conventions import conditional_velocity, path
from cs280diff.runtime import to_device
from cs280diff.validate import check_fraction, check_int, check_positive, check_t, check_x, trusted

Tensor = torch.Tensor

__all__ = ["fm_loss", "regression_loss", "predict_regression", "drop_labels", "dropout_step", "EMA", "TrainResult",
           "train"]


def _gen_device(generator: torch.Generator | None) -> torch.device:
    return generator.device if generator is not None else torch.device("cpu")


def fm_loss(model: Callable, x1: Tensor, generator: torch.Generator | None = None, y=None, t=None,
            x0: Tensor | None = None, cond: dict | None = None) -> Tensor:
    """The conditional flow-matching loss on a batch of data x1 (batch, *dims); returns a 0-d tensor.

    t (batch,) ~ U[0, 1] and x0 ~ N(0, I) are drawn from ``generator`` (on its device, then moved to x1's) unless
    given.  ``y`` (labels) is passed to the model only when not None, so any field ``model(x, t, **cond)`` works;
    ``cond`` holds further keyword conditions (e.g. ``{"cond": images}`` for a UNet with condition channels).
    """
    check_x(x1, "x1")
    batch, gen_device = x1.shape[0], _gen_device(generator)
    if t is None:
        t = torch.rand(batch, generator=generator, device=gen_device, dtype=x1.dtype)  # t ~ U[0, 1]
        t = to_device(t, x1.device)
    t = check_t(t, x1)
    if x0 is None:
        x0 = torch.randn(x1.shape, generator=generator, device=gen_device, dtype=x1.dtype)  # x0 ~ N(0, I)
        x0 = to_device(x0, x1.device)
    x_t = path(x0, x1, t)  # x_t = (1 - t) x0 + t x1
    u = conditional_velocity(x0, x1)  # regression target u = x1 - x0
    kwargs = dict(cond or {}) if y is None else {**(cond or {}), "y": y}
    v = model(x_t, t, **kwargs)  # predicted velocity
    if v.shape != x1.shape:
        raise ValueError(f"the model returned shape {tuple(v.shape)} for x of shape {tuple(x1.shape)}")
    return torch.mean((v - u) ** 2)  # MSE over all elements


def predict_regression(model: Callable, x1_like: Tensor, **cond) -> Tensor:
    """A regression net's answer: the same architecture as a velocity field, fed x = 0 and t = 0, so that its output
    depends on the condition alone (a plain function cond -> x1, no noise); shaped like ``x1_like``."""
    zero = torch.zeros_like(x1_like)
    return model(zero, torch.zeros(x1_like.shape[0], dtype=x1_like.dtype, device=x1_like.device), **cond)


def regression_loss(model: Callable, x1: Tensor, generator: torch.Generator | None = None, y=None,
                    cond: dict | None = None) -> Tensor:
    """The per-pixel regression loss |f(cond) - x1|² (mean over all elements), f = ``predict_regression``.

    Its minimiser is the posterior mean E[x1 | cond]: where the condition leaves x1 ambiguous it averages the
    answers.  (``generator`` is unused: nothing is random; it keeps ``fm_loss``'s signature.)"""
    check_x(x1, "x1")
    kwargs = dict(cond or {}) if y is None else {**(cond or {}), "y": y}
    prediction = predict_regression(model, x1, **kwargs)
    if prediction.shape != x1.shape:
        raise ValueError(f"the model returned shape {tuple(prediction.shape)} for x1 of shape {tuple(x1.shape)}")
    return torch.mean((prediction - x1) ** 2)


_OBJECTIVES = {"flow": fm_loss, "regression": regression_loss}


class EMA:
    """Exponential moving average of a model's weights: θ_ema <- decay θ_ema + (1 - decay) θ after every step.

    ``ema = EMA(model, 0.999); ...; ema.update(model)``; ``ema.model`` is a frozen copy in eval mode, itself a field.
    Buffers (if any) are copied, not averaged.
    """

    def __init__(self, model: nn.Module, decay: float = 0.999):
        if isinstance(decay, bool) or not isinstance(decay, numbers.Real) or not 0.0 < decay < 1.0:
            raise ValueError(f"EMA decay must be a number in (0, 1), got {decay!r}")
        self.decay = float(decay)
        self.model = copy.deepcopy(model).eval().requires_grad_(False)

    @torch.no_grad()
    def update(self, model: nn.Module) -> None:
        """Move the average towards ``model``'s current weights (same architecture)."""
        ema_p, new_p = list(self.model.parameters()), list(model.parameters())
        if len(ema_p) != len(new_p):
            raise ValueError("EMA.update needs a model with the same architecture as the one it was built from")
        torch._foreach_lerp_(ema_p, [p.detach() for p in new_p], 1.0 - self.decay)  # θ_ema += (1-decay)(θ-θ_ema)
        for be, b in zip(self.model.buffers(), model.buffers()):
            be.copy_(b)


@dataclass
class TrainResult:
    """What ``train`` returns: the trained ``model``, one loss per step, the EMA copy (or None) and the wall time."""
    model: nn.Module
    loss_history: list[float] = field(default_factory=list)
    ema: nn.Module | None = None
    seconds: float = 0.0


def drop_labels(y: Tensor, null_class: int, p_uncond: float, generator: torch.Generator | None = None) -> Tensor:
    """Condition dropout for classifier-free guidance: each label becomes ``null_class`` with probability p_uncond.

    y (batch,) int64; one draw ``torch.rand(batch, generator=generator)`` (on the generator's device) decides, per
    sample, whether its label is dropped (drawn < p_uncond).  The data are untouched: only the condition is removed.
    """
    drop = torch.rand(y.shape[0], generator=generator, device=_gen_device(generator)) < p_uncond  # which to drop
    return torch.where(to_device(drop, y.device), torch.full_like(y, null_class), y)  # dropped labels -> the null class


def dropout_step(model: nn.Module, optimizer: torch.optim.Optimizer, x1: Tensor, y: Tensor, p_uncond: float,
                 generator: torch.Generator | None = None) -> float:
    """One flow-matching step with condition dropout (the step of ``train(p_uncond=...)``); returns the loss.

    Draws, in order: the dropout mask (``drop_labels``), t ~ U[0, 1] and x0 ~ N(0, I) (``fm_loss``); the model sees
    ``y`` with the dropped labels set to ``model.null_class``, so one network learns v(x, t; c) and v(x, t; ∅).
    """
    check_fraction(p_uncond, "p_uncond")
    y_in = drop_labels(y, model.null_class, p_uncond, generator)  # condition dropout
    loss = fm_loss(model, x1, generator=generator, y=y_in)  # the flow-matching loss with the kept labels
    optimizer.zero_grad()
    loss.backward()
    optimizer.step()
    return loss.item()


def _next_batch(sample_data, n, generator, p_uncond, null_class, device) -> tuple[Tensor, Tensor | None, dict]:
    """One batch from ``sample_data(n, generator)`` (x1, (x1, y) or (x1, {condition keywords})), labels dropped with
    p_uncond, on ``device``: (x1, y, other conditions)."""
    batch = sample_data(n, generator)
    if isinstance(batch, (tuple, list)) and len(batch) != 2:
        raise ValueError(f"sample_data must return x1 or (x1, y), got a sequence of length {len(batch)}")
    x1, y = batch if isinstance(batch, (tuple, list)) else (batch, None)
    extra = {}
    if isinstance(y, dict):
        extra = {k: to_device(v, device) for k, v in y.items() if k != "y"}  # condition images, vectors, tokens
        y = y.get("y")
    if p_uncond > 0:
        if y is None:
            raise ValueError("p_uncond > 0 needs labels: sample_data must return (x1, y)")
        y = drop_labels(y, null_class, p_uncond, generator)  # condition dropout
    return to_device(x1, device), (to_device(y, device) if y is not None else None), extra


_GPU_READ_EVERY = 25  # on a GPU the losses are read back (one host-device sync) once per this many steps


def read_every(device: torch.device) -> int:
    """How often a training loop on ``device`` reads its losses back: every step on a CPU (free), else every 25."""
    return 1 if torch.device(device).type == "cpu" else _GPU_READ_EVERY


def read_values(pending: list, step: int, every: int, history: list, what: str = "loss",
                before_update: bool = True) -> None:
    """Move the not yet read values (0-d tensors of steps step - len(pending) + 1 .. step) into ``history`` (floats,
    one host-device sync for all of them); raise FloatingPointError at the first non-finite one.  ``before_update``:
    the caller reads before this step's update (the error can then say the weights are as before it)."""
    values = torch.stack(pending).tolist() if len(pending) > 1 else [pending[0].item()]
    first = step - len(pending) + 1
    pending.clear()
    for k, value in enumerate(values):
        if not math.isfinite(value):
            where = "weights left as before it" if first + k == step and before_update else \
                f"seen at step {step}" if first + k == step else \
                f"seen at step {step}: on a GPU the values are read every {every} steps, so the weights have " \
                f"taken the bad steps since"
            raise FloatingPointError(f"the {what} is {value} at step {first + k} ({where}); lower lr")
        history.append(value)


def _running(history: list, window: int = 50) -> float:
    """The mean of the last ``window`` losses (the progress bar's figure)."""
    tail = history[-window:]
    return sum(tail) / len(tail)


def train(model: nn.Module, sample_data: Callable, *, steps: int, batch_size: int, lr: float = 1e-3, seed: int = 0,
          ema_decay: float | None = None, p_uncond: float = 0.0, callback: Callable[[dict], None] | None = None,
          callback_every: int = 100, progress: bool = True, objective: str = "flow") -> TrainResult:
    """Train ``model`` with the flow-matching loss and Adam; deterministic given ``seed`` and the initial weights.

    Args:
        model: a velocity network ``model(x, t, y=None) -> v`` (an ``nn.Module``), trained in place on its device.
        sample_data: ``sample_data(n, generator) -> x1`` of shape (n, *dims), ``-> (x1, y)`` with labels (n,), or
            ``-> (x1, {"cond": images, ...})`` with keyword conditions (a "y" entry there is the labels).
            It must draw its randomness from ``generator`` (a CPU ``torch.Generator`` seeded with ``seed``).
        steps, batch_size: number of Adam steps and samples per step.
        lr: Adam's learning rate.
        seed: seeds the one generator used for data, t, x0 and condition dropout.
        ema_decay: keep an exponential moving average of the weights with this decay (e.g. 0.999), or None.
        p_uncond: probability of replacing a label by the model's ``null_class`` (classifier-free guidance training).
        callback: called every ``callback_every`` steps (and after the last) with ``{"step", "loss", "model", "ema"}``.
        progress: show a tqdm bar whose postfix is the running loss.
        objective: "flow" (``fm_loss``, a velocity field) or "regression" (``regression_loss``, a direct predictor
            of x1 from the condition, the baseline a generative model is compared with).
    Returns:
        ``TrainResult(model, loss_history, ema, seconds)``; ``ema`` is the averaged copy (a field too) or None.
    """
    steps, batch_size = check_int(steps, "steps"), check_int(batch_size, "batch_size")
    callback_every = check_int(callback_every, "callback_every")
    if not isinstance(model, nn.Module):
        raise TypeError(f"model must be a torch.nn.Module, got {type(model).__name__}")
    if not callable(sample_data):
        raise TypeError("sample_data must be a callable sample_data(n, generator) -> x1 or (x1, y)")
    if callback is not None and not callable(callback):
        raise TypeError("callback must be a callable callback(info: dict) or None")
    check_positive(lr, "lr"), check_fraction(p_uncond, "p_uncond")
    if objective not in _OBJECTIVES:
        raise ValueError(f"objective must be one of {sorted(_OBJECTIVES)}, got {objective!r}")
    loss_fn = _OBJECTIVES[objective]
    null_class = getattr(model, "null_class", None)
    if p_uncond > 0 and null_class is None:
        raise ValueError("p_uncond > 0 needs a conditional model with a null_class (e.g. MLPVelocity(n_classes=K))")

    device = next(model.parameters()).device
    generator = torch.Generator().manual_seed(int(seed))  # all randomness of the loop
    optimizer = torch.optim.Adam(model.parameters(), lr=lr)
    ema = EMA(model, ema_decay) if ema_decay is not None else None
    result = TrainResult(model=model, ema=ema.model if ema else None)
    every = read_every(device)  # reading a GPU loss makes the host wait for the GPU: do it once per `every` steps
    was_training, start, pending = model.training, time.perf_counter(), []
    model.train()
    bar = tqdm(range(1, steps + 1), disable=not progress, desc="train", leave=False)
    try:
        for step in bar:
            with trusted() if step > 1 else contextlib.nullcontext():  # step 1 checked the sampler's values
                x1, y, extra = _next_batch(sample_data, batch_size, generator, p_uncond, null_class, device)  # data
                loss = loss_fn(model, x1, generator=generator, y=y, cond=extra)  # the objective on this batch
            pending.append(loss.detach())
            report = callback is not None and (step % callback_every == 0 or step == steps)
            if len(pending) >= every or report or step == steps or (progress and step % 25 == 0):
                read_values(pending, step, every, result.loss_history)  # raises on a non-finite loss
            optimizer.zero_grad(set_to_none=True)
            loss.backward()  # gradients of the MSE
            optimizer.step()  # Adam update
            if ema is not None:
                ema.update(model)  # θ_ema <- decay θ_ema + (1 - decay) θ
            if progress and (step % 25 == 0 or step == steps):
                bar.set_postfix(loss=f"{_running(result.loss_history):.4f}", refresh=False)
            if report:
                callback({"step": step, "loss": result.loss_history[-1], "model": model, "ema": result.ema})
    finally:
        bar.close()
        model.train(was_training)
    result.seconds = time.perf_counter() - start
    return result
