"""Velocity networks: callables ``net(x, t, y=None) -> v`` interchangeable with the exact oracles of ``cs280diff.data``.

Convention (DESIGN.md §1): t in [0, 1], t = 0 is noise, t = 1 is data; x is (batch, *dims) and t a float, a 0-d or a
(batch,) tensor; v has the shape and dtype of x.  Class conditioning uses an extra "null" class (index ``n_classes``)
for classifier-free guidance: y = None means "unconditional".
"""
from __future__ import annotations

import math
import numbers

import torch
from torch import nn

from cs280diff.conventions import check_t, check_x

Tensor = torch.Tensor

__all__ = ["sinusoidal_embedding", "class_labels", "MLPVelocity"]

T_SCALE = 1000.0  # t in [0, 1] is scaled to [0, 1000], the range of DDPM's integer timesteps, before sin/cos


def sinusoidal_embedding(t, dim: int, max_period: float = 10_000.0, scale: float = T_SCALE) -> Tensor:
    """Sinusoidal time embedding (Transformer / DDPM): [cos(scale t ω_j), sin(scale t ω_j)], ω_j = max_period^(-j/half).

    Args:
        t: float, 0-d or (batch,) tensor in [0, 1] (t = 0 noise, t = 1 data).
        dim: even embedding size; half the features are cosines, half sines.
        max_period: the slowest frequency's period (in scaled time units).
        scale: t is multiplied by ``scale`` (default 1000) so that the fastest frequencies resolve small steps in t.
    Returns:
        (batch, dim) embedding in t's floating dtype ((1, dim) for a scalar t).
    """
    if isinstance(dim, bool) or not isinstance(dim, numbers.Integral) or dim < 2 or dim % 2:
        raise ValueError(f"dim must be an even int >= 2, got {dim!r}")
    if not max_period > 0:
        raise ValueError(f"max_period must be > 0, got {max_period!r}")
    t = check_t(t).reshape(-1)  # (batch,) in [0, 1]
    half = dim // 2
    j = torch.arange(half, dtype=t.dtype, device=t.device)
    omega = torch.exp(-math.log(max_period) * j / half)  # frequencies 1 .. 1/max_period
    angle = scale * t[:, None] * omega[None]  # (batch, half)
    return torch.cat([torch.cos(angle), torch.sin(angle)], dim=1)


def _check_int(value, name: str, lo: int = 1) -> int:
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < lo:
        raise ValueError(f"{name} must be an int >= {lo}, got {value!r}")
    return int(value)


def class_labels(y, batch: int, n_classes: int | None, device, owner: str = "this model") -> Tensor | None:
    """Checked class labels for a conditional field: (batch,) long on ``device``, or None when unconditional.

    y: None (-> the null class ``n_classes``, "no condition"), an int, or a 0-d / (batch,) integer tensor with
    values in [0, n_classes].  ``n_classes = None`` means an unconditional model, which refuses labels.
    """
    if n_classes is None:
        if y is not None:
            raise ValueError(f"{owner} is unconditional (n_classes=None) but got labels y")
        return None
    if y is None:
        return torch.full((batch,), n_classes, dtype=torch.long, device=device)
    if isinstance(y, numbers.Integral) and not isinstance(y, bool):
        y = torch.full((batch,), int(y), dtype=torch.long, device=device)
    if not isinstance(y, Tensor) or y.dtype.is_floating_point or y.dtype.is_complex or y.dtype == torch.bool:
        raise TypeError(f"y must be None, an int or an integer (batch,) tensor of class labels, got "
                        f"{getattr(y, 'dtype', type(y).__name__)}")
    if y.ndim == 0:
        y = y.expand(batch)
    if y.shape != (batch,):
        raise ValueError(f"y must have shape ({batch},) to match x, got {tuple(y.shape)}")
    if y.numel() and (y.min() < 0 or y.max() > n_classes):
        raise ValueError(f"labels y must lie in [0, {n_classes}] ({n_classes} = null class), got "
                         f"values in [{int(y.min())}, {int(y.max())}]")
    return y.to(device=device, dtype=torch.long)


class MLPVelocity(nn.Module):
    """An MLP velocity field v_θ(x, t, y) on flattened x, for toy data (1D, 2D) and small images alike.

    Input features: [x flattened (dim), sinusoidal time embedding (t_embed), class embedding (t_embed, if
    conditional)] -> ``depth`` hidden layers of width ``hidden`` with SiLU -> a linear layer back to ``dim``.

    Args:
        dim: number of features per sample, prod(dims) for x of shape (batch, *dims).
        hidden: width of each hidden layer.
        depth: number of hidden layers (>= 1).
        t_embed: size of the time embedding (even), also the size of the class embedding.
        n_classes: number of classes for conditioning, or None for an unconditional model.  A conditional model
            has ``n_classes + 1`` embeddings: index ``n_classes`` (``null_class``) is "no condition" (y = None).
    Call: ``net(x, t, y=None)`` with x (batch, *dims), t float or (batch,) in [0, 1], y None, an int or a (batch,)
    integer tensor in [0, n_classes]; returns v of shape and dtype of x (computed in the parameters' dtype).
    """

    def __init__(self, dim: int, hidden: int = 128, depth: int = 3, t_embed: int = 32, n_classes: int | None = None):
        super().__init__()
        self.dim, self.hidden = _check_int(dim, "dim"), _check_int(hidden, "hidden")
        self.depth = _check_int(depth, "depth")
        self.t_embed = _check_int(t_embed, "t_embed", lo=2)
        if self.t_embed % 2:
            raise ValueError(f"t_embed must be even (half cosines, half sines), got {t_embed}")
        self.n_classes = None if n_classes is None else _check_int(n_classes, "n_classes")
        self.class_embed = None if n_classes is None else nn.Embedding(self.n_classes + 1, self.t_embed)
        width = self.dim + self.t_embed * (1 if n_classes is None else 2)
        layers: list[nn.Module] = []
        for _ in range(self.depth):
            layers += [nn.Linear(width, self.hidden), nn.SiLU()]
            width = self.hidden
        layers.append(nn.Linear(width, self.dim))
        self.net = nn.Sequential(*layers)

    @property
    def null_class(self) -> int | None:
        """The label that means "no condition" (= n_classes), or None for an unconditional model."""
        return self.n_classes

    def extra_repr(self) -> str:
        return f"dim={self.dim}, hidden={self.hidden}, depth={self.depth}, t_embed={self.t_embed}, " \
               f"n_classes={self.n_classes}"

    def _labels(self, y, batch: int, device) -> Tensor | None:
        """Checked labels (batch,) long, with y = None -> the null class; None for an unconditional model."""
        return class_labels(y, batch, self.n_classes, device, owner=type(self).__name__)

    def forward(self, x: Tensor, t, y=None) -> Tensor:
        check_x(x)
        batch = x.shape[0]
        flat = x.reshape(batch, -1)  # (batch, *dims) -> (batch, dim)
        if flat.shape[1] != self.dim:
            raise ValueError(f"x has {flat.shape[1]} features per sample but the model expects dim = {self.dim}")
        p = next(self.parameters())
        t = check_t(t, x).to(p.dtype).reshape(-1).expand(batch)  # (batch,) in the parameters' dtype
        feats = [flat.to(p.dtype), sinusoidal_embedding(t, self.t_embed)]
        labels = self._labels(y, batch, x.device)
        if labels is not None:
            feats.append(self.class_embed(labels))  # learned embedding; index n_classes = unconditional
        v = self.net(torch.cat(feats, dim=1))
        return v.reshape(x.shape).to(x.dtype)
