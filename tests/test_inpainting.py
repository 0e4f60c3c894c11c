"""Replacement inpainting: the known pixels follow their own straight path and end exactly at the data; an empty
mask is plain sampling from the same noise, a full one returns the image; the unknown part is moved by the field."""
import torch

from cs280diff.flows import inpainting, mixtures, schedules, solvers


def test_replace_known_puts_known_pixels_on_their_path():
    x, known, noise = torch.randn(3, 4), torch.randn(3, 4), torch.randn(3, 4)
    mask = torch.tensor([[1.0, 0, 1, 0]] * 3)
    out = inpainting.replace_known(x, known, mask, noise, 0.3)
    assert torch.allclose(out[:, [0, 2]], (0.7 * noise + 0.3 * known)[:, [0, 2]])  # the path point, not the data
    assert torch.equal(out[:, [1, 3]], x[:, [1, 3]])


def test_inpaint_keeps_the_known_pixels_and_fills_the_rest():
    mix = mixtures.GaussianMixture([[-2.0, 1.0, 0.5], [2.0, -1.0, 0.0]], [0.3, 0.3])
    known = mix.sample(200, torch.Generator().manual_seed(0), dtype=torch.float64)
    mask = torch.tensor([1.0, 0.0, 1.0], dtype=torch.float64)
    grid = schedules.uniform(40)
    out = inpainting.inpaint(mix, known, mask, grid, generator=torch.Generator().manual_seed(1))
    assert torch.equal(out[:, [0, 2]], known[:, [0, 2]])
    # the filled coordinate follows the known ones' mode: x[1] = -x[0] / 2 on both modes
    assert (out[:, 1] + known[:, 0] / 2).abs().median() < 0.5
    none = inpainting.inpaint(mix, known, torch.zeros(3, dtype=torch.float64), grid,
                              generator=torch.Generator().manual_seed(1))
    z = torch.randn(known.shape, generator=torch.Generator().manual_seed(1), dtype=torch.float64)
    assert torch.allclose(none, solvers.sample(mix, z, grid))  # no known pixel: plain sampling
    full = inpainting.inpaint(mix, known, torch.ones(3, dtype=torch.float64), grid,
                              generator=torch.Generator().manual_seed(1))
    assert torch.equal(full, known)
