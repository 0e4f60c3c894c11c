"""Procedural worlds for notebook 8's conditional applications: drawn from a seeded generator, never downloaded.

  sprites   a sprite (disc or square) moving at constant velocity: frames (n, T, 1, S, S); task: start + end frame
            -> the frames in between
  views     an asymmetric shape seen by a camera that turns in the image plane: the view at angle θ and at θ + Δ;
            task: image + camera (Δ) -> the novel view
  depth     overlapping shapes drawn far to near (the painter's algorithm), each with its own grey level and depth;
            task: pixels -> the depth map of what is visible
  masks     rectangular holes for inpainting (1 = known pixel, 0 = missing)

Every world returns a dict of float32 tensors in [-1, 1] (images: background -1) on the CPU.  ``split="train"`` draws
from ``generator``; ``test_set(world, n)`` is a fixed held-out set (its own seed, never used for training).
Shapes are rendered with soft edges (a logistic of the signed distance), so that small motions change pixels
smoothly.
"""
from __future__ import annotations

import math

import torch

from cs280diff.validate import check_int

Tensor = torch.Tensor

__all__ = ["sprites", "views", "depth", "masks", "test_set", "TEST_SEED", "WORLDS"]

TEST_SEED = 280_000  # the held-out sets' seed; training draws come from the caller's generator
EDGE = 3.0  # edge sharpness of the soft rendering (per pixel)


def _grid(size: int) -> tuple[Tensor, Tensor]:
    """Pixel centres (size, size) as (x, y) in pixel units, y down."""
    c = torch.arange(size, dtype=torch.float32) + 0.5
    return c[None, :].expand(size, size), c[:, None].expand(size, size)


def _soft(signed_distance: Tensor) -> Tensor:
    """1 inside a shape, 0 outside, a smooth step over about one pixel at its edge."""
    return torch.sigmoid(-EDGE * signed_distance)


def _disc_or_square(cx: Tensor, cy: Tensor, r: Tensor, square: Tensor, size: int) -> Tensor:
    """(n,) centres, radii, kinds -> (n, size, size) coverage in [0, 1]."""
    gx, gy = _grid(size)
    dx, dy = gx[None] - cx[:, None, None], gy[None] - cy[:, None, None]
    disc = torch.sqrt(dx**2 + dy**2) - r[:, None, None]
    box = torch.maximum(dx.abs(), dy.abs()) - r[:, None, None]
    return _soft(torch.where(square[:, None, None], box, disc))


def sprites(n: int, generator: torch.Generator, frames: int = 5, size: int = 16) -> dict:
    """A sprite crossing the frame: {"frames": (n, frames, 1, size, size)}.  Start and velocity are drawn so that
    the sprite stays inside; radius 1.5-3 pixels; discs and squares in equal numbers."""
    n, frames, size = check_int(n, "n"), check_int(frames, "frames", lo=2), check_int(size, "size", lo=8)
    u = torch.rand(n, 7, generator=generator)
    r = 1.5 + 1.5 * u[:, 0]
    lo, hi = r + 0.5, size - r - 0.5
    start = torch.stack([lo + (hi - lo) * u[:, 1], lo + (hi - lo) * u[:, 2]], 1)  # (n, 2)
    end = torch.stack([lo + (hi - lo) * u[:, 3], lo + (hi - lo) * u[:, 4]], 1)
    square = u[:, 5] < 0.5
    out = []
    for k in range(frames):
        p = start + (end - start) * k / (frames - 1)  # constant velocity
        out.append(_disc_or_square(p[:, 0], p[:, 1], r, square, size))
    return {"frames": (2 * torch.stack(out, 1) - 1)[:, :, None]}


def _shape_at(angle: Tensor, params: Tensor, size: int) -> Tensor:
    """An asymmetric shape (a bar and a blob off its end: an "L" with a head) rotated by angle about the centre."""
    gx, gy = _grid(size)
    c = size / 2
    cos, sin = torch.cos(-angle)[:, None, None], torch.sin(-angle)[:, None, None]
    x, y = gx[None] - c, gy[None] - c
    xr, yr = cos * x - sin * y, sin * x + cos * y  # the pixel in the shape's own frame
    length, thick, blob = params[:, 0, None, None], params[:, 1, None, None], params[:, 2, None, None]
    bar = torch.maximum((xr).abs() - length, (yr).abs() - thick)  # a horizontal bar
    head = torch.sqrt((xr - length) ** 2 + (yr - length * 0.7) ** 2) - blob  # a blob above its right end
    return _soft(torch.minimum(bar, head))


def views(n: int, generator: torch.Generator, size: int = 16, max_turn: float = math.pi) -> dict:
    """{"view": (n, 1, S, S) at angle θ, "camera": (n, 2) = (cos Δ, sin Δ), "target": the view at θ + Δ,
    "turn": (n,) Δ in [-max_turn, max_turn]}."""
    n, size = check_int(n, "n"), check_int(size, "size", lo=8)
    u = torch.rand(n, 5, generator=generator)
    theta, turn = 2 * math.pi * u[:, 0], max_turn * (2 * u[:, 1] - 1)
    params = torch.stack([size * (0.18 + 0.1 * u[:, 2]), size * (0.06 + 0.04 * u[:, 3]),
                          size * (0.1 + 0.06 * u[:, 4])], 1)
    view, target = _shape_at(theta, params, size), _shape_at(theta + turn, params, size)
    return {"view": 2 * view[:, None] - 1, "camera": torch.stack([torch.cos(turn), torch.sin(turn)], 1),
            "target": 2 * target[:, None] - 1, "turn": turn}


def depth(n: int, generator: torch.Generator, size: int = 16, n_shapes: int = 3) -> dict:
    """{"image": (n, 1, S, S), "depth": (n, 1, S, S)}: shapes at random depths in (0.05, 0.9) (0 near; background 1,
    drawn as -1 in both maps: the depth map is 2 depth - 1), each with a random grey level in [0.2, 1], drawn far to
    near, so the visible one at a pixel is the nearest that covers it."""
    n, size, n_shapes = check_int(n, "n"), check_int(size, "size", lo=8), check_int(n_shapes, "n_shapes")
    u = torch.rand(n, n_shapes, 6, generator=generator)
    depths = (0.05 + 0.85 * u[:, :, 0]).sort(dim=1, descending=True).values  # far to near, apart from the background
    image = torch.full((n, size, size), -1.0)
    dmap = torch.ones(n, size, size)
    for k in range(n_shapes):
        r = size * (0.15 + 0.15 * u[:, k, 1])
        cover = _disc_or_square(size * u[:, k, 2], size * u[:, k, 3], r, u[:, k, 4] < 0.5, size)
        grey = (0.2 + 0.8 * u[:, k, 5])[:, None, None]  # never as dark as the background
        image = cover * grey + (1 - cover) * image  # the nearer shape paints over
        dmap = cover * depths[:, k, None, None] + (1 - cover) * dmap
    return {"image": image[:, None], "depth": (2 * dmap - 1)[:, None]}


def masks(n: int, generator: torch.Generator, size: int = 16, min_frac: float = 0.25, max_frac: float = 0.5) -> dict:
    """{"mask": (n, 1, S, S)} with 1 = known, 0 = a rectangular hole covering min_frac-max_frac of the image."""
    n, size = check_int(n, "n"), check_int(size, "size", lo=4)
    u = torch.rand(n, 4, generator=generator)
    area = (min_frac + (max_frac - min_frac) * u[:, 0]) * size * size
    aspect = 0.5 + u[:, 1]
    h = torch.clamp(torch.sqrt(area * aspect).round(), 1, size).long()
    w = torch.clamp((area / h).round(), 1, size).long()
    top = (u[:, 2] * (size - h + 1)).long().clamp(max=size - 1)
    left = (u[:, 3] * (size - w + 1)).long().clamp(max=size - 1)
    rows = torch.arange(size)[None, :, None]
    cols = torch.arange(size)[None, None, :]
    hole = (rows >= top[:, None, None]) & (rows < (top + h)[:, None, None]) & \
           (cols >= left[:, None, None]) & (cols < (left + w)[:, None, None])
    return {"mask": (~hole).float()[:, None]}


WORLDS = {"sprites": sprites, "views": views, "depth": depth, "masks": masks}


def test_set(world: str, n: int = 512, **kw) -> dict:
    """The held-out set of a world: the same n samples every time (generator seeded with TEST_SEED + world index)."""
    if world not in WORLDS:
        raise ValueError(f"unknown world {world!r}; the worlds are {sorted(WORLDS)}")
    g = torch.Generator().manual_seed(TEST_SEED + sorted(WORLDS).index(world))
    return WORLDS[world](n, g, **kw)
