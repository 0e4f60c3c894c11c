"""Planted bugs for notebook 8, part 2, per exercise: (the bug, text in the solution, its replacement[, words of
feedback]).

Each must make its exercise's test cell fail; see tests/test_pipeline.py.
"""
_PLANE = "(2 * s.to(first.dtype) - 1)[:, None, None, None]"
_CAT = "torch.cat([first, plane.expand(-1, 1, *first.shape[-2:])], dim=1)"
_COND = "cond = game.condition(frame, actions[:, k])"
_SAMPLE = "frame = solvers.sample(model, noise[:, k], grid, cond={\"cond\": cond})"
_LINKS = ("    elbow = poses.L1 * torch.stack([torch.cos(theta1), torch.sin(theta1)], dim=1)  # the first link's end\n"
          "    return elbow + poses.L2 * ")
_HAND = "    return elbow + poses.L2 * torch.stack([torch.cos(theta1 + theta2), torch.sin(theta1 + theta2)], dim=1)"

MUTANTS = {
    "signal_condition": [
        ("the loudness not rescaled to [-1, 1]", _PLANE, "s.to(first.dtype)[:, None, None, None]", "not rescaled"),
        ("the plane's sign flipped", _PLANE, "(1 - 2 * s.to(first.dtype))[:, None, None, None]", "sign flipped"),
        ("the plane before the first frame", _CAT, "torch.cat([plane.expand(-1, 1, *first.shape[-2:]), first], dim=1)",
         "before the first frame"),
        ("one plane for the whole batch (the mean loudness)", _PLANE,
         "(2 * s.to(first.dtype) - 1).mean()[None, None, None, None].expand(first.shape[0], 1, 1, 1)",
         "one plane for the whole batch"),
        ("stacked along the batch axis", _CAT, _CAT.replace("dim=1", "dim=0"), "expected (3, 2, 4, 5)"),
    ],
    "rollout": [
        ("the action applied one step late", _COND, "cond = game.condition(frame, actions[:, max(k - 1, 0)])",
         "one step late"),
        ("the context never updated (always the first frame)", _COND, "cond = game.condition(frame0, actions[:, k])",
         "context never updated"),
        ("the rollout feeding the simulator's frame instead of the model's own", "        frames.append(frame)\n",
         "        frames.append(frame)\n"
         "        frame = game.render(game.move(game.position(cond[:, :1]), actions[:, k])).to(frame)\n",
         "raised RuntimeError"),
        ("the same noise at every step", _SAMPLE, _SAMPLE.replace("noise[:, k]", "noise[:, 0]"), "same noise"),
        ("the frames stacked along the wrong axis", "torch.stack(frames, dim=1)", "torch.stack(frames, dim=0)",
         "expected (2, 4, 1, 3, 3)"),
    ],
    "hand_position": [
        ("θ2 used as an absolute angle", _HAND,
         "    return elbow + poses.L2 * torch.stack([torch.cos(theta2), torch.sin(theta2)], dim=1)", "absolute angle"),
        ("the link lengths swapped", _LINKS, _LINKS.replace("poses.L1", "poses.@").replace("poses.L2", "poses.L1")
         .replace("poses.@", "poses.L2"), "lengths swapped"),
        ("the features used as cos / sin without normalising", _HAND,
         "    c1, s1, c2, s2 = features.unbind(1)\n"
         "    return poses.L1 * torch.stack([c1, s1], 1) + poses.L2 * torch.stack([c1 * c2 - s1 * s2, s1 * c2 + c1 * s2], 1)",
         "without normalising"),
        ("the elbow left out", "return elbow + poses.L2", "return poses.L2", "first link) left out"),
    ],
    "sample_pose": [
        ("the pose sampler returning the mean of its samples", "return x.reshape(k, n, 4)",
         "return x.reshape(k, n, 4).mean(0, keepdim=True).expand(k, n, 4)", "samples averaged"),
        ("the same noise for every sample", "x = z.reshape(k * n, 4)", "x = z[:1].expand(k, n, 4).reshape(k * n, 4)",
         "same noise"),
        ("the targets paired with the wrong samples", "cond = target.repeat(k, 1)", "cond = target.repeat_interleave(k, 0)",
         "is wrong"),
        ("the last step skipped", "zip(grid[:-1].tolist(), grid[1:].tolist())",
         "zip(grid[:-2].tolist(), grid[1:-1].tolist())", "last step skipped"),
    ],
}

# Shortcuts: answers that call the exercise's own reference (directly or through an alias); each must score 0.
SHORTCUTS = {
    "signal_condition": "from cs280diff.images.video import signal_condition as _enc\n"
                        "def signal_condition(first, s):\n"
                        "    return _enc(first, s)",
    "rollout": "def rollout(model, frame0, actions, grid, noise):\n"
               "    return game.rollout(model, frame0, actions, n_steps=len(grid) - 1)",
    "hand_position": "def hand_position(features):\n"
                     "    return poses.forward_kinematics(poses.pose_angles(features))[1]",
    "sample_pose": "def sample_pose(model, target, z, grid):\n"
                   "    return torch.stack([solvers.sample(model, zi, grid, cond={'cond': target}) for zi in z])",
}

# Correct answers written unlike the solution: other names, loops, equal formulas; each must keep full marks.
ALTERNATIVES = {
    "signal_condition": '''def signal_condition(first, s):
    n = first.shape[0]
    loud = s.to(dtype=first.dtype).view(n, 1, 1, 1) * 2.0 - 1.0
    return torch.cat((first, loud * torch.ones_like(first)), 1)''',
    "rollout": '''def rollout(model, frame0, actions, grid, noise):
    out = torch.empty_like(noise)
    prev = frame0
    for step in range(actions.shape[1]):
        c = game.condition(prev, actions[:, step])
        x = noise[:, step]
        for i in range(len(grid) - 1):
            x = x + (grid[i + 1] - grid[i]) * model(x, float(grid[i]), cond=c)
        out[:, step] = x
        prev = x
    return out''',
    "hand_position": '''def hand_position(features):
    a = torch.atan2(features[:, 1], features[:, 0])
    b = a + torch.atan2(features[:, 3], features[:, 2])
    x = 1.0 * torch.cos(a) + 0.7 * torch.cos(b)
    y = 1.0 * torch.sin(a) + 0.7 * torch.sin(b)
    return torch.stack((x, y), dim=-1)''',
    "sample_pose": '''def sample_pose(model, target, z, grid):
    outs = []
    ts = grid.tolist()
    for zi in z:
        x = zi.clone()
        for a, b in zip(ts, ts[1:]):
            x += (b - a) * model(x, a, cond=target)
        outs.append(x)
    return torch.stack(outs)''',
}
