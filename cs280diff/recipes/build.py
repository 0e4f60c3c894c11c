"""Rebuild the shipped weights from their recipes: train, write the safetensors files and the manifest, measure.

Every model is trained by the package's own code, single-threaded, with fixed seeds: on one machine a rebuild gives
identical bytes; on another CPU the floating-point rounding (and so the sha256) may differ, while the metrics stay
within the tolerances recorded in the manifest.
    python -m cs280diff.recipes build            # retrain every shipped model from scratch (deterministic)
    python -m cs280diff.recipes measure          # re-measure the metrics of the built weights (no training)
    python -m cs280diff.recipes compare DIR      # a rebuild's metrics against the shipped ones, within tolerances
"""
from __future__ import annotations

import json
import os
import platform
import sys
import time
from pathlib import Path

import torch

from cs280diff.images.retrain import data_sampler
from cs280diff.nets import classifiers, training
from cs280diff.nets.checkpoints import save_model
from cs280diff.nets.registry import MANIFEST, construct, read_manifest, sha256_file, weights_dir
from cs280diff.recipes import distilled
from cs280diff.recipes.measure import deterministic, measure_one
from cs280diff.recipes.specs import DISTILLED_KINDS, SPECS, Spec

__all__ = ["build", "measure", "compare"]


def _train_one(spec: Spec, out_dir: Path, progress: bool) -> dict:
    """Train one model from scratch and write ``<name>.safetensors``; returns its manifest entry (no metrics yet)."""
    with deterministic():
        start = time.perf_counter()
        torch.manual_seed(spec.init_seed)  # the initial weights
        model = construct(spec.cls, spec.arch)
        settings = {k: v for k, v in spec.train.items() if k != "data"}
        sample_data = data_sampler(spec.train["data"])
        if spec.kind in DISTILLED_KINDS:
            model = distilled.train_distilled(spec, out_dir)  # from the teachers already in out_dir
        elif spec.kind in ("classifier", "noisy_classifier"):
            classifiers.train_classifier(model, sample_data, progress=progress, **settings)
        else:
            result = training.train(model, sample_data, progress=progress, **settings)
            model = result.ema  # ship the exponential moving average
        seconds = time.perf_counter() - start
    path = out_dir / f"{spec.name}.safetensors"
    save_model(model, path, {"name": spec.name, "arch": spec.arch, "train": spec.train},
               dtype=getattr(torch, spec.storage))  # deterministic bytes
    return {"file": path.name, "class": spec.cls, "arch": spec.arch, "train": spec.train, "kind": spec.kind,
            "storage": spec.storage, "description": spec.description, "headline": spec.headline,
            "tolerances": spec.tolerances,
            "sha256": sha256_file(path), "bytes": path.stat().st_size, "train_seconds": round(seconds, 1)}


def _train_worker(spec: Spec, out_dir: str, progress: bool) -> dict:
    return _train_one(spec, Path(out_dir), progress)


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
    distilled.forget_chains()
    for stage in (False, True):  # teachers first, then the models distilled from them
        chosen = [specs[n] for n in names if (specs[n].kind in DISTILLED_KINDS) == stage]
        chosen.sort(key=lambda s: s.train.get("steps", 0))  # a PD chain to 1 step also yields 2, 4, 8
        if chosen:
            manifest["models"].update(_train_all(chosen, out, 1 if stage else jobs, progress))
            _write_manifest(out, manifest)
    train_wall = time.perf_counter() - start
    order = sorted(names, key=lambda n: n != "digits_classifier")  # the classifier's floors first
    manifest = measure(order, out, progress=progress)  # metrics of the fresh weights, written to the manifest
    manifest["build"] = {"command": "python -m cs280diff.recipes build" + (f" --jobs {jobs}" if jobs > 1 else ""),
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
        manifest["models"][name]["metrics"] = measure_one(name, d)
        manifest["models"][name]["measure_seconds"] = round(time.perf_counter() - t0, 1)
        if progress:
            print(f"{name}: {_fmt(manifest['models'][name]['metrics'])}", file=sys.stderr)
    _write_manifest(d, manifest)
    return manifest


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
