"""Notebook 8's conditional tasks: pairs of the right shapes from the worlds, the baselines' formulas, the training
sampler's keyword condition, and a conditional UNet trained through ``nets.training.train`` on one of them."""
import pytest
import torch

from cs280diff.images import tasks, worlds
from cs280diff.nets import training
from cs280diff.nets.unet import TinyUNet


@pytest.mark.parametrize("task,shapes", [("inbetween", ((3, 16, 16), (2, 16, 16))),
                                         ("novel_view", ((1, 16, 16), (3, 16, 16))),
                                         ("depth", ((1, 16, 16), (1, 16, 16))),
                                         ("inpaint", ((1, 8, 8), (2, 8, 8)))])
def test_pairs_and_baselines_have_the_shapes_of_x1(task, shapes):
    x1, cond = tasks.batch(task, 6, torch.Generator().manual_seed(0))
    assert (tuple(x1.shape[1:]), tuple(cond.shape[1:])) == shapes
    for pred in tasks.baselines(task, cond).values():
        assert pred.shape == x1.shape
    xt, ct = tasks.test_batch(task, 8)
    assert torch.equal(xt, tasks.test_batch(task, 8)[0]) and not torch.equal(xt[:6], x1)
    for pred in tasks.baselines(task, ct).values():
        assert tasks.score(task, pred, xt, ct) >= 0


def test_the_baselines_are_what_they_say():
    f = worlds.test_set("sprites", 4)["frames"][:, :, 0]
    fade = tasks.baselines("inbetween", f[:, [0, 4]])["cross-fade"]
    assert torch.allclose(fade[:, 1], (f[:, 0] + f[:, 4]) / 2) and torch.allclose(fade[:, 0], 0.75 * f[:, 0] + 0.25 * f[:, 4])
    v = worlds.test_set("views", 4)
    _, cond = tasks.test_batch("novel_view", 4)
    assert torch.equal(tasks.baselines("novel_view", cond)["copy the input"], v["view"])
    assert torch.allclose(cond[:, 1:], v["camera"][:, :, None, None].expand(4, 2, 16, 16))  # the camera as planes
    assert tasks.mse(torch.zeros(2, 3), torch.ones(2, 3)) == 1.0
    with pytest.raises(ValueError, match="shape"):
        tasks.mse(torch.zeros(2, 3), torch.ones(3, 2))
    with pytest.raises(ValueError, match="unknown task"):
        tasks.batch("pose", 2, torch.Generator())


def test_a_conditional_unet_trains_on_a_task_through_train():
    """A few steps through the training loop with the condition as keyword: the loss falls, sampling runs."""
    torch.manual_seed(0)
    net = TinyUNet(channels=3, size=16, base=8, mults=(1, 2), t_embed=16, cond_channels=2)
    res = training.train(net, tasks.sampler("inbetween"), steps=60, batch_size=32, lr=3e-3, progress=False)
    assert sum(res.loss_history[-10:]) < sum(res.loss_history[:10])
    x1, cond = tasks.test_batch("inbetween", 5)
    out = tasks.generate(net, cond, shape=x1.shape[1:], n_steps=4, k=2)
    assert out.shape == (2, *x1.shape) and torch.isfinite(out).all() and not torch.equal(out[0], out[1])


def test_inpaint_pairs_and_baselines_keep_the_known_pixels():
    x1, cond = tasks.test_batch("inpaint")
    known, mask = cond[:, :1], cond[:, 1:]
    assert x1.shape[0] == 359 and torch.equal(known, x1 * mask) and 0.15 < 1 - mask.mean() < 0.6
    for name, pred in tasks.baselines("inpaint", cond).items():
        assert torch.allclose(pred * mask, x1 * mask), name
    hole_only = tasks.score("inpaint", known, x1, cond)  # zeros in the hole: the error is all there
    assert hole_only == pytest.approx(tasks.mse(known * 0, x1, 1 - mask))


def test_regression_objective_learns_the_posterior_mean():
    """objective="regression" fits f(cond) = x1 directly: on a task whose answer is the condition plus a coin flip
    of +-1, the fitted net's output approaches the posterior mean (the condition), not either answer."""
    torch.manual_seed(0)
    net = TinyUNet(channels=1, size=8, base=8, mults=(1, 2), t_embed=8, cond_channels=1)

    def sample_data(n, generator):
        cond = torch.rand(n, 1, 8, 8, generator=generator) - 0.5
        coin = 2.0 * (torch.rand(n, 1, 1, 1, generator=generator) < 0.5) - 1.0
        return cond + coin, {"cond": cond}

    res = training.train(net, sample_data, steps=300, batch_size=64, lr=3e-3, progress=False, objective="regression")
    cond = torch.rand(16, 1, 8, 8, generator=torch.Generator().manual_seed(1)) - 0.5
    with torch.no_grad():
        pred = training.predict_regression(net, cond, cond=cond)
    assert (pred - cond).abs().mean() < 0.15, (pred - cond).abs().mean()  # the mean, far from either answer (1)
    assert res.loss_history[-1] > 0.8  # the coin flip's variance (1) stays: nothing can predict it
    with pytest.raises(ValueError, match="objective"):
        training.train(net, sample_data, steps=1, batch_size=4, objective="score")


def test_against_regression_and_replacement_report_their_numbers():
    """The two studies of notebook 8 run on tiny untrained nets and return what they promise."""
    torch.manual_seed(0)
    flow = TinyUNet(channels=1, size=16, base=4, mults=(1, 2), t_embed=8, cond_channels=1)
    reg = TinyUNet(channels=1, size=16, base=4, mults=(1, 2), t_embed=8, cond_channels=1)
    out = tasks.against_regression(flow, reg, n=8, k=2, n_steps=2)
    assert set(out) == {"regression", "single", "mean2", "best_of_2", "spread_truth", "spread_regression",
                        "spread_sample"}
    assert out["best_of_2"] <= out["single"] + 1e-12
    digit_net = TinyUNet(channels=1, size=8, base=4, mults=(1, 2), t_embed=8, n_classes=10)
    x1, cond = tasks.test_batch("inpaint")
    fills = tasks.replacement_inpaint(digit_net, cond[:6, :1], cond[:6, 1:], torch.arange(6), n_steps=3, k=2)
    assert fills.shape == (2, 6, 1, 8, 8)
    known = cond[:6, 1:].expand_as(fills[0]) > 0
    assert torch.allclose(fills[0][known], cond[:6, :1][known])  # the known pixels are kept exactly
