"""A tiny Diffusion Transformer velocity field (DiT, Peebles & Xie 2023) for small images.

Convention (docs/conventions.md): t in [0, 1], t = 0 noise, t = 1 data; x (batch, C, H, W), t a float, 0-d or (batch,);
v has x's shape and dtype.  The image is cut into p × p patches, each patch a token; a stack of transformer blocks
(self-attention over the patches, an MLP) is modulated by the time and class embedding through adaLN-zero; optional
cross-attention blocks read a "prompt", a short sequence of token ids (notebook 8's composition experiment).
Class labels have a null class (index n_classes, y = None) and prompts a null token (index vocab, tokens = None) for
classifier-free guidance.
"""
from __future__ import annotations

import torch
from torch import nn

from cs280diff.nets.conditioning import AdaLNZero, CrossAttention, adaln_modulate
from cs280diff.nets.embeddings import class_labels, sinusoidal_embedding
from cs280diff.validate import check_int, check_t, check_x

Tensor = torch.Tensor

__all__ = ["DiTBlock", "TinyDiT"]


class DiTBlock(nn.Module):
    """h + g1 · SelfAttn(adaLN(h)) [+ CrossAttn(h, context)] + g2 · MLP(adaLN(h)); (batch, n, width) -> same."""

    def __init__(self, width: int, heads: int, cond_dim: int, ctx_dim: int | None = None, mlp_ratio: int = 4):
        super().__init__()
        self.norm1 = nn.LayerNorm(width, elementwise_affine=False, eps=1e-6)
        self.attn = nn.MultiheadAttention(width, heads, batch_first=True)
        self.norm2 = nn.LayerNorm(width, elementwise_affine=False, eps=1e-6)
        self.mlp = nn.Sequential(nn.Linear(width, mlp_ratio * width), nn.GELU(approximate="tanh"),
                                 nn.Linear(mlp_ratio * width, width))
        self.ada = AdaLNZero(cond_dim, width, n_sets=2)
        self.cross = None if ctx_dim is None else CrossAttention(width, ctx_dim, heads)

    def forward(self, h: Tensor, cond: Tensor, context: Tensor | None = None) -> Tensor:
        (shift1, scale1, gate1), (shift2, scale2, gate2) = self.ada(cond)
        a = adaln_modulate(self.norm1(h), scale1, shift1)  # adaLN: the condition modulates the normalised tokens
        h = h + gate1[:, None] * self.attn(a, a, a, need_weights=False)[0]  # patches attend to each other
        if self.cross is not None and context is not None:
            h = h + self.cross(h, context)  # patches read the prompt
        m = adaln_modulate(self.norm2(h), scale2, shift2)
        return h + gate2[:, None] * self.mlp(m)


class TinyDiT(nn.Module):
    """A small DiT velocity field for (batch, channels, size, size) images.

    Args:
        channels, size: image channels and height = width (size divisible by patch).
        patch: patch side p; there are (size / p)² tokens of width ``width``.
        width, depth, heads: token width, number of blocks, attention heads.
        t_embed: size of the sinusoidal time embedding (even).
        n_classes: classes (null class n_classes for y = None), or None for no class input.
        vocab, prompt_len: prompt vocabulary and length for cross-attention (null token ``vocab``), or None.
    Call: ``net(x, t, y=None, tokens=None)`` -> v, tokens (batch, prompt_len) int64 in [0, vocab].
    """

    def __init__(self, channels: int = 1, size: int = 8, patch: int = 2, width: int = 96, depth: int = 4,
                 heads: int = 4, t_embed: int = 64, n_classes: int | None = None, vocab: int | None = None,
                 prompt_len: int | None = None):
        super().__init__()
        self.channels, self.size, self.patch = check_int(channels, "channels"), check_int(size, "size"), \
            check_int(patch, "patch")
        if self.size % self.patch:
            raise ValueError(f"size {size} is not divisible by the patch size {patch}")
        self.width, self.depth, self.t_embed = check_int(width, "width"), check_int(depth, "depth"), t_embed
        self.n_classes = None if n_classes is None else check_int(n_classes, "n_classes")
        self.vocab = None if vocab is None else check_int(vocab, "vocab")
        self.prompt_len = None if vocab is None else check_int(prompt_len, "prompt_len")
        n_tokens, patch_dim = (self.size // self.patch) ** 2, self.channels * self.patch ** 2
        self.patch_in = nn.Linear(patch_dim, width)
        self.pos = nn.Parameter(0.02 * torch.randn(1, n_tokens, width))  # learned position of each patch
        self.time_mlp = nn.Sequential(nn.Linear(t_embed, width), nn.SiLU(), nn.Linear(width, width))
        self.class_embed = None if n_classes is None else nn.Embedding(self.n_classes + 1, width)
        if self.vocab is not None:
            self.token_embed = nn.Embedding(self.vocab + 1, width)  # index vocab: the null prompt
            self.token_pos = nn.Parameter(0.02 * torch.randn(1, self.prompt_len, width))
        self.blocks = nn.ModuleList([DiTBlock(width, heads, width, width if vocab is not None else None)
                                     for _ in range(depth)])
        self.norm_out = nn.LayerNorm(width, elementwise_affine=False, eps=1e-6)
        self.ada_out = AdaLNZero(width, width, n_sets=1)
        self.patch_out = nn.Linear(width, patch_dim)
        nn.init.zeros_(self.patch_out.weight)  # v = 0 at initialisation
        nn.init.zeros_(self.patch_out.bias)

    @property
    def null_class(self) -> int | None:
        return self.n_classes

    def extra_repr(self) -> str:
        return f"channels={self.channels}, size={self.size}, patch={self.patch}, width={self.width}, " \
               f"depth={self.depth}, n_classes={self.n_classes}, vocab={self.vocab}, prompt_len={self.prompt_len}"

    def patchify(self, x: Tensor) -> Tensor:
        """(batch, C, H, W) -> (batch, (H/p)(W/p), C p²), patches in row-major order."""
        b, c, p = x.shape[0], self.channels, self.patch
        g = self.size // p
        return x.reshape(b, c, g, p, g, p).permute(0, 2, 4, 1, 3, 5).reshape(b, g * g, c * p * p)

    def unpatchify(self, tokens: Tensor) -> Tensor:
        """The inverse of ``patchify``."""
        b, c, p = tokens.shape[0], self.channels, self.patch
        g = self.size // p
        return tokens.reshape(b, g, g, c, p, p).permute(0, 3, 1, 4, 2, 5).reshape(b, c, self.size, self.size)

    def _context(self, tokens, batch: int, device) -> Tensor | None:
        if self.vocab is None:
            if tokens is not None:
                raise TypeError("this TinyDiT takes no prompt tokens (built with vocab=None)")
            return None
        if tokens is None:
            tokens = torch.full((batch, self.prompt_len), self.vocab, dtype=torch.long, device=device)  # null prompt
        if tokens.shape != (batch, self.prompt_len) or tokens.dtype != torch.long:
            raise ValueError(f"tokens must be int64 of shape ({batch}, {self.prompt_len}), got {tokens.dtype} "
                             f"{tuple(tokens.shape)}")
        if tokens.min() < 0 or tokens.max() > self.vocab:
            raise ValueError(f"token ids must be in [0, {self.vocab}] ({self.vocab}: the null token)")
        return self.token_embed(tokens.to(device)) + self.token_pos

    def forward(self, x: Tensor, t, y=None, tokens: Tensor | None = None) -> Tensor:
        check_x(x)
        if x.ndim != 4 or x.shape[1:] != (self.channels, self.size, self.size):
            raise ValueError(f"x must have shape (batch, {self.channels}, {self.size}, {self.size}), got "
                             f"{tuple(x.shape)}")
        batch, dtype = x.shape[0], self.patch_in.weight.dtype
        t = check_t(t, x).to(dtype).reshape(-1).expand(batch)
        cond = self.time_mlp(sinusoidal_embedding(t, self.t_embed))  # the time embedding
        labels = class_labels(y, batch, self.n_classes, x.device, owner=type(self).__name__)
        if labels is not None:
            cond = cond + self.class_embed(labels)  # + the class embedding (null class for y = None)
        context = self._context(tokens, batch, x.device)
        h = self.patch_in(self.patchify(x.to(dtype))) + self.pos  # patches as tokens
        for block in self.blocks:
            h = block(h, cond, context)
        ((shift, scale, _),) = self.ada_out(cond)
        h = adaln_modulate(self.norm_out(h), scale, shift)
        return self.unpatchify(self.patch_out(h)).to(x.dtype)
