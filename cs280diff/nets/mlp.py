"""The velocity MLP: a callable ``net(x, t, y=None) -> v``, interchangeable with the exact oracles of ``flows.mixtures``.

Convention (docs/conventions.md): t in [0, 1], t = 0 is noise, t = 1 is data; x is (batch, *dims) and t a float, a
0-d or a (batch,) tensor; v has the shape and dtype of x.  Class conditioning uses an extra "null" class (index ``n_classes``)
for classifier-free guidance: y = None means "unconditional".
"""
from __future__ import annotations

import torch
from torch import nn

from cs280diff.nets.embeddings import class_labels, sinusoidal_embedding
from cs280diff.validate import check_int, check_t, check_x

Tensor = torch.Tensor

__all__ = ["MLPVelocity"]


class MLPVelocity(nn.Module):
    """An MLP velocity field v_θ(x, t, y) on flattened x, for toy data (1D, 2D) and small images alike.

    Input features: [x flattened (dim), sinusoidal time embedding (t_embed), class embedding (t_embed, if
    conditional), condition vector (cond_dim, if any)] -> ``depth`` hidden layers of width ``hidden`` with SiLU -> a linear layer back to ``dim``.

    Args:
        dim: number of features per sample, prod(dims) for x of shape (batch, *dims).
        hidden: width of each hidden layer.
        depth: number of hidden layers (>= 1).
        t_embed: size of the time embedding (even), also the size of the class embedding.
        n_classes: number of classes for conditioning, or None for an unconditional model.  A conditional model
            has ``n_classes + 1`` embeddings: index ``n_classes`` (``null_class``) is "no condition" (y = None).
        cond_dim: size of a condition vector (e.g. a target point), concatenated to the input, or None.
    Call: ``net(x, t, y=None, cond=None)`` with cond (batch, cond_dim) when the model has one, and x (batch, *dims), t float or (batch,) in [0, 1], y None, an int or a (batch,)
    integer tensor in [0, n_classes]; returns v of shape and dtype of x (computed in the parameters' dtype).
    """

    def __init__(self, dim: int, hidden: int = 128, depth: int = 3, t_embed: int = 32, n_classes: int | None = None,
                 cond_dim: int | None = None):
        super().__init__()
        self.dim, self.hidden = check_int(dim, "dim"), check_int(hidden, "hidden")
        self.depth = check_int(depth, "depth")
        self.t_embed = check_int(t_embed, "t_embed", lo=2)
        if self.t_embed % 2:
            raise ValueError(f"t_embed must be even (half cosines, half sines), got {t_embed}")
        self.n_classes = None if n_classes is None else check_int(n_classes, "n_classes")
        self.class_embed = None if n_classes is None else nn.Embedding(self.n_classes + 1, self.t_embed)
        self.cond_dim = None if cond_dim is None else check_int(cond_dim, "cond_dim")
        width = self.dim + self.t_embed * (1 if n_classes is None else 2) + (self.cond_dim or 0)
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
               f"n_classes={self.n_classes}" + (f", cond_dim={self.cond_dim}" if self.cond_dim else "")

    def _cond(self, cond, batch: int, dtype) -> list[Tensor]:
        """The condition vector (batch, cond_dim) as extra input features ([] for a model without one)."""
        if self.cond_dim is None:
            if cond is not None:
                raise TypeError("this MLPVelocity takes no condition vector (built with cond_dim=None)")
            return []
        if not isinstance(cond, Tensor) or cond.shape != (batch, self.cond_dim):
            raise ValueError(f"cond must be a ({batch}, {self.cond_dim}) tensor, got {getattr(cond, 'shape', cond)}")
        return [cond.to(dtype)]

    def _labels(self, y, batch: int, device) -> Tensor | None:
        """Checked labels (batch,) long, with y = None -> the null class; None for an unconditional model."""
        return class_labels(y, batch, self.n_classes, device, owner=type(self).__name__)

    def forward(self, x: Tensor, t, y=None, cond: Tensor | None = None) -> Tensor:
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
        feats += self._cond(cond, batch, p.dtype)
        v = self.net(torch.cat(feats, dim=1))
        return v.reshape(x.shape).to(x.dtype)
