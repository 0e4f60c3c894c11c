"""Planted bugs for notebook 8, per exercise: (the bug, text in the solution, its replacement[, words of feedback]).

Each must make its exercise's test cell fail; see tests/test_pipeline.py.
"""
_CAT = "torch.cat([x, *[im.to(x.dtype) for im in images], *planes], dim=1)"
_ADALN = "return h * (1 + scale[:, None, :]) + shift[:, None, :]"
_EULER = "x = x + (t_next - t) * model(x, t, cond=cond)  # one Euler step, conditioned"
_PATH = "known_t = (1 - t) * noise + t * x_known"
_MIX = "return mask * known_t + (1 - mask) * x_t"

MUTANTS = {
    "condition_input": [
        ("the condition concatenated on the wrong axis (the batch)", _CAT, _CAT.replace("dim=1", "dim=0"),
         "raised RuntimeError"),
        ("the condition concatenated on the wrong axis (the width)", _CAT, _CAT.replace("dim=1", "dim=-1"),
         "raised RuntimeError"),
        ("the vectors before the images", _CAT, "torch.cat([x, *planes, *[im.to(x.dtype) for im in images]], dim=1)",
         "vectors before the images"),
        ("the vectors left out", _CAT, "torch.cat([x, *[im.to(x.dtype) for im in images]], dim=1)",
         "expected (3, 9, 4, 5)"),
        ("a vector broadcast along the wrong axes", "[:, :, None, None].expand(batch, v.shape[1], height, width)",
         "[:, None, None, :].expand(batch, v.shape[1], height, width)", "raised RuntimeError"),
    ],
    "adaln": [
        ("adaLN's scale applied as 1 × scale instead of 1 + scale", _ADALN,
         "return h * scale[:, None, :] + shift[:, None, :]", "applied as h × scale"),
        ("scale and shift swapped", _ADALN, "return h * (1 + shift[:, None, :]) + scale[:, None, :]", "swapped"),
        ("the shift added before scaling", _ADALN, "return (h + shift[:, None, :]) * (1 + scale[:, None, :])",
         "added before scaling"),
        ("the modulation broadcast over the batch instead of the tokens", _ADALN,
         "return h * (1 + scale[None]) + shift[None]", "raised RuntimeError"),
    ],
    "sample_conditional": [
        ("the condition passed to the first evaluation only", _EULER,
         "x = x + (t_next - t) * model(x, t, cond=cond if t == 0 else None)  # one Euler step, conditioned",
         "first evaluation only"),
        ("the condition never passed", _EULER, "x = x + (t_next - t) * model(x, t)  # one Euler step, conditioned",
         "never passed"),
        ("the last step skipped", "zip(grid[:-1].tolist(), grid[1:].tolist())",
         "zip(grid[:-2].tolist(), grid[1:-1].tolist())", "last step skipped"),
        ("a uniform step size on a non-uniform grid", _EULER,
         "x = x + (1 / (len(grid) - 1)) * model(x, t, cond=cond)  # one Euler step, conditioned", "uniform step size"),
        ("the field evaluated at the next time", _EULER,
         "x = x + (t_next - t) * model(x, t_next, cond=cond)  # one Euler step, conditioned", "is wrong"),
    ],
    "replace_known_pixels": [
        ("the known pixels replaced by the data instead of the path point x_t", _PATH, "known_t = x_known",
         "replaced by the data x_known"),
        ("time runs the wrong way on the known pixels' path", _PATH, "known_t = t * noise + (1 - t) * x_known",
         "wrong way"),
        ("the mask inverted", _MIX, "return (1 - mask) * known_t + mask * x_t", "mask inverted"),
        ("fresh noise instead of the sample's own", _PATH, "known_t = (1 - t) * torch.randn_like(noise) + t * x_known",
         "is wrong"),
    ],
}

# Shortcuts: answers that call the exercise's own reference (directly or through an alias); each must score 0.
SHORTCUTS = {
    "condition_input": "def condition_input(x, images, vectors):\n"
                       "    return conditioning.concat_condition(x, images, vectors)",
    "adaln": "from cs280diff.nets.conditioning import adaln_modulate as _mod\n"
             "def adaln(h, scale, shift):\n"
             "    return _mod(h, scale, shift)",
    "sample_conditional": "def sample_conditional(model, z, grid, cond):\n"
                          "    return solvers.sample(model, z, grid, cond={'cond': cond})",
    "replace_known_pixels": "from cs280diff.flows.inpainting import replace_known as _r\n"
                            "def replace_known_pixels(x_t, x_known, mask, noise, t):\n"
                            "    return _r(x_t, x_known, mask, noise, t)",
}

# Correct answers written unlike the solution: other names, loops, equal formulas; each must keep full marks.
ALTERNATIVES = {
    "condition_input": '''def condition_input(x, images, vectors):
    n, _, H, W = x.shape
    chans = [x]
    for image in images:
        chans.append(image.type(x.dtype))
    for vec in vectors:
        for k in range(vec.shape[1]):
            chans.append(vec[:, k].type(x.dtype).view(n, 1, 1, 1) * torch.ones(n, 1, H, W, dtype=x.dtype))
    return torch.concat(chans, 1)''',
    "adaln": '''def adaln(h, scale, shift):
    s = scale.unsqueeze(1)
    b = shift.unsqueeze(1)
    return h + h * s + b''',
    "sample_conditional": '''def sample_conditional(model, z, grid, cond):
    x = z.clone()
    for i in range(len(grid) - 1):
        dt = grid[i + 1] - grid[i]
        v = model(x, float(grid[i]), cond=cond)
        x = x + dt.item() * v
    return x''',
    "replace_known_pixels": '''def replace_known_pixels(x_t, x_known, mask, noise, t):
    path_point = noise + t * (x_known - noise)
    return torch.where(mask.bool(), path_point, x_t)''',
}
