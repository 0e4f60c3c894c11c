"""Velocity networks: the field protocol, shapes, the time embedding's closed form, labels and the null class."""
from __future__ import annotations

import math

import pytest
import torch

from cs280diff.flows import schedules, solvers
from cs280diff.nets import embeddings, mlp


def test_sinusoidal_embedding_closed_form():
    """emb(t)[j] = cos(1000 t ω_j), emb(t)[half + j] = sin(1000 t ω_j) with ω_j = 10000^(-j / half)."""
    t = torch.tensor([0.0, 0.25, 1.0], dtype=torch.float64)
    emb = embeddings.sinusoidal_embedding(t, 6)
    assert emb.shape == (3, 6) and emb.dtype == torch.float64
    for b, tb in enumerate(t.tolist()):
        for j in range(3):
            w = 10_000 ** (-j / 3)
            assert math.isclose(emb[b, j].item(), math.cos(1000 * tb * w), abs_tol=1e-12)
            assert math.isclose(emb[b, 3 + j].item(), math.sin(1000 * tb * w), abs_tol=1e-12)


def test_sinusoidal_embedding_scalar_and_separation():
    """A float t gives (1, dim); nearby times (Δt = 1e-3) get clearly different embeddings."""
    e = embeddings.sinusoidal_embedding(0.5, 32)
    assert e.shape == (1, 32)
    d = (embeddings.sinusoidal_embedding(0.5, 32) - embeddings.sinusoidal_embedding(0.501, 32)).norm()
    assert d > 0.5, f"embeddings of t = 0.5 and 0.501 differ by only {d:.3g}"


@pytest.mark.parametrize("bad,exc", [((0.5, 5), ValueError), ((0.5, 0), ValueError), ((1.5, 4), ValueError),
                                     ((float("nan"), 4), ValueError), (("0.5", 4), TypeError)])
def test_sinusoidal_embedding_bad_input(bad, exc):
    """Odd/zero dims and times outside [0, 1] are rejected."""
    with pytest.raises(exc):
        embeddings.sinusoidal_embedding(*bad)


def test_mlp_field_protocol_shapes_and_dtypes():
    """net(x, t) keeps x's shape and dtype for (batch, D) and image-shaped x, with float or (batch,) t."""
    torch.manual_seed(0)
    net = mlp.MLPVelocity(2, hidden=16, depth=2, t_embed=8)
    x = torch.randn(5, 2)
    assert net(x, 0.3).shape == (5, 2)
    assert net(x, torch.rand(5)).shape == (5, 2)
    v64 = net(x.double(), 0.3)
    assert v64.dtype == torch.float64
    torch.testing.assert_close(v64.float(), net(x, 0.3))
    img = mlp.MLPVelocity(12, hidden=16, depth=1)
    assert img(torch.randn(3, 1, 3, 4), 0.5).shape == (3, 1, 3, 4)


def test_mlp_scalar_t_equals_batch_t():
    """A float t means the same time for every sample; per-sample t is really per sample."""
    torch.manual_seed(0)
    net = mlp.MLPVelocity(2, hidden=16, depth=2)
    x = torch.randn(4, 2)
    torch.testing.assert_close(net(x, 0.7), net(x, torch.full((4,), 0.7)))
    t = torch.tensor([0.1, 0.2, 0.3, 0.4])
    per_row = torch.cat([net(x[i:i + 1], t[i].item()) for i in range(4)])
    torch.testing.assert_close(net(x, t), per_row)
    assert not torch.allclose(net(x, 0.1), net(x, 0.9))


def test_mlp_works_in_the_sampler():
    """A network is a field: solvers.sample runs it over a grid."""
    net = mlp.MLPVelocity(2, hidden=8, depth=1)
    with torch.no_grad():
        x = solvers.sample(net, torch.randn(6, 2), schedules.uniform(4), step=solvers.heun_step)
    assert x.shape == (6, 2) and torch.isfinite(x).all()


def test_class_conditioning_and_null_class():
    """Labels change the output; y = None is the null class n_classes; ints broadcast; bad labels raise."""
    torch.manual_seed(0)
    net = mlp.MLPVelocity(2, hidden=16, depth=2, n_classes=3)
    assert net.null_class == 3 and net.class_embed.num_embeddings == 4
    x = torch.randn(4, 2)
    v_none = net(x, 0.5)
    torch.testing.assert_close(v_none, net(x, 0.5, y=torch.full((4,), 3)))
    torch.testing.assert_close(net(x, 0.5, y=1), net(x, 0.5, y=torch.ones(4, dtype=torch.long)))
    assert not torch.allclose(net(x, 0.5, y=torch.zeros(4, dtype=torch.long)), v_none)
    with pytest.raises(ValueError, match=r"\[0, 3\]"):
        net(x, 0.5, y=torch.tensor([0, 1, 2, 4]))
    with pytest.raises(ValueError, match=r"\[0, 3\]"):
        net(x, 0.5, y=torch.tensor([0, -1, 2, 1]))
    with pytest.raises(TypeError, match="integer"):
        net(x, 0.5, y=torch.zeros(4))
    with pytest.raises(ValueError, match="shape"):
        net(x, 0.5, y=torch.zeros(3, dtype=torch.long))


def test_unconditional_model_has_no_null_class():
    """An unconditional model rejects labels and has null_class None."""
    net = mlp.MLPVelocity(2, hidden=8, depth=1)
    assert net.null_class is None
    with pytest.raises(ValueError, match="unconditional"):
        net(torch.randn(2, 2), 0.5, y=torch.zeros(2, dtype=torch.long))


def test_mlp_bad_input():
    """Wrong feature counts, t outside [0, 1], wrong batch of t and bad constructor args raise clear errors."""
    net = mlp.MLPVelocity(2, hidden=8, depth=1)
    with pytest.raises(ValueError, match="dim = 2"):
        net(torch.randn(4, 3), 0.5)
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        net(torch.randn(4, 2), 1.5)
    with pytest.raises(ValueError, match="batch size"):
        net(torch.randn(4, 2), torch.rand(3))
    with pytest.raises(TypeError, match="floating"):
        net(torch.ones(4, 2, dtype=torch.long), 0.5)
    for kw in ({"dim": 0}, {"dim": 2, "depth": 0}, {"dim": 2, "t_embed": 7}, {"dim": 2, "n_classes": 0}):
        with pytest.raises(ValueError):
            mlp.MLPVelocity(**kw)
