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
    ],
    "sample_ode": [
        ("the last step is skipped", "zip(times[:-1], times[1:])", "zip(times[:-2], times[1:-1])",
         "the last step is missing"),
        ("the loop runs backwards, from t = 1 to t = 0", "zip(times[:-1], times[1:])",
         "zip(times[::-1][:-1], times[::-1][1:])", "time runs backwards"),
        ("always an Euler step, whatever step is given", "x = step(field, x, t, t_next)",
         "x = x + (t_next - t) * field(x, t)", "did not use the step function"),
    ],
    "heun_step": [
        ("no corrector: uses the slope at the start only", "return x + h * 0.5 * (v + v_next)", "return x + h * v",
         "the corrector is missing"),
        ("corrector slope evaluated at t instead of t_next", "field(x_pred, t_next, **cond)", "field(x_pred, t, **cond)",
         "evaluated at t_next"),
        ("corrector slope evaluated at x instead of the Euler prediction", "field(x_pred, t_next, **cond)",
         "field(x, t_next, **cond)", "Euler prediction"),
    ],
    "edm_rho_grid": [
        ("the power rho is dropped", "(lo - hi)) ** rho", "(lo - hi))", "the power rho is missing"),
        ("i / N instead of i / (N - 1): sigma_min is never reached", "i / (n_steps - 1)", "i / n_steps",
         "N - 1 intervals"),
        ("sigma mapped to t backwards", "t_inner = 1 / (1 + sigma)", "t_inner = sigma / (1 + sigma)",
         "time runs the wrong way"),
    ],
}

# Shortcuts: answers that call the exercise's own reference (directly or through an alias); each must score 0.
SHORTCUTS = {
    "euler_step": "from cs280diff.flows.solvers import euler_step as _e\n\n"
                  "def euler_step(field, x, t, t_next, **cond):\n    return _e(field, x, t, t_next, **cond)",
    "sample_ode": "def sample_ode(field, x, grid, step):\n    return solvers.sample(field, x, grid, step=step)",
    "heun_step": "from cs280diff.flows.solvers import heun_step as h\n\n"
                 "def heun_step(field, x, t, t_next, **cond):\n    return h(field, x, t, t_next, **cond)",
    "edm_rho_grid": "def edm_rho_grid(n_steps, sigma_min=0.002, sigma_max=80.0, rho=7.0):\n"
                    "    return schedules.get('edm', n_steps, sigma_min=sigma_min, sigma_max=sigma_max, rho=rho)",
}
