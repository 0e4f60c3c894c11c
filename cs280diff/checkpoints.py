"""Model checkpoints as safetensors files (no pickle anywhere), and the practicum's shipped pretrained models.

A file holds the model's ``state_dict`` tensors and two metadata strings: ``cs280diff.meta`` (your ``meta`` dict as
JSON) and ``cs280diff.class`` (the model's class name, checked on load).  Its JSON header is written with sorted keys,
so equal weights and metadata always give identical bytes (the safetensors library orders metadata arbitrarily).

Pretrained models (package data in ``cs280diff/weights/``, listed in its ``manifest.json`` with their sha256, the
architecture, the training settings and the metrics measured when they were built):
    net = load_pretrained("digits_mlp")        # verified against the manifest's sha256, eval mode, frozen
    python -m cs280diff.checkpoints list       # what is shipped, with sizes and headline metrics
    python -m cs280diff.checkpoints build      # retrain every shipped model from scratch (deterministic)
    python -m cs280diff.checkpoints verify     # check every file's sha256
    python -m cs280diff.checkpoints measure    # re-measure the metrics of the built weights (no training)
    python -m cs280diff.checkpoints compare DIR  # a rebuild's metrics against the shipped ones, within tolerances
Every model is trained by the package's own code, single-threaded, with fixed seeds: on one machine a rebuild gives
identical bytes; on another CPU the floating-point rounding (and so the sha256) may differ, while the metrics stay
within the tolerances recorded in the manifest.
"""
from __future__ import annotations

import argparse
import contextlib
import hashlib
import json
import os
import platform
import struct
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import torch
from safetensors import safe_open
from safetensors.torch import load as load_bytes
from safetensors.torch import load_file
from safetensors.torch import save as save_bytes
from torch import nn

__all__ = ["save_model", "load_model", "ChecksumError", "weights_dir", "read_manifest", "sha256_file",
           "load_pretrained", "available", "SPECS", "build", "measure", "verify", "compare", "main"]

META_KEY = "cs280diff.meta"
CLASS_KEY = "cs280diff.class"
MANIFEST = "manifest.json"
MAX_TOTAL_BYTES = 10 * 2**20  # all shipped weights together stay under 10 MB


def save_model(model: nn.Module, path: str | os.PathLike, meta: dict | None = None) -> None:
    """Write ``model``'s weights and the JSON-serialisable dict ``meta`` to the safetensors file ``path``."""
    if not isinstance(model, nn.Module):
        raise TypeError(f"model must be a torch.nn.Module, got {type(model).__name__}")
    meta = {} if meta is None else meta
    if not isinstance(meta, dict):
        raise TypeError(f"meta must be a dict, got {type(meta).__name__}")
    try:
        meta_json = json.dumps(meta, sort_keys=True)
    except TypeError as err:
        raise TypeError(f"meta must be JSON-serialisable (numbers, strings, lists, dicts): {err}") from None
    tensors = {k: v.detach().cpu().contiguous() for k, v in model.state_dict().items()}
    data = save_bytes(tensors, metadata={META_KEY: meta_json, CLASS_KEY: type(model).__name__})
    Path(path).write_bytes(_canonical(data))


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


# ----------------------------------------------------------------------------------------------- pretrained models
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
                                f"`python -m cs280diff.checkpoints build`")
    return json.loads(path.read_text())


def available(directory: str | os.PathLike | None = None) -> list[str]:
    """Names of the pretrained models listed in the manifest."""
    return sorted(read_manifest(directory)["models"])


def _architectures() -> dict:
    """The only classes a manifest may name (nothing else is ever constructed from a file)."""
    from cs280diff.classifiers import DigitClassifier, NoisyDigitClassifier
    from cs280diff.models import MLPVelocity
    from cs280diff.unet import TinyUNet

    return {c.__name__: c for c in (MLPVelocity, TinyUNet, DigitClassifier, NoisyDigitClassifier)}


def _construct(cls_name: str, arch: dict) -> nn.Module:
    classes = _architectures()
    if cls_name not in classes:
        raise ValueError(f"unknown architecture {cls_name!r}; known: {sorted(classes)}")
    arch = {k: tuple(v) if isinstance(v, list) else v for k, v in arch.items()}
    return classes[cls_name](**arch)


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
                                f"with `python -m cs280diff.checkpoints build --only {name}`")
    data = path.read_bytes()
    digest = hashlib.sha256(data).hexdigest()
    if digest != entry["sha256"]:
        raise ChecksumError(f"refusing to load {path}: its sha256 is {digest} but the manifest expects "
                            f"{entry['sha256']}; the file is corrupt or was replaced. Reinstall cs280diff or "
                            f"rebuild with `python -m cs280diff.checkpoints build --only {name}`")
    if _header_class(data) != entry["class"]:
        raise ValueError(f"{path} holds a {_header_class(data)}, the manifest says {entry['class']}")
    model = _construct(entry["class"], entry["arch"])
    model.load_state_dict(load_bytes(data), strict=True)
    return model.to(device or "cpu").eval().requires_grad_(False)


# ----------------------------------------------------------------------------------------------- the build recipes
@dataclass(frozen=True)
class Spec:
    """How to build one shipped model: architecture, data, training settings, and what to measure.

    kind: "classifier" / "noisy_classifier" (``classifiers.train_classifier``), "digits_velocity" or "mixture_velocity"
    (``train.train``, the EMA weights are shipped).  ``tolerances``: absolute tolerance per metric for ``compare``.
    """
    name: str
    cls: str
    arch: dict
    kind: str
    train: dict
    description: str
    headline: str
    tolerances: dict = field(default_factory=dict)
    init_seed: int = 0


_MIXTURE_TOL = {"endpoint_error": 0.03, "cond_endpoint_error": 0.03, "sw_model": 0.02, "sw_floor": 0.0}
_VELOCITY_TOL = {"accuracy": 0.02, "fd": 0.3, "fd_n359": 0.3, "precision": 0.05, "recall": 0.05,
                 "diversity_ratio": 0.05, "uncond_fd": 1.0, "uncond_fd_n359": 1.0, "uncond_precision": 0.05,
                 "uncond_recall": 0.05, "uncond_diversity_ratio": 0.05}

SPECS: dict[str, Spec] = {s.name: s for s in [
    Spec("digits_classifier", "DigitClassifier", {"size": 8, "width": 32, "feat": 64, "dropout": 0.2}, "classifier",
         {"data": "digits/train/8", "steps": 1500, "batch_size": 128, "lr": 2e-3, "label_smoothing": 0.1,
          "max_shift": 1, "seed": 0},
         "clean CNN classifier p(y | x1) of 8×8 digits; its 64 penultimate features define FD-digits",
         "test_accuracy", {"test_accuracy": 0.01, "train_accuracy": 0.01, "floor_fd": 0.15, "floor_precision": 0.05,
                           "floor_recall": 0.05, "floor_diversity_ratio": 0.05}),
    Spec("digits_noisy_classifier", "NoisyDigitClassifier", {"size": 8, "width": 16, "feat": 64, "t_embed": 32},
         "noisy_classifier", {"data": "digits/train/8", "steps": 4000, "batch_size": 128, "lr": 2e-3, "seed": 0},
         "time-conditioned classifier p(y | x_t, t) for classifier guidance (t = 0 noise, t = 1 data)",
         "accuracy_t0.6", {f"accuracy_t{t}": 0.03 for t in ("0.0", "0.2", "0.4", "0.6", "0.8", "1.0")}),
    Spec("digits_mlp", "MLPVelocity", {"dim": 64, "hidden": 512, "depth": 3, "t_embed": 32, "n_classes": 10},
         "digits_velocity", {"data": "digits/train/8", "steps": 15000, "batch_size": 128, "lr": 1e-3,
                             "ema_decay": 0.999, "p_uncond": 0.2, "seed": 0},
         "class-conditional velocity MLP on flattened 8×8 digits (null class 10, p_uncond = 0.2 for CFG)",
         "accuracy", _VELOCITY_TOL),
    Spec("digits_unet", "TinyUNet", {"channels": 1, "size": 8, "base": 32, "mults": [1, 2], "t_embed": 64,
                                     "n_classes": 10},
         "digits_velocity", {"data": "digits/train/8", "steps": 2000, "batch_size": 128, "lr": 2e-3,
                             "ema_decay": 0.995, "p_uncond": 0.2, "seed": 0},
         "class-conditional tiny UNet velocity field on 8×8 digits (null class 10, p_uncond = 0.2 for CFG)",
         "fd_n359", _VELOCITY_TOL),
    Spec("ring_mlp", "MLPVelocity", {"dim": 2, "hidden": 128, "depth": 3, "t_embed": 32, "n_classes": 8},
         "mixture_velocity", {"data": "ring_2d", "steps": 16000, "batch_size": 256, "lr": 1e-3, "ema_decay": 0.999,
                              "p_uncond": 0.2, "seed": 0},
         "velocity MLP for data.ring_2d() (8 modes), conditional on the mode (null class 8, p_uncond = 0.2)",
         "endpoint_error", _MIXTURE_TOL),
    Spec("lecture1d_mlp", "MLPVelocity", {"dim": 1, "hidden": 128, "depth": 3, "t_embed": 32, "n_classes": 3},
         "mixture_velocity", {"data": "lecture_1d", "steps": 12000, "batch_size": 256, "lr": 1e-3,
                              "ema_decay": 0.999, "p_uncond": 0.2, "seed": 0},
         "velocity MLP for data.lecture_1d() (3 modes), conditional on the mode (null class 3, p_uncond = 0.2)",
         "endpoint_error", _MIXTURE_TOL),
]}


@contextlib.contextmanager
def _deterministic():
    """One thread and deterministic kernels while building; the previous settings are restored afterwards."""
    threads, det = torch.get_num_threads(), torch.are_deterministic_algorithms_enabled()
    torch.set_num_threads(1)
    torch.use_deterministic_algorithms(True)
    try:
        yield
    finally:
        torch.use_deterministic_algorithms(det)
        torch.set_num_threads(threads)


def _sampler(data: str):
    """``sample_data(n, generator) -> (x1, y)`` for a spec's data string."""
    from cs280diff import data as toy
    from cs280diff import digits

    if data.startswith("digits/"):
        _, split, size = data.split("/")
        return digits.digits_sampler(split, int(size))
    mixture = {"ring_2d": toy.ring_2d, "lecture_1d": toy.lecture_1d}[data]()
    return lambda n, generator: mixture.sample(n, generator, return_labels=True)


def _train_one(spec: Spec, out_dir: Path, progress: bool) -> dict:
    """Train one model from scratch and write ``<name>.safetensors``; returns its manifest entry (no metrics yet)."""
    from cs280diff import classifiers, train

    with _deterministic():
        start = time.perf_counter()
        torch.manual_seed(spec.init_seed)  # the initial weights
        model = _construct(spec.cls, spec.arch)
        settings = {k: v for k, v in spec.train.items() if k != "data"}
        sample_data = _sampler(spec.train["data"])
        if spec.kind in ("classifier", "noisy_classifier"):
            classifiers.train_classifier(model, sample_data, progress=progress, **settings)
        else:
            result = train.train(model, sample_data, progress=progress, **settings)
            model = result.ema  # ship the exponential moving average
        seconds = time.perf_counter() - start
    path = out_dir / f"{spec.name}.safetensors"
    save_model(model, path, {"name": spec.name, "arch": spec.arch, "train": spec.train})  # deterministic bytes
    return {"file": path.name, "class": spec.cls, "arch": spec.arch, "train": spec.train, "kind": spec.kind,
            "description": spec.description, "headline": spec.headline, "tolerances": spec.tolerances,
            "sha256": sha256_file(path), "bytes": path.stat().st_size, "train_seconds": round(seconds, 1)}


def _train_worker(spec: Spec, out_dir: str, progress: bool) -> dict:
    return _train_one(spec, Path(out_dir), progress)


# ----------------------------------------------------------------------------------------------- build-time metrics
EVAL_PER_CLASS, EVAL_STEPS, EVAL_SEED = 100, 50, 1


def _measure_classifier(model, kind: str) -> dict:
    """Clean: accuracies and the real-data floors of the image metrics.  Noisy: accuracy on x_t over t."""
    from cs280diff import classifiers, conventions, digits, image_metrics

    x_test, y_test = digits.load_digits("test")
    if kind == "classifier":
        x_train, y_train = digits.load_digits("train")
        floors = image_metrics.real_data_floors(model)
        return {"test_accuracy": classifiers.accuracy(model, x_test, y_test),
                "train_accuracy": classifiers.accuracy(model, x_train, y_train),
                **{f"floor_{k}": v for k, v in floors.items() if k in ("fd", "precision", "recall", "diversity_ratio")}}
    x0 = torch.randn(x_test.shape, generator=torch.Generator().manual_seed(EVAL_SEED))  # fixed noise
    return {f"accuracy_t{t:.1f}": classifiers.accuracy(model, conventions.path(x0, x_test, t), y_test, t=t)
            for t in (0.0, 0.2, 0.4, 0.6, 0.8, 1.0)}  # on x_t = (1 - t) x0 + t x1 of the test digits


def _measure_digits_velocity(model, classifier) -> dict:
    """Metrics of 100 samples per class (s = 1, Euler 50 steps) and of 1,000 unconditional ones (y = None).

    ``fd_n359`` / ``uncond_fd_n359``: FD-digits of 359 of them with the test split's class counts (the first ones of
    each class), to set beside the classifier's ``floor_fd`` (FD shrinks with the number of samples).
    """
    from cs280diff import digits, image_metrics

    labels = torch.arange(10).repeat_interleave(EVAL_PER_CLASS)
    counts = torch.bincount(digits.load_digits("test")[1], minlength=10).tolist()
    subset = torch.cat([torch.arange(c * EVAL_PER_CLASS, c * EVAL_PER_CLASS + k) for c, k in enumerate(counts)])
    x = image_metrics.generate(model, labels, n_steps=EVAL_STEPS, seed=EVAL_SEED, shape=(1, 8, 8))
    cond = image_metrics.evaluate(x, labels, classifier)
    xu = image_metrics.generate(model, None, n=labels.numel(), n_steps=EVAL_STEPS, seed=EVAL_SEED + 1,
                                shape=(1, 8, 8))
    uncond = image_metrics.evaluate(xu, None, classifier)
    return {**{k: v for k, v in cond.items() if k != "n"}, "n": cond["n"],
            "fd_n359": image_metrics.fd_digits(x[subset], classifier),
            **{f"uncond_{k}": uncond[k] for k in ("fd", "precision", "recall", "diversity_ratio")},
            "uncond_fd_n359": image_metrics.fd_digits(xu[subset], classifier)}


def _measure_mixture_velocity(model, data: str) -> dict:
    """Model error from the same 2,000 x0 (Heun, 100 steps each): mean |x_model(1) - x_exact(1)| for the
    unconditional field (y = None vs the exact marginal field) and for the conditional one (y = i mod K vs the
    exact field of component y); sliced W1 of model samples vs exact samples, beside its floor (two exact sets)."""
    from cs280diff import data as toy
    from cs280diff import metrics, solvers

    mixture = {"ring_2d": toy.ring_2d, "lecture_1d": toy.lecture_1d}[data]()
    gen = torch.Generator().manual_seed(EVAL_SEED)
    x0 = torch.randn(2000, mixture.dim, generator=gen)
    grid = solvers.uniform_grid(100)
    labels = torch.arange(2000) % mixture.n_components
    parts = [toy.GaussianMixture(mixture.means[k:k + 1], mixture.stds[k:k + 1]) for k in range(mixture.n_components)]

    def exact_conditional(x, t, y):  # the exact field of each sample's own component
        v = torch.empty_like(x)
        for k, part in enumerate(parts):
            v[y == k] = part(x[y == k], t)
        return v

    with torch.no_grad():
        x_model = solvers.sample(model, x0, grid, step=solvers.heun_step)
        x_exact = solvers.sample(mixture, x0.double(), grid, step=solvers.heun_step).float()
        c_model = solvers.sample(model, x0, grid, step=solvers.heun_step, cond={"y": labels})
        c_exact = solvers.sample(exact_conditional, x0.double(), grid, step=solvers.heun_step,
                                 cond={"y": labels}).float()
    real_a, real_b = mixture.sample(2000, gen), mixture.sample(2000, gen)
    sw = lambda a, b: metrics.sliced_wasserstein(a, b, generator=torch.Generator().manual_seed(0))  # noqa: E731
    return {"endpoint_error": metrics.mean_endpoint_error(x_model, x_exact),
            "cond_endpoint_error": metrics.mean_endpoint_error(c_model, c_exact),
            "sw_model": sw(x_model, real_a), "sw_floor": sw(real_b, real_a)}


def _measure(name: str, directory: Path) -> dict:
    entry = read_manifest(directory)["models"][name]
    model = load_pretrained(name, directory=directory)
    with _deterministic():
        if entry["kind"] in ("classifier", "noisy_classifier"):
            return _measure_classifier(model, entry["kind"])
        if entry["kind"] == "digits_velocity":
            return _measure_digits_velocity(model, load_pretrained("digits_classifier", directory=directory))
        return _measure_mixture_velocity(model, entry["train"]["data"])


# ----------------------------------------------------------------------------------------------- build / verify / compare
def _write_manifest(directory: Path, manifest: dict) -> None:
    (directory / MANIFEST).write_text(json.dumps(manifest, indent=1, sort_keys=True) + "\n")


def build(names=None, out_dir: str | os.PathLike | None = None, *, jobs: int = 1, progress: bool = True,
          specs: dict[str, Spec] | None = None) -> dict:
    """Train the shipped models from scratch, write their safetensors files and the manifest; returns the manifest.

    names: which models (default all of ``SPECS``); others already listed in ``out_dir``'s manifest are kept.
    The velocity models' metrics use the ``digits_classifier`` of ``out_dir`` (built first when asked for).
    jobs: train in this many processes at once (each single-threaded; the results do not depend on it).
    specs: recipes to use instead of ``SPECS`` (tests build tiny ones).
    """
    specs = SPECS if specs is None else specs
    names = list(specs) if names is None else list(names)
    unknown = [n for n in names if n not in specs]
    if unknown:
        raise KeyError(f"unknown model(s) {unknown}; known: {list(specs)}")
    out = Path(out_dir or weights_dir())
    out.mkdir(parents=True, exist_ok=True)
    try:
        manifest = read_manifest(out)
    except FileNotFoundError:
        manifest = {"models": {}}
    start = time.perf_counter()
    entries = _train_all([specs[n] for n in names], out, jobs, progress)
    train_wall = time.perf_counter() - start
    manifest["models"].update(entries)
    _write_manifest(out, manifest)
    order = sorted(names, key=lambda n: n != "digits_classifier")  # the classifier's floors first
    manifest = measure(order, out, progress=progress)  # metrics of the fresh weights, written to the manifest
    manifest["build"] = {"command": "python -m cs280diff.checkpoints build" + (f" --jobs {jobs}" if jobs > 1 else ""),
                         "models": names, "wall_seconds": round(time.perf_counter() - start, 1),
                         "train_wall_seconds": round(train_wall, 1), "jobs": jobs,
                         "torch": torch.__version__, "python": platform.python_version(),
                         "machine": f"{platform.machine()} {platform.system()}, {os.cpu_count()} CPUs"}
    manifest["total_bytes"] = sum(e["bytes"] for e in manifest["models"].values())
    _write_manifest(out, manifest)
    return manifest


def _train_all(specs: list[Spec], out: Path, jobs: int, progress: bool) -> dict:
    """Train every spec (the slowest first when in parallel); returns {name: manifest entry}."""
    if jobs <= 1 or len(specs) == 1:
        return {s.name: _train_one(s, out, progress) for s in specs}
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor

    cost = {"digits_unet": 0, "digits_mlp": 1, "digits_noisy_classifier": 2}  # slowest first
    order = sorted(specs, key=lambda s: cost.get(s.name, 9))
    with ProcessPoolExecutor(jobs, mp_context=multiprocessing.get_context("spawn")) as pool:
        futures = {s.name: pool.submit(_train_worker, s, str(out), False) for s in order}
        return {n: f.result() for n, f in futures.items()}


def measure(names=None, directory: str | os.PathLike | None = None, *, progress: bool = True) -> dict:
    """Re-measure the metrics of already built models (no training) and update ``directory``'s manifest."""
    d = Path(directory or weights_dir())
    manifest = read_manifest(d)
    names = sorted(manifest["models"], key=lambda n: manifest["models"][n]["kind"] != "classifier") \
        if names is None else list(names)
    for name in names:
        t0 = time.perf_counter()
        manifest["models"][name]["metrics"] = _measure(name, d)
        manifest["models"][name]["measure_seconds"] = round(time.perf_counter() - t0, 1)
        if progress:
            print(f"{name}: {_fmt(manifest['models'][name]['metrics'])}", file=sys.stderr)
    _write_manifest(d, manifest)
    return manifest


def verify(directory: str | os.PathLike | None = None) -> dict[str, bool]:
    """{name: sha256 matches the manifest} for every model of ``directory``'s manifest (missing files -> False)."""
    d = Path(directory or weights_dir())
    out = {}
    for name, entry in read_manifest(d)["models"].items():
        path = d / entry["file"]
        out[name] = path.is_file() and sha256_file(path) == entry["sha256"]
    return out


def compare(rebuilt_dir: str | os.PathLike, reference_dir: str | os.PathLike | None = None) -> list[str]:
    """Metrics of a rebuild against the reference manifest (default shipped); returns the list of disagreements.

    A metric disagrees when |rebuilt - reference| exceeds the reference's tolerance for it (0 when none is stated).
    """
    ref, new = read_manifest(reference_dir)["models"], read_manifest(rebuilt_dir)["models"]
    problems = []
    for name, entry in new.items():
        if name not in ref:
            continue
        tol = ref[name].get("tolerances", {})
        for key, value in entry.get("metrics", {}).items():
            want = ref[name].get("metrics", {}).get(key)
            if isinstance(value, (int, float)) and isinstance(want, (int, float)):
                if abs(value - want) > tol.get(key, 0.0) + 1e-12:
                    problems.append(f"{name}.{key}: rebuilt {value:.4g} vs shipped {want:.4g} "
                                    f"(tolerance {tol.get(key, 0.0):g})")
    return problems


def _fmt(metrics: dict) -> str:
    return ", ".join(f"{k}={v:.4g}" if isinstance(v, float) else f"{k}={v}" for k, v in metrics.items())


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m cs280diff.checkpoints", description=__doc__.split("\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    b = sub.add_parser("build", help="retrain shipped models from scratch and write weights + manifest")
    b.add_argument("--only", nargs="+", metavar="NAME", help=f"models to build (default all: {', '.join(SPECS)})")
    b.add_argument("--out", help="output folder (default: the package's weights folder)")
    b.add_argument("--jobs", type=int, default=1, help="train this many models at once (processes)")
    m = sub.add_parser("measure", help="re-measure the metrics of built models (no training)")
    m.add_argument("--only", nargs="+", metavar="NAME", help="models to measure (default all)")
    m.add_argument("--dir", help="weights folder (default: shipped)")
    v = sub.add_parser("verify", help="check the sha256 of every weights file")
    v.add_argument("--dir", help="weights folder (default: shipped)")
    c = sub.add_parser("compare", help="compare a rebuild's metrics with the shipped ones")
    c.add_argument("rebuilt", help="folder written by `build --out`")
    sub.add_parser("list", help="the shipped models, sizes and headline metrics")
    args = parser.parse_args(argv)
    if args.command == "build":
        m = build(args.only, args.out, jobs=args.jobs)
        print(f"built {', '.join(m['build']['models'])} in {m['build']['wall_seconds']:.0f} s; "
              f"{m['total_bytes'] / 2**20:.2f} MB of weights in {args.out or weights_dir()}")
        if args.out:
            problems = compare(args.out) if (weights_dir() / MANIFEST).is_file() else []
            print("\n".join(problems) if problems else "metrics agree with the shipped manifest within tolerances")
            return 1 if problems else 0
        return 0
    if args.command == "measure":
        measure(args.only, args.dir)
        return 0
    if args.command == "verify":
        result = verify(args.dir)
        for name, ok in result.items():
            print(f"{'ok ' if ok else 'BAD'} {name}")
        return 0 if all(result.values()) else 1
    if args.command == "compare":
        problems = compare(args.rebuilt)
        print("\n".join(problems) if problems else "metrics agree with the shipped manifest within tolerances")
        return 1 if problems else 0
    manifest = read_manifest()
    for name, e in sorted(manifest["models"].items()):
        head = e.get("metrics", {}).get(e["headline"])
        print(f"{name:26s} {e['class']:22s} {e['bytes'] / 1024:8.1f} KiB  {e['headline']} = {head:.4g}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
