"""Embeddings shared by the networks: the sinusoidal time embedding and checked class labels (with a null class).

Convention (docs/conventions.md): t in [0, 1], t = 0 is noise, t = 1 is data.  Class-conditional networks have an
extra "null" class (index ``n_classes``) for classifier-free guidance: y = None means "unconditional".
"""
from __future__ import annotations

import math
import numbers

import torch

from cs280diff.validate import check_t, is_trusted

Tensor = torch.Tensor

__all__ = ["T_SCALE", "sinusoidal_embedding", "class_labels"]

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
    if not is_trusted() and y.numel() and (y.min() < 0 or y.max() > n_classes):  # reads the values: skipped in loops
        raise ValueError(f"labels y must lie in [0, {n_classes}] ({n_classes} = null class), got "
                         f"values in [{int(y.min())}, {int(y.max())}]")
    return y.to(device=device, dtype=torch.long)
