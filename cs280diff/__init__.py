"""cs280diff: the helper package of the CS280 practicum on flow-matching / diffusion samplers.

Conventions (see `cs280diff.conventions`): t = 0 is noise, t = 1 is data, x_t = (1 - t) x0 + t x1,
and a velocity field is any callable ``field(x, t, **cond) -> v``.
"""
__version__ = "0.1.0"
