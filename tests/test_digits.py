"""The digits loader: range, shapes, the fixed stratified split, 16×16 upsampling, the sampler, and user files
(IDX and .npz, generated here: nothing is downloaded)."""
from __future__ import annotations

import gzip
import struct

import numpy as np
import pytest
import torch

from cs280diff.images import digits
from cs280diff.nets import training
from cs280diff.nets.mlp import MLPVelocity


def test_digits_shapes_range_and_split():
    """1,797 images in a fixed 1,438 / 359 split, (n, 1, 8, 8) float32 in [-1, 1], every class in both parts."""
    x_tr, y_tr = digits.load_digits("train")
    x_te, y_te = digits.load_digits("test")
    x_all, y_all = digits.load_digits("all")
    assert x_tr.shape == (1438, 1, 8, 8) and x_te.shape == (359, 1, 8, 8) and x_all.shape == (1797, 1, 8, 8)
    assert x_tr.dtype == torch.float32 and y_tr.dtype == torch.int64
    assert x_all.min() == -1 and x_all.max() == 1
    counts_tr, counts_te = torch.bincount(y_tr, minlength=10), torch.bincount(y_te, minlength=10)
    assert (counts_te >= 35).all() and (counts_tr >= 139).all()
    # stratified: each class has ~20 % of its images in test
    frac = counts_te.double() / (counts_tr + counts_te).double()
    assert (frac - 0.2).abs().max() < 0.01
    # disjoint and covering: the train and test images together are exactly the full set (as multisets of rows)
    rows = lambda x, y: sorted(map(tuple, torch.cat([x.reshape(len(x), -1), y[:, None].float()], 1).tolist()))
    assert rows(torch.cat([x_tr, x_te]), torch.cat([y_tr, y_te])) == rows(x_all, y_all)


def test_split_is_fixed_and_matches_sklearn():
    """The fast CSV reader agrees with sklearn's loader; the split is the same on every call (seeded)."""
    from sklearn.datasets import load_digits as sk_load_digits

    bunch = sk_load_digits()
    x_all, y_all = digits.load_digits("all")
    torch.testing.assert_close(x_all.reshape(-1, 64).double(), torch.as_tensor(bunch.data) / 8 - 1)
    assert torch.equal(y_all, torch.as_tensor(bunch.target))
    idx = digits._split_indices()["test"]
    assert idx[:8].tolist() == digits._split_indices()["test"][:8].tolist()
    assert torch.equal(digits.load_digits("test")[0], x_all[torch.as_tensor(idx)])


def test_16x16_upsampling():
    """size=16 is a bilinear upsampling: (n, 1, 16, 16), still in [-1, 1]; averaging 2×2 blocks comes close to the
    8×8 original (mean abs difference < 0.15) and ``downsample`` (least-squares inverse) recovers it to 1e-5."""
    x8, y8 = digits.load_digits("test", size=8)
    x16, y16 = digits.load_digits("test", size=16)
    assert x16.shape == (359, 1, 16, 16) and torch.equal(y8, y16)
    assert x16.min() >= -1 and x16.max() <= 1
    back = digits.resize(x16, 8)  # area averaging blurs: close, not equal
    assert (back - x8).abs().mean() < 0.15
    torch.testing.assert_close(digits.downsample(x16, 8), x8, rtol=0, atol=1e-5)  # the exact inverse
    with pytest.raises(ValueError, match="shrinks"):
        digits.downsample(x8, 16)


def test_bad_arguments():
    """Unknown split or size, wrong image arrays and labels fail clearly."""
    with pytest.raises(ValueError, match="split"):
        digits.load_digits("val")
    with pytest.raises(ValueError, match="size"):
        digits.load_digits("train", size=28)
    with pytest.raises(ValueError, match="shape"):
        digits.from_arrays(np.zeros((3, 4)))
    with pytest.raises(ValueError, match="value_range"):
        digits.from_arrays(np.full((2, 4, 4), 7.0))
    with pytest.raises(ValueError, match="labels"):
        digits.from_arrays(np.zeros((2, 4, 4), np.uint8), [1, 2, 3])


def test_sampler_is_deterministic_and_trains():
    """digits_sampler draws (x1, y) from the generator; two equal seeds give the same batch; train() accepts it."""
    sample = digits.digits_sampler("train")
    x1, y = sample(16, torch.Generator().manual_seed(3))
    x2, y2 = sample(16, torch.Generator().manual_seed(3))
    assert x1.shape == (16, 1, 8, 8) and y.shape == (16,)
    assert torch.equal(x1, x2) and torch.equal(y, y2)
    torch.manual_seed(0)
    net = MLPVelocity(64, hidden=16, depth=1, t_embed=8, n_classes=10)
    result = training.train(net, sample, steps=3, batch_size=8, p_uncond=0.2, progress=False)
    assert len(result.loss_history) == 3


def _write_idx(path, array: np.ndarray, code: int, gz: bool):
    header = bytes([0, 0, code, array.ndim]) + struct.pack(f">{array.ndim}I", *array.shape)
    data = header + array.astype(array.dtype.newbyteorder(">")).tobytes()
    with (gzip.open(path, "wb") if gz else open(path, "wb")) as f:
        f.write(data)


@pytest.mark.parametrize("gz", [False, True])
def test_mnist_idx_files(tmp_path, gz):
    """A tiny generated MNIST-style pair of IDX files (uint8 28×28 images, uint8 labels) loads, scales and resizes."""
    rng = np.random.RandomState(0)
    images = rng.randint(0, 256, size=(5, 28, 28)).astype(np.uint8)
    images[0] = 0
    images[1] = 255
    labels = np.array([3, 1, 4, 1, 5], np.uint8)
    suffix = ".gz" if gz else ""
    _write_idx(tmp_path / f"img-idx3-ubyte{suffix}", images, 0x08, gz)
    _write_idx(tmp_path / f"lbl-idx1-ubyte{suffix}", labels, 0x08, gz)
    raw = digits.read_idx(tmp_path / f"img-idx3-ubyte{suffix}")
    assert raw.shape == (5, 28, 28) and np.array_equal(raw, images)
    x, y = digits.load_mnist(tmp_path / f"img-idx3-ubyte{suffix}", tmp_path / f"lbl-idx1-ubyte{suffix}", size=None)
    assert x.shape == (5, 1, 28, 28) and y.tolist() == [3, 1, 4, 1, 5]
    assert (x[0] == -1).all() and (x[1] == 1).all()
    torch.testing.assert_close(x[2, 0].double(), torch.as_tensor(images[2] / 127.5 - 1.0), rtol=0, atol=1e-6)
    x16, _ = digits.load_mnist(tmp_path / f"img-idx3-ubyte{suffix}", tmp_path / f"lbl-idx1-ubyte{suffix}",
                               size=16, limit=3)
    assert x16.shape == (3, 1, 16, 16) and x16.min() >= -1 and x16.max() <= 1


def test_idx_other_types_and_corrupt_files(tmp_path):
    """Big-endian int32 / float32 IDX arrays parse; a wrong magic number and a truncated body are refused."""
    a = np.arange(12, dtype=np.int32).reshape(3, 4) - 5
    _write_idx(tmp_path / "a.idx", a, 0x0C, False)
    assert np.array_equal(digits.read_idx(tmp_path / "a.idx"), a)
    f = np.linspace(-1, 1, 6, dtype=np.float32)
    _write_idx(tmp_path / "f.idx", f, 0x0D, False)
    assert np.array_equal(digits.read_idx(tmp_path / "f.idx"), f)
    (tmp_path / "bad.idx").write_bytes(b"\x01\x02\x08\x01" + b"\x00" * 8)
    with pytest.raises(ValueError, match="not an IDX"):
        digits.read_idx(tmp_path / "bad.idx")
    (tmp_path / "short.idx").write_bytes((tmp_path / "a.idx").read_bytes()[:-3])
    with pytest.raises(ValueError, match="header promises"):
        digits.read_idx(tmp_path / "short.idx")
    with pytest.raises(FileNotFoundError):
        digits.read_idx(tmp_path / "missing.idx")


def test_npz_and_from_arrays(tmp_path):
    """An .npz of float images in [0, 1] loads with labels; value_range maps any raw range to [-1, 1]."""
    images = np.linspace(0, 1, 2 * 6 * 6).reshape(2, 6, 6)
    np.savez(tmp_path / "d.npz", x=images, y=np.array([0, 7]))
    x, y = digits.load_npz(tmp_path / "d.npz")
    assert x.shape == (2, 1, 6, 6) and y.tolist() == [0, 7]
    assert x.min() == -1 and x.max() == 1
    with pytest.raises(KeyError, match="images"):
        digits.load_npz(tmp_path / "d.npz", images_key="images")
    x = digits.from_arrays(torch.full((1, 1, 8, 8), 16.0), value_range=(0, 16))
    assert (x == 1).all()
    assert (digits.to_unit(torch.tensor([-1.0, 0.0, 1.0, 3.0])) == torch.tensor([0.0, 0.5, 1.0, 1.0])).all()
