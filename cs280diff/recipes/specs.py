"""How each shipped model is made: architecture, data, training settings and what to measure (one ``Spec`` each).

``python -m cs280diff.recipes build`` trains them from scratch with these settings (``recipes.build``).
"""
from __future__ import annotations

from dataclasses import dataclass, field

__all__ = ["Spec", "SPECS", "DISTILLED_KINDS"]


@dataclass(frozen=True)
class Spec:
    """How to build one shipped model: architecture, data, training settings, and what to measure.

    kind: "classifier" / "noisy_classifier" (``classifiers.train_classifier``); "digits_velocity",
    "mixture_velocity", "conditional" (notebook 8's tasks, ``images.tasks``), "regression" (their per-pixel
    regression baseline), "prompt_velocity" (notebook 8's prompts, ``images.prompts``) "pose_velocity" (the arm,
    ``images.poses``), "world_model" (``images.game``) or "video_frame" (``images.video``) (``train.train``, the EMA weights are shipped); or a distillation of shipped teachers, "pd" /
    "dmd" / "reflow" (``recipes.distilled``; its ``train`` names the teacher and is built after the teachers).
    ``tolerances``: absolute tolerance per metric for ``compare``.
    ``storage``: the dtype the weights are written in ("float32" or "float16"); the metrics are measured on the file.
    """
    name: str
    cls: str
    arch: dict
    kind: str
    train: dict
    description: str
    headline: str
    tolerances: dict = field(default_factory=dict)
    init_seed: int = 0
    storage: str = "float32"  # dtype of the shipped file; "float16" halves it (measured after rounding)


_MIXTURE_TOL = {"endpoint_error": 0.03, "cond_endpoint_error": 0.03, "sw_model": 0.02, "sw_floor": 0.0}
_VELOCITY_TOL = {"accuracy": 0.02, "fd": 0.3, "fd_n359": 0.3, "precision": 0.05, "recall": 0.05,
                 "diversity_ratio": 0.05, "uncond_fd": 1.0, "uncond_fd_n359": 1.0, "uncond_precision": 0.05,
                 "uncond_recall": 0.05, "uncond_diversity_ratio": 0.05}

_RING_ARCH = {"dim": 2, "hidden": 128, "depth": 3, "t_embed": 32, "n_classes": 8}
_RING_PD = {"method": "pd", "data": "ring_2d", "teacher": "exact:ring_2d", "init": "ring_mlp", "start_steps": 64,
            "iters": {"32": 500, "16": 500, "8": 1000, "4": 1500, "2": 3000, "1": 3000}, "lr": 1e-3,
            "batch_size": 512, "seed": 0}
_RING_TOL = {"sliced": 0.01, "on_mode": 0.05, "mass_error": 0.03, "coupling": 0.1}
_DISTILLED_TOL = {**_RING_TOL, **{f"{k}_4": v for k, v in _RING_TOL.items()}, "fd_n359": 0.3, "accuracy": 0.03,
                  "euler_fd_n359": 0.3, "euler_accuracy": 0.03}


def _ring_pd(steps: int) -> "Spec":
    return Spec(f"ring_pd{steps}", "MLPVelocity", _RING_ARCH, "pd", {**_RING_PD, "steps": steps},
                f"progressive-distillation student of the exact ring's 64-step Euler flow, {steps} Euler step(s) "
                f"(initialised from ring_mlp, call it with y=None)", "sliced", _DISTILLED_TOL)


def _ring_dmd(name: str, teacher: str, what: str) -> "Spec":
    return Spec(name, "OneStepGenerator", {"dim": 2, "hidden": 256, "depth": 3, "t_embed": 32, "init_scale": 0.01},
                "dmd", {"method": "dmd", "data": "ring_2d", "teacher": teacher, "steps": 8000, "batch_size": 512,
                        "lr": 1e-3, "fake_updates": 5, "warmup": 500, "fake_hidden": 128, "reg_weight": 0.25,
                        "pairs": 20000, "pair_steps": 64, "seed": 0},
                f"one-step DMD generator x = G(z) for the ring (fake MLP 128 x 3, regression weight 0.25 on "
                f"Heun-64 pairs), real score = {what}", "sliced", _DISTILLED_TOL)


_TASK_TOL = {"mse": 0.005, "mse_mean4": 0.005, "gain": 5.0, "baseline_cross-fade": 0.0,
             "baseline_copy_the_input": 0.0, "baseline_constant_depth": 0.0, "baseline_mean_fill": 0.0,
             "baseline_nearest_neighbour": 0.0}


def _task(name: str, task: str, channels: int, cond_channels: int, steps: int, what: str, size: int = 16,
          kind: str = "conditional") -> "Spec":
    train = {"data": f"task/{task}", "steps": steps, "batch_size": 128, "lr": 2e-3, "ema_decay": 0.999, "seed": 0}
    if kind == "regression":
        train["objective"] = "regression"  # a direct predictor f(cond) of x1: the baseline of notebook 8
    return Spec(name, "TinyUNet", {"channels": channels, "size": size, "base": 16, "mults": [1, 2], "t_embed": 32,
                                   "cond_channels": cond_channels}, kind, train,
                f"{size}×{size} UNet with the condition as {cond_channels} input channel(s): {what} (notebook 8)",
                "gain" if kind == "conditional" else "mse", _TASK_TOL, storage="float16")


SPECS: dict[str, Spec] = {s.name: s for s in [
    Spec("digits_classifier", "DigitClassifier", {"size": 8, "width": 32, "feat": 64, "dropout": 0.2}, "classifier",
         {"data": "digits/train/8", "steps": 1500, "batch_size": 128, "lr": 2e-3, "label_smoothing": 0.1,
          "max_shift": 1, "seed": 0},
         "clean CNN classifier p(y | x1) of 8×8 digits; its 64 penultimate features define FD-digits",
         "test_accuracy", {"test_accuracy": 0.01, "train_accuracy": 0.01, "floor_fd": 0.15, "floor_precision": 0.05,
                           "floor_recall": 0.05, "floor_diversity_ratio": 0.05}),
    Spec("digits_noisy_classifier", "NoisyDigitClassifier", {"size": 8, "width": 16, "feat": 64, "t_embed": 32},
         "noisy_classifier", {"data": "digits/train/8", "steps": 4000, "batch_size": 128, "lr": 2e-3, "seed": 0},
         "time-conditioned classifier p(y | x_t, t) for classifier guidance (t = 0 noise, t = 1 data)",
         "accuracy_t0.6", {f"accuracy_t{t}": 0.03 for t in ("0.0", "0.2", "0.4", "0.6", "0.8", "1.0")}),
    Spec("digits_mlp", "MLPVelocity", {"dim": 64, "hidden": 512, "depth": 3, "t_embed": 32, "n_classes": 10},
         "digits_velocity", {"data": "digits/train/8", "steps": 15000, "batch_size": 128, "lr": 1e-3,
                             "ema_decay": 0.999, "p_uncond": 0.2, "seed": 0},
         "class-conditional velocity MLP on flattened 8×8 digits (null class 10, p_uncond = 0.2 for CFG)",
         "accuracy", _VELOCITY_TOL),
    Spec("digits_unet", "TinyUNet", {"channels": 1, "size": 8, "base": 32, "mults": [1, 2], "t_embed": 64,
                                     "n_classes": 10},
         "digits_velocity", {"data": "digits/train/8", "steps": 2000, "batch_size": 128, "lr": 2e-3,
                             "ema_decay": 0.995, "p_uncond": 0.2, "seed": 0},
         "class-conditional tiny UNet velocity field on 8×8 digits (null class 10, p_uncond = 0.2 for CFG)",
         "fd_n359", _VELOCITY_TOL),
    Spec("ring_mlp", "MLPVelocity", {"dim": 2, "hidden": 128, "depth": 3, "t_embed": 32, "n_classes": 8},
         "mixture_velocity", {"data": "ring_2d", "steps": 16000, "batch_size": 256, "lr": 1e-3, "ema_decay": 0.999,
                              "p_uncond": 0.2, "seed": 0},
         "velocity MLP for data.ring_2d() (8 modes), conditional on the mode (null class 8, p_uncond = 0.2)",
         "endpoint_error", _MIXTURE_TOL),
    Spec("lecture1d_mlp", "MLPVelocity", {"dim": 1, "hidden": 128, "depth": 3, "t_embed": 32, "n_classes": 3},
         "mixture_velocity", {"data": "lecture_1d", "steps": 12000, "batch_size": 256, "lr": 1e-3,
                              "ema_decay": 0.999, "p_uncond": 0.2, "seed": 0},
         "velocity MLP for data.lecture_1d() (3 modes), conditional on the mode (null class 3, p_uncond = 0.2)",
         "endpoint_error", _MIXTURE_TOL),
    *[_ring_pd(n) for n in (1, 2, 4, 8)],
    Spec("digits_dit", "TinyDiT", {"channels": 1, "size": 8, "patch": 2, "width": 80, "depth": 4, "heads": 4,
                                   "t_embed": 64, "n_classes": 10},
         "digits_velocity", {"data": "digits/train/8", "steps": 6000, "batch_size": 128, "lr": 2e-3,
                             "ema_decay": 0.999, "p_uncond": 0.2, "seed": 0},
         "class-conditional tiny DiT on 8×8 digits: 2×2 patches as 16 tokens, width 80, 4 blocks, adaLN-zero for "
         "time + class (null class 10); 0.50 M weights, about the UNet's, stored in float16", "fd_n359",
         _VELOCITY_TOL, storage="float16"),
    Spec("prompt_dit", "TinyDiT", {"channels": 1, "size": 8, "patch": 2, "width": 64, "depth": 4, "heads": 4,
                                   "t_embed": 64, "vocab": 12, "prompt_len": 2},
         "prompt_velocity", {"data": "prompts/digit_style", "steps": 5000, "batch_size": 128, "lr": 2e-3,
                             "ema_decay": 0.999, "seed": 0},
         "tiny DiT reading a 2-token prompt (digit, thin / bold) by cross-attention; bold 2, thin 5 and bold 7 never "
         "seen in training (images.prompts; notebook 8's composition experiment), stored in float16",
         "held_out_style", {"seen_digit": 0.03, "seen_style": 0.03, "held_out_digit": 0.05, "held_out_style": 0.05,
                            "real_bold_digit": 0.0}, storage="float16"),
    *[Spec(name, "MLPVelocity", {"dim": 4, "hidden": 256, "depth": 3, "t_embed": 32, "cond_dim": 2}, kind,
           {"data": "poses/arm", "steps": 4000, "batch_size": 256, "lr": 1e-3, "ema_decay": 0.999, "seed": 0,
            **({"objective": "regression"} if kind == "regression" else {})},
           f"two-link arm, target point (2) -> pose (cos θ1, sin θ1, cos θ2, sin θ2): {what} (images.poses; "
           f"notebook 8 part 2), stored in float16", "hand_error",
           {"hand_error": 0.02, "hit_rate": 0.05, "both_elbows": 0.05}, storage="float16")
      for name, kind, what in (("pose_mlp", "pose_velocity", "conditional velocity MLP, samples both elbows"),
                               ("pose_regression", "regression", "per-output regression MLP, the baseline"))],
    *[Spec(name, "TinyUNet", {"channels": 1, "size": 16, "base": 16, "mults": [1, 2], "t_embed": 32,
                               "cond_channels": 5}, "world_model",
           {"data": f"game/{aug}", "steps": 3000, "batch_size": 128, "lr": 2e-3, "ema_decay": 0.999, "seed": 0},
           f"world model of images.game: the next frame from the previous frame and the action (4 planes), {what} "
           f"(notebook 8 part 2), stored in float16", "error_12",
           {"error_1": 0.1, "error_4": 0.2, "error_12": 0.4, "copy_1": 0.0, "copy_4": 0.0, "copy_12": 0.0},
           storage="float16")
      for name, aug, what in (("game_world", 0.0, "clean context frames"),
                              ("game_world_aug", 0.3, "context frames noised with std ~ U[0, 0.3]"))],
    *[Spec(name, "TinyUNet", {"channels": 1, "size": 16, "base": 16, "mults": [1, 2], "t_embed": 32,
                               "cond_channels": n_cond}, "video_frame",
           {"data": f"video/{data}", "steps": 3000, "batch_size": 128, "lr": 2e-3, "ema_decay": 0.999, "seed": 0},
           f"frame model of images.video: frame k from {what} (notebook 8 part 2), stored in float16", "follow",
           {"follow": 0.05, "mse": 0.01, "copy_follow": 0.0, "copy_mse": 0.0}, storage="float16")
      for name, n_cond, data, what in (("video_signal", 2, "signal", "the first frame and the loudness s_k (a plane)"),
                                       ("video_first_only", 1, "first_only",
                                        "the first frame alone, the baseline that cannot hear the signal"))],
    _task("task_inbetween", "inbetween", 3, 2, 3000, "start + end frame of a moving sprite -> the 3 frames between"),
    _task("task_novel_view", "novel_view", 1, 3, 4000, "a shape and a camera turn (cos, sin as planes) -> the turned view"),
    _task("task_depth", "depth", 1, 1, 3000, "overlapping shapes -> the depth map of what is visible"),
    _task("task_depth_regression", "depth", 1, 1, 3000, "per-pixel regression of the depth map (x = 0, t = 0: "
          "a plain function of the pixels), the baseline the sampler is compared with", kind="regression"),
    _task("task_inpaint", "inpaint", 1, 2, 3000, "a digit with a hole (and the mask) -> the whole digit", size=8),
    _ring_dmd("ring_dmd", "exact:ring_2d", "the exact oracle"),
    _ring_dmd("ring_dmd_mlp", "ring_mlp", "the learned ring_mlp"),
    Spec("ring_reflow", "MLPVelocity", _RING_ARCH, "reflow",
         {"method": "reflow", "data": "ring_2d", "teacher": "exact:ring_2d", "init": "ring_mlp", "pairs": 50000,
          "pair_steps": 64, "steps": 6000, "batch_size": 512, "lr": 1e-3, "seed": 0},
         "reflowed ring field: ring_mlp retrained on (z, exact Heun-64 ODE output) pairs (call it with y=None)",
         "sliced", _DISTILLED_TOL),
    Spec("digits_mlp_pd2", "MLPVelocity", {"dim": 64, "hidden": 512, "depth": 3, "t_embed": 32, "n_classes": 10},
         "pd", {"method": "pd", "data": "digits/train/8", "teacher": "digits_mlp", "start_steps": 64, "steps": 2,
                "iters": {"32": 500, "16": 500, "8": 1000, "4": 1500, "2": 2500}, "lr": 3e-4, "batch_size": 256,
                "seed": 0},
         "progressive-distillation student of digits_mlp (64 Euler steps), 2 Euler steps, class-conditional; "
         "stored in float16", "fd_n359", _DISTILLED_TOL, storage="float16"),
    Spec("digits_dmd", "OneStepGenerator", {"dim": 64, "hidden": 512, "depth": 3, "t_embed": 32, "n_classes": 10,
                                            "init_scale": 1.0},
         "dmd", {"method": "dmd", "data": "digits/train/8", "teacher": "digits_mlp", "init": "teacher",
                 "shape": [1, 8, 8], "steps": 3000, "batch_size": 128, "lr": 3e-4, "fake_updates": 2, "warmup": 100,
                 "seed": 0},
         "one-step DMD generator x = G(z, y) of digits, real score = digits_mlp; G and the fake start from the "
         "teacher (DMD2); stored in float16", "fd_n359", _DISTILLED_TOL, storage="float16"),
]}
DISTILLED_KINDS = ("pd", "dmd", "reflow")
