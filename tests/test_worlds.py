"""Notebook 8's procedural worlds: seeded, held-out sets fixed and apart from training draws, and each world's
geometry checked on its own terms (constant velocity, a turn of zero is the same view, the nearest shape is the one
seen, holes of the stated size)."""
import math

import pytest
import torch

from cs280diff.images import worlds


def _g(seed=0):
    return torch.Generator().manual_seed(seed)


@pytest.mark.parametrize("name", sorted(worlds.WORLDS))
def test_worlds_are_seeded_in_range_and_held_out(name):
    a, b = worlds.WORLDS[name](8, _g(1)), worlds.WORLDS[name](8, _g(1))
    assert all(torch.equal(a[k], b[k]) for k in a)
    for k, v in a.items():
        assert v.dtype == torch.float32 and torch.isfinite(v).all()
        if v.ndim >= 4:
            assert v.min() >= -1 and v.max() <= 1
    test, again = worlds.test_set(name, 16), worlds.test_set(name, 16)
    assert all(torch.equal(test[k], again[k]) for k in test)
    train = worlds.WORLDS[name](16, _g(0))
    key = next(iter(test))
    assert not torch.equal(test[key], train[key])


def test_sprites_move_at_constant_velocity():
    f = worlds.sprites(64, _g(2), frames=5)["frames"]  # (64, 5, 1, 16, 16)
    w = (f + 1) / 2
    xs = torch.arange(16.0) + 0.5
    cx = (w.sum(-2) * xs).sum(-1) / w.sum((-1, -2))  # (64, 5, 1) centroid x
    steps = cx.diff(dim=1)
    assert (steps - steps.mean(1, keepdim=True)).abs().max() < 0.05  # equal steps: constant velocity


def test_views_turn_by_the_camera_angle():
    v = worlds.views(32, _g(3))
    assert torch.allclose(v["camera"], torch.stack([torch.cos(v["turn"]), torch.sin(v["turn"])], 1))
    assert (v["turn"].abs() <= math.pi).all()
    same = worlds.views(32, _g(3), max_turn=0.0)
    assert torch.allclose(same["view"], same["target"], atol=1e-5)
    assert (v["view"] - v["target"]).abs().mean() > 0.05  # the view does change


def test_depth_shows_the_nearest_shape():
    d = worlds.depth(64, _g(4))
    img, dep = d["image"], d["depth"]
    background = img < -0.99
    assert torch.allclose(dep[background], torch.ones_like(dep[background]), atol=2e-2)  # nothing (or a soft edge's trace): far
    assert (dep[img > -0.5] < 0.99).all()  # a visible shape has a depth
    assert dep.min() > -1


def test_masks_cover_the_stated_fraction():
    m = worlds.masks(200, _g(5), min_frac=0.25, max_frac=0.5)["mask"]
    hole = 1 - m.mean((1, 2, 3))
    assert set(m.unique().tolist()) <= {0.0, 1.0}
    assert hole.min() > 0.15 and hole.max() < 0.6


def test_unknown_world_is_refused():
    with pytest.raises(ValueError, match="unknown world"):
        worlds.test_set("rain")
