"""The tiny UNet and the image MLP as velocity fields: shapes, dtypes, time and class conditioning, the null class,
condition dropout in training, and bad input."""
from __future__ import annotations

import pytest
import torch

from cs280diff.flows import schedules, solvers
from cs280diff.images import digits
from cs280diff.nets import training
from cs280diff.nets.mlp import MLPVelocity
from cs280diff.nets.unet import TinyUNet


def _perturb(net: torch.nn.Module, seed: int = 0) -> torch.nn.Module:
    """Random weights everywhere (the output layers start at zero, which would hide the conditioning)."""
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for p in net.parameters():
            p.copy_(0.2 * torch.randn(p.shape, generator=g))
    return net


@pytest.mark.parametrize("size,mults", [(8, (1, 2)), (16, (1, 2, 2)), (8, (1,))])
def test_unet_field_protocol(size, mults):
    """net(x, t, y) keeps x's shape and dtype for float and (batch,) t; float64 input is computed in float32."""
    net = TinyUNet(size=size, base=8, mults=mults, t_embed=16, n_classes=10)
    x = torch.randn(3, 1, size, size)
    assert net(x, 0.5).shape == x.shape
    assert net(x, torch.rand(3), y=torch.tensor([0, 5, 9])).shape == x.shape
    assert net(x.double(), 0.5, y=2).dtype == torch.float64


def test_unet_starts_at_zero_and_responds_to_t_and_y():
    """At initialisation v = 0 (zero output conv); with random weights, v depends on t, on y, and y = None equals
    the null class 10."""
    net = TinyUNet(base=8, t_embed=16, n_classes=10)
    x = torch.randn(4, 1, 8, 8)
    assert torch.equal(net(x, 0.3, y=1), torch.zeros_like(x))
    _perturb(net)
    v = net(x, 0.3, y=1)
    assert (v - net(x, 0.7, y=1)).abs().max() > 1e-3, "time conditioning has no effect"
    assert (v - net(x, 0.3, y=2)).abs().max() > 1e-3, "class conditioning has no effect"
    torch.testing.assert_close(net(x, 0.3), net(x, 0.3, y=10))
    torch.testing.assert_close(net(x, 0.3, y=torch.full((4,), 1)), v)
    assert net.null_class == 10


def test_unet_samples_are_independent_in_the_batch():
    """Each sample's velocity depends only on itself (no batch statistics): batch of 4 == four batches of 1."""
    net = _perturb(TinyUNet(base=8, t_embed=16, n_classes=10)).eval()
    x, t, y = torch.randn(4, 1, 8, 8), torch.rand(4), torch.tensor([0, 3, 10, 7])
    full = net(x, t, y=y)
    each = torch.cat([net(x[i:i + 1], t[i:i + 1], y=y[i:i + 1]) for i in range(4)])
    torch.testing.assert_close(full, each, rtol=1e-5, atol=1e-5)


def test_unconditional_unet_refuses_labels():
    """n_classes=None: y must be None; null_class is None."""
    net = TinyUNet(base=8, t_embed=16)
    x = torch.randn(2, 1, 8, 8)
    assert net(x, 0.1).shape == x.shape and net.null_class is None
    with pytest.raises(ValueError, match="unconditional"):
        net(x, 0.1, y=1)


@pytest.mark.parametrize("kwargs,match", [({"size": 10, "mults": (1, 2, 2)}, "divisible"),
                                          ({"t_embed": 15}, "even"), ({"base": 0}, "base"), ({"mults": ()}, "mults")])
def test_unet_bad_config(kwargs, match):
    """Sizes that do not halve, odd embeddings and empty multipliers are refused."""
    with pytest.raises(ValueError, match=match):
        TinyUNet(**kwargs)


def test_unet_bad_input():
    """Wrong image shape, labels out of range, float labels and t outside [0, 1] fail clearly."""
    net = TinyUNet(base=8, t_embed=16, n_classes=10)
    x = torch.randn(2, 1, 8, 8)
    with pytest.raises(ValueError, match="shape"):
        net(torch.randn(2, 64), 0.5)
    with pytest.raises(ValueError, match="labels"):
        net(x, 0.5, y=torch.tensor([0, 11]))
    with pytest.raises(TypeError, match="integer"):
        net(x, 0.5, y=torch.tensor([0.0, 1.0]))
    with pytest.raises(ValueError, match="t = 0 is noise"):
        net(x, 1.5)


@pytest.mark.parametrize("make", [lambda: TinyUNet(base=8, t_embed=16, n_classes=10),
                                  lambda: MLPVelocity(64, hidden=32, depth=2, t_embed=16, n_classes=10)])
def test_image_nets_train_with_condition_dropout_and_sample(make):
    """Both image nets train on digits with p_uncond (loss decreases over 60 steps) and sample with solvers.sample
    conditionally and unconditionally."""
    torch.manual_seed(0)
    net = make()
    result = training.train(net, digits.digits_sampler(), steps=60, batch_size=32, lr=3e-3, p_uncond=0.2,
                         progress=False)
    first, last = sum(result.loss_history[:10]) / 10, sum(result.loss_history[-10:]) / 10
    assert last < first, f"loss did not decrease: {first:.3f} -> {last:.3f}"
    x0 = torch.randn(5, 1, 8, 8)
    grid = schedules.uniform(4)
    with torch.no_grad():
        assert solvers.sample(net, x0, grid, cond={"y": torch.arange(5)}).shape == x0.shape
        assert solvers.sample(net, x0, grid).shape == x0.shape


def test_mlp_on_images_has_a_null_class():
    """MLPVelocity on (batch, 1, 8, 8): y = None is the null class 10, labels change the output."""
    torch.manual_seed(0)
    net = MLPVelocity(64, hidden=32, depth=2, t_embed=16, n_classes=10)
    x = torch.randn(3, 1, 8, 8)
    torch.testing.assert_close(net(x, 0.4), net(x, 0.4, y=10))
    assert (net(x, 0.4, y=0) - net(x, 0.4, y=1)).abs().max() > 1e-4
