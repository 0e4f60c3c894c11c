"""How the shipped distilled models are trained (notebook 6): PD students, DMD generators, reflowed fields.

A distilled spec's ``train`` dict names its method and teacher: "exact:ring_2d" is the exact mixture oracle, any
other name a model already built in the same weights folder (the build trains teachers first).  One PD chain
(64 -> 32 -> ... steps) gives every student of a chain; ``_CHAINS`` keeps it for one ``build`` call
(``forget_chains`` at its start), keyed by the weights folder and the recipe without its step count.
"""
from __future__ import annotations

import copy
import json
from pathlib import Path

import torch

from cs280diff.distill import dmd, pd, reflow
from cs280diff.flows import mixtures, solvers
from cs280diff.images import digits
from cs280diff.nets.generator import OneStepGenerator
from cs280diff.nets.registry import construct, load_pretrained

__all__ = ["train_distilled", "teacher_field", "data_sampler", "forget_chains"]

_CHAINS: dict[str, dict[int, torch.nn.Module]] = {}


def forget_chains() -> None:
    """Drop the PD chains kept by earlier builds (each build trains its own)."""
    _CHAINS.clear()


def teacher_field(name: str, directory: Path):
    """The exact oracle for "exact:<mixture>", else the built model ``name`` of ``directory`` (frozen)."""
    if name.startswith("exact:"):
        return {"ring_2d": mixtures.ring_2d, "lecture_1d": mixtures.lecture_1d}[name.split(":", 1)[1]]()
    return load_pretrained(name, directory=directory)


def data_sampler(data: str, device=None):
    """sample_x1(n, generator) for a data string: "ring_2d" -> x1 (float32); "digits/train/8" -> (x1, y), the
    digits kept on ``device`` (only the batch indices travel)."""
    if data.startswith("digits/"):
        _, split, size = data.split("/")
        return digits.digits_sampler(split, int(size), device=device)
    mixture = {"ring_2d": mixtures.ring_2d, "lecture_1d": mixtures.lecture_1d}[data]()
    return lambda n, generator: mixture.sample(n, generator)


def _pd(spec, out: Path):
    cfg = spec.train
    key = str(out) + json.dumps({k: v for k, v in cfg.items() if k != "steps"}, sort_keys=True)
    chain = _CHAINS.setdefault(key, {})
    if cfg["steps"] not in chain:
        init = load_pretrained(cfg["init"], directory=out) if cfg.get("init") else None
        iters = {int(k): v for k, v in cfg["iters"].items()}
        chain.update(pd.progressive_distillation(
            teacher_field(cfg["teacher"], out), data_sampler(cfg["data"]), start_steps=cfg["start_steps"],
            end_steps=cfg["steps"], iters=lambda n: iters[n], batch_size=cfg["batch_size"], lr=cfg["lr"],
            seed=cfg["seed"], labels=cfg["data"].startswith("digits/"), init=init, progress=False))
    return copy.deepcopy(chain[cfg["steps"]])


def _pairs(real, cfg, shape, seed_offset: int):
    """(z, x1[, y]) teacher pairs: z ~ N(0, I) from seed + offset, x1 = Heun's ODE from z (cfg["pair_steps"])."""
    gen = torch.Generator().manual_seed(cfg["seed"] + seed_offset)
    z = torch.randn((cfg["pairs"], *shape), generator=gen)
    field = real if isinstance(real, torch.nn.Module) else (lambda x, t: real(x.double(), t).float())
    return reflow.reflow_pairs(field, z, n_steps=cfg["pair_steps"], step=solvers.heun_step)


def _dmd(spec, out: Path):
    """A DMD generator: from random init near the identity with a fresh fake (ring), or, with "init": "teacher",
    G = z + v_teacher(z, 0) and the fake a copy of the teacher (DMD2's initialisation; digits)."""
    cfg = spec.train
    real = teacher_field(cfg["teacher"], out)
    torch.manual_seed(spec.init_seed)
    if cfg.get("init") == "teacher":
        generator = OneStepGenerator.from_velocity(copy.deepcopy(real).requires_grad_(True))
        fake = copy.deepcopy(real).requires_grad_(True)
    else:
        generator = construct(spec.cls, spec.arch)
        fake = construct("MLPVelocity", {"dim": spec.arch["dim"], "hidden": cfg.get("fake_hidden", spec.arch["hidden"]),
                                         "depth": spec.arch["depth"], "t_embed": spec.arch["t_embed"]})
    shape = tuple(cfg.get("shape", (spec.arch["dim"],)))
    pairs = _pairs(real, cfg, shape, 1) if cfg.get("reg_weight", 0) > 0 else None
    labels = (lambda n, g: torch.randint(0, spec.arch["n_classes"], (n,), generator=g)) \
        if spec.arch.get("n_classes") else None
    dmd.train_dmd(real, generator, fake, shape, steps=cfg["steps"], batch_size=cfg["batch_size"], lr=cfg["lr"],
                  fake_updates=cfg["fake_updates"], warmup=cfg["warmup"], reg_pairs=pairs, labels=labels,
                  reg_weight=cfg.get("reg_weight", 0.0), seed=cfg["seed"], progress=False)
    return generator


def _reflow(spec, out: Path):
    cfg = spec.train
    teacher = teacher_field(cfg["teacher"], out)
    z, x1 = _pairs(teacher, cfg, (spec.arch["dim"],), 2)
    model = load_pretrained(cfg["init"], directory=out).requires_grad_(True)  # starts from the teacher's network
    reflow.reflow(model, z, x1, steps=cfg["steps"], batch_size=cfg["batch_size"], lr=cfg["lr"], seed=cfg["seed"],
                  progress=False)
    return model.requires_grad_(False)


def train_distilled(spec, out: Path) -> torch.nn.Module:
    """Train the distilled model of ``spec`` (kind "pd", "dmd" or "reflow") from the teachers in ``out``."""
    return {"pd": _pd, "dmd": _dmd, "reflow": _reflow}[spec.kind](spec, out)
