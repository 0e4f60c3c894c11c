"""Guidance: fields that push samples toward a condition (notebook 5 uses CFG while inverting; notebook 7 teaches it).

  cfg_field   classifier-free guidance, the lecture's form v_s = v(x, t; ∅) + s (v(x, t; c) - v(x, t; ∅))

Conventions (docs/conventions.md): s = 0 unconditional, s = 1 conditional, s > 1 extrapolates past the condition
(the other common form, (1 + w) v_c - w v_∅, is s = 1 + w).  A field is ``field(x, t, **cond) -> v``; the
unconditional velocity is the field called with the condition set to ``None`` (the networks' null class).
"""
from __future__ import annotations

from cs280diff.flows.solvers import Field
from cs280diff.validate import check_number

__all__ = ["cfg_field"]


def cfg_field(field: Field, scale: float, *, key: str = "y") -> Field:
    """The guided field ``guided(x, t, **cond)``: v(x, t; ∅) + s (v(x, t; c) - v(x, t; ∅)) with c = cond[key].

    2 NFE per call (one unconditional, one conditional evaluation); scale s = 1 returns the conditional field
    exactly (1 NFE).  ``field`` must accept ``key=None`` as "no condition".
    """
    s = check_number(scale, "scale")

    def guided(x, t, **cond):
        if s == 1:
            return field(x, t, **cond)  # the conditional field itself
        v_c = field(x, t, **cond)  # conditional velocity
        v_u = field(x, t, **{**cond, key: None})  # unconditional velocity (null condition)
        return v_u + s * (v_c - v_u)  # the lecture's form

    guided.scale = s
    return guided
