"""Shipped pretrained weights (safetensors) and their manifest; built by `python -m cs280diff.checkpoints build`."""
