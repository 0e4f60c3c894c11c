"""Planted bugs for notebook 1, per exercise: (the bug, text in the solution, its replacement[, words of feedback]).

Each must make its exercise's test cell fail; see tests/test_pipeline.py.
"""
MUTANTS = {
    "path_xt": [
        ("time runs backwards", "return (1 - t) * x0 + t * x1", "return t * x0 + (1 - t) * x1",
         "time runs the wrong way"),
        ("a (batch,) t is not reshaped to broadcast",
         "t = t.reshape(-1, *([1] * (x0.ndim - 1)))", "t = t", "has shape (6, 6), expected (6, 1)"),
    ],
    "conditional_velocity": [
        ("sign flipped (points from data to noise)", "return x1 - x0", "return x0 - x1", "the sign is flipped"),
        ("returns the data instead of the velocity", "return x1 - x0", "return x1"),
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
}

# Shortcuts: answers that call the exercise's own reference (directly or through an alias); each must score 0.
SHORTCUTS = {
    "path_xt": "from cs280diff.conventions import path as _p\n\ndef path_xt(x0, x1, t):\n    return _p(x0, x1, t)",
    "conditional_velocity": "def conditional_velocity(x0, x1):\n    return ref.conditional_velocity(x0, x1)",
    "component_posteriors": "def component_posteriors(x, t, mix):\n    return mix.posteriors(x, t)",
    "marginal_velocity": "def marginal_velocity(x, t, mix):\n    return mix(x, t)",
}
