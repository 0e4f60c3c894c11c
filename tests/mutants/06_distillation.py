"""Planted bugs for notebook 6, per exercise: (the bug, text in the solution, its replacement[, words of feedback]).

Each must make its exercise's test cell fail; see tests/test_pipeline.py.
"""
MUTANTS = {
    "pd_target": [
        ("the PD target over one teacher step instead of two",
         "x_end = x_mid + h * teacher(x_mid, t + h, **cond)", "x_end = x_mid", "one teacher step"),
        ("divided by h instead of 2h", "return (x_end - x_t) / (2 * h)", "return (x_end - x_t) / h", "divided by h"),
        ("the second step evaluated at time t", "x_end = x_mid + h * teacher(x_mid, t + h, **cond)",
         "x_end = x_mid + h * teacher(x_mid, t, **cond)", "used the time t"),
        ("the second step's slope taken at x_t", "x_end = x_mid + h * teacher(x_mid, t + h, **cond)",
         "x_end = x_mid + h * teacher(x_t, t + h, **cond)", "evaluated the field at x_t"),
        ("the condition is not passed to the teacher", "x_mid = x_t + h * teacher(x_t, t, **cond)",
         "x_mid = x_t + h * teacher(x_t, t)", "raised TypeError"),
    ],
    "pd_round": [
        ("the student grid not halved: t on the teacher's grid",
         "k = torch.randint(0, n_student, (batch_size,), generator=generator)",
         "k = torch.randint(0, n_teacher, (batch_size,), generator=generator)", "off its grid"),
        ("t drawn uniformly in [0, 1) instead of on the student's grid",
         "t = k.to(x1.dtype) / n_student  # a time on the student's grid",
         "t = torch.rand(batch_size, generator=generator, dtype=x1.dtype)  # a time on the student's grid",
         "off its grid"),
        ("h = 1 / n_student: the target spans four teacher steps", "n_student, h = n_teacher // 2, 1.0 / n_teacher",
         "n_student, h = n_teacher // 2, 1.0 / (n_teacher // 2)", "the losses of pd_round"),
        ("the gradients are never zeroed", "        optimizer.zero_grad()\n", "", "the losses of pd_round"),
        ("time runs the wrong way on the path", "x_t = (1 - tt) * x0 + tt * x1  # the path at t",
         "x_t = tt * x0 + (1 - tt) * x1  # the path at t", "the losses of pd_round"),
    ],
    "dmd_grad": [
        ("the sign of real minus fake flipped", "return (d_fake - d_real) / weight.reshape(-1, *([1] * (x.ndim - 1)))",
         "return (d_real - d_fake) / weight.reshape(-1, *([1] * (x.ndim - 1)))", "the sign is flipped"),
        ("no normaliser", "return (d_fake - d_real) / weight.reshape(-1, *([1] * (x.ndim - 1)))",
         "return d_fake - d_real", "no normaliser"),
        ("one normaliser for the whole batch", "weight = (x - d_real).abs().flatten(1).mean(1)  # one normaliser per sample",
         "weight = (x - d_real).abs().mean().expand(x.shape[0])  # one normaliser per sample", "whole batch"),
        ("the normaliser from the fake denoiser", "weight = (x - d_real).abs().flatten(1).mean(1)  # one normaliser per sample",
         "weight = (x - d_fake).abs().flatten(1).mean(1)  # one normaliser per sample", "uses the fake denoiser"),
        ("time reversed in the noising", "x_t = (1 - tt) * noise + tt * x  # noise the samples to time t",
         "x_t = tt * noise + (1 - tt) * x  # noise the samples to time t", "time runs the wrong way"),
    ],
    "reflow_pairs": [
        ("x1 integrated from fresh noise (independent coupling)",
         "x1 = solvers.sample(teacher, z, schedules.uniform(n_steps), step=solvers.heun_step, cond=cond)  # its ODE output",
         "x1 = solvers.sample(teacher, torch.randn((n, *shape), generator=generator), schedules.uniform(n_steps), "
         "step=solvers.heun_step, cond=cond)  # its ODE output", "fresh noise"),
        ("Euler instead of Heun",
         "x1 = solvers.sample(teacher, z, schedules.uniform(n_steps), step=solvers.heun_step, cond=cond)  # its ODE output",
         "x1 = solvers.sample(teacher, z, schedules.uniform(n_steps), cond=cond)  # its ODE output", "Euler instead of Heun"),
        ("the condition is not passed",
         "x1 = solvers.sample(teacher, z, schedules.uniform(n_steps), step=solvers.heun_step, cond=cond)  # its ODE output",
         "x1 = solvers.sample(teacher, z, schedules.uniform(n_steps), step=solvers.heun_step)  # its ODE output",
         "raised TypeError"),
    ],
    "coupling_distances": [
        ("squared distances", "out[name] = (x - x_ode).flatten(1).norm(dim=1).mean().item()  # per-sample distance, averaged",
         "out[name] = ((x - x_ode) ** 2).flatten(1).sum(1).mean().item()  # per-sample distance, averaged",
         "the squared distance"),
        ("the mean absolute difference per entry",
         "out[name] = (x - x_ode).flatten(1).norm(dim=1).mean().item()  # per-sample distance, averaged",
         "out[name] = (x - x_ode).abs().mean().item()  # per-sample distance, averaged", "mean absolute difference"),
        ("sorted before comparing (a distributional distance, not the coupling)",
         "out[name] = (x - x_ode).flatten(1).norm(dim=1).mean().item()  # per-sample distance, averaged",
         "out[name] = (x.flatten(1).sort(0).values - x_ode.flatten(1).sort(0).values).norm(dim=1).mean().item()"
         "  # per-sample distance, averaged", "sorted or matched"),
        ("the condition is not passed to the samplers", "x = sampler(z, **cond)  # every sampler from the same noise",
         "x = sampler(z)  # every sampler from the same noise", "raised TypeError"),
    ],
}

# Shortcuts: answers that call the exercise's own reference (directly or through an alias); each must score 0.
SHORTCUTS = {
    "pd_target": "from cs280diff.distill.pd import pd_target as _pt\n"
                 "def pd_target(teacher, x_t, t, h, **cond):\n"
                 "    return _pt(teacher, x_t, t, h, **cond)",
    "pd_round": "def pd_round(teacher, student, optimizer, sample_x1, n_teacher, iters, batch_size, generator):\n"
                "    return pd.pd_round(teacher, student, optimizer, sample_x1, n_teacher, iters=iters,\n"
                "                       batch_size=batch_size, generator=generator)",
    "dmd_grad": "def dmd_grad(x, real, fake, t, noise, **cond):\n"
                "    return dmd.dmd_grad(x, real, fake, t, noise, **cond)",
    "reflow_pairs": "def reflow_pairs(teacher, n, shape, n_steps, generator, **cond):\n"
                    "    z = torch.randn((n, *shape), generator=generator)\n"
                    "    return reflow.reflow_pairs(teacher, z, n_steps=n_steps, cond=cond)",
    "coupling_distances": "def coupling_distances(samplers, z, x_ode, **cond):\n"
                          "    return {k: fewstep.coupling(s(z, **cond), x_ode) for k, s in samplers.items()}",
}

# Correct answers written unlike the solution: other names, loops, equal formulas; each must keep full marks.
ALTERNATIVES = {
    "pd_target": '''def pd_target(teacher, x_t, t, h, **cond):
    v1 = teacher(x_t, t, **cond)
    v2 = teacher(x_t + h * v1, t + h, **cond)
    return 0.5 * (v1 + v2)  # (x_t + h v1 + h v2 - x_t) / (2h): the mean of the two slopes''',
    "pd_round": '''def pd_round(teacher, student, optimizer, sample_x1, n_teacher, iters, batch_size, generator):
    import torch.nn.functional as F
    from cs280diff import conventions
    half = n_teacher // 2
    out = []
    for it in range(iters):
        data = sample_x1(batch_size, generator)
        noise = torch.randn(data.shape, generator=generator, dtype=data.dtype)
        times = torch.randint(0, half, (batch_size,), generator=generator).double().to(data.dtype) / half
        xt = conventions.path(noise, data, times)
        target = pd_target(teacher, xt, times, 1 / n_teacher).detach()
        loss = F.mse_loss(student(xt, times), target)
        loss.backward()
        optimizer.step()
        optimizer.zero_grad(set_to_none=True)
        out.append(float(loss))
    return out''',
    "dmd_grad": '''def dmd_grad(x, real, fake, t, noise, **cond):
    from cs280diff import conventions
    x = x.detach()
    xt = conventions.path(noise, x, t)
    dr = conventions.x1_from_velocity(xt, t, real(xt, t, **cond))
    df = conventions.x1_from_velocity(xt, t, fake(xt, t, **cond))
    norm = torch.stack([(x[i] - dr[i]).abs().mean() for i in range(x.shape[0])])
    return ((df - dr).flatten(1) / norm[:, None]).reshape(x.shape).detach()''',
    "reflow_pairs": '''def reflow_pairs(teacher, n, shape, n_steps, generator, **cond):
    noise = torch.randn((n,) + tuple(shape), generator=generator)
    x = noise.clone()
    ts = torch.linspace(0, 1, n_steps + 1).tolist()
    for a, b in zip(ts[:-1], ts[1:]):
        x = solvers.heun_step(teacher, x, a, b, **cond)
    return noise, x''',
    "coupling_distances": '''def coupling_distances(samplers, z, x_ode, **cond):
    import math
    result = {}
    for key in samplers:
        diff = (samplers[key](z, **cond) - x_ode).reshape(len(z), -1)
        result[key] = float(sum(math.sqrt(float((row ** 2).sum())) for row in diff) / len(z))
    return result''',
}
