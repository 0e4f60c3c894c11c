"""Planted bugs for notebook 1, per exercise: (the bug, text in the solution, its replacement[, words of feedback]).

Each must make its exercise's test cell fail; see tests/test_pipeline.py.
"""
MUTANTS = {
    "path_xt": [
        ("time runs backwards", "return (1 - t) * x0 + t * x1", "return t * x0 + (1 - t) * x1",
         "time runs the wrong way"),
        ("a (batch,) t is not reshaped to broadcast",
         "t = t.reshape(-1, *([1] * (x0.ndim - 1)))", "t = t", "has shape (6, 6), expected (6, 1)"),
        ("a (batch,) t reshaped to (batch, 1): right for (batch, D) x only, not for images (audit: image-shaped x)",
         "t = t.reshape(-1, *([1] * (x0.ndim - 1)))", "t = t.reshape(-1, 1)", "raised RuntimeError"),
    ],
    "conditional_velocity": [
        ("sign flipped (points from data to noise)", "return x1 - x0", "return x0 - x1", "the sign is flipped"),
        ("returns the data instead of the velocity", "return x1 - x0", "return x1"),
        ("flattens the sample dimensions (audit: x with more than one non-batch dimension)", "return x1 - x0",
         "return (x1 - x0).reshape(len(x0), -1)", "has shape (3, 8), expected (3, 2, 4)"),
    ],
    "component_posteriors": [
        ("std instead of variance in var_k", "t**2 * stds**2", "t**2 * stds", "std vs variance"),
        ("no normalisation over components", "return torch.softmax(logits, dim=1)", "return logits.exp()",
         "not normalised"),
        ("Gaussian log-normaliser dropped", "torch.log(weights) + log_norm", "torch.log(weights)", "log-normaliser"),
        ("component mean mu_k instead of t mu_k", "x[:, None, :] - t[:, :, None] * means[None]",
         "x[:, None, :] - means[None]"),
        ("normalised without log-sum-exp (underflows far from the modes)",
         "return torch.softmax(logits, dim=1)",
         "return logits.exp() / logits.exp().sum(1, keepdim=True)"),
        ("log-normaliser without the factor D (only matters for unequal widths in D > 1)",
         "-0.5 * x.shape[1] * torch.log(2 * math.pi * var)", "-0.5 * torch.log(2 * math.pi * var)", "factor D"),
    ],
    "marginal_velocity": [
        ("plain mean over components instead of the posterior-weighted average",
         "return (w[:, :, None] * v_k).sum(1)", "return v_k.mean(1)", "weighted by the posteriors"),
        ("wrong sign of the noise term", "(t * stds**2 - (1 - t))", "(t * stds**2 + (1 - t))", "the noise term has the wrong sign"),
        ("component mean mu_k instead of t mu_k", "diff = x[:, None, :] - t[:, :, None] * means[None]",
         "diff = x[:, None, :] - means[None]"),
        ("v computed as (E[x1|x] - x) / (1 - t): breaks at t = 1",
         "v_k = means[None] + ((t * stds**2 - (1 - t)) / var)[:, :, None] * diff",
         "v_k = ((means[None] + (t * stds**2 / var)[:, :, None] * diff) - x[:, None, :]) / (1 - t)[:, :, None]",
         "v(x, t=1.0) contains NaN"),
    ],
    "swap_fraction": [
        ("neighbours taken in row order (no sort by the start)", "order = torch.argsort(x_start[:, 0])",
         "order = torch.arange(len(x_start))", "sort the samples by x_start first"),
        ("divided by n instead of the n - 1 neighbouring pairs",
         "return (ends[1:] < ends[:-1]).float().mean().item()",
         "return (ends[1:] < ends[:-1]).float().sum().item() / len(ends)", "not by n"),
        ("sorted by the end, compared at the start", "order = torch.argsort(x_start[:, 0])",
         "order = torch.argsort(x_end[:, 0])\n    x_end = x_start", "you sorted by x_end"),
    ],
}

# Shortcuts: answers that call the exercise's own reference (directly or through an alias); each must score 0.
SHORTCUTS = {
    "path_xt": "from cs280diff.conventions import path as _p\n\ndef path_xt(x0, x1, t):\n    return _p(x0, x1, t)",
    "conditional_velocity": "def conditional_velocity(x0, x1):\n    return ref.conditional_velocity(x0, x1)",
    "component_posteriors": "def component_posteriors(x, t, mix):\n    return mix.posteriors(x, t)",
    "marginal_velocity": "def marginal_velocity(x, t, mix):\n    return mix(x, t)",
    "swap_fraction": "def swap_fraction(x_start, x_end):\n    return experiments.swap_fraction(x_start, x_end)",
}

# Correct answers written differently from the solution (a student's own style); each must keep full marks.
ALTERNATIVES = {
    "path_xt": '''def path_xt(x0, x1, t):
    t = torch.as_tensor(t, dtype=x0.dtype)
    if t.dim() == 1:
        t = t.view(t.shape[0], *([1] * (x0.dim() - 1)))
    return x0 + t * (x1 - x0)''',
    "conditional_velocity": "def conditional_velocity(x0, x1):\n    return -(x0 - x1)",
    "component_posteriors": '''def component_posteriors(x, t, mix):
    means, stds, weights = mix.params(like=x)
    D = x.shape[-1]
    if not torch.is_tensor(t):
        t = torch.full((x.shape[0],), float(t), dtype=x.dtype)
    t = t.to(x.dtype)
    cols = []
    for k in range(len(weights)):  # one component at a time
        var = (1 - t) ** 2 + (t * stds[k]) ** 2
        sq = ((x - t[:, None] * means[k]) ** 2).sum(dim=1)
        cols.append(torch.log(weights[k]) - D / 2 * torch.log(2 * torch.pi * var) - sq / (2 * var))
    logits = torch.stack(cols, dim=1)
    return torch.exp(logits - torch.logsumexp(logits, dim=1, keepdim=True))''',
    "marginal_velocity": '''def marginal_velocity(x, t, mix):
    means, stds, _ = mix.params(like=x)
    t = torch.as_tensor(t, dtype=x.dtype).expand(x.shape[0])
    w = component_posteriors(x, t, mix)
    out = torch.zeros_like(x)
    for k in range(means.shape[0]):  # v = E[x1 | x] - E[x0 | x], component by component
        var = ((1 - t) ** 2 + t**2 * stds[k] ** 2)[:, None]
        r = x - t[:, None] * means[k]
        e_x1 = means[k] + t[:, None] * stds[k] ** 2 / var * r
        e_x0 = (1 - t[:, None]) / var * r
        out = out + w[:, k:k + 1] * (e_x1 - e_x0)
    return out''',
    "swap_fraction": '''def swap_fraction(x_start, x_end):
    n = x_start.shape[0]
    idx = sorted(range(n), key=lambda i: x_start[i, 0].item())
    swaps = 0
    for a, b in zip(idx[:-1], idx[1:]):
        if x_end[a, 0] > x_end[b, 0]:
            swaps += 1
    return swaps / (n - 1)''',
}
