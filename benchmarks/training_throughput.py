"""Training throughput (Adam steps per second) of every architecture the package ships, on the CPU and on a GPU.

Run: ``make bench`` or ``.venv/bin/python benchmarks/training_throughput.py`` (about 2 minutes on 2 CPU cores);
``--steps N`` (default 40 timed steps after 5 warm-up steps), ``--repeats N`` (default 3), ``--out FILE``
(default ``benchmarks/training_throughput_<cpu|cuda>.md``: ``cuda`` when a GPU is present).
One row per distinct architecture among the shipped models (``recipes.specs.SPECS``, distilled students left out:
they share their teachers' networks), trained exactly as its recipe trains it (``training.train`` or
``classifiers.train_classifier``, the recipe's batch size and data) for a fixed number of steps.  Steps per second
are medians over the repeats; on a machine with a GPU each repeat runs on the CPU and on the GPU in turn, in one
process, and the speed-up is the median of the per-repeat ratios GPU / CPU.  CPU rows use all torch threads.
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run from a checkout without installing

from cs280diff.nets import classifiers, training  # noqa: E402
from cs280diff.nets.registry import construct  # noqa: E402
from cs280diff.images import retrain  # noqa: E402
from cs280diff.recipes.specs import DISTILLED_KINDS, SPECS  # noqa: E402

WARMUP = 5


def architectures() -> list:
    """One spec per distinct (class, arch) among the trained-from-scratch shipped models, in SPECS order."""
    seen, chosen = set(), []
    for spec in SPECS.values():
        key = (spec.cls, json.dumps(spec.arch, sort_keys=True))
        if spec.kind not in DISTILLED_KINDS and key not in seen:
            seen.add(key)
            chosen.append(spec)
    return chosen


def steps_per_second(spec, device: torch.device, steps: int) -> float:
    """Train a fresh copy of spec's network for WARMUP + steps steps on device; timed steps per second."""
    torch.manual_seed(spec.init_seed)
    model = construct(spec.cls, spec.arch).to(device)
    settings = {k: v for k, v in spec.train.items() if k not in ("data", "steps")}
    sample_data = retrain.data_sampler(spec.train["data"], device)  # the digits live on the device
    train = classifiers.train_classifier if spec.kind in ("classifier", "noisy_classifier") else training.train
    train(model, sample_data, steps=WARMUP, progress=False, **settings)  # allocations, kernels, caches
    if device.type == "cuda":
        torch.cuda.synchronize()
    start = time.perf_counter()
    train(model, sample_data, steps=steps, progress=False, **settings)
    if device.type == "cuda":
        torch.cuda.synchronize()
    return steps / (time.perf_counter() - start)


def params(spec) -> int:
    return sum(p.numel() for p in construct(spec.cls, spec.arch).parameters())


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--steps", type=int, default=40)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--only", nargs="*", help="model names (default: one per architecture)")
    parser.add_argument("--out")
    args = parser.parse_args(argv)
    cuda = torch.cuda.is_available() and os.environ.get("CS280DIFF_DEVICE", "") != "cpu"
    devices = [torch.device("cpu")] + ([torch.device("cuda")] if cuda else [])
    specs = [SPECS[n] for n in args.only] if args.only else architectures()
    out = Path(args.out or Path(__file__).with_name(f"training_throughput_{'cuda' if cuda else 'cpu'}.md"))
    start = time.perf_counter()
    head = "| architecture (first model using it) | parameters | batch | CPU steps/s |" + \
           (" GPU steps/s | GPU / CPU |" if cuda else "")
    rows = [head, "|---" * (head.count("|") - 1) + "|"]
    for spec in specs:
        rates = {d.type: [] for d in devices}
        for _ in range(args.repeats):
            for d in devices:  # CPU and GPU alternate inside each repeat
                rates[d.type].append(steps_per_second(spec, d, args.steps))
        cpu = statistics.median(rates["cpu"])
        row = f"| {spec.cls} ({spec.name}) | {params(spec):,} | {spec.train.get('batch_size', '')} | {cpu:.1f} |"
        if cuda:
            ratio = statistics.median(g / c for g, c in zip(rates["cuda"], rates["cpu"]))
            row += f" {statistics.median(rates['cuda']):.1f} | {ratio:.2f} |"
        rows.append(row)
        print(row, flush=True)
    gpu = f", GPU {torch.cuda.get_device_name()}" if cuda else ", no GPU (the GPU columns appear on a machine with one)"
    text = ["# Training throughput of the shipped architectures", "",
            f"Written by `python benchmarks/training_throughput.py --steps {args.steps} --repeats {args.repeats}` in "
            f"{(time.perf_counter() - start) / 60:.1f} min on {platform.machine()} {platform.system()}, "
            f"{os.cpu_count()} CPUs, torch {torch.__version__} ({torch.get_num_threads()} CPU threads){gpu}.",
            f"Adam steps per second over {args.steps} steps after {WARMUP} warm-up steps, median of {args.repeats} "
            "repeats, each network trained as its recipe trains it (its batch size, its data, fresh batches "
            "every step). See `benchmarks/README.md`.", "", *rows, ""]
    out.write_text("\n".join(text))
    print(f"wrote {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
