"""How networks take conditions (notebook 8): condition channels and broadcast vectors, adaLN modulation, adaLN-zero
and cross-attention, the tiny DiT and the UNet with condition channels."""
import pytest
import torch

from cs280diff.nets import registry
from cs280diff.nets.conditioning import AdaLNZero, CrossAttention, adaln_modulate, concat_condition
from cs280diff.nets.dit import TinyDiT
from cs280diff.nets.unet import TinyUNet


def test_concat_condition_stacks_images_and_broadcasts_vectors():
    x, im = torch.randn(3, 1, 4, 5), torch.randn(3, 2, 4, 5)
    v = torch.tensor([[1.0, 2.0], [3.0, 4.0], [5.0, 6.0]])
    out = concat_condition(x, [im], [v])
    assert out.shape == (3, 5, 4, 5)
    assert torch.equal(out[:, :1], x) and torch.equal(out[:, 1:3], im)
    assert torch.equal(out[:, 3:], v[:, :, None, None].expand(3, 2, 4, 5))  # a constant plane per entry
    with pytest.raises(ValueError, match="condition image 0"):
        concat_condition(x, [torch.randn(3, 2, 4, 4)])
    with pytest.raises(ValueError, match="condition vector 0"):
        concat_condition(x, [], [torch.randn(2, 2)])


def test_adaln_modulate_on_tokens_and_images():
    h = torch.randn(2, 3, 4)
    scale, shift = torch.randn(2, 4), torch.randn(2, 4)
    assert torch.allclose(adaln_modulate(h, scale, shift), h * (1 + scale[:, None]) + shift[:, None])
    img = torch.randn(2, 4, 3, 3)
    assert torch.allclose(adaln_modulate(img, scale, shift), img * (1 + scale[:, :, None, None]) + shift[:, :, None, None])
    assert torch.equal(adaln_modulate(h, torch.zeros(2, 4), torch.zeros(2, 4)), h)


def test_adaln_zero_and_cross_attention_start_as_the_identity_and_read_the_context():
    sets = AdaLNZero(8, 6, n_sets=2)(torch.randn(3, 8))
    assert len(sets) == 2 and all(p.shape == (3, 6) and not p.any() for s in sets for p in s)
    torch.manual_seed(0)
    ca = CrossAttention(8, 5, heads=2)
    tokens, ctx = torch.randn(2, 4, 8), torch.randn(2, 3, 5)
    assert not ca(tokens, ctx).any()  # zero output projection
    torch.nn.init.normal_(ca.out.weight)
    out = ca(tokens, ctx)
    assert torch.allclose(out, ca(tokens, ctx[:, [2, 0, 1]]), atol=1e-6)  # a set of context tokens: order-free
    assert not torch.allclose(out, ca(tokens, torch.randn(2, 3, 5)))  # (LayerNorm makes a constant shift free)
    masked = ca(tokens, torch.cat([ctx, 100 * torch.randn(2, 1, 5)], 1), mask=torch.tensor([[1, 1, 1, 0]] * 2).bool())
    assert torch.allclose(masked, out, atol=1e-6)  # padding is ignored


def _wake(net):
    """Random weights where adaLN-zero and the zero output layers start at 0, so that every input matters."""
    for m in net.modules():
        if isinstance(m, (AdaLNZero, CrossAttention)):
            for p in m.parameters():
                torch.nn.init.normal_(p, std=0.1)
    torch.nn.init.normal_(net.patch_out.weight)


def test_tiny_dit_shapes_null_class_prompt_and_zero_init():
    torch.manual_seed(0)
    net = TinyDiT(1, 8, patch=2, width=96, depth=4, heads=4, n_classes=10)
    assert 0.6e6 < sum(p.numel() for p in net.parameters()) < 0.8e6  # the prototype: 0.71 M
    x = torch.randn(4, 1, 8, 8)
    assert torch.equal(net.unpatchify(net.patchify(x)), x)
    assert net.patchify(x)[0, 1].tolist() == x[0, 0, 0:2, 2:4].reshape(-1).tolist()  # row-major patches
    assert not net(x, 0.5, y=torch.arange(4)).any()  # v = 0 at initialisation
    _wake(net)
    v_c, v_u = net(x, torch.rand(4), y=torch.arange(4)), net(x, 0.5, y=None)
    assert v_c.shape == x.shape and net.null_class == 10 and not torch.allclose(v_c, v_u)
    pnet = TinyDiT(1, 8, patch=4, width=32, depth=1, heads=2, vocab=6, prompt_len=2)
    _wake(pnet)
    a, b = pnet(x, 0.5, tokens=torch.tensor([[0, 1]] * 4)), pnet(x, 0.5, tokens=torch.tensor([[1, 0]] * 4))
    assert not torch.allclose(a, b)  # word order matters (position embeddings)
    assert pnet(x, 0.5).shape == x.shape  # tokens=None: the null prompt
    with pytest.raises(ValueError, match="token ids"):
        pnet(x, 0.5, tokens=torch.tensor([[0, 7]] * 4))
    with pytest.raises(TypeError, match="no prompt"):
        net(x, 0.5, tokens=torch.tensor([[0, 1]] * 4))


def test_unet_condition_channels():
    torch.manual_seed(0)
    net = TinyUNet(channels=3, size=8, base=16, mults=(1, 2), cond_channels=2)
    torch.nn.init.normal_(net.conv_out.weight)
    x, c = torch.randn(2, 3, 8, 8), torch.randn(2, 2, 8, 8)
    v = net(x, 0.3, cond=c)
    assert v.shape == x.shape and not torch.allclose(v, net(x, 0.3, cond=c + 1))
    with pytest.raises(ValueError, match="cond must be"):
        net(x, 0.3)
    with pytest.raises(TypeError, match="no condition image"):
        TinyUNet(channels=1, size=8)(torch.randn(2, 1, 8, 8), 0.3, cond=c)
    assert registry.construct("TinyDiT", {"size": 8, "width": 32, "depth": 1, "heads": 2}).size == 8
