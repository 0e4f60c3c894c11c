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
