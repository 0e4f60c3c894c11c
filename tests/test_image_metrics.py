"""Image metrics: the Fréchet distance against closed forms and scipy, precision/recall and diversity on constructed
sets, and the floors on real digits (train vs test) with the shipped classifier, as documented."""
from __future__ import annotations

import math

import numpy as np
import pytest
import scipy.linalg
import torch

from cs280diff.flows import schedules, solvers
from cs280diff.images import digits
from cs280diff.images import metrics as im
from cs280diff.nets import registry


def _gen(seed=0):
    return torch.Generator().manual_seed(seed)


def test_fd_of_identical_sets_is_zero():
    """FD(a, a) = 0 up to rounding (< 1e-9 of tr Σ), also for rank-deficient covariances (n < d)."""
    a = torch.randn(500, 16, generator=_gen(), dtype=torch.float64) @ torch.randn(16, 16, generator=_gen(1),
                                                                                  dtype=torch.float64)
    assert im.frechet_distance(a, a) < 1e-9 * torch.cov(a.T).trace().item()
    low = torch.randn(10, 32, generator=_gen(2), dtype=torch.float64)
    assert im.frechet_distance(low, low) < 1e-9 * torch.cov(low.T).trace().item()


def test_fd_closed_forms():
    """A mean shift m adds |m|²; for diagonal covariances FD = |Δμ|² + Σ (σ_a - σ_b)² (exact on whitened sets)."""
    a = torch.randn(400, 5, generator=_gen(), dtype=torch.float64)
    m = torch.tensor([1.0, -2.0, 0.5, 0.0, 3.0], dtype=torch.float64)
    assert math.isclose(im.frechet_distance(a, a + m), (m**2).sum().item(), rel_tol=1e-9)
    # whiten a so that its sample mean is 0 and its sample covariance is exactly I
    a = a - a.mean(0)
    a = a @ torch.linalg.inv(torch.linalg.cholesky(torch.cov(a.T))).T
    sa = torch.tensor([1.0, 2.0, 0.5, 1.5, 3.0], dtype=torch.float64)
    sb = torch.tensor([0.5, 2.0, 1.0, 1.0, 1.0], dtype=torch.float64)
    mu = torch.tensor([0.0, 1.0, 0.0, -1.0, 0.0], dtype=torch.float64)
    expected = (mu**2).sum() + ((sa - sb) ** 2).sum()
    assert math.isclose(im.frechet_distance(a * sa, a * sb + mu), expected.item(), rel_tol=1e-9)


def test_fd_agrees_with_scipy_sqrtm():
    """For random, non-commuting covariances FD equals |Δμ|² + tr(Σa + Σb - 2 sqrtm(Σa Σb)) by scipy (rel 1e-8)."""
    a = torch.randn(300, 8, generator=_gen(3), dtype=torch.float64) @ torch.randn(8, 8, generator=_gen(4),
                                                                                  dtype=torch.float64)
    b = torch.randn(200, 8, generator=_gen(5), dtype=torch.float64) @ torch.randn(8, 8, generator=_gen(6),
                                                                                  dtype=torch.float64) + 0.3
    ca, cb = np.cov(a.numpy().T), np.cov(b.numpy().T)
    root = scipy.linalg.sqrtm(ca @ cb).real
    ref = ((a.mean(0) - b.mean(0)) ** 2).sum().item() + np.trace(ca + cb - 2 * root)
    assert math.isclose(im.frechet_distance(a, b), ref, rel_tol=1e-8)


def test_fd_bad_input():
    """Too few rows, mismatched widths and NaNs are refused."""
    with pytest.raises(ValueError, match="n >= 2"):
        im.frechet_distance(torch.zeros(1, 3), torch.zeros(5, 3))
    with pytest.raises(ValueError, match="feature sizes"):
        im.frechet_distance(torch.zeros(4, 3), torch.zeros(5, 2))
    with pytest.raises(ValueError, match="NaN"):
        im.frechet_distance(torch.full((4, 3), float("nan")), torch.zeros(5, 3))


def test_precision_recall_constructed_sets():
    """Identical sets: (1, 1).  Far-apart sets: (0, 0).  Fakes drawn like one of the two real clusters: recall 0.5,
    precision high (0.93: fresh points of the same law fall outside the k = 3 balls a few % of the time)."""
    real = torch.cat([torch.randn(100, 2, generator=_gen(), dtype=torch.float64) * 0.1 + c
                      for c in (torch.tensor([0.0, 0.0]), torch.tensor([10.0, 0.0]))])
    assert im.precision_recall(real, real) == (1.0, 1.0)
    assert im.precision_recall(real, real + 100.0) == (0.0, 0.0)
    half = torch.randn(100, 2, generator=_gen(1), dtype=torch.float64) * 0.1
    p, r = im.precision_recall(real, half)
    assert p > 0.85 and abs(r - 0.5) < 0.05, (p, r)
    with pytest.raises(ValueError, match="k"):
        im.precision_recall(real, real, k=0)


def test_within_class_diversity_closed_form():
    """Class 0 at {0, 1, 3} on a line: mean pairwise distance (1 + 3 + 2) / 3 = 2; class 1 at {0, 4}: 4 -> mean 3."""
    f = torch.tensor([[0.0], [1.0], [3.0], [10.0], [14.0], [99.0]], dtype=torch.float64)
    y = torch.tensor([0, 0, 0, 1, 1, 2])  # class 2 has one member: skipped
    assert math.isclose(im.within_class_diversity(f, y), 3.0)


def test_metrics_of_real_digits_are_the_documented_floors():
    """With the shipped classifier: FD(train, train) = 0; real test digits vs train reproduce the floors recorded
    in the manifest (FD, precision, recall, diversity ratio) and the module docstring's values."""
    clf_entry = registry.read_manifest()["models"]["digits_classifier"]["metrics"]
    x_tr, y_tr = digits.load_digits("train")
    assert im.fd_digits(x_tr) < 1e-9
    assert math.isclose(im.diversity_ratio(x_tr, y_tr), 1.0, rel_tol=1e-12)
    floors = im.real_data_floors()
    for key in ("fd", "precision", "recall", "diversity_ratio"):
        assert math.isclose(floors[key], clf_entry[f"floor_{key}"], rel_tol=1e-6, abs_tol=1e-9), key
    assert 0.3 < floors["fd"] < 1.0 and floors["precision"] > 0.75 and floors["recall"] > 0.75
    assert 0.9 < floors["diversity_ratio"] < 1.1 and floors["accuracy"] >= 0.99


def test_metrics_fail_on_bad_samples():
    """Pure noise as "samples": FD far above the floor, precision near 0; blurred digits lose diversity."""
    labels = torch.arange(10).repeat_interleave(20)
    noise = torch.randn(200, 1, 8, 8, generator=_gen()).clamp(-1, 1)
    res = im.evaluate(noise, labels)
    floor = im.real_data_floors()["fd"]
    assert res["fd"] > 10 * floor and res["precision"] < 0.05 and res["accuracy"] < 0.3
    x, y = digits.load_digits("test")
    mean_per_class = torch.stack([x[y == c].mean(0) for c in range(10)])[y]  # every sample = its class mean
    assert im.diversity_ratio(0.9 * mean_per_class + 0.1 * x, y) < 0.5


def test_16x16_samples_are_measured_at_8x8():
    """16×16 digits are brought back to 8×8 by the inverse of the upsampling: the 16×16 test set measures like the
    8×8 one (same FD to 1e-3, same accuracy)."""
    x8, y = digits.load_digits("test", size=8)
    x16, _ = digits.load_digits("test", size=16)
    assert abs(im.fd_digits(x16) - im.fd_digits(x8)) < 1e-3
    assert im.class_accuracy(x16, y) == im.class_accuracy(x8, y)


def test_generate_is_seeded():
    """solvers.generate(): (n, *shape) images, identical for equal seeds; unconditional fields need n."""
    field = lambda x, t, y=None: -x  # noqa: E731  (any field of the protocol)
    a = solvers.generate(field, torch.arange(4), shape=(1, 8, 8), n_steps=3, seed=5)
    b = solvers.generate(field, torch.arange(4), shape=(1, 8, 8), n_steps=3, seed=5)
    assert a.shape == (4, 1, 8, 8) and torch.equal(a, b)
    assert solvers.generate(lambda x, t: -x, None, shape=(1, 8, 8), n=3, n_steps=2).shape == (3, 1, 8, 8)
    with pytest.raises(ValueError, match="n"):
        solvers.generate(field, None, shape=(1, 8, 8))


def test_image_plots(tmp_path):
    """image_grid, plot_class_grid (rows = classes, blanks where a class has too few samples) and
    plot_image_trajectory (x_t and x̂1 rows) draw without error and label their rows."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from cs280diff import plots

    x, y = digits.load_digits("test")
    ax = plots.plot_class_grid(x[:50], y[:50], n_per_class=6, title="test digits")
    assert [t.get_text() for t in ax.get_yticklabels()][:2] == ["y = 0", "y = 1"]
    field = lambda z, t, y=None: x[1:2] - z  # noqa: E731  (a field pulling every state towards one image)
    grid = schedules.uniform(10)
    _, traj = solvers.sample(field, torch.randn(4, 1, 8, 8, generator=_gen()), grid, return_trajectory=True)
    axes = plots.plot_image_trajectory(traj, grid, field=field, index=1, n_show=5)
    assert len(axes) == 2 and [t.get_text() for t in axes[0].get_xticklabels()][0] == "t=0.00"
    axes[0].figure.savefig(tmp_path / "traj.png")
    with pytest.raises(ValueError, match="trajectory"):
        plots.plot_image_trajectory(traj[:3], grid)
    plt.close("all")


def test_accuracy_vs_t_draws_fresh_noise_per_t_and_checks_t():
    """accuracy_vs_t: at t = 1 it is the plain accuracy; the draws are one randn(x1.shape) per t, in order; a t
    outside [0, 1] and mismatched labels are refused."""
    from cs280diff.conventions import path
    from cs280diff.images.metrics import accuracy_vs_t
    x1 = torch.randn(50, 3, generator=torch.Generator().manual_seed(0))
    y = (x1[:, 0] > 0).long()
    clf = lambda x, t: torch.stack([-x[:, 0], x[:, 0]], 1)  # noqa: E731
    accs = accuracy_vs_t(clf, x1, y, [1.0, 0.5, 0.0], torch.Generator().manual_seed(1))
    assert accs[0] == 1.0
    g = torch.Generator().manual_seed(1)
    torch.randn(x1.shape, generator=g)
    x_half = path(torch.randn(x1.shape, generator=g), x1, 0.5)
    assert accs[1] == pytest.approx(((x_half[:, 0] > 0).long() == y).double().mean().item())
    with pytest.raises(ValueError, match="in \\[0, 1\\]"):
        accuracy_vs_t(clf, x1, y, [1.5])
    with pytest.raises(ValueError, match="labels"):
        accuracy_vs_t(clf, x1, y[:3], [0.5])
