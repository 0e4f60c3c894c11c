"""The shipped pretrained models: the manifest, sha256 checks, and ``load_pretrained`` (nothing is unpickled).

The weights are package data in ``cs280diff/nets/weights/``, listed in its ``manifest.json`` with their sha256, the
architecture, the training settings and the metrics measured when they were built:
    net = load_pretrained("digits_mlp")        # verified against the manifest's sha256, eval mode, frozen
    python -m cs280diff.recipes list           # what is shipped, with sizes and headline metrics
    python -m cs280diff.recipes verify         # check every file's sha256
How each model is built, measured and compared with a rebuild: ``cs280diff.recipes``.
"""
from __future__ import annotations

import hashlib
import json
import os
import struct
from pathlib import Path

from safetensors.torch import load as load_bytes
from torch import nn

from cs280diff.nets.checkpoints import CLASS_KEY
from cs280diff.nets.classifiers import DigitClassifier, NoisyDigitClassifier
from cs280diff.nets.dit import TinyDiT
from cs280diff.nets.generator import OneStepGenerator
from cs280diff.nets.mlp import MLPVelocity
from cs280diff.nets.unet import TinyUNet

__all__ = ["ChecksumError", "weights_dir", "sha256_file", "read_manifest", "available", "construct",
           "load_pretrained", "verify", "MANIFEST", "MAX_TOTAL_BYTES"]

MANIFEST = "manifest.json"
MAX_TOTAL_BYTES = 15_000_000  # all shipped weights together stay under 15 MB
# the only classes a manifest may name: nothing else is ever constructed from a file
ARCHITECTURES = {c.__name__: c for c in (MLPVelocity, TinyUNet, TinyDiT, DigitClassifier, NoisyDigitClassifier,
                                         OneStepGenerator)}


class ChecksumError(ValueError):
    """A weights file whose sha256 differs from the manifest's: corrupt, truncated or replaced."""


def weights_dir() -> Path:
    """The folder of the shipped weights and their manifest (package data, installed with cs280diff)."""
    return Path(__file__).resolve().parent / "weights"


def sha256_file(path: str | os.PathLike) -> str:
    """Hex sha256 of a file's bytes."""
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def read_manifest(directory: str | os.PathLike | None = None) -> dict:
    """The manifest dict of ``directory`` (default: the shipped weights)."""
    path = Path(directory or weights_dir()) / MANIFEST
    if not path.is_file():
        raise FileNotFoundError(f"no {MANIFEST} in {path.parent}: build the weights with "
                                f"`python -m cs280diff.recipes build`")
    return json.loads(path.read_text())


def available(directory: str | os.PathLike | None = None) -> list[str]:
    """Names of the pretrained models listed in the manifest."""
    return sorted(read_manifest(directory)["models"])


def construct(cls_name: str, arch: dict) -> nn.Module:
    """A fresh model of one of the known architectures (``ARCHITECTURES``) from a manifest's ``arch`` dict."""
    if cls_name not in ARCHITECTURES:
        raise ValueError(f"unknown architecture {cls_name!r}; known: {sorted(ARCHITECTURES)}")
    arch = {k: tuple(v) if isinstance(v, list) else v for k, v in arch.items()}
    return ARCHITECTURES[cls_name](**arch)


def _header_class(data: bytes) -> str | None:
    """The class name stored in a safetensors byte string's JSON header (no tensors are parsed)."""
    n = struct.unpack("<Q", data[:8])[0]
    return (json.loads(data[8:8 + n]).get("__metadata__") or {}).get(CLASS_KEY)


def load_pretrained(name: str, device=None, *, directory: str | os.PathLike | None = None) -> nn.Module:
    """A shipped pretrained model, checked against the manifest's sha256, in eval mode with frozen weights.

    Args:
        name: one of ``available()``, e.g. "digits_mlp", "digits_unet", "digits_classifier",
            "digits_noisy_classifier", "ring_mlp", "lecture1d_mlp".
        device: where to put it (default CPU).
        directory: another weights folder with its own manifest (e.g. a rebuild); default the shipped one.
    The bytes are hashed and then loaded from memory (what is verified is what is loaded); nothing is unpickled.
    Call ``.requires_grad_(True)`` on the result to fine-tune it (e.g. as a distillation student).
    """
    manifest = read_manifest(directory)
    entries = manifest["models"]
    if name not in entries:
        raise KeyError(f"unknown pretrained model {name!r}; available: {', '.join(sorted(entries))}")
    entry = entries[name]
    if Path(entry["file"]).name != entry["file"]:
        raise ValueError(f"the manifest's file name for {name!r} must be a plain file name, got {entry['file']!r}")
    path = Path(directory or weights_dir()) / entry["file"]
    if not path.is_file():
        raise FileNotFoundError(f"the weights of {name!r} are missing ({path}); reinstall cs280diff or rebuild them "
                                f"with `python -m cs280diff.recipes build --only {name}`")
    data = path.read_bytes()
    digest = hashlib.sha256(data).hexdigest()
    if digest != entry["sha256"]:
        raise ChecksumError(f"refusing to load {path}: its sha256 is {digest} but the manifest expects "
                            f"{entry['sha256']}; the file is corrupt or was replaced. Reinstall cs280diff or "
                            f"rebuild with `python -m cs280diff.recipes build --only {name}`")
    if _header_class(data) != entry["class"]:
        raise ValueError(f"{path} holds a {_header_class(data)}, the manifest says {entry['class']}")
    model = construct(entry["class"], entry["arch"])
    model.load_state_dict(load_bytes(data), strict=True)
    return model.to(device or "cpu").eval().requires_grad_(False)


def verify(directory: str | os.PathLike | None = None) -> dict[str, bool]:
    """{name: sha256 matches the manifest} for every model of ``directory``'s manifest (missing files -> False)."""
    d = Path(directory or weights_dir())
    out = {}
    for name, entry in read_manifest(d)["models"].items():
        path = d / entry["file"]
        out[name] = path.is_file() and sha256_file(path) == entry["sha256"]
    return out
