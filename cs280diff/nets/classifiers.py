"""Digit classifiers: a clean one p(y | x1) (accuracy, features for image metrics, guidance on x̂1) and a
time-conditioned *noisy* one p(y | x_t, t) for classifier guidance (Dhariwal & Nichol 2021).

Convention (docs/conventions.md): t in [0, 1], t = 0 noise, t = 1 data; x_t = (1 - t) x0 + t x1 with x0 ~ N(0, I).
Images are (batch, 1, size, size) in [-1, 1].  The noisy classifier is trained on x_t for t ~ U[0, 1]: at t = 0, x_t is pure
noise and the best it can do is chance (10 %); at t = 1 it is a clean classifier.
"""
from __future__ import annotations

import math
import time
from dataclasses import dataclass, field
from typing import Callable

import torch
from torch import nn
from torch.nn import functional as F
from cs280diff.progress import tqdm

from cs280diff.conventions import path
from cs280diff.nets.embeddings import sinusoidal_embedding
from cs280diff.runtime import to_device
from cs280diff.validate import check_fraction, check_int, check_positive, check_t, check_x

Tensor = torch.Tensor

__all__ = ["DigitClassifier", "NoisyDigitClassifier", "random_shift", "ClassifierTrainResult", "train_classifier",
           "accuracy", "predict"]


class DigitClassifier(nn.Module):
    """A small CNN classifier for (batch, channels, size, size) images in [-1, 1]; ``net(x) -> logits (batch, K)``.

    conv 3×3 (width) -> stride-2 conv 3×3 (2·width, size/2) -> conv 3×3 (2·width) -> flatten -> linear (feat) =
    the *features* (penultimate layer, used by ``cs280diff.images.metrics``) -> linear (K).  SiLU after every layer
    but the last; dropout (training only) before and after the feature layer.
    ``features(x)`` returns the (batch, feat) penultimate activations.
    """

    def __init__(self, size: int = 8, channels: int = 1, width: int = 32, feat: int = 64, n_classes: int = 10,
                 dropout: float = 0.2):
        super().__init__()
        self.size, self.channels = check_int(size, "size", lo=2), check_int(channels, "channels")
        if self.size % 2:
            raise ValueError(f"size must be even (one stride-2 convolution), got {size}")
        self.width, self.feat = check_int(width, "width"), check_int(feat, "feat")
        self.n_classes = check_int(n_classes, "n_classes", lo=2)
        dropout = check_fraction(dropout, "dropout")
        w = self.width
        self.convs = nn.ModuleList([
            nn.Conv2d(self.channels, w, 3, padding=1),
            nn.Conv2d(w, 2 * w, 3, stride=2, padding=1),  # size -> size / 2
            nn.Conv2d(2 * w, 2 * w, 3, padding=1),
        ])
        self.drop = nn.Dropout(float(dropout))
        self.proj = nn.Linear(2 * w * (self.size // 2) ** 2, self.feat)
        self.head = nn.Linear(self.feat, self.n_classes)

    def extra_repr(self) -> str:
        return f"size={self.size}, channels={self.channels}, width={self.width}, feat={self.feat}, " \
               f"n_classes={self.n_classes}"

    def _check(self, x: Tensor) -> Tensor:
        check_x(x)
        if x.ndim != 4 or x.shape[1:] != (self.channels, self.size, self.size):
            raise ValueError(f"x must have shape (batch, {self.channels}, {self.size}, {self.size}), got "
                             f"{tuple(x.shape)}")
        return x.to(self.head.weight.dtype)

    def _modulate(self, h: Tensor, i: int, emb: Tensor | None) -> Tensor:
        return h  # the clean classifier has no time conditioning

    def _features(self, x: Tensor, emb: Tensor | None) -> Tensor:
        h = self._check(x)
        for i, conv in enumerate(self.convs):
            h = F.silu(self._modulate(conv(h), i, emb))  # conv, (FiLM by time), SiLU
        return F.silu(self.proj(self.drop(h.flatten(1))))  # penultimate features (batch, feat)

    def features(self, x: Tensor) -> Tensor:
        """Penultimate features (batch, feat) of images x (batch, channels, size, size)."""
        return self._features(x, None)

    def forward(self, x: Tensor) -> Tensor:
        """Class logits (batch, n_classes); softmax gives p(y | x)."""
        return self.head(self.drop(self.features(x)))


class NoisyDigitClassifier(DigitClassifier):
    """A time-conditioned classifier p(y | x_t, t): ``net(x_t, t) -> logits (batch, K)``.

    The same CNN as ``DigitClassifier``; after every convolution the activations are modulated by a per-channel
    scale and shift computed from the sinusoidal embedding of t (FiLM).  t: float, 0-d or (batch,) in [0, 1].
    For classifier guidance use ∇_x log softmax(net(x, t))[y] (autograd through the network).
    """

    def __init__(self, size: int = 8, channels: int = 1, width: int = 32, feat: int = 64, n_classes: int = 10,
                 dropout: float = 0.0, t_embed: int = 32):
        super().__init__(size, channels, width, feat, n_classes, dropout)
        self.t_embed = check_int(t_embed, "t_embed", lo=2)
        if self.t_embed % 2:
            raise ValueError(f"t_embed must be even (half cosines, half sines), got {t_embed}")
        self.time_mlp = nn.Sequential(nn.Linear(self.t_embed, 4 * self.width), nn.SiLU())
        self.films = nn.ModuleList([nn.Linear(4 * self.width, 2 * c.out_channels) for c in self.convs])
        for f in self.films:
            nn.init.zeros_(f.weight)  # start as the clean network: scale 1, shift 0
            nn.init.zeros_(f.bias)

    def extra_repr(self) -> str:
        return super().extra_repr() + f", t_embed={self.t_embed}"

    def _modulate(self, h: Tensor, i: int, emb: Tensor | None) -> Tensor:
        scale, shift = self.films[i](emb)[:, :, None, None].chunk(2, dim=1)
        return h * (1 + scale) + shift  # FiLM by the time embedding

    def _embed(self, x: Tensor, t) -> Tensor:
        t = check_t(t, x).to(self.head.weight.dtype).reshape(-1).expand(x.shape[0])  # (batch,)
        return self.time_mlp(sinusoidal_embedding(t, self.t_embed))

    def features(self, x: Tensor, t=1.0) -> Tensor:
        """Penultimate features (batch, feat) of x_t at time t (default t = 1: clean images)."""
        return self._features(x, self._embed(x, t))

    def forward(self, x: Tensor, t) -> Tensor:
        """Class logits (batch, n_classes) of x_t at time t; softmax gives p(y | x_t, t)."""
        return self.head(self.drop(self.features(x, t)))


# ----------------------------------------------------------------------------------------------- training
def random_shift(x: Tensor, generator: torch.Generator | None = None, max_shift: int = 1,
                 fill: float = -1.0) -> Tensor:
    """Translate each image (batch, C, H, W) by a random integer offset in [-max_shift, max_shift]², padding with
    ``fill`` (the background, -1); a data augmentation that keeps labels valid."""
    if max_shift == 0:
        return x
    n, _, h, w = x.shape
    gen_device = generator.device if generator is not None else torch.device("cpu")
    pad = F.pad(x, (max_shift,) * 4, value=fill)  # (n, C, H + 2m, W + 2m)
    dy, dx = to_device(torch.randint(0, 2 * max_shift + 1, (2, n), generator=generator, device=gen_device),
                       x.device)  # the random offsets
    rows = (dy[:, None] + torch.arange(h, device=x.device))[:, None, :, None]  # (n, 1, H, 1)
    cols = (dx[:, None] + torch.arange(w, device=x.device))[:, None, None, :]  # (n, 1, 1, W)
    batch = torch.arange(n, device=x.device)[:, None, None, None]
    chan = torch.arange(x.shape[1], device=x.device)[None, :, None, None]
    return pad[batch, chan, rows, cols]  # crop a window at the random offset


@dataclass
class ClassifierTrainResult:
    """What ``train_classifier`` returns: the trained ``model``, one loss per step and the wall time."""
    model: nn.Module
    loss_history: list[float] = field(default_factory=list)
    seconds: float = 0.0


def train_classifier(model: nn.Module, sample_data: Callable, *, steps: int, batch_size: int = 128,
                     lr: float = 2e-3, weight_decay: float = 0.0, label_smoothing: float = 0.0, seed: int = 0,
                     max_shift: int = 0, progress: bool = True) -> ClassifierTrainResult:
    """Train a classifier with cross-entropy and AdamW (cosine learning-rate decay); deterministic given ``seed``.

    For a ``NoisyDigitClassifier`` each batch is noised first: t ~ U[0, 1], x0 ~ N(0, I), x_t = (1 - t) x0 + t x1,
    and the loss is CE(net(x_t, t), y).  A ``DigitClassifier`` sees the clean x1 (randomly shifted by up to
    ``max_shift`` pixels when > 0).  Dropout is seeded with ``seed`` too (the global RNG is restored afterwards).
    Args:
        sample_data: ``sample_data(n, generator) -> (x1 (n, C, H, W), y (n,))`` (e.g. ``digits.digits_sampler()``).
    """
    steps, batch_size = check_int(steps, "steps"), check_int(batch_size, "batch_size")
    if not isinstance(model, DigitClassifier):
        raise TypeError(f"model must be a DigitClassifier or NoisyDigitClassifier, got {type(model).__name__}")
    check_positive(lr, "lr")
    noisy = isinstance(model, NoisyDigitClassifier)
    device = model.head.weight.device
    generator = torch.Generator().manual_seed(int(seed))  # all randomness of the loop
    optimizer = torch.optim.AdamW(model.parameters(), lr=lr, weight_decay=weight_decay)
    schedule = torch.optim.lr_scheduler.LambdaLR(optimizer, lambda k: 0.5 * (1 + math.cos(math.pi * k / steps)))
    result, start, was_training = ClassifierTrainResult(model=model), time.perf_counter(), model.training
    devices = [device] if device.type == "cuda" else []
    with torch.random.fork_rng(devices=devices):  # dropout draws from torch's global RNG: seed it, restore it after
        torch.manual_seed(int(seed))
        model.train()
        bar = tqdm(range(1, steps + 1), disable=not progress, desc="train classifier", leave=False)
        losses = []
        try:
            for step in bar:
                x1, y = sample_data(batch_size, generator)
                x1, y = to_device(x1, device), to_device(y, device)
                if max_shift:
                    x1 = random_shift(x1, generator, max_shift)  # augmentation: small translations
                if noisy:
                    t = to_device(torch.rand(batch_size, generator=generator), device)  # t ~ U[0, 1]
                    x0 = to_device(torch.randn(x1.shape, generator=generator), device)  # x0 ~ N(0, I)
                    logits = model(path(x0, x1, t), t)  # classify x_t = (1 - t) x0 + t x1
                else:
                    logits = model(x1)
                loss = F.cross_entropy(logits, y, label_smoothing=label_smoothing)  # -log p(y | x)
                optimizer.zero_grad(set_to_none=True)
                loss.backward()
                optimizer.step()
                schedule.step()  # cosine decay of the learning rate to 0
                losses.append(loss.detach())  # read back once at the end (a GPU would wait on each)
                if progress and (step % 25 == 0 or step == steps):
                    bar.set_postfix(loss=f"{loss.item():.4f}", refresh=False)
        finally:
            result.loss_history = torch.stack(losses).tolist() if losses else []
            bar.close()
            model.train(was_training)
    result.seconds = time.perf_counter() - start
    return result


@torch.no_grad()
def predict(model: nn.Module, x: Tensor, t=None, batch_size: int = 1000) -> Tensor:
    """Predicted classes (n,) of images x (n, C, H, W); ``t`` (float or (n,)) for a noisy classifier."""
    check_x(x)
    was_training = model.training
    model.eval()
    out = []
    try:
        for i in range(0, x.shape[0], batch_size):
            xb = x[i:i + batch_size]
            if t is None:
                logits = model(xb)
            else:
                tb = t[i:i + batch_size] if isinstance(t, Tensor) and t.ndim == 1 else t
                logits = model(xb, tb)
            out.append(logits.argmax(dim=1))
    finally:
        model.train(was_training)
    return torch.cat(out)


def accuracy(model: nn.Module, x: Tensor, y: Tensor, t=None, batch_size: int = 1000) -> float:
    """Fraction of images x (n, C, H, W) classified as their labels y (n,); ``t`` for a noisy classifier.

    For a noisy classifier, pass x_t (already noised) and its time t.
    """
    if not isinstance(y, Tensor) or y.shape != (x.shape[0],):
        raise ValueError(f"y must be a ({x.shape[0]},) tensor of labels")
    return (predict(model, x, t, batch_size).cpu() == y.cpu()).double().mean().item()
