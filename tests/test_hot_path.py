"""No host synchronisation per NFE in the sampling loops: the inputs are validated once, not at every evaluation.

On a GPU, every Python-level read of a tensor's value (``bool(t.any())``, ``.item()``, ``float(t)``, ``.tolist()``)
makes the host wait for the device.  We count those reads while sampling with 16 and with 80 steps: the difference
may only come from the loop's finiteness check every ``solvers.CHECK_EVERY`` steps, never from the field.
"""
from __future__ import annotations

import contextlib
import math
import os
import sys

import pytest
import torch

from cs280diff.distill import dmd
from cs280diff.flows import mixtures, schedules, solvers, stochastic
from cs280diff.nets import training
from cs280diff.nets.generator import OneStepGenerator
from cs280diff.nets.mlp import MLPVelocity
from cs280diff.nets.unet import TinyUNet

READS = ("__bool__", "item", "__float__", "__int__", "__index__", "tolist")


@contextlib.contextmanager
def count_value_reads(skip_optimizer: bool = False):
    """Count the calls of every method that copies a tensor's value to the host.

    ``skip_optimizer``: leave out torch.optim's reads of its step counters, which torch keeps on the CPU on every
    device (``state["step"]`` of Adam unless ``capturable``/``fused``): they cost a GPU nothing."""
    counter = {"n": 0}
    originals = {name: getattr(torch.Tensor, name) for name in READS}

    def counted(fn):
        def wrapper(self, *args, **kwargs):
            caller = sys._getframe(1).f_code.co_filename
            if not (skip_optimizer and f"torch{os.sep}optim{os.sep}" in caller):
                counter["n"] += 1
            return fn(self, *args, **kwargs)
        return wrapper

    for name, fn in originals.items():
        setattr(torch.Tensor, name, counted(fn))
    try:
        yield counter
    finally:
        for name, fn in originals.items():
            setattr(torch.Tensor, name, fn)


def _fields():
    torch.manual_seed(0)
    mlp = MLPVelocity(dim=2, hidden=16, depth=1, t_embed=8, n_classes=3).eval()
    unet = TinyUNet(channels=1, size=8, base=8, mults=(1, 2), t_embed=8, n_classes=10).eval()
    return {
        "exact mixture": (mixtures.ring_2d(), torch.randn(8, 2), {}),
        "tempered mixture": (mixtures.ring_2d().tempered(2.0), torch.randn(8, 2), {}),
        "MLP with labels": (mlp, torch.randn(8, 2), {"y": torch.arange(8) % 3}),
        "UNet with labels": (unet, torch.randn(8, 1, 8, 8), {"y": torch.arange(8)}),
    }


SAMPLERS = {
    "euler": lambda f, x, g, cond: solvers.sample(f, x, g, step=solvers.euler_step, cond=cond),
    "heun": lambda f, x, g, cond: solvers.sample(f, x, g, step=solvers.heun_step, cond=cond),
    "sde": lambda f, x, g, cond: stochastic.sde_euler_maruyama(f, x, g, eta=1.0, cond=cond,
                                                               generator=torch.Generator().manual_seed(0)),
    "churn": lambda f, x, g, cond: stochastic.churn_sampler(f, x, g, S_churn=20.0, cond=cond,
                                                            generator=torch.Generator().manual_seed(0)),
}


@pytest.mark.parametrize("sampler", list(SAMPLERS))
@pytest.mark.parametrize("field_name", list(_fields()))
def test_value_reads_do_not_grow_with_the_number_of_steps(field_name, sampler):
    field, x, cond = _fields()[field_name]
    reads = {}
    with torch.no_grad():
        for n in (16, 80):
            grid = schedules.uniform(n)
            with count_value_reads() as counter:
                SAMPLERS[sampler](field, x, grid, cond)
            reads[n] = counter["n"]
    allowed = math.ceil(80 / solvers.CHECK_EVERY) - math.ceil(16 / solvers.CHECK_EVERY)  # the loop's own checks
    assert reads[80] - reads[16] <= allowed, \
        f"{field_name}, {sampler}: {reads[16]} value reads for 16 steps, {reads[80]} for 80 (allowed growth {allowed})"


def test_the_counter_sees_a_per_step_read():
    """The counter can fail: a field that reads a value at every call makes the count grow with the steps."""
    def field(x, t):
        assert torch.isfinite(x).all()  # a host read per NFE
        return -x

    reads = {}
    for n in (16, 80):
        with count_value_reads() as counter:
            solvers.sample(field, torch.randn(4, 2), schedules.uniform(n))
        reads[n] = counter["n"]
    assert reads[80] - reads[16] >= 64


def test_the_first_step_still_validates_the_field_inputs():
    """Labels out of range are refused (checked on the first step), as are NaN inputs (checked at the entry)."""
    field, x, _ = _fields()["MLP with labels"]
    with pytest.raises(ValueError, match="labels y must lie in"):
        solvers.sample(field, x, schedules.uniform(4), cond={"y": torch.full((8,), 7)})
    with pytest.raises(ValueError, match="NaN"):
        solvers.sample(field, torch.full_like(x, float("nan")), schedules.uniform(4))


# ----------------------------------------------------------------------------------------------- training loops
def _train(n_steps, **kw):
    torch.manual_seed(0)
    net = MLPVelocity(dim=2, hidden=16, depth=1, t_embed=8, n_classes=8)
    ring = mixtures.ring_2d()
    result = training.train(net, lambda n, g: ring.sample(n, g, return_labels=True), steps=n_steps, batch_size=32,
                            ema_decay=0.9, p_uncond=0.2, progress=False, **kw)
    return result, net


def _dmd(n_steps):
    torch.manual_seed(0)
    G = OneStepGenerator(dim=2, hidden=16, depth=1, t_embed=8)
    fake = MLPVelocity(dim=2, hidden=16, depth=1, t_embed=8)
    return dmd.train_dmd(mixtures.ring_2d(), G, fake, (2,), steps=n_steps, batch_size=32, fake_updates=2, warmup=5,
                         progress=False)


def test_training_reads_its_losses_once_per_25_steps_on_a_gpu(monkeypatch):
    """On a GPU (``read_every`` = 25) the losses of ``train`` and the gradient norms of ``train_dmd`` are read back
    in groups: 50 more steps may add 2 groups' reads, not 50 reads (each a host-device sync)."""
    monkeypatch.setattr(training, "read_every", lambda device: 25)
    monkeypatch.setattr(dmd, "read_every", lambda device: 25)
    for name, run in (("train", lambda n: _train(n)), ("train_dmd", _dmd)):
        reads = {}
        for n in (50, 100):
            with count_value_reads(skip_optimizer=True) as counter:
                run(n)
            reads[n] = counter["n"]
        assert reads[100] - reads[50] <= 2 * 2, f"{name}: {reads[50]} value reads for 50 steps, {reads[100]} for 100"


def test_the_counter_sees_per_step_reads_in_training():
    """The same count on the CPU path (a loss read at every step) grows with the steps: the test above can fail."""
    reads = {}
    for n in (50, 100):
        with count_value_reads(skip_optimizer=True) as counter:
            _train(n)
        reads[n] = counter["n"]
    assert reads[100] - reads[50] >= 50


def test_reading_the_losses_in_groups_changes_nothing_else(monkeypatch):
    """Grouped reads give the same losses, weights, EMA and callbacks as reading every step."""
    seen = {}
    for every in (1, 7):
        monkeypatch.setattr(training, "read_every", lambda device, every=every: every)
        calls = []
        result, net = _train(40, callback=lambda info: calls.append((info["step"], info["loss"])), callback_every=10)
        seen[every] = (result.loss_history, [p.detach().clone() for p in net.parameters()],
                       [p.detach().clone() for p in result.ema.parameters()], calls)
    (h1, w1, e1, c1), (h7, w7, e7, c7) = seen[1], seen[7]
    assert len(h1) == 40 and h1 == h7 and c1 == c7 and [s for s, _ in c1] == [10, 20, 30, 40]
    assert all(torch.equal(a, b) for a, b in zip(w1 + e1, w7 + e7))


def test_a_non_finite_loss_is_named_by_its_step_also_when_read_late():
    pending = [torch.tensor(1.0), torch.tensor(float("nan")), torch.tensor(2.0)]
    history = []
    with pytest.raises(FloatingPointError, match=r"the loss is nan at step 9 \(seen at step 10: on a GPU the values"):
        training.read_values(pending, 10, 25, history)
    assert history == [1.0] and pending == []
    with pytest.raises(FloatingPointError, match=r"at step 4 \(weights left as before it\)"):
        training.read_values([torch.tensor(float("inf"))], 4, 1, [])
    with pytest.raises(FloatingPointError, match=r"the DMD gradient is inf at step 4 \(seen at step 4\)"):
        training.read_values([torch.tensor(float("inf"))], 4, 1, [], "DMD gradient", before_update=False)
