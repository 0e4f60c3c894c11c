"""How the shipped weights are made: one recipe per model, the build that trains them, the metrics measured on them.

  specs        ``SPECS``: architecture, data, training settings, headline metric and rebuild tolerances per model
  build        train from scratch (deterministic), write the safetensors files and the manifest; compare a rebuild
  measure      the build-time metrics (accuracy, FD-digits, endpoint errors, ...)
  __main__     ``python -m cs280diff.recipes build | measure | verify | compare | list``

Maintainer tooling: it may import everything student-facing (top level, ``flows``, ``nets``, ``distill``, ``images``); nothing
student-facing imports it.  It sits above ``images`` because the build measures image metrics, which read the
shipped classifier through ``nets.registry``.
"""
