"""No host synchronisation per NFE in the sampling loops: the inputs are validated once, not at every evaluation.

On a GPU, every Python-level read of a tensor's value (``bool(t.any())``, ``.item()``, ``float(t)``, ``.tolist()``)
makes the host wait for the device.  We count those reads while sampling with 16 and with 80 steps: the difference
may only come from the loop's finiteness check every ``solvers.CHECK_EVERY`` steps, never from the field.
"""
from __future__ import annotations

import contextlib
import math

import pytest
import torch

from cs280diff.flows import mixtures, schedules, solvers, stochastic
from cs280diff.nets.mlp import MLPVelocity
from cs280diff.nets.unet import TinyUNet

READS = ("__bool__", "item", "__float__", "__int__", "__index__", "tolist")


@contextlib.contextmanager
def count_value_reads():
    """Count the calls of every method that copies a tensor's value to the host."""
    counter = {"n": 0}
    originals = {name: getattr(torch.Tensor, name) for name in READS}

    def counted(fn):
        def wrapper(self, *args, **kwargs):
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
