"""Sample-quality metrics for generated digits, all measured on the clean digit classifier's features.

Convention (docs/conventions.md): samples are images x1 (n, 1, s, s) in [-1, 1] (s = 8, or 16: brought back to 8×8 by
``digits.downsample``, the least-squares inverse of the 16×16 variant's bilinear upsampling), the
end (t = 1) of a flow from noise at t = 0.  Samples are clamped to [-1, 1] before they are measured, as images are
when saved.  Features = the penultimate layer (64 numbers) of the shipped ``digits_classifier``
(``cs280diff.nets.classifiers.DigitClassifier``), unless you pass another classifier.

What "good" looks like.  Real held-out digits measured as if they were samples (``real_data_floors()``: the 359
test digits against the 1,438 training digits, shipped classifier), and the shipped models at build time (s = 1,
Euler 50 steps; ``nets.registry.read_manifest()`` has every number):
- ``class_accuracy``: share of class-conditional samples the classifier assigns to the class they were asked for.
  Real test digits: 0.997.  digits_mlp 0.993, digits_unet 0.983.  Chance is 0.10.
- ``fd_digits`` ("FD-digits"): Fréchet distance between Gaussians fitted to the features of the samples and of the
  training digits, |μ_a - μ_b|² + tr(Σ_a + Σ_b - 2 (Σ_a^½ Σ_b Σ_a^½)^½) (the recipe of FID, Heusel et al. 2017).
  0 for identical sets.  It is biased upwards by a term ∝ 1/n, so compare at equal n: the *floor* (real test vs
  train, n = 359) is 0.61; with 359 samples (the test split's class counts) digits_unet reaches 0.71 and
  digits_mlp 1.15 (with 1,000 samples: 0.37 and 0.86, which must not be set against the n = 359 floor); their
  unconditional samples 3.4 and 5.5.  Pure noise scores about 30.
- ``precision_recall`` (Kynkäänniemi et al. 2019, k = 3): precision = share of samples inside the real data's
  k-NN "manifold" (quality), recall = share of real digits inside the samples' manifold (coverage).  Real test
  digits: 0.85 / 0.88 (fresh points of the same law fall outside k = 3 balls now and then).  The shipped models:
  about 0.84 / 0.83-0.88 conditionally, about 0.5 / 0.9 unconditionally (y = None: blurrier, less digit-like).
- ``diversity_ratio``: mean pairwise feature distance within each class of the samples, divided by the same for
  real training digits.  Real test digits: 1.04.  Below 1 means less varied samples (e.g. strong guidance, mode
  collapse); well above 1 usually means noisy, off-manifold samples (unconditional samples: about 1.3).
"""
from __future__ import annotations

import functools

import torch
from torch import nn

from cs280diff.conventions import path
from cs280diff.images import digits
from cs280diff.nets.classifiers import predict
from cs280diff.nets.registry import load_pretrained
from cs280diff.validate import check_int, check_x

Tensor = torch.Tensor

__all__ = ["default_classifier", "features", "real_features", "predict_digits", "class_accuracy", "frechet_distance",
           "fd_digits", "precision_recall", "within_class_diversity", "diversity_ratio", "evaluate", "real_data_floors",
           "accuracy_vs_t"]

K_NEIGHBOURS = 3


# ----------------------------------------------------------------------------------------------- features
@functools.lru_cache(maxsize=1)
def default_classifier() -> nn.Module:
    """The shipped clean digit classifier (``nets.registry.load_pretrained("digits_classifier")``), loaded once."""
    return load_pretrained("digits_classifier")


def _classifier(classifier: nn.Module | None) -> nn.Module:
    return default_classifier() if classifier is None else classifier


def _to_classifier(x: Tensor, clf: nn.Module) -> Tensor:
    """Images clamped to [-1, 1] at the classifier's size: larger ones via ``digits.downsample`` (exact inverse of
    the 16×16 variant's upsampling), smaller ones upsampled; on the classifier's device."""
    if x.ndim != 4:
        raise ValueError(f"x must be images of shape (n, C, H, W), got {tuple(x.shape)}")
    x = x.detach().clamp(-1, 1)
    x = digits.downsample(x, clf.size) if x.shape[-1] > clf.size else digits.resize(x, clf.size)
    return x.to(next(clf.parameters()).device)


@torch.no_grad()
def features(x: Tensor, classifier: nn.Module | None = None, batch_size: int = 1000) -> Tensor:
    """Penultimate-layer features (n, feat), float64 on the CPU, of images x (n, 1, s, s) in [-1, 1].

    Images are clamped to [-1, 1] and brought to the classifier's size (``_to_classifier``).
    """
    check_x(x)
    clf = _classifier(classifier)
    x = _to_classifier(x, clf)  # the range of real images, the classifier's size
    was_training = clf.training
    clf.eval()
    try:
        out = [clf.features(x[i:i + batch_size]).double().cpu() for i in range(0, x.shape[0], batch_size)]
    finally:
        clf.train(was_training)
    return torch.cat(out)


@functools.lru_cache(maxsize=4)
def _default_real_features(split: str) -> Tensor:
    return features(digits.load_digits(split)[0])


def real_features(split: str = "train", classifier: nn.Module | None = None) -> tuple[Tensor, Tensor]:
    """(features (n, feat), labels (n,)) of the real digits of ``split`` (cached for the default classifier)."""
    x, y = digits.load_digits(split)
    return (_default_real_features(split) if classifier is None else features(x, classifier)), y


@torch.no_grad()
def predict_digits(samples: Tensor, classifier: nn.Module | None = None) -> Tensor:
    """The classifier's reading (n,) of images (n, 1, s, s) in [-1, 1] (default: the shipped clean classifier)."""
    check_x(samples, "samples")
    clf = _classifier(classifier)
    return predict(clf, _to_classifier(samples, clf)).cpu()


def class_accuracy(samples: Tensor, labels: Tensor, classifier: nn.Module | None = None) -> float:
    """Share of samples (n, 1, s, s) that the classifier assigns to the class they were generated for, labels (n,)."""
    check_x(samples, "samples")
    if not isinstance(labels, Tensor) or labels.shape != (samples.shape[0],):
        raise ValueError(f"labels must be a ({samples.shape[0]},) tensor, got {getattr(labels, 'shape', labels)}")
    return (predict_digits(samples, classifier) == labels.cpu()).double().mean().item()


# ----------------------------------------------------------------------------------------------- distances
def _check_feats(a, name: str) -> Tensor:
    if not isinstance(a, Tensor) or a.ndim != 2 or a.shape[0] < 2:
        raise ValueError(f"{name} must be a (n, d) tensor of features with n >= 2, got "
                         f"{getattr(a, 'shape', type(a).__name__)}")
    a = a.detach().double().cpu()
    if not torch.isfinite(a).all():
        raise ValueError(f"{name} contains NaN or inf")
    return a


def _sqrt_psd(s: Tensor) -> Tensor:
    """Symmetric square root of a symmetric positive semi-definite matrix (eigenvalues clipped at 0)."""
    w, v = torch.linalg.eigh(s)
    return (v * w.clamp_min(0).sqrt()) @ v.T


def frechet_distance(feats_a: Tensor, feats_b: Tensor) -> float:
    """Fréchet distance between Gaussians fitted to two feature sets (n, d) and (m, d), in float64.

    FD = |μ_a - μ_b|² + tr Σ_a + tr Σ_b - 2 tr (Σ_a^½ Σ_b Σ_a^½)^½  (unbiased covariances).  The cross term is
    computed from the eigenvalues of the symmetric PSD matrix Σ_a^½ Σ_b Σ_a^½ (no complex sqrtm), so identical sets
    give 0 up to rounding.  For diagonal covariances FD = |μ_a - μ_b|² + Σ_i (σ_a,i - σ_b,i)².
    """
    a, b = _check_feats(feats_a, "feats_a"), _check_feats(feats_b, "feats_b")
    if a.shape[1] != b.shape[1]:
        raise ValueError(f"feature sizes differ: {a.shape[1]} and {b.shape[1]}")
    mu_a, mu_b = a.mean(0), b.mean(0)
    cov_a, cov_b = torch.cov(a.T).reshape(a.shape[1], -1), torch.cov(b.T).reshape(b.shape[1], -1)
    root_a = _sqrt_psd(cov_a)  # Σ_a^½
    middle = root_a @ cov_b @ root_a  # Σ_a^½ Σ_b Σ_a^½ (PSD)
    cross = torch.linalg.eigvalsh(0.5 * (middle + middle.T)).clamp_min(0).sqrt().sum()  # tr (Σ_a^½ Σ_b Σ_a^½)^½
    fd = (mu_a - mu_b).pow(2).sum() + cov_a.trace() + cov_b.trace() - 2 * cross
    return fd.clamp_min(0.0).item()


def fd_digits(samples: Tensor, classifier: nn.Module | None = None, reference: str = "train") -> float:
    """FD-digits: Fréchet distance between the features of samples (n, 1, s, s) and of the real ``reference`` split.

    Floor (real test digits vs train): ``real_data_floors()["fd"]``; compare models at equal n.
    """
    return frechet_distance(features(samples, classifier), real_features(reference, classifier)[0])


def _kth_neighbour_radius(f: Tensor, k: int) -> Tensor:
    """Distance from each row of f (n, d) to its k-th nearest other row, (n,)."""
    d = torch.cdist(f, f, compute_mode="donot_use_mm_for_euclid_dist")
    return d.kthvalue(k + 1, dim=1).values  # k + 1: the nearest "neighbour" of a point is itself (distance 0)


def _inside(points: Tensor, centres: Tensor, radii: Tensor, chunk: int = 1024) -> Tensor:
    """For each point (n, d): is it within radii[j] of some centre j (m, d)?  -> (n,) bool."""
    out = []
    for i in range(0, points.shape[0], chunk):
        d = torch.cdist(points[i:i + chunk], centres, compute_mode="donot_use_mm_for_euclid_dist")  # (chunk, m)
        out.append((d <= radii[None]).any(dim=1))
    return torch.cat(out)


def precision_recall(real_feats: Tensor, fake_feats: Tensor, k: int = K_NEIGHBOURS) -> tuple[float, float]:
    """Improved precision and recall (Kynkäänniemi et al. 2019) of fake features against real ones, (n, d), (m, d).

    Each set's manifold is the union of balls around its points, of radius the distance to the k-th nearest
    neighbour in the same set.  precision = share of fakes inside the real manifold; recall = share of reals inside
    the fake manifold.  Both in [0, 1]; identical sets give (1, 1).
    """
    check_int(k, "k")
    real, fake = _check_feats(real_feats, "real_feats"), _check_feats(fake_feats, "fake_feats")
    if min(real.shape[0], fake.shape[0]) <= k:
        raise ValueError(f"both sets need more than k = {k} points")
    if real.shape[1] != fake.shape[1]:
        raise ValueError(f"feature sizes differ: {real.shape[1]} and {fake.shape[1]}")
    precision = _inside(fake, real, _kth_neighbour_radius(real, k)).double().mean().item()  # fakes on real manifold
    recall = _inside(real, fake, _kth_neighbour_radius(fake, k)).double().mean().item()  # reals on fake manifold
    return precision, recall


def within_class_diversity(feats: Tensor, labels: Tensor) -> float:
    """Mean over classes of the mean pairwise feature distance between distinct members of the class.

    feats (n, d), labels (n,); classes with fewer than 2 members are skipped.  Unbiased in n (pairs i != j only).
    """
    f = _check_feats(feats, "feats")
    if not isinstance(labels, Tensor) or labels.shape != (f.shape[0],):
        raise ValueError(f"labels must be a ({f.shape[0]},) tensor")
    labels = labels.cpu()
    per_class = []
    for c in torch.unique(labels).tolist():
        fc = f[labels == c]
        m = fc.shape[0]
        if m < 2:
            continue
        d = torch.cdist(fc, fc, compute_mode="donot_use_mm_for_euclid_dist")
        per_class.append(d.sum() / (m * (m - 1)))  # mean over ordered pairs i != j (diagonal is 0)
    if not per_class:
        raise ValueError("within_class_diversity needs a class with at least 2 members")
    return torch.stack(per_class).mean().item()


def diversity_ratio(samples: Tensor, labels: Tensor | None = None, classifier: nn.Module | None = None,
                    reference: str = "train") -> float:
    """Within-class diversity of samples divided by that of the real ``reference`` digits (≈ 1: as varied as real).

    labels (n,): the classes the samples were generated for; None uses the classifier's predictions.
    """
    clf = _classifier(classifier)
    f = features(samples, clf)
    if labels is None:
        labels = predict(clf, _to_classifier(samples, clf)).cpu()
    real_f, real_y = real_features(reference, classifier)
    return within_class_diversity(f, labels) / within_class_diversity(real_f, real_y)


def evaluate(samples: Tensor, labels: Tensor | None = None, classifier: nn.Module | None = None,
             reference: str = "train") -> dict:
    """All metrics of samples (n, 1, s, s) in one dict: accuracy (None without labels), fd, precision, recall,
    diversity_ratio; real digits of ``reference`` as the target.  See the module docstring for good values."""
    f = features(samples, classifier)
    real_f, _ = real_features(reference, classifier)
    precision, recall = precision_recall(real_f, f)
    return {
        "accuracy": None if labels is None else class_accuracy(samples, labels, classifier),
        "fd": frechet_distance(f, real_f),
        "precision": precision,
        "recall": recall,
        "diversity_ratio": diversity_ratio(samples, labels, classifier, reference),
        "n": int(samples.shape[0]),
    }


def real_data_floors(classifier: nn.Module | None = None) -> dict:
    """The metrics of real held-out digits (the test split) against the training digits: what "good" looks like."""
    x, y = digits.load_digits("test")
    return evaluate(x, y, classifier, reference="train")


def accuracy_vs_t(classify, x1: Tensor, y: Tensor, ts, generator: torch.Generator | None = None) -> list[float]:
    """The accuracy of ``classify(x_t, t) -> logits (n, K)`` on data x1 (n, *dims) noised to each t in ts.

    For each t, in order: x0 = randn(x1.shape, generator, dtype=x1.dtype) (fresh noise, drawn on the CPU, moved to
    x1's device), x_t = (1 - t) x0 + t x1, and the share of argmax(logits) == y.  Notebook 7's "classify these
    images!": a clean classifier, a clean classifier of x̂1 or a noisy one, all as ``classify``.
    """
    if not isinstance(y, Tensor) or y.shape != (x1.shape[0],):
        raise ValueError(f"y must be a ({x1.shape[0]},) tensor of labels")
    accs = []
    for t in ts:
        t = float(t)
        if not 0.0 <= t <= 1.0:
            raise ValueError(f"every t must be in [0, 1], got {t}")
        x0 = torch.randn(x1.shape, generator=generator, dtype=x1.dtype).to(x1.device)  # fresh noise for this t
        with torch.no_grad():
            guess = classify(path(x0, x1, t), t).argmax(dim=1)  # the class at time t
        accs.append((guess == y.to(guess.device)).double().mean().item())
    return accs
