"""Planted bugs for notebook 2, per exercise: (the bug, text in the solution, its replacement[, words of feedback]).

Each must make its exercise's test cell fail; see tests/test_pipeline.py.
"""
MUTANTS = {
    "flow_matching_loss": [
        ("time runs backwards (x_t = t x0 + (1 - t) x1)", "x_t = ref.path(x0, x1, t)", "x_t = ref.path(x0, x1, 1 - t)",
         "time runs backwards"),
        ("target sign flipped (x0 - x1)", "u = ref.conditional_velocity(x0, x1)", "u = x0 - x1",
         "the sign of the target is flipped"),
        ("squared error summed over features instead of averaged", "return ((v - u) ** 2).mean()",
         "return ((v - u) ** 2).sum(dim=1).mean()", "mean over ALL elements"),
        ("t[:, None] in place of the path: right for (batch, D) data only (audit: image-shaped data)",
         "x_t = ref.path(x0, x1, t)", "x_t = (1 - t[:, None]) * x0 + t[:, None] * x1", "raised RuntimeError"),
    ],
    "time_embedding": [
        ("sin and cos swapped", "torch.cat([torch.cos(angle), torch.sin(angle)], dim=1)",
         "torch.cat([torch.sin(angle), torch.cos(angle)], dim=1)", "sin and cos are swapped"),
        ("t not scaled by 1000", "angle = 1000.0 * t[:, None] * omega[None, :]", "angle = t[:, None] * omega[None, :]",
         "t is not scaled"),
        ("frequency exponent -j / dim instead of -j / half", "omega = 10_000.0 ** (-j / half)",
         "omega = 10_000.0 ** (-j / dim)", "frequency exponent is wrong"),
        ("frequency index j = 1 .. half instead of 0 .. half - 1",
         "j = torch.arange(half, dtype=t.dtype, device=t.device)",
         "j = torch.arange(1, half + 1, dtype=t.dtype, device=t.device)", "the frequency index runs"),
    ],
    "train_step": [
        ("gradients never cleared (no zero_grad)", "optimizer.zero_grad()  # clear the gradients of the previous step",
         "pass  # (gradients are never cleared)", "optimizer.zero_grad()"),
        ("optimizer.step() before loss.backward()",
         "loss.backward()  # gradients of the loss w.r.t. the weights\n    optimizer.step()  # update the weights",
         "optimizer.step()  # update the weights\n    loss.backward()  # gradients of the loss w.r.t. the weights",
         "BEFORE optimizer.step()"),
        ("returns the loss tensor (with its graph) instead of a float", "return loss.item()", "return loss",
         "loss.item()"),
        ("returns a loss recomputed after the update (and draws the generator twice)", "return loss.item()",
         "return flow_matching_loss(model, x1, generator).item()", "computed before the update"),
    ],
    "error_by_time": [
        ("the noise drawn before the data", "x1 = mix.sample(n, g)  # data first ...\n        x0 = torch.randn(x1.shape, generator=g)  # ... then the noise",
         "x0 = torch.randn(n, mix.dim, generator=g)  # noise first\n        x1 = mix.sample(n, g)", "wrong order"),
        ("the model evaluated at 1 - t", "v = model(x_t.to(device), t_vec.to(device)).cpu()",
         "v = model(x_t.to(device), (1 - t_vec).to(device)).cpu()", "evaluated at the wrong time"),
        ("the floor measured on the model instead of the exact field", "floors.append(((x1 - x0 - v_star) ** 2).mean().item())",
         "floors.append(((x1 - x0 - v) ** 2).mean().item())", "not the loss of the model"),
        ("one generator for every time instead of seed + i", "g = torch.Generator().manual_seed(seed + i)  # fresh",
         "g = (torch.Generator().manual_seed(seed) if i == 0 else g)  # fresh", "fresh generator"),
        ("the error summed over the coordinates (audit: D > 1)", "errors.append(((v - v_star) ** 2).mean().item())",
         "errors.append(((v - v_star) ** 2).sum(-1).mean().item())", "the coordinates"),
    ],
}

# Shortcuts: answers that call the exercise's own reference (directly or through an alias); each must score 0.
# train_step has no one-call reference in the package (training.train makes its own optimizer), so none is planted.
SHORTCUTS = {
    "flow_matching_loss": "from cs280diff.nets.training import fm_loss as _loss\n\n"
                          "def flow_matching_loss(model, x1, generator):\n    return _loss(model, x1, generator)",
    "error_by_time": "from cs280diff.flows.experiments import field_error_by_time as _f\n\n"
                     "def error_by_time(model, mix, ts, n, seed, device='cpu'):\n    return _f(model, mix, ts, n, seed, device)",
    "time_embedding": "def time_embedding(t, dim):\n    return embeddings.sinusoidal_embedding(t, dim)",
}

# Correct answers written differently from the solution (a student's own style); each must keep full marks.
# train_step is the answer of the grading issue's defect 1: zero_grad after step, float(loss) (which warns on stderr).
ALTERNATIVES = {
    "flow_matching_loss": '''def flow_matching_loss(model, x1, generator):
    n = len(x1)
    t = torch.rand((n,), generator=generator, dtype=x1.dtype, device=generator.device).to(x1.device)
    noise = torch.randn(x1.size(), generator=generator, dtype=x1.dtype, device=generator.device).to(x1.device)
    tt = t.view(-1, *[1] * (x1.dim() - 1))
    xt = tt * x1 + (1 - tt) * noise
    return torch.nn.functional.mse_loss(model(xt, t), x1 - noise)''',
    "time_embedding": '''import math


def time_embedding(t, dim):
    half = dim // 2
    freqs = torch.exp(-math.log(10000.0) * torch.arange(half, dtype=t.dtype) / half)
    args = 1000 * t.unsqueeze(1) * freqs.unsqueeze(0)
    return torch.cat((args.cos(), args.sin()), dim=-1)''',
    "train_step": '''def train_step(model, optimizer, x1, generator):
    loss = flow_matching_loss(model, x1, generator)
    loss.backward()
    optimizer.step()
    optimizer.zero_grad()
    return float(loss)''',
    "error_by_time": '''def error_by_time(model, mix, ts, n, seed, device="cpu"):
    err = torch.zeros(len(ts), dtype=torch.float64)
    flo = torch.zeros(len(ts), dtype=torch.float64)
    for i in range(len(ts)):
        t = float(ts[i])
        gen = torch.Generator()
        gen.manual_seed(seed + i)
        data = mix.sample(n, gen)
        noise = torch.randn(data.shape, generator=gen)
        tt = t * torch.ones(n)
        xt = t * data + (1 - t) * noise
        target = mix(xt, tt)
        with torch.no_grad():
            pred = model(xt.to(device), tt.to(device)).cpu()
        err[i] = torch.mean((pred - target) ** 2)
        flo[i] = torch.mean((data - noise - target) ** 2)
    return err, flo''',
}
