"""Planted bugs for notebook 5, per exercise: (the bug, text in the solution, its replacement[, words of feedback]).

Each must make its exercise's test cell fail; see tests/test_pipeline.py.
"""
MUTANTS = {
    "invert_flow": [
        ("stepping forward while inverting (the step's times swapped)", "x = step(field, x, t, t_next, **cond)",
         "x = step(field, x, t_next, t, **cond)", "go forward in time"),
        ("the forward grid reused unreversed", "times = grid.flip(0).tolist()", "times = grid.tolist()",
         "go forward in time"),
        ("the condition is not passed to the step", "x = step(field, x, t, t_next, **cond)",
         "x = step(field, x, t, t_next)", "raised TypeError"),
        ("the state is cast to float32 (audit: float64 input)", "x = x1  # the state at the last grid time",
         "x = x1.float()  # the state at the last grid time", "expected torch.float64"),
    ],
    "round_trip_errors": [
        ("the round trip compares the latents with the data", "rt[k] = metrics.mean_endpoint_error(back, x1)",
         "rt[k] = metrics.mean_endpoint_error(z, x1)", "compares the latents with x1"),
        ("the latent error against the data instead of the exact inverse",
         "lat[k] = metrics.mean_endpoint_error(z, z_exact)", "lat[k] = metrics.mean_endpoint_error(z, x1)",
         "measured against x1"),
        ("the regeneration always uses Euler (audit: Heun)", "back = solvers.sample(field, z, grid, step=step)",
         "back = solvers.sample(field, z, grid)", "max |error|"),
        ("the latent order fitted to the round-trip errors",
         '"order_latent": metrics.convergence_order(n_steps, lat)', '"order_latent": metrics.convergence_order(n_steps, rt)',
         "order_latent should be"),
    ],
    "fixed_point_step": [
        ("the velocity evaluated at x_(i+1), the end of the step (no iteration)",
         "x_prev = x - h * field(x_prev, t_next, **cond)", "x_prev = x - h * field(x, t_next, **cond)",
         "nothing is iterated"),
        ("the velocity evaluated at time t instead of t_next", "x_prev = x - h * field(x_prev, t_next, **cond)",
         "x_prev = x - h * field(x_prev, t, **cond)", "evaluated at time t"),
        ("one iteration too many", "for _ in range(iters):", "for _ in range(iters + 1):", "run exactly iters"),
        ("the wrong sign of the step", "x_prev = x - h * field(x_prev, t_next, **cond)",
         "x_prev = x + h * field(x_prev, t_next, **cond)", "max |error|"),
    ],
    "sdedit": [
        ("SDEdit noising at 1 - t0 instead of t0", "x_t0 = (1 - t0) * noise + t0 * x1", "x_t0 = t0 * noise + (1 - t0) * x1",
         "uses 1 - t0"),
        ("the integration starts at t = 0 instead of t0", "grid = t0 + (1 - t0) * schedules.uniform(n_steps)",
         "grid = schedules.uniform(n_steps)", "the integration starts at t = 0"),
        ("the target condition is not passed", "return solvers.sample(field, x_t0, grid, step=step, cond=cond)",
         "return solvers.sample(field, x_t0, grid, step=step)", "raised TypeError"),
        ("the step is ignored (audit: Heun)", "return solvers.sample(field, x_t0, grid, step=step, cond=cond)",
         "return solvers.sample(field, x_t0, grid, cond=cond)", "max |error|"),
    ],
    "edit_by_inversion": [
        ("regenerating under the source condition", 'cond={"y": y_target})  # the same latent',
         'cond={"y": y_source})  # the same latent', "regenerated under the source labels"),
        ("inverting under the target condition", "z = invert_flow(field, x1, grid, step=step, y=y_source)",
         "z = invert_flow(field, x1, grid, step=step, y=y_target)", "ran under the target labels"),
        ("regenerating from x1 instead of the latents",
         'x_edit = solvers.sample(field, z, grid, step=step, cond={"y": y_target})',
         'x_edit = solvers.sample(field, x1, grid, step=step, cond={"y": y_target})', "max |error|"),
    ],
}

# Shortcuts: answers that call the exercise's own reference (directly or through an alias); each must score 0.
SHORTCUTS = {
    "invert_flow": "def invert_flow(field, x1, grid, step=solvers.euler_step, **cond):\n"
                   "    return inversion.invert(field, x1, grid, step=step, cond=cond)",
    "round_trip_errors": "def round_trip_errors(field, x1, z_exact, n_steps, step=solvers.euler_step):\n"
                         "    return experiments.round_trip_errors(field, x1, z_exact, n_steps, step=step)",
    "fixed_point_step": "from cs280diff.flows.inversion import fixed_point_step as _fp\n\n"
                        "def fixed_point_step(field, x, t, t_next, *, iters=10, **cond):\n"
                        "    return _fp(field, x, t_next, t, iters=iters, cond=cond)[0]",
    "sdedit": "def sdedit(field, x1, t0, noise, n_steps=20, step=solvers.euler_step, **cond):\n"
              "    return inversion.sdedit(field, x1, t0, noise=noise, n_steps=n_steps, step=step, cond=cond)",
    "edit_by_inversion": "def edit_by_inversion(field, x1, grid, y_source, y_target, step=solvers.euler_step):\n"
                         "    return inversion.edit(field, x1, grid, {'y': y_source}, {'y': y_target}, step=step)",
}

# Correct answers written differently from the solution (a student's own style); each must keep full marks.
ALTERNATIVES = {
    "invert_flow": '''def invert_flow(field, x1, grid, step=solvers.euler_step, **cond):
    return solvers.sample(field, x1, grid.flip(0), step=step, cond=cond, backward=True)''',
    "round_trip_errors": '''def round_trip_errors(field, x1, z_exact, n_steps, step=solvers.euler_step):
    out = {"round_trip": [], "latent": []}
    for n in n_steps:
        g = schedules.uniform(n)
        z = invert_flow(field, x1, g, step)
        x_back = solvers.sample(field, z, g, step=step)
        out["round_trip"].append((x_back - x1).flatten(1).norm(dim=1).mean().item())
        out["latent"].append((z - z_exact).flatten(1).norm(dim=1).mean().item())
    out = {k: torch.tensor(v, dtype=torch.float64) for k, v in out.items()}
    for k in ("round_trip", "latent"):
        out["order_" + k] = metrics.convergence_order(n_steps, out[k])
    return out''',
    "fixed_point_step": '''def fixed_point_step(field, x, t, t_next, *, iters=10, **cond):
    guess = x.clone()
    k = 0
    while k < iters:
        v = field(guess, t_next, **cond)
        guess = x + (t_next - t) * v
        k += 1
    return guess''',
    "sdedit": '''def sdedit(field, x1, t0, noise, n_steps=20, step=solvers.euler_step, **cond):
    x = torch.lerp(noise, x1, t0)
    ts = torch.linspace(t0, 1.0, n_steps + 1, dtype=torch.float64)
    for a, b in zip(ts[:-1].tolist(), ts[1:].tolist()):
        x = step(field, x, a, b, **cond)
    return x''',
    "edit_by_inversion": '''def edit_by_inversion(field, x1, grid, y_source, y_target, step=solvers.euler_step):
    latent = invert_flow(field, x1, grid, step=step, y=y_source)
    edited = latent
    for a, b in zip(grid[:-1].tolist(), grid[1:].tolist()):
        edited = step(field, edited, a, b, y=y_target)
    return latent, edited''',
}
