"""``OneStepGenerator``: a one-step sampler x = G(z, y) for distribution matching distillation (DMD).

G(z, y) = z + scale · f(z, y), with f an ``MLPVelocity`` evaluated at t = 0 (its time input fixed).  A small
``init_scale`` on f's last layer starts G near the identity, the DMD recipe that worked on the toy; DMD2 instead
starts from the teacher (``from_velocity``: G(z) = z + v(z, 0), one Euler step, which lands on the data mean).
"""
from __future__ import annotations

import torch
from torch import nn

from cs280diff.nets.mlp import MLPVelocity
from cs280diff.validate import check_positive, check_x

Tensor = torch.Tensor

__all__ = ["OneStepGenerator"]


class OneStepGenerator(nn.Module):
    """x = G(z, y) = z + f(z, t = 0, y): noise (batch, *dims) -> a sample of the same shape in one evaluation.

    Args: ``dim``, ``hidden``, ``depth``, ``t_embed``, ``n_classes`` as for ``MLPVelocity`` (f's architecture);
    ``init_scale``: f's last layer is multiplied by this at initialisation (0.01: G starts at the identity).
    Call: ``G(z, y=None)``; y as for ``MLPVelocity`` (None = the null class of a conditional G).
    """

    def __init__(self, dim: int, hidden: int = 128, depth: int = 3, t_embed: int = 32, n_classes: int | None = None,
                 init_scale: float = 0.01):
        super().__init__()
        self.init_scale = check_positive(init_scale, "init_scale")
        self.f = MLPVelocity(dim, hidden, depth, t_embed, n_classes)
        with torch.no_grad():
            last = self.f.net[-1]
            last.weight.mul_(self.init_scale), last.bias.mul_(self.init_scale)  # start near G(z) = z

    @classmethod
    def from_velocity(cls, velocity: MLPVelocity) -> "OneStepGenerator":
        """G initialised from a teacher MLP: G(z) = z + v(z, 0), one Euler step from t = 0 (DMD2's initialisation)."""
        g = cls(velocity.dim, velocity.hidden, velocity.depth, velocity.t_embed, velocity.n_classes, init_scale=1.0)
        g.f.load_state_dict(velocity.state_dict())
        return g

    @property
    def null_class(self) -> int | None:
        """The label meaning "no condition" (= n_classes), or None for an unconditional generator."""
        return self.f.null_class

    def forward(self, z: Tensor, y=None) -> Tensor:
        check_x(z, "z")
        return z + self.f(z, 0.0, y=y)  # residual: x = z + f(z, 0, y)
