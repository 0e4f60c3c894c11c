"""Small images: scikit-learn's bundled handwritten digits (no download) and a loader for your own MNIST-like files.

The digits set (Alpaydin & Kaynak, UCI) ships inside scikit-learn: 1,797 grey-scale 8×8 images of the digits 0-9
(about 180 per class), with integer intensities 0..16.  Here every image is a (1, s, s) tensor scaled to [-1, 1]
(-1 = background, +1 = ink), the range of the data x1 at t = 1 (docs/conventions.md: t = 0 noise x0 ~ N(0, I),
t = 1 data).

- ``load_digits(split, size)``: a fixed, stratified train/test split (1,438 / 359 images, seed ``SPLIT_SEED``), at
  8×8 or upsampled (bilinear) to 16×16.
- ``digits_sampler(split, size)``: ``sample_data(n, generator) -> (x1, y)`` for ``cs280diff.nets.training.train``.
- Your own data: ``from_arrays(images, labels)`` scales any (n, h, w) / (n, 1, h, w) array to [-1, 1];
  ``read_idx(path)`` parses MNIST's IDX files (optionally gzipped); ``load_mnist(images_file, labels_file)`` and
  ``load_npz(path)`` combine the two.  Nothing here ever downloads.
"""
from __future__ import annotations

import functools
import gzip
import importlib.util
import os
import struct

import numpy as np
import torch
import torch.nn.functional as F

from cs280diff.runtime import to_device
from cs280diff.validate import check_int

Tensor = torch.Tensor

__all__ = ["N_CLASSES", "SPLIT_SEED", "TEST_FRACTION", "load_digits", "digits_sampler", "array_sampler",
           "from_arrays", "resize", "downsample", "read_idx", "load_mnist", "load_npz", "to_unit"]

N_CLASSES = 10
SPLIT_SEED = 0  # seed of the fixed train/test split (NumPy's legacy RandomState: stable across NumPy versions)
TEST_FRACTION = 0.2  # per class: round(0.2 * n_class) images go to the test split
SIZES = (8, 16)


# ----------------------------------------------------------------------------------------------- raw data
@functools.lru_cache(maxsize=1)
def _raw_digits() -> tuple[np.ndarray, np.ndarray]:
    """scikit-learn's digits as (images (1797, 8, 8) float64 in 0..16, labels (1797,) int64), read once.

    Reads the CSV that scikit-learn bundles directly (importing sklearn takes ~2 s); falls back to
    ``sklearn.datasets.load_digits`` when the file is not where it is expected.
    """
    spec = importlib.util.find_spec("sklearn")
    if spec is None:
        raise ImportError("the digits data ship with scikit-learn: pip install scikit-learn")
    path = os.path.join(os.path.dirname(spec.origin), "datasets", "data", "digits.csv.gz")
    if os.path.isfile(path):
        with gzip.open(path, "rt") as f:
            table = np.loadtxt(f, delimiter=",")  # 64 pixels then the label, one image per row
        images, labels = table[:, :-1], table[:, -1]
    else:  # another scikit-learn layout: use the public loader
        from sklearn.datasets import load_digits as sk_load_digits

        bunch = sk_load_digits()
        images, labels = bunch.data, bunch.target
    return images.reshape(-1, 8, 8).astype(np.float64), labels.astype(np.int64)


@functools.lru_cache(maxsize=1)
def _split_indices() -> dict[str, np.ndarray]:
    """The fixed stratified split: for each class, a seeded permutation; the first 20 % go to "test"."""
    _, labels = _raw_digits()
    rng = np.random.RandomState(SPLIT_SEED)
    train, test = [], []
    for c in range(N_CLASSES):
        idx = np.flatnonzero(labels == c)
        idx = idx[rng.permutation(idx.size)]  # shuffle this class
        n_test = int(round(TEST_FRACTION * idx.size))
        test.append(idx[:n_test])
        train.append(idx[n_test:])
    return {"train": np.sort(np.concatenate(train)), "test": np.sort(np.concatenate(test)),
            "all": np.arange(labels.size)}


# ----------------------------------------------------------------------------------------------- general helpers
def resize(x: Tensor, size: int) -> Tensor:
    """Resize images (n, C, h, w) to (n, C, size, size): bilinear when enlarging, area averaging when shrinking.

    Bilinear interpolation is a convex combination of pixels, so values stay inside [-1, 1].
    """
    if not isinstance(x, Tensor) or x.ndim != 4:
        raise ValueError(f"x must be a (n, C, h, w) tensor, got {getattr(x, 'shape', type(x).__name__)}")
    size = check_int(size, "size")
    if x.shape[-2:] == (size, size):
        return x
    if size >= max(x.shape[-2:]):
        return F.interpolate(x, size=(size, size), mode="bilinear", align_corners=False)
    return F.interpolate(x, size=(size, size), mode="area")


@functools.lru_cache(maxsize=8)
def _upsampling_pinv(small: int, big: int) -> Tensor:
    """(small, big) pseudo-inverse of the 1D bilinear upsampling matrix U (big, small) used by ``resize``."""
    eye = torch.eye(small, dtype=torch.float64)[:, None, None, :]  # each basis vector as a 1×small image
    up = F.interpolate(eye, size=(1, big), mode="bilinear", align_corners=False)[:, 0, 0, :].T  # U (big, small)
    return torch.linalg.pinv(up)


def downsample(x: Tensor, size: int) -> Tensor:
    """Shrink images (n, C, H, H) to (n, C, size, size) with the least-squares inverse of ``resize``'s bilinear
    upsampling: exact (up to rounding) on images made by ``resize(x8, H)``, e.g. ``load_digits(size=16)``.

    For other images it returns the small image whose bilinear upsampling is closest to them; values are clamped to
    [-1, 1].  (Averaging 2×2 blocks instead would blur: the upsampled digits would not come back.)
    """
    if not isinstance(x, Tensor) or x.ndim != 4 or x.shape[-1] != x.shape[-2]:
        raise ValueError(f"x must be square images (n, C, H, H), got {getattr(x, 'shape', type(x).__name__)}")
    big = x.shape[-1]
    if big == size:
        return x
    if size > big:
        raise ValueError(f"downsample shrinks images: size {size} > {big}")
    p = _upsampling_pinv(size, big).to(device=x.device)
    small = torch.einsum("ab,ncbd,ed->ncae", p, x.double(), p)  # P x P^T on each image
    return small.clamp(-1, 1).to(x.dtype)


def to_unit(x: Tensor) -> Tensor:
    """Map images from the model range [-1, 1] to [0, 1] for display (clamped)."""
    return ((x + 1) / 2).clamp(0, 1)


def from_arrays(images, labels=None, *, value_range=None, size: int | None = None, device=None,
                dtype=torch.float32):
    """Turn your own images into the practicum's format: x (n, 1, s, s) in [-1, 1] and labels y (n,) int64.

    Args:
        images: (n, h, w) or (n, 1, h, w) array or tensor (NumPy, torch, nested lists), grey-scale.
        labels: (n,) integer class labels, or None.
        value_range: (lo, hi) of the raw intensities, mapped to (-1, 1).  Default: (0, 255) for integer arrays
            (MNIST's uint8), (0, 1) for floating arrays already inside [0, 1]; other floats must state it.
        size: resize to (size, size) (e.g. 28 -> 16 for MNIST: area averaging), or None to keep h × w.
    Returns:
        x, or (x, y) when labels are given.
    """
    arr = images.detach().cpu().numpy() if isinstance(images, Tensor) else np.asarray(images)
    if arr.ndim == 4 and arr.shape[1] == 1:
        arr = arr[:, 0]
    if arr.ndim != 3 or arr.shape[0] < 1:
        raise ValueError(f"images must have shape (n, h, w) or (n, 1, h, w), got {arr.shape}")
    if not (np.issubdtype(arr.dtype, np.integer) or np.issubdtype(arr.dtype, np.floating)):
        raise TypeError(f"images must hold numbers, got dtype {arr.dtype}")
    if value_range is None:
        if np.issubdtype(arr.dtype, np.integer):
            value_range = (0, 255)
        elif arr.min() >= 0 and arr.max() <= 1:
            value_range = (0, 1)
        else:
            raise ValueError(f"float images span [{arr.min():g}, {arr.max():g}]: pass value_range=(lo, hi), the "
                             f"range of the raw intensities, e.g. value_range=(0, 16) for scikit-learn's digits")
    lo, hi = (float(v) for v in value_range)
    if not hi > lo:
        raise ValueError(f"value_range must be (lo, hi) with hi > lo, got {value_range!r}")
    x = torch.as_tensor(arr.astype(np.float64))[:, None]  # (n, 1, h, w)
    if not torch.isfinite(x).all():
        raise ValueError("images contain NaN or inf")
    x = (2 * (x - lo) / (hi - lo) - 1).clamp(-1, 1)  # [lo, hi] -> [-1, 1]
    if size is not None:
        x = resize(x, size)
    x = x.to(dtype=dtype, device=device)
    if labels is None:
        return x
    y = torch.as_tensor(np.asarray(labels.detach().cpu() if isinstance(labels, Tensor) else labels))
    if y.ndim != 1 or y.shape[0] != x.shape[0]:
        raise ValueError(f"labels must have shape ({x.shape[0]},), got {tuple(y.shape)}")
    if y.dtype.is_floating_point and not torch.equal(y, y.round()):
        raise ValueError("labels must be integers")
    return x, y.to(dtype=torch.long, device=device)


# ----------------------------------------------------------------------------------------------- the digits
def load_digits(split: str = "train", size: int = 8, device=None, dtype=torch.float32) -> tuple[Tensor, Tensor]:
    """scikit-learn's handwritten digits as x (n, 1, size, size) in [-1, 1] (+1 = ink) and labels y (n,) int64.

    Args:
        split: "train" (1,438 images), "test" (359) or "all" (1,797); the split is fixed (stratified, seed 0).
        size: 8 (the original) or 16 (bilinear upsampling of the 8×8 images: smoother, not more detailed).
    """
    if split not in ("train", "test", "all"):
        raise ValueError(f"split must be 'train', 'test' or 'all', got {split!r}")
    if size not in SIZES:
        raise ValueError(f"size must be one of {SIZES}, got {size!r}")
    images, labels = _raw_digits()
    idx = _split_indices()[split]
    return from_arrays(images[idx], labels[idx], value_range=(0, 16), size=size, device=device, dtype=dtype)


def array_sampler(x: Tensor, y: Tensor | None = None):
    """``sample_data(n, generator) -> x1`` (or ``(x1, y)``): n items drawn uniformly with replacement from x (and y).

    The indices come from ``generator`` (CPU), so training with ``cs280diff.nets.training.train`` is deterministic.
    """
    if not isinstance(x, Tensor) or x.ndim < 1 or x.shape[0] < 1:
        raise ValueError("x must be a non-empty (n, *dims) tensor")
    if y is not None and (not isinstance(y, Tensor) or y.shape != (x.shape[0],)):
        raise ValueError(f"y must be a ({x.shape[0]},) tensor of labels")

    def sample_data(n: int, generator: torch.Generator | None = None):
        gen_device = generator.device if generator is not None else torch.device("cpu")
        idx = to_device(torch.randint(x.shape[0], (n,), generator=generator, device=gen_device), x.device)  # with repl.
        return x[idx] if y is None else (x[idx], y[idx])

    return sample_data


def digits_sampler(split: str = "train", size: int = 8, device=None):
    """``sample_data(n, generator) -> (x1 (n, 1, size, size), y (n,))`` from the digits, for ``train.train``."""
    return array_sampler(*load_digits(split, size, device=device))


# ----------------------------------------------------------------------------------------------- your own files
_IDX_DTYPES = {0x08: np.uint8, 0x09: np.int8, 0x0B: ">i2", 0x0C: ">i4", 0x0D: ">f4", 0x0E: ">f8"}


def read_idx(path: str | os.PathLike) -> np.ndarray:
    """Parse an IDX file (MNIST's format; ``.gz`` is decompressed) into a NumPy array.

    Format: two zero bytes, a type code (0x08 = uint8, ...), the number of dimensions d, d big-endian uint32 sizes,
    then the values in C order.
    """
    path = os.fspath(path)
    if not os.path.isfile(path):
        raise FileNotFoundError(f"no IDX file at {path!r}")
    with (gzip.open(path, "rb") if path.endswith(".gz") else open(path, "rb")) as f:
        raw = f.read()
    if len(raw) < 4 or raw[0] != 0 or raw[1] != 0 or raw[2] not in _IDX_DTYPES:
        raise ValueError(f"{path!r} is not an IDX file (its magic number is {raw[:4].hex() or 'missing'})")
    ndim = raw[3]
    shape = struct.unpack(f">{ndim}I", raw[4:4 + 4 * ndim])
    dtype = np.dtype(_IDX_DTYPES[raw[2]])
    count = int(np.prod(shape)) if shape else 1
    body = raw[4 + 4 * ndim:]
    if len(body) != count * dtype.itemsize:
        raise ValueError(f"{path!r}: the header promises shape {shape} ({count * dtype.itemsize} bytes) but "
                         f"{len(body)} bytes follow")
    return np.frombuffer(body, dtype=dtype).reshape(shape).astype(dtype.newbyteorder("="))


def load_mnist(images_file, labels_file, *, size: int | None = 16, limit: int | None = None, device=None):
    """MNIST-like IDX files on disk -> (x (n, 1, s, s) in [-1, 1], y (n,)); e.g. ``train-images-idx3-ubyte.gz``.

    ``size`` resizes the 28×28 images (default 16, the practicum's larger size; None keeps them); ``limit`` keeps
    the first ``limit`` images.  Nothing is downloaded: fetch the files yourself.
    """
    images, labels = read_idx(images_file), read_idx(labels_file)
    if images.ndim != 3 or labels.ndim != 1 or images.shape[0] != labels.shape[0]:
        raise ValueError(f"expected images (n, h, w) and labels (n,), got {images.shape} and {labels.shape}")
    if limit is not None:
        images, labels = images[:limit], labels[:limit]
    return from_arrays(images, labels, size=size, device=device)


def load_npz(path, *, images_key: str = "x", labels_key: str | None = "y", value_range=None,
             size: int | None = None, device=None):
    """Images (and labels) from a NumPy ``.npz`` file (e.g. ``np.savez(path, x=images, y=labels)``); see from_arrays.

    Loaded with ``allow_pickle=False``: only plain arrays are read.
    """
    with np.load(os.fspath(path), allow_pickle=False) as f:
        for key in (images_key, labels_key):
            if key is not None and key not in f:
                raise KeyError(f"{path!r} has no array {key!r}; it holds {sorted(f.files)}")
        images = f[images_key]
        labels = f[labels_key] if labels_key is not None else None
    return from_arrays(images, labels, value_range=value_range, size=size, device=device)
