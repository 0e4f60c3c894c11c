"""Planted bugs for notebook 4, per exercise: (the bug, text in the solution, its replacement[, words of feedback]).

Each must make its exercise's test cell fail; see tests/test_pipeline.py.
"""
MUTANTS = {
    "score_from_v": [
        ("wrong sign of the score", "return -x0_hat / (1 - t)", "return x0_hat / (1 - t)", "the sign is flipped"),
        ("no division by (1 - t)", "return -x0_hat / (1 - t)", "return -x0_hat", "the division by (1 - t) is missing"),
        ("a (batch,) t is not reshaped to broadcast", "t = t.reshape(-1, *([1] * (x.ndim - 1)))", "t = t",
         "raised RuntimeError"),
        ("a (batch,) t reshaped to (batch, 1): right for (batch, D) x only (audit: image-shaped x)",
         "t = t.reshape(-1, *([1] * (x.ndim - 1)))", "t = t.reshape(-1, 1)", "raised RuntimeError"),
    ],
    "sde_drift": [
        ("the score term is missing (noise without the drift correction)", "return v - eta * x0_hat", "return v",
         "the score term is missing"),
        ("wrong sign of the score term", "return v - eta * x0_hat", "return v + eta * x0_hat", "wrong sign"),
        ("g² instead of g²/2", "return v - eta * x0_hat", "return v - 2 * eta * x0_hat", "g² instead of g²/2"),
        ("the noise prediction without its factor t: x0_hat = x - v (audit: t strictly inside (0, 1))",
         "x0_hat = x - t * v", "x0_hat = x - v", "the factor t is missing"),
    ],
    "em_step": [
        ("noise variance ignores the step size", "g * math.sqrt(h) * noise", "g * noise", "ignores the step size"),
        ("noise std g h instead of g sqrt(h)", "g * math.sqrt(h) * noise", "g * h * noise", "std vs variance"),
        ("plain velocity as the drift", "return x + h * drift", "return x + h * v", "the drift is the plain velocity"),
        ("g(t) without its factor (1 - t) (audit: t strictly inside (0, 1))", "g = math.sqrt(2 * eta * (1 - t))",
         "g = math.sqrt(2 * eta)", "max |error|"),
    ],
    "churn_renoise": [
        ("noise std sigma_hat - sigma instead of sqrt(sigma_hat² - sigma²)", "math.sqrt(sigma_hat**2 - sigma**2)",
         "(sigma_hat - sigma)", "not σ̂ - σ"),
        ("the signal is not rescaled by t_hat / t", "y_hat = x / t +", "y_hat = x / t_hat +", "the signal is not rescaled"),
        ("variance sigma_hat² - sigma² used as the std", "math.sqrt(sigma_hat**2 - sigma**2)",
         "(sigma_hat**2 - sigma**2)", "std vs variance"),
        ("S_noise is ignored (audit: S_noise != 1)", "* S_noise * noise", "* noise", "S_noise multiplies"),
    ],
}
MUTANTS["sample_images"] = [
    ("the class condition y is not passed to the field", "x = step(field, x, t, t_next, y=y)",
     "x = step(field, x, t, t_next)", "the class condition y was not passed"),
    ("the grid is run backwards", "zip(times[:-1], times[1:])", "zip(times[1:][::-1], times[:-1][::-1])",
     "the time runs backwards"),
    ("the state is cast to float32 (audit: float64 input)", "x = x0  # the state at the first grid time",
     "x = x0.float()  # the state at the first grid time", "expected torch.float64"),
    ("the class condition passed positionally to the step", "x = step(field, x, t, t_next, y=y)",
     "x = step(field, x, t, t_next, y)", "raised TypeError"),
]
MUTANTS["eta_sweep"] = [
    ("the same seed for every eta (the spec asks for fresh noise)", "gen = torch.Generator().manual_seed(seed + k)",
     "gen = torch.Generator().manual_seed(seed)", "every eta must get fresh noise"),
    ("best eta by the highest score", "return scores, etas[int(torch.argmin(scores))]",
     "return scores, etas[int(torch.argmax(scores))]", "LOWEST score"),
    ("seeds counted from 1", "gen = torch.Generator().manual_seed(seed + k)", "gen = torch.Generator().manual_seed(seed + k + 1)",
     "counted from 0"),
]

# Shortcuts: answers that call the exercise's own reference (directly or through an alias); each must score 0.
SHORTCUTS = {
    "score_from_v": "def score_from_v(x, t, v):\n    return ref.score_from_velocity(x, t, v)",
    "sde_drift": "from cs280diff.flows.stochastic import sde_drift as _d\n\n"
                 "def sde_drift(x, t, v, eta):\n    return _d(x, t, v, eta)",
    "em_step": "def em_step(field, x, t, t_next, *, eta, noise, **cond):\n"
               "    return stochastic.em_step(field, x, t, t_next, eta=eta, noise=noise, **cond)",
    "churn_renoise": "def churn_renoise(x, t, gamma, noise, S_noise=1.0):\n"
                     "    return stochastic.churn_renoise(x, t, gamma, noise, S_noise)",
    "eta_sweep": "def eta_sweep(field, etas, nfe, x0, seed, metric):\n"
                 "    return experiments.eta_sweep(field, etas, nfe, x0, seed, metric, step=em_step)",
    "sample_images": "def sample_images(field, x0, grid, y, step=solvers.euler_step):\n"
                     "    return solvers.sample(field, x0, grid, step=step, cond={'y': y})",
}

# Correct answers written differently from the solution (a student's own style); each must keep full marks.
ALTERNATIVES = {
    "score_from_v": '''def score_from_v(x, t, v):
    if torch.is_tensor(t) and t.dim() == 1:
        t = t.view(-1, *([1] * (x.dim() - 1)))
    return (t * v - x) / (1 - t)''',
    "sde_drift": '''def sde_drift(x, t, v, eta):
    g2 = 2 * eta * (1 - t)
    return v + g2 / 2 * score_from_v(x, t, v)''',
    "em_step": '''def em_step(field, x, t, t_next, *, eta, noise, **cond):
    dt = t_next - t
    v = field(x, t, **cond)
    x_next = x + sde_drift(x, t, v, eta) * dt
    return x_next + (2 * eta * (1 - t) * dt) ** 0.5 * noise''',
    "churn_renoise": '''def churn_renoise(x, t, gamma, noise, S_noise=1.0):
    sigma = (1 - t) / t
    sigma_hat = sigma + gamma * sigma
    t_hat = 1 / (1 + sigma_hat)
    x_hat = x * (t_hat / t) + t_hat * S_noise * (sigma_hat ** 2 - sigma ** 2) ** 0.5 * noise
    return x_hat, t_hat''',
    "sample_images": '''def sample_images(field, x0, grid, y, step=solvers.euler_step):
    x = x0.clone()
    for i in range(grid.numel() - 1):
        x = step(field, x, grid[i].item(), grid[i + 1].item(), y=y)
    return x''',
    "eta_sweep": '''def eta_sweep(field, etas, nfe, x0, seed, metric):
    grid = schedules.uniform(nfe)
    results = []
    for k in range(len(etas)):
        g = torch.Generator()
        g.manual_seed(seed + k)
        out = stochastic.sde_euler_maruyama(field, x0, grid, eta=etas[k], generator=g, step=em_step)
        results.append(float(metric(out)))
    scores = torch.tensor(results, dtype=torch.float64)
    best = min(range(len(etas)), key=lambda k: results[k])
    return scores, etas[best]''',
}
