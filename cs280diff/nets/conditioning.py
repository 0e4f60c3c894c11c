"""Three ways for a network to take a condition (notebook 8; slides "Encoder-Decoder Architecture", "Diffusion
Transformer Architecture: DiT, PixArt Alpha, MMDiT").

  concat_condition  condition *images* as extra input channels, condition *vectors* broadcast to constant planes
                    (the UNet's way: the first frame, the start and end frames, the masked image, the camera)
  adaln_modulate    h (1 + scale) + shift: FiLM / adaLN modulation of normalised activations by a vector
  AdaLNZero         DiT's adaLN-zero: (shift, scale, gate) from a condition vector, zero-initialised so that every
                    block starts as the identity
  CrossAttention    tokens attend over a sequence of context tokens (a "prompt"), multi-head, pre-norm

Shapes: images (batch, C, H, W); tokens (batch, n_tokens, width); condition vectors (batch, d).
"""
from __future__ import annotations

import math

import torch
from torch import nn

Tensor = torch.Tensor

__all__ = ["concat_condition", "adaln_modulate", "AdaLNZero", "CrossAttention"]


def concat_condition(x: Tensor, images=(), vectors=()) -> Tensor:
    """The network input [x, images..., vectors as planes...] along the channel axis: (batch, C_total, H, W).

    x: (batch, C, H, W); images: (batch, C_i, H, W) tensors; vectors: (batch, d_j) tensors, each broadcast to d_j
    constant H × W planes.  Everything is cast to x's dtype and device.
    """
    if x.ndim != 4:
        raise ValueError(f"x must be images (batch, C, H, W), got shape {tuple(x.shape)}")
    batch, _, h, w = x.shape
    parts = [x]
    for i, im in enumerate(images):
        if im.ndim != 4 or im.shape[0] != batch or im.shape[2:] != (h, w):
            raise ValueError(f"condition image {i} must have shape ({batch}, C, {h}, {w}), got {tuple(im.shape)}")
        parts.append(im.to(x))  # condition images as extra channels
    for j, v in enumerate(vectors):
        if v.ndim != 2 or v.shape[0] != batch:
            raise ValueError(f"condition vector {j} must have shape ({batch}, d), got {tuple(v.shape)}")
        parts.append(v.to(x)[:, :, None, None].expand(batch, v.shape[1], h, w))  # one constant plane per entry
    return torch.cat(parts, dim=1)


def adaln_modulate(h: Tensor, scale: Tensor, shift: Tensor) -> Tensor:
    """h (1 + scale) + shift.  h (batch, n, width) tokens or (batch, C, H, W) images; scale, shift (batch, width)
    or (batch, C), broadcast over tokens / pixels.  scale = 0, shift = 0 leaves h unchanged."""
    if h.ndim == 3:
        scale, shift = scale[:, None, :], shift[:, None, :]  # one modulation per token position
    elif h.ndim == 4:
        scale, shift = scale[:, :, None, None], shift[:, :, None, None]  # one per pixel
    return h * (1 + scale) + shift


class AdaLNZero(nn.Module):
    """cond (batch, cond_dim) -> n_sets sets of (shift, scale, gate), each (batch, width); all zero at init."""

    def __init__(self, cond_dim: int, width: int, n_sets: int = 2):
        super().__init__()
        self.width, self.n_sets = width, n_sets
        self.proj = nn.Sequential(nn.SiLU(), nn.Linear(cond_dim, 3 * n_sets * width))
        nn.init.zeros_(self.proj[1].weight)  # adaLN-zero: every block starts as the identity
        nn.init.zeros_(self.proj[1].bias)

    def forward(self, cond: Tensor) -> list[tuple[Tensor, Tensor, Tensor]]:
        chunks = self.proj(cond).chunk(3 * self.n_sets, dim=1)
        return [tuple(chunks[3 * i:3 * i + 3]) for i in range(self.n_sets)]


class CrossAttention(nn.Module):
    """tokens (batch, n, width) attend over context (batch, m, ctx_dim); returns (batch, n, width), the residual
    update (add it to the tokens).  Pre-norm on both sides; the output projection starts at zero."""

    def __init__(self, width: int, ctx_dim: int, heads: int = 4):
        super().__init__()
        if width % heads:
            raise ValueError(f"width {width} must be divisible by heads {heads}")
        self.heads = heads
        self.norm, self.norm_ctx = nn.LayerNorm(width), nn.LayerNorm(ctx_dim)
        self.q, self.kv = nn.Linear(width, width), nn.Linear(ctx_dim, 2 * width)
        self.out = nn.Linear(width, width)
        nn.init.zeros_(self.out.weight)
        nn.init.zeros_(self.out.bias)

    def forward(self, tokens: Tensor, context: Tensor, mask: Tensor | None = None) -> Tensor:
        """mask (batch, m), True where a context token is real (padding is ignored)."""
        b, n, w = tokens.shape
        hd = w // self.heads
        q = self.q(self.norm(tokens)).reshape(b, n, self.heads, hd).transpose(1, 2)  # (b, heads, n, hd)
        k, v = self.kv(self.norm_ctx(context)).chunk(2, dim=-1)
        k = k.reshape(b, -1, self.heads, hd).transpose(1, 2)  # (b, heads, m, hd)
        v = v.reshape(b, -1, self.heads, hd).transpose(1, 2)
        logits = q @ k.transpose(-1, -2) / math.sqrt(hd)  # (b, heads, n, m): how much each token reads each word
        if mask is not None:
            logits = logits.masked_fill(~mask[:, None, None, :], float("-inf"))
        out = torch.softmax(logits, dim=-1) @ v  # a weighted average of the context's values
        return self.out(out.transpose(1, 2).reshape(b, n, w))
