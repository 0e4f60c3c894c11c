"""Planted bugs for notebook 3, per exercise: (the bug, text in the solution, its replacement[, words of feedback]).

Each must make its exercise's test cell fail while the other exercises keep their points; see tests/test_pipeline.py.
"""
MUTANTS = {
    "euler_step": [
        ("step size ignored", "return x + (t_next - t) * field(x, t, **cond)", "return x + field(x, t, **cond)",
         "the step size is missing"),
        ("velocity taken at the end of the step", "return x + (t_next - t) * field(x, t, **cond)",
         "return x + (t_next - t) * field(x, t_next, **cond)", "start of the step"),
        ("time runs backwards (sign of the step flipped)", "return x + (t_next - t) * field(x, t, **cond)",
         "return x - (t_next - t) * field(x, t, **cond)", "time runs the wrong way"),
        ("the condition is not passed on to the field (audit: a field that needs cond)",
         "return x + (t_next - t) * field(x, t, **cond)", "return x + (t_next - t) * field(x, t)", "raised TypeError"),
    ],
    "sample_ode": [
        ("the last step is skipped", "zip(times[:-1], times[1:])", "zip(times[:-2], times[1:-1])",
         "the last step is missing"),
        ("the loop runs backwards, from t = 1 to t = 0", "zip(times[:-1], times[1:])",
         "zip(times[::-1][:-1], times[::-1][1:])", "time runs backwards"),
        ("always an Euler step, whatever step is given", "x = step(field, x, t, t_next)",
         "x = x + (t_next - t) * field(x, t)", "did not use the step function"),
        ("uniform times in place of the grid's own points", "times = grid.tolist()",
         "times = torch.linspace(0, 1, len(grid)).tolist()", "the grid was ignored"),
    ],
    "heun_step": [
        ("no corrector: uses the slope at the start only", "return x + h * 0.5 * (v + v_next)", "return x + h * v",
         "the corrector is missing"),
        ("corrector slope evaluated at t instead of t_next", "field(x_pred, t_next, **cond)", "field(x_pred, t, **cond)",
         "evaluated at t_next"),
        ("corrector slope evaluated at x instead of the Euler prediction", "field(x_pred, t_next, **cond)",
         "field(x, t_next, **cond)", "Euler prediction"),
        ("the condition is not passed to the corrector's evaluation (audit: a field that needs cond)",
         "field(x_pred, t_next, **cond)", "field(x_pred, t_next)", "raised TypeError"),
    ],
    "edm_rho_grid": [
        ("the power rho is dropped", "(lo - hi)) ** rho", "(lo - hi))", "the power rho is missing"),
        ("i / N instead of i / (N - 1): sigma_min is never reached", "i / (n_steps - 1)", "i / n_steps",
         "N - 1 intervals"),
        ("sigma mapped to t backwards", "t_inner = 1 / (1 + sigma)", "t_inner = sigma / (1 + sigma)",
         "time runs the wrong way"),
        ("integer indices: the interior computed in float32 (audit: tolerance 1e-12 on float64)",
         "i = torch.arange(1, n_steps, dtype=torch.float64)", "i = torch.arange(1, n_steps)", "max |error|"),
    ],
    "fit_order": [
        ("fitted on every budget, not the n_tail largest",
         "x = torch.log(torch.tensor(nfes[-n_tail:], dtype=torch.float64))", "x = torch.log(torch.tensor(nfes, dtype=torch.float64))\n    n_tail = len(nfes)", "LARGEST budgets only"),
        ("the slope returned, not minus the slope", "return -((xc * (y - y.mean())).sum() / (xc**2).sum()).item()",
         "return ((xc * (y - y.mean())).sum() / (xc**2).sum()).item()", "minus the slope"),
        ("crossover: the first budget where Heun is ahead, not the one from which it stays ahead",
         "start = (nfe if start is None else start) if e_heun < e_euler else None",
         "start = nfe if (start is None and e_heun < e_euler) else start", "STAYS ahead"),
        ("the slope between the two end points of the tail", "xc = x - x.mean()  # centred, for the least-squares slope\n    return -((xc * (y - y.mean())).sum() / (xc**2).sum()).item()",
         "return -((y[-1] - y[0]) / (x[-1] - x[0])).item()", "two end points"),
    ],
}

# Shortcuts: answers that call the exercise's own reference (directly or through an alias); each must score 0.
SHORTCUTS = {
    "euler_step": "from cs280diff.flows.solvers import euler_step as _e\n\n"
                  "def euler_step(field, x, t, t_next, **cond):\n    return _e(field, x, t, t_next, **cond)",
    "sample_ode": "def sample_ode(field, x, grid, step):\n    return solvers.sample(field, x, grid, step=step)",
    "heun_step": "from cs280diff.flows.solvers import heun_step as h\n\n"
                 "def heun_step(field, x, t, t_next, **cond):\n    return h(field, x, t, t_next, **cond)",
    "fit_order": "def fit_order(nfes, errors, n_tail):\n    return metrics.convergence_order(nfes[-n_tail:], errors[-n_tail:])\n\n\n"
                 "def heun_crossover(nfes, err_euler, err_heun):\n    return experiments.crossover_nfe(nfes, err_euler, err_heun)",
    "edm_rho_grid": "def edm_rho_grid(n_steps, sigma_min=0.002, sigma_max=80.0, rho=7.0):\n"
                    "    return schedules.get('edm', n_steps, sigma_min=sigma_min, sigma_max=sigma_max, rho=rho)",
}

# Correct answers written differently from the solution (a student's own style); each must keep full marks.
ALTERNATIVES = {
    "euler_step": '''def euler_step(field, x, t, t_next, **cond):
    v = field(x, t, **cond)
    return torch.add(x, v, alpha=t_next - t)''',
    "sample_ode": '''def sample_ode(field, x, grid, step):
    for i in range(len(grid) - 1):
        x = step(field, x, float(grid[i]), float(grid[i + 1]))
    return x''',
    "heun_step": '''def heun_step(field, x, t, t_next, **cond):
    dt = t_next - t
    k1 = field(x, t, **cond)
    k2 = field(x + dt * k1, t_next, **cond)
    return x + dt / 2 * (k1 + k2)''',
    "edm_rho_grid": '''def edm_rho_grid(n_steps, sigma_min=0.002, sigma_max=80.0, rho=7.0):
    ramp = torch.linspace(0, 1, n_steps, dtype=torch.float64)  # i / (N - 1), i = 0 .. N - 1
    sigmas = (sigma_max ** (1 / rho) + ramp * (sigma_min ** (1 / rho) - sigma_max ** (1 / rho))) ** rho
    t = 1.0 / (1.0 + sigmas)
    t[0] = 0.0  # sigma_max is treated as pure noise
    return torch.cat([t, torch.ones(1, dtype=torch.float64)])''',
    "fit_order": '''import numpy as np


def fit_order(nfes, errors, n_tail):
    slope, _ = np.polyfit(np.log(nfes[-n_tail:]), np.log(errors[-n_tail:]), 1)
    return float(-slope)


def heun_crossover(nfes, err_euler, err_heun):
    for i in range(len(nfes)):
        if all(h < e for h, e in zip(err_heun[i:], err_euler[i:])):
            return nfes[i]
    return None''',
}
