"""Distillation: fewer sampling steps from a trained flow (notebook 6).

  pd       progressive distillation (Salimans & Ho 2022) in velocity form: halve the steps, round after round
  dmd      distribution matching distillation (Yin et al. 2024, DMD2 refinements): a one-step generator moved by
           the difference of a fake and the real denoiser at noised samples
  reflow   rectified flow (Liu et al. 2023): retrain on (noise, the teacher's ODE output) pairs, a straighter field
  fewstep  one few-step sampler interface for all of them, and the table that compares them at equal NFE

A room of its own, between ``nets`` and ``images``: these algorithms train networks (optimisers, the flow-matching
loss of ``nets.training``), which ``flows`` may not import; the networks themselves live in ``nets``.
May import: the top-level modules, ``flows`` and ``nets``; never ``images``, ``plots``, ``recipes`` or ``course``.
"""
