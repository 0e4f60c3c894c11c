"""cs280diff: the helper package of the CS280 practicum on flow-matching / diffusion samplers.

Conventions (the sheet: docs/conventions.md): t = 0 is noise, t = 1 is data, x_t = (1 - t) x0 + t x1, and a velocity
field is any callable ``field(x, t, **cond) -> v``.

Where things live (each room's ``__init__`` says what it holds and what it may import):
  conventions, validate, runtime, grading   top level: the path and its conversions, every argument check, device /
                                            profile / seeds, the check helpers that test cells import
  flows/     the mathematics: mixture oracles, schedules, ODE and SDE samplers, distances
  nets/      networks, their training, checkpoints and the shipped weights
  distill/   fewer steps: progressive distillation, distribution matching (DMD), reflow, a few-step sampler table
  images/    the digits and image metrics
  plots/     figures and widgets for the notebooks
  recipes/   how the shipped weights are built (maintainers)
  course/    release, autograde, authoring (instructors and TAs)
Imports point one way, down this list (``tests/test_layout.py`` keeps it so): nothing student-facing imports
``recipes`` or ``course``.
"""
__version__ = "0.1.0"
