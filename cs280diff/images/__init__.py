"""Images: the digits (scikit-learn's, no download), procedural worlds, loaders for your own files, and metrics.

  digits       8×8 digits in [-1, 1] with a fixed train/test split, a 16×16 variant, MNIST-style file loaders
  metrics      class accuracy, FD-digits, precision/recall, diversity, on the shipped classifier's features
  studies      one sampler knob swept at equal NFE on the digits (notebook 4's churn experiment, tests, benchmarks)
  retrain      a shipped digits model trained again from scratch with its recipe, measured as the manifest was
               (notebook 7's full profile; ``recipes.measure`` uses its protocol)
  worlds       notebook 8's procedural worlds: moving sprites, camera views, depth scenes, inpainting masks
  game, video, poses  notebook 8 part 2: a playable world, a video from a first frame and a signal, a two-link arm

May import: the top-level modules, ``flows`` and ``nets`` (the metrics use the shipped classifier); never ``plots``,
``recipes`` or ``course``.
"""
