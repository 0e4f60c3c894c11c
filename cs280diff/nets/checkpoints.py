"""Model checkpoints as safetensors files: no pickle anywhere, and the same weights always give the same bytes.

A file holds the model's ``state_dict`` tensors and two metadata strings: ``cs280diff.meta`` (your ``meta`` dict as
JSON) and ``cs280diff.class`` (the model's class name, checked on load).  Its JSON header is written with sorted keys,
so equal weights and metadata always give identical bytes (the safetensors library orders metadata arbitrarily).
The shipped pretrained models are read through ``cs280diff.nets.registry``.
"""
from __future__ import annotations

import json
import os
import struct
from pathlib import Path

import torch
from safetensors import safe_open
from safetensors.torch import load_file
from safetensors.torch import save as save_bytes
from torch import nn

__all__ = ["save_model", "load_model", "META_KEY", "CLASS_KEY"]

META_KEY = "cs280diff.meta"
CLASS_KEY = "cs280diff.class"


def save_model(model: nn.Module, path: str | os.PathLike, meta: dict | None = None, *,
               dtype: torch.dtype | None = None) -> None:
    """Write ``model``'s weights and the JSON-serialisable dict ``meta`` to the safetensors file ``path``.

    dtype: store the floating-point tensors in this dtype (e.g. ``torch.float16``, half the bytes); loading casts
    them back to the model's own dtype.  Default: as they are.
    """
    if not isinstance(model, nn.Module):
        raise TypeError(f"model must be a torch.nn.Module, got {type(model).__name__}")
    meta = {} if meta is None else meta
    if not isinstance(meta, dict):
        raise TypeError(f"meta must be a dict, got {type(meta).__name__}")
    try:
        meta_json = json.dumps(meta, sort_keys=True)
    except TypeError as err:
        raise TypeError(f"meta must be JSON-serialisable (numbers, strings, lists, dicts): {err}") from None
    if dtype is not None and not (isinstance(dtype, torch.dtype) and dtype.is_floating_point):
        raise TypeError(f"dtype must be a floating-point torch.dtype, got {dtype!r}")
    tensors = {k: _stored(v, dtype) for k, v in model.state_dict().items()}
    data = save_bytes(tensors, metadata={META_KEY: meta_json, CLASS_KEY: type(model).__name__})
    Path(path).write_bytes(_canonical(data))


def _stored(v: torch.Tensor, dtype: torch.dtype | None) -> torch.Tensor:
    """A state-dict tensor as written: on the CPU, contiguous, floating ones in ``dtype`` when given."""
    v = v.detach().cpu()
    return (v.to(dtype) if dtype is not None and v.is_floating_point() else v).contiguous()


def _canonical(data: bytes) -> bytes:
    """The same safetensors content with its JSON header re-written with sorted keys (deterministic bytes).

    Layout: 8-byte little-endian header length n, n bytes of JSON (space-padded to a multiple of 8), the tensor
    bytes; tensor offsets count from the end of the header, so re-writing the header leaves them valid.
    """
    n = struct.unpack("<Q", data[:8])[0]
    header = json.dumps(json.loads(data[8:8 + n]), sort_keys=True, separators=(",", ":")).encode()
    header += b" " * (-len(header) % 8)  # keep the tensor data 8-byte aligned
    return struct.pack("<Q", len(header)) + header + data[8 + n:]


def load_model(model: nn.Module, path: str | os.PathLike) -> dict:
    """Load the weights in ``path`` into ``model`` (same architecture, strict) on its device; returns the meta dict."""
    if not isinstance(model, nn.Module):
        raise TypeError(f"model must be a torch.nn.Module, got {type(model).__name__}")
    path = os.fspath(path)
    if not os.path.isfile(path):
        raise FileNotFoundError(f"no checkpoint at {path!r}")
    with safe_open(path, framework="pt") as f:
        stored = f.metadata() or {}
    saved_class = stored.get(CLASS_KEY)
    if saved_class is not None and saved_class != type(model).__name__:
        raise ValueError(f"{path!r} holds a {saved_class}, but the model to load into is a {type(model).__name__}")
    params = list(model.parameters())
    device = params[0].device if params else "cpu"
    model.load_state_dict(load_file(path, device=str(device)), strict=True)
    return json.loads(stored.get(META_KEY, "{}"))
