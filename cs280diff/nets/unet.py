"""A tiny convolutional UNet velocity field v_θ(x, t, y) for small images (8×8 or 16×16 digits).

Convention (docs/conventions.md): t in [0, 1], t = 0 noise, t = 1 data; x is (batch, C, H, W), t a float, a 0-d or a
(batch,) tensor; v has x's shape and dtype.  The architecture is DDPM's UNet (Ho et al. 2020) shrunk to a few
hundred thousand weights: residual blocks with GroupNorm and SiLU, the time and class embedding added as a
per-channel scale and shift (FiLM), one skip connection per resolution, no attention.
Class conditioning has a "null" class (index ``n_classes``) for classifier-free guidance: y = None means unconditional.
"""
from __future__ import annotations

import torch
from torch import nn

from cs280diff.nets.conditioning import concat_condition
from cs280diff.nets.embeddings import class_labels, sinusoidal_embedding
from cs280diff.validate import check_int, check_t, check_x

Tensor = torch.Tensor

__all__ = ["ResBlock", "TinyUNet"]


def _groups(channels: int, groups: int) -> int:
    """The largest divisor of ``channels`` not above ``groups`` (GroupNorm needs groups | channels)."""
    return max(g for g in range(1, min(groups, channels) + 1) if channels % g == 0)


class ResBlock(nn.Module):
    """h -> conv(SiLU(GN(h))) -> FiLM by the embedding -> conv(SiLU(.)) + skip(h).  (batch, c_in, H, W) -> c_out."""

    def __init__(self, c_in: int, c_out: int, emb: int, groups: int = 8):
        super().__init__()
        self.norm1 = nn.GroupNorm(_groups(c_in, groups), c_in)
        self.conv1 = nn.Conv2d(c_in, c_out, 3, padding=1)
        self.film = nn.Linear(emb, 2 * c_out)  # embedding -> per-channel (scale, shift)
        self.norm2 = nn.GroupNorm(_groups(c_out, groups), c_out)
        self.conv2 = nn.Conv2d(c_out, c_out, 3, padding=1)
        self.skip = nn.Identity() if c_in == c_out else nn.Conv2d(c_in, c_out, 1)
        nn.init.zeros_(self.conv2.weight)  # each block starts as (almost) the identity
        nn.init.zeros_(self.conv2.bias)

    def forward(self, h: Tensor, emb: Tensor) -> Tensor:
        out = self.conv1(torch.nn.functional.silu(self.norm1(h)))
        scale, shift = self.film(emb)[:, :, None, None].chunk(2, dim=1)
        out = self.norm2(out) * (1 + scale) + shift  # FiLM: the time/class embedding modulates every channel
        out = self.conv2(torch.nn.functional.silu(out))
        return out + self.skip(h)


class TinyUNet(nn.Module):
    """A small UNet velocity field for (batch, channels, size, size) images, optionally class-conditional.

    Args:
        channels: image channels C (1 for the digits).
        size: image height = width; must be divisible by 2^(len(mults) - 1).
        base: channels at full resolution; level i has ``base * mults[i]`` channels.
        mults: channel multipliers per resolution, e.g. (1, 2) for 8×8 -> 4×4.
        t_embed: size of the sinusoidal time embedding (even); the shared embedding has 4·base features.
        n_classes: number of classes, or None for an unconditional model.  A conditional model has
            ``n_classes + 1`` class embeddings: index ``n_classes`` (``null_class``) is "no condition".
        groups: GroupNorm groups (at most).
        cond_channels: channels of a condition image concatenated to x at the input (0: none), e.g. the start and
            end frames, a masked image, camera planes (``nets.conditioning.concat_condition``).
    Call: ``net(x, t, y=None, cond=None)`` -> v with x's shape and dtype (computed in the parameters' dtype);
    cond (batch, cond_channels, size, size) is required when cond_channels > 0.
    """

    def __init__(self, channels: int = 1, size: int = 8, base: int = 32, mults=(1, 2), t_embed: int = 64,
                 n_classes: int | None = None, groups: int = 8, cond_channels: int = 0):
        super().__init__()
        self.channels, self.size = check_int(channels, "channels"), check_int(size, "size")
        self.base, self.groups = check_int(base, "base"), check_int(groups, "groups")
        self.mults = tuple(check_int(m, "each of mults") for m in mults)
        if not self.mults:
            raise ValueError("mults must list at least one channel multiplier")
        if self.size % 2 ** (len(self.mults) - 1):
            raise ValueError(f"size {size} is not divisible by 2^{len(self.mults) - 1} (one halving per extra level)")
        self.t_embed = check_int(t_embed, "t_embed", lo=2)
        if self.t_embed % 2:
            raise ValueError(f"t_embed must be even (half cosines, half sines), got {t_embed}")
        self.n_classes = None if n_classes is None else check_int(n_classes, "n_classes")
        self.cond_channels = check_int(cond_channels, "cond_channels", lo=0)
        emb = 4 * self.base
        self.time_mlp = nn.Sequential(nn.Linear(self.t_embed, emb), nn.SiLU(), nn.Linear(emb, emb))
        self.class_embed = None if n_classes is None else nn.Embedding(self.n_classes + 1, emb)
        widths = [self.base * m for m in self.mults]
        self.conv_in = nn.Conv2d(self.channels + self.cond_channels, widths[0], 3, padding=1)
        self.down = nn.ModuleList()
        self.pool = nn.ModuleList()
        c = widths[0]
        for i, w in enumerate(widths):
            self.down.append(ResBlock(c, w, emb, groups))
            self.pool.append(nn.Conv2d(w, w, 3, stride=2, padding=1) if i < len(widths) - 1 else nn.Identity())
            c = w
        self.mid = ResBlock(c, c, emb, groups)
        self.up = nn.ModuleList()
        self.unpool = nn.ModuleList()
        for i, w in reversed(list(enumerate(widths))):
            self.unpool.append(nn.Identity() if i == len(widths) - 1 else
                               nn.Sequential(nn.Upsample(scale_factor=2, mode="nearest"), nn.Conv2d(c, c, 3, padding=1)))
            self.up.append(ResBlock(c + w, w, emb, groups))
            c = w
        self.norm_out = nn.GroupNorm(_groups(c, groups), c)
        self.conv_out = nn.Conv2d(c, self.channels, 3, padding=1)
        nn.init.zeros_(self.conv_out.weight)  # v = 0 at initialisation
        nn.init.zeros_(self.conv_out.bias)

    @property
    def null_class(self) -> int | None:
        """The label that means "no condition" (= n_classes), or None for an unconditional model."""
        return self.n_classes

    def extra_repr(self) -> str:
        return f"channels={self.channels}, size={self.size}, base={self.base}, mults={self.mults}, " \
               f"t_embed={self.t_embed}, n_classes={self.n_classes}" + \
               (f", cond_channels={self.cond_channels}" if self.cond_channels else "")

    def _with_condition(self, x: Tensor, cond: Tensor | None) -> Tensor:
        """x, or [x, cond] along the channels when the network takes a condition image."""
        if not self.cond_channels:
            if cond is not None:
                raise TypeError("this TinyUNet takes no condition image (built with cond_channels=0)")
            return x
        want = (x.shape[0], self.cond_channels, self.size, self.size)
        if cond is None or tuple(cond.shape) != want:
            raise ValueError(f"cond must be a condition image of shape {want}, got "
                             f"{None if cond is None else tuple(cond.shape)}")
        return concat_condition(x, [cond])  # the condition as extra input channels

    def embed(self, t: Tensor, y, batch: int, device) -> Tensor:
        """The shared embedding (batch, 4·base): MLP(sinusoidal(t)) + class embedding (null class for y = None)."""
        emb = self.time_mlp(sinusoidal_embedding(t, self.t_embed))
        labels = class_labels(y, batch, self.n_classes, device, owner=type(self).__name__)
        if labels is not None:
            emb = emb + self.class_embed(labels)  # learned; index n_classes = unconditional
        return emb

    def forward(self, x: Tensor, t, y=None, cond: Tensor | None = None) -> Tensor:
        check_x(x)
        if x.ndim != 4 or x.shape[1:] != (self.channels, self.size, self.size):
            raise ValueError(f"x must have shape (batch, {self.channels}, {self.size}, {self.size}), got "
                             f"{tuple(x.shape)}")
        batch = x.shape[0]
        p = self.conv_in.weight
        t = check_t(t, x).to(p.dtype).reshape(-1).expand(batch)  # (batch,) in the parameters' dtype
        emb = self.embed(t, y, batch, x.device)
        h = self.conv_in(self._with_condition(x, cond).to(p.dtype))
        skips = []
        for block, pool in zip(self.down, self.pool):
            h = block(h, emb)
            skips.append(h)  # one skip per resolution
            h = pool(h)  # halve the resolution (not after the last level)
        h = self.mid(h, emb)
        for unpool, block in zip(self.unpool, self.up):
            h = unpool(h)  # double the resolution (not before the first up block)
            h = block(torch.cat([h, skips.pop()], dim=1), emb)
        v = self.conv_out(torch.nn.functional.silu(self.norm_out(h)))
        return v.to(x.dtype)
