"""The shipped weights (safetensors) and their manifest: read by ``nets.registry``, built by ``cs280diff.recipes``."""
