"""The mathematics of flows: exact oracles, time grids, ODE and SDE samplers, distances between distributions.

  mixtures     Gaussian mixtures with the exact marginal velocity, score and posteriors; the tempered (imperfect) field
  schedules    time grids t_0 = 0 < ... < t_N = 1 (uniform, EDM's rho, SD3's shift)
  solvers      ODE steps (Euler, Heun), the sampling loop, NFE counting, a DOP853 reference solution
  stochastic   fresh-noise samplers: the SDE family (Euler-Maruyama) and EDM's churn
  inversion    data -> noise with the same steps on a reversed grid, the implicit fixed-point step, latent checks,
               editing by inversion and SDEdit
  guidance     exact guidance oracles of a labelled mixture; CFG (batched), classifier guidance on x_t and on x̂1,
               guidance intervals, autoguidance
  inpainting   training-free inpainting by replacement: the known pixels put back on their own path every step
  metrics      W1, sliced W, energy distance (also to an exact mixture), endpoint errors, convergence order, modes
  experiments  the measurements behind notebooks 1-5's experiment exercises (swaps, η sweep, round trips, ...)
Distillation, which trains networks, is the ``distill`` room.

May import: the top-level modules (``conventions``, ``validate``, ``runtime``) and each other; never ``nets``,
``images``, ``plots``, ``recipes`` or ``course``.  Fields are plain callables ``field(x, t, **cond) -> v``, so the
samplers work on any network without importing one.
"""
