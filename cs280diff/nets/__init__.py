"""Networks, their training and the shipped weights.

  embeddings   the sinusoidal time embedding, checked class labels (null class for classifier-free guidance)
  mlp          ``MLPVelocity``, a velocity MLP for toy data and flattened images
  unet         ``TinyUNet``, a small convolutional UNet velocity field for digits (optionally with condition channels)
  conditioning how a network takes a condition: input channels, adaLN / FiLM modulation, cross-attention
  dit          ``TinyDiT``, a small Diffusion Transformer: patches as tokens, adaLN-zero, optional cross-attention
  generator    ``OneStepGenerator``, x = z + f(z): the one-step sampler that DMD trains
  classifiers  clean and noisy (time-conditioned) digit classifiers, their training, accuracy
  training     the flow-matching loss, EMA, the training loop
  checkpoints  safetensors save / load with deterministic bytes (never pickle)
  registry     the shipped weights (``weights/``, with ``manifest.json``): sha256 checks, ``load_pretrained``
How the shipped weights are built: ``cs280diff.recipes``.

May import: the top-level modules and ``flows``; never ``images``, ``plots``, ``recipes`` or ``course``.
"""
