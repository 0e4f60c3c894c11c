"""Flow-matching training: the loss against hand computation and its analytic minimum, learning the exact field,
determinism, EMA, condition dropout, callbacks, and safetensors checkpoints."""
from __future__ import annotations

import json
import struct

import pytest
import torch
from torch import nn

from cs280diff.flows import mixtures, schedules, solvers
from cs280diff.nets import checkpoints, mlp, training

GAUSS = mixtures.GaussianMixture([[1.5]], 0.5)  # 1D N(1.5, 0.5²): its exact field is known in closed form


def _gauss_data(n, generator):
    return GAUSS.sample(n, generator)


def _tiny(**kw):
    torch.manual_seed(0)
    return mlp.MLPVelocity(1, hidden=32, depth=2, t_embed=16, **kw)


def test_fm_loss_uses_the_path_and_target():
    """With given t and x0, the loss is mean((model(x_t, t) - (x1 - x0))²) with x_t = (1 - t) x0 + t x1."""
    g = torch.Generator().manual_seed(0)
    x1, x0, t = torch.randn(6, 2, generator=g), torch.randn(6, 2, generator=g), torch.rand(6, generator=g)
    x_t = (1 - t[:, None]) * x0 + t[:, None] * x1
    loss = training.fm_loss(lambda x, tt: 2 * x, x1, t=t, x0=x0)
    torch.testing.assert_close(loss, ((2 * x_t - (x1 - x0)) ** 2).mean())
    at_noise = training.fm_loss(lambda x, tt: x, x1, t=torch.zeros(6), x0=x0)  # x_0 is the noise
    torch.testing.assert_close(at_noise, ((x0 - (x1 - x0)) ** 2).mean())


def test_fm_loss_of_exact_field_is_the_analytic_minimum():
    """For N(μ, s²) data the minimum loss is ∫ [1 + s² - (t s² - (1 - t))² / ((1 - t)² + t² s²)] dt (MC, 1%)."""
    s = 0.5
    t = torch.linspace(0, 1, 20_001, dtype=torch.float64)
    l_star = torch.trapezoid(1 + s**2 - (t * s**2 - (1 - t)) ** 2 / ((1 - t) ** 2 + t**2 * s**2), t).item()
    g = torch.Generator().manual_seed(1)
    x1 = GAUSS.sample(200_000, g, dtype=torch.float64)
    loss = training.fm_loss(GAUSS, x1, generator=g).item()
    assert abs(loss - l_star) < 0.01 * l_star, f"loss of the exact field {loss:.4f}, analytic minimum {l_star:.4f}"
    worse = training.fm_loss(lambda x, tt: torch.zeros_like(x), x1, generator=g).item()
    assert worse > 1.5 * l_star


def test_fm_loss_draws_from_generator_and_checks_shapes():
    """Same generator seed -> same loss; a model returning the wrong shape is named."""
    x1 = torch.randn(8, 2)
    f = lambda x, t: x * t if isinstance(t, float) else x * t[:, None]  # noqa: E731
    a = training.fm_loss(f, x1, torch.Generator().manual_seed(3))
    b = training.fm_loss(f, x1, torch.Generator().manual_seed(3))
    assert a.item() == b.item()
    with pytest.raises(ValueError, match="shape"):
        training.fm_loss(lambda x, t: x[:, :1], x1)


def test_training_learns_the_exact_field_and_samples_the_data():
    """600 steps of a tiny MLP on N(1.5, 0.5²): E|v_θ - v*|² < 10% of Var(v*), and Heun samples match mean and std."""
    net = _tiny()
    res = training.train(net, _gauss_data, steps=600, batch_size=256, lr=3e-3, seed=0, progress=False)
    assert len(res.loss_history) == 600 and res.ema is None and res.model is net
    g = torch.Generator().manual_seed(123)
    x1, x0, t = GAUSS.sample(20_000, g), torch.randn(20_000, 1, generator=g), torch.rand(20_000, generator=g)
    x_t = (1 - t[:, None]) * x0 + t[:, None] * x1
    with torch.no_grad():
        v_star, v = GAUSS(x_t, t), net(x_t, t)
        x = solvers.sample(net, torch.randn(4000, 1, generator=g), schedules.uniform(16), step=solvers.heun_step)
    err, var = ((v - v_star) ** 2).mean().item(), v_star.var().item()
    assert err < 0.1 * var, f"E|v - v*|² = {err:.4f} vs Var(v*) = {var:.4f}"
    assert abs(x.mean().item() - 1.5) < 0.08 and abs(x.std().item() - 0.5) < 0.08, (x.mean(), x.std())


def test_training_is_deterministic_given_seed():
    """Two runs with the same seed and initial weights give identical loss histories; another seed differs."""
    runs = [training.train(_tiny(), _gauss_data, steps=30, batch_size=32, seed=s, progress=False).loss_history
            for s in (7, 7, 8)]
    assert runs[0] == runs[1]
    assert runs[0] != runs[2]


def test_ema_closed_form():
    """Updating the EMA n times toward weights 1 from weights 0 gives 1 - decay^n."""
    model = nn.Linear(2, 1)
    with torch.no_grad():
        model.weight.zero_(), model.bias.zero_()
    ema = training.EMA(model, decay=0.9)
    with torch.no_grad():
        model.weight.fill_(1.0), model.bias.fill_(1.0)
    for _ in range(5):
        ema.update(model)
    torch.testing.assert_close(ema.model.weight, torch.full((1, 2), 1 - 0.9**5))
    assert not ema.model.weight.requires_grad and not ema.model.training
    assert model.weight.data.eq(1.0).all()  # the live model is untouched
    for bad in (0.0, 1.0, 1.5, True):
        with pytest.raises(ValueError, match="decay"):
            training.EMA(model, bad)


def test_train_returns_ema_copy_and_calls_back():
    """With ema_decay the result carries a distinct averaged copy; the callback fires every k steps and at the end."""
    seen = []
    net = _tiny()
    res = training.train(net, _gauss_data, steps=25, batch_size=16, ema_decay=0.9, progress=False,
                      callback=seen.append, callback_every=10)
    assert [d["step"] for d in seen] == [10, 20, 25]
    assert seen[-1]["loss"] == res.loss_history[-1] and seen[-1]["ema"] is res.ema
    assert isinstance(res.ema, mlp.MLPVelocity) and res.ema is not net
    assert not torch.equal(res.ema.net[0].weight, net.net[0].weight)


class _LabelSpy(nn.Module):
    """A conditional model that records the labels it is trained with."""

    def __init__(self):
        super().__init__()
        self.inner, self.labels = mlp.MLPVelocity(1, hidden=8, depth=1, n_classes=3), []

    @property
    def null_class(self):
        return self.inner.null_class

    def forward(self, x, t, y=None):
        self.labels.append(y.clone())
        return self.inner(x, t, y=y)


def test_condition_dropout_rate():
    """p_uncond = 0.3 replaces about 30% of the labels by the null class and keeps the others."""
    spy = _LabelSpy()
    sample = lambda n, g: GAUSS.sample(n, g, return_labels=True)  # noqa: E731  (labels are all 0: one component)
    training.train(spy, sample, steps=20, batch_size=500, p_uncond=0.3, progress=False)
    labels = torch.cat(spy.labels)
    frac = (labels == 3).double().mean().item()
    assert abs(frac - 0.3) < 0.02, frac
    assert set(labels.unique().tolist()) == {0, 3}


def test_train_bad_input():
    """Clear errors for bad steps, p_uncond without labels or a null class, and a non-module model."""
    net = _tiny()
    with pytest.raises(ValueError, match="steps"):
        training.train(net, _gauss_data, steps=0, batch_size=4, progress=False)
    with pytest.raises(ValueError, match="null_class"):
        training.train(net, _gauss_data, steps=2, batch_size=4, p_uncond=0.1, progress=False)
    with pytest.raises(ValueError, match="labels"):
        training.train(_tiny(n_classes=2), _gauss_data, steps=2, batch_size=4, p_uncond=0.1, progress=False)
    with pytest.raises(ValueError, match="p_uncond"):
        training.train(net, _gauss_data, steps=2, batch_size=4, p_uncond=1.0, progress=False)
    with pytest.raises(TypeError, match="nn.Module"):
        training.train(GAUSS, _gauss_data, steps=2, batch_size=4, progress=False)


def test_checkpoint_round_trip(tmp_path):
    """save_model/load_model: same outputs, same meta, a plain safetensors file (JSON header, no pickle)."""
    net = _tiny(n_classes=2)
    path = tmp_path / "net.safetensors"
    meta = {"steps": 600, "data": "gauss", "loss": [2.7, 2.6]}
    checkpoints.save_model(net, path, meta)
    raw = path.read_bytes()
    header_len = struct.unpack("<Q", raw[:8])[0]
    header = json.loads(raw[8:8 + header_len])
    assert json.loads(header["__metadata__"]["cs280diff.meta"]) == meta
    torch.manual_seed(99)
    fresh = mlp.MLPVelocity(1, hidden=32, depth=2, t_embed=16, n_classes=2)
    x = torch.randn(5, 1)
    assert not torch.allclose(fresh(x, 0.5), net(x, 0.5))
    assert checkpoints.load_model(fresh, path) == meta
    torch.testing.assert_close(fresh(x, 0.5, y=1), net(x, 0.5, y=1), rtol=0, atol=0)


def test_checkpoint_errors(tmp_path):
    """Non-JSON meta, a missing file, another class and another architecture all fail clearly."""
    net, path = _tiny(), tmp_path / "a.safetensors"
    with pytest.raises(TypeError, match="JSON"):
        checkpoints.save_model(net, path, {"x": torch.zeros(1)})
    with pytest.raises(FileNotFoundError):
        checkpoints.load_model(net, tmp_path / "missing.safetensors")
    checkpoints.save_model(net, path, {})
    with pytest.raises(ValueError, match="MLPVelocity"):
        checkpoints.load_model(nn.Linear(1, 1), path)
    with pytest.raises(RuntimeError):
        checkpoints.load_model(mlp.MLPVelocity(1, hidden=8, depth=2, t_embed=16), path)


class _NaNAfter(nn.Module):
    """A model whose output turns NaN from its ``n``-th call on."""

    def __init__(self, n):
        super().__init__()
        self.inner, self.n, self.calls = mlp.MLPVelocity(1, hidden=8, depth=1), n, 0

    def forward(self, x, t, y=None):
        self.calls += 1
        v = self.inner(x, t)
        return v * float("nan") if self.calls >= self.n else v


def test_train_stops_on_nan_loss_before_updating():
    """A NaN loss stops training with FloatingPointError naming the step, before the weights are touched."""
    model = _NaNAfter(3)
    with pytest.raises(FloatingPointError, match="step 3"):
        training.train(model, _gauss_data, steps=5, batch_size=4, progress=False)
    assert all(torch.isfinite(p).all() for p in model.parameters())
