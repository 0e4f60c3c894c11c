"""Planted bugs for notebook 7, per exercise: (the bug, text in the solution, its replacement[, words of feedback]).

Each must make its exercise's test cell fail; see tests/test_pipeline.py.
"""
MUTANTS = {
    "cfg_velocity": [
        ("the guidance difference taken the other way round",
         "return v_u + scale * (v_c - v_u)  # extrapolate along the difference",
         "return v_c + scale * (v_u - v_c)  # extrapolate along the difference", "other way round"),
        ("s applied to the conditional branch alone (s v_c)",
         "return v_u + scale * (v_c - v_u)  # extrapolate along the difference",
         "return scale * v_c  # extrapolate along the difference", "conditional branch alone (s v_c)"),
        ("s applied to the conditional branch alone (v_u + s v_c)",
         "return v_u + scale * (v_c - v_u)  # extrapolate along the difference",
         "return v_u + scale * v_c  # extrapolate along the difference", "(v_u + s v_c)"),
        ("the (1 + w) form with w = s", "return v_u + scale * (v_c - v_u)  # extrapolate along the difference",
         "return (1 + scale) * v_c - scale * v_u  # extrapolate along the difference", "(1 + w) form"),
        ("the unconditional branch called with the label", "v_u = field(x, t, y=None)  # unconditional velocity",
         "v_u = field(x, t, y=y)  # unconditional velocity", "never used"),
    ],
    "classifier_velocity": [
        ("the score-to-velocity factor (1 - t)/t dropped",
         "return v_u + scale * (1 - t_b) / t_b * grad  # the score's change, as a velocity",
         "return v_u + scale * grad  # the score's change, as a velocity", "factor (1 - t)/t dropped"),
        ("the factor inverted: t/(1 - t)", "return v_u + scale * (1 - t_b) / t_b * grad  # the score's change, as a velocity",
         "return v_u + scale * t_b / (1 - t_b) * grad  # the score's change, as a velocity", "t/(1 - t)"),
        ("the gradient of p instead of log p", "grad = torch.autograd.grad(log_prob(x_g, t, y).sum(), x_g)[0]",
         "grad = torch.autograd.grad(log_prob(x_g, t, y).exp().sum(), x_g)[0]", "instead of log p"),
        ("the gradient's sign flipped", "return v_u + scale * (1 - t_b) / t_b * grad  # the score's change, as a velocity",
         "return v_u - scale * (1 - t_b) / t_b * grad  # the score's change, as a velocity", "wrong sign"),
        ("the conditional field as the base", "v_u = field(x, t, y=None)  # unconditional velocity",
         "v_u = field(x, t, y=y)  # unconditional velocity", "as the base"),
        ("t not broadcast over a sample's entries",
         "t_b = torch.as_tensor(t, dtype=x.dtype).reshape(-1, *([1] * (x.ndim - 1)))",
         "t_b = torch.as_tensor(t, dtype=x.dtype)", "raised RuntimeError"),
    ],
    "dropout_step": [
        ("dropout that drops the data instead of the label",
         "kept = torch.where(drop, torch.full_like(y, model.null_class), y)  # dropped labels -> the null class",
         "kept, x1 = y, torch.where(drop.reshape(-1, *([1] * (x1.ndim - 1))), torch.zeros_like(x1), x1)"
         "  # dropped labels -> the null class", "never saw the null class"),
        ("the dropout test reversed (drops 1 - p_uncond)", "drop = torch.rand(batch, generator=generator) < p_uncond  # which labels to drop",
         "drop = torch.rand(batch, generator=generator) > p_uncond  # which labels to drop", "saw the null class for"),
        ("one dropout draw for the whole batch", "drop = torch.rand(batch, generator=generator) < p_uncond  # which labels to drop",
         "drop = (torch.rand(1, generator=generator) < p_uncond).expand(batch)  # which labels to drop", "null class"),
        ("label 0 used as the null class", "torch.full_like(y, model.null_class)", "torch.full_like(y, 0)",
         "never saw the null class"),
        ("time runs the wrong way on the path", "x_t = (1 - t_b) * x0 + t_b * x1  # the path at t",
         "x_t = t_b * x0 + (1 - t_b) * x1  # the path at t", "the x_t the model saw"),
        ("the regression target's sign flipped", "loss = torch.mean((model(x_t, t, y=kept) - (x1 - x0)) ** 2)",
         "loss = torch.mean((model(x_t, t, y=kept) - (x0 - x1)) ** 2)", "the loss of the step"),
    ],
    "interval_velocity": [
        ("the unconditional velocity outside the interval", "field(x, t, y=y))  # conditional outside",
         "field(x, t, y=None))  # conditional outside", "unconditional velocity outside"),
        ("guided outside the interval instead of inside",
         "return torch.where(inside, cfg_velocity(field, x, t, y, scale), field(x, t, y=y))",
         "return torch.where(~inside, cfg_velocity(field, x, t, y, scale), field(x, t, y=y))", "guided outside"),
        ("the interval's ends left out", "inside = (t_b >= t_lo) & (t_b <= t_hi)  # guided here",
         "inside = (t_b > t_lo) & (t_b < t_hi)  # guided here", "ends left out"),
        ("the interval ignored", "inside = (t_b >= t_lo) & (t_b <= t_hi)  # guided here",
         "inside = torch.ones_like(t_b, dtype=torch.bool)  # guided here", "interval was ignored"),
    ],
    "accuracy_vs_t": [
        ("time runs the wrong way", "x_t = (1 - t) * x0 + t * x1  # the data noised to time t",
         "x_t = t * x0 + (1 - t) * x1  # the data noised to time t", "time runs the wrong way"),
        ("one noise draw reused for every t",
         "for t in ts:\n        x0 = torch.randn(x1.shape, generator=generator, dtype=x1.dtype).to(x1.device)",
         "x0 = torch.randn(x1.shape, generator=generator, dtype=x1.dtype).to(x1.device)\n    for t in ts:",
         "one noise draw reused"),
        ("the classifier not told t", "guess = classify(x_t, t).argmax(dim=1)", "guess = classify(x_t, 1.0).argmax(dim=1)",
         "not told t"),
        ("argmin instead of argmax", "guess = classify(x_t, t).argmax(dim=1)", "guess = classify(x_t, t).argmin(dim=1)",
         "smallest logit"),
    ],
}

# Shortcuts: answers that call the exercise's own reference (directly or through an alias); each must score 0.
SHORTCUTS = {
    "cfg_velocity": "def cfg_velocity(field, x, t, y, scale):\n"
                    "    return guidance.cfg_field(field, scale)(x, t, y=y)",
    "classifier_velocity": "from cs280diff.flows.guidance import classifier_guided_field as _cg\n"
                           "def classifier_velocity(field, log_prob, x, t, y, scale):\n"
                           "    return _cg(field, log_prob, scale)(x, t, y=y)",
    "dropout_step": "def dropout_step(model, optimizer, x1, y, p_uncond, generator):\n"
                    "    return training.dropout_step(model, optimizer, x1, y, p_uncond, generator)",
    "interval_velocity": "def interval_velocity(field, x, t, y, scale, t_lo, t_hi):\n"
                         "    g = lambda x, t, y: cfg_velocity(field, x, t, y, scale)\n"
                         "    return guidance.interval_field(g, field, t_lo, t_hi)(x, t, y=y)",
    "accuracy_vs_t": "def accuracy_vs_t(classify, x1, y, ts, generator):\n"
                     "    return image_metrics.accuracy_vs_t(classify, x1, y, ts, generator)",
}

# Correct answers written unlike the solution: other names, loops, equal formulas; each must keep full marks.
ALTERNATIVES = {
    "cfg_velocity": '''def cfg_velocity(field, x, t, y, scale):
    cond = field(x, t, y=y)
    uncond = field(x, t, y=None)
    return (1.0 - scale) * uncond + scale * cond''',
    "classifier_velocity": '''def classifier_velocity(field, log_prob, x, t, y, scale):
    base = field(x, t, y=None)
    xx = x.detach().clone()
    xx.requires_grad = True
    with torch.enable_grad():
        lp = log_prob(xx, t, y)
        lp.backward(torch.ones_like(lp))
    tt = t if isinstance(t, float) else t.view(-1, *[1] * (x.dim() - 1))
    sigma_ratio = (1.0 - tt) / tt
    return base + scale * sigma_ratio * xx.grad''',
    "dropout_step": '''def dropout_step(model, optimizer, x1, y, p_uncond, generator):
    import torch.nn.functional as F
    from cs280diff import conventions
    n = len(x1)
    u = torch.rand(n, generator=generator)
    labels = y.clone()
    labels[u < p_uncond] = model.null_class
    t = torch.rand(n, generator=generator, dtype=x1.dtype)
    noise = torch.randn(x1.shape, generator=generator, dtype=x1.dtype)
    xt = conventions.path(noise, x1, t)
    optimizer.zero_grad(set_to_none=True)
    loss = F.mse_loss(model(xt, t, y=labels), x1 - noise)
    loss.backward()
    optimizer.step()
    return float(loss)''',
    "interval_velocity": '''def interval_velocity(field, x, t, y, scale, t_lo, t_hi):
    if not torch.is_tensor(t):
        return cfg_velocity(field, x, t, y, scale) if t_lo <= t <= t_hi else field(x, t, y=y)
    guided = cfg_velocity(field, x, t, y, scale)
    plain = field(x, t, y=y)
    mask = ((t >= t_lo) & (t <= t_hi)).to(x.dtype).view(-1, *[1] * (x.dim() - 1))
    return mask * guided + (1 - mask) * plain''',
    "accuracy_vs_t": '''def accuracy_vs_t(classify, x1, y, ts, generator):
    from cs280diff import conventions
    result = []
    for time in ts:
        noise = torch.randn(x1.shape, generator=generator, dtype=x1.dtype).to(x1.device)
        xt = conventions.path(noise, x1, torch.full((x1.shape[0],), float(time), dtype=x1.dtype))
        logits = classify(xt, time).detach()
        result.append(float((logits.max(dim=1).indices == y).sum()) / len(y))
    return result''',
}
