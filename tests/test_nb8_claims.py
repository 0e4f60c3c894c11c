"""Notebook 8's claims on the shipped task models, measured afresh (new noise, not the build's): each task beats its
naive baseline on the held-out worlds by the issue's factor, and the mean of several samples beats one sample (the
posterior mean has the smaller MSE)."""
import pytest

from cs280diff.images import tasks
from cs280diff.nets.registry import load_pretrained

SEED = 2026  # not the build's evaluation seed
FACTOR = {"inbetween": 3.0, "novel_view": 5.0, "depth": 1.0}  # the targets (depth: beat constant depth)


@pytest.fixture(scope="module")
def results():
    out = {}
    for task in ("inbetween", "novel_view", "depth", "inpaint"):
        model = load_pretrained(f"task_{task}")
        x1, cond = tasks.test_batch(task)
        samples = tasks.generate(model, cond, shape=x1.shape[1:], n_steps=20, seed=SEED, k=4)
        base = {k: tasks.score(task, p, x1, cond) for k, p in tasks.baselines(task, cond).items()}
        out[task] = {"single": tasks.score(task, samples[0], x1, cond), "mean4": tasks.score(task, samples.mean(0), x1, cond),
                     "baseline": min(base.values()), "baselines": base}
    return out


@pytest.mark.parametrize("task", sorted(FACTOR))
def test_each_task_beats_its_baseline_by_the_factor(results, task):
    r = results[task]
    assert r["baseline"] >= FACTOR[task] * r["single"], r


def test_inpainting_by_a_mask_conditioned_model(results):
    """Over the hole: one sample beats the mean fill, the mean of 4 samples beats the nearest neighbour too (one
    sample does not: its MSE carries the posterior's variance, about twice the posterior mean's error)."""
    r = results["inpaint"]
    assert r["single"] < r["baselines"]["mean fill"]
    assert r["mean4"] < r["baseline"]


@pytest.mark.parametrize("task", tasks.TASKS)
def test_the_mean_of_samples_beats_one_sample(results, task):
    assert results[task]["mean4"] < results[task]["single"]


def test_depth_sampling_against_regression():
    """The per-pixel regression net estimates the posterior mean, so it beats one sample in MSE (measured 0.071 vs
    0.120) and beats constant depth (0.49) many times over; but the best of 4 samples beats the regression (0.052:
    the truth is near one of the proposals), and the samples keep the spread of real depths (std 0.51 vs the
    truth's 0.57) where the regression's bunch in the middle (0.43)."""
    r = tasks.against_regression(load_pretrained("task_depth"), load_pretrained("task_depth_regression"), k=4,
                                 seed=SEED)
    x1, cond = tasks.test_batch("depth")
    constant = tasks.score("depth", tasks.baselines("depth", cond)["constant depth"], x1, cond)
    assert r["regression"] < r["single"], r
    assert 3 * r["regression"] < constant, (r, constant)
    assert r["best_of_4"] < r["regression"], r
    assert abs(r["spread_sample"] - r["spread_truth"]) < abs(r["spread_regression"] - r["spread_truth"]), r


def test_replacement_inpainting_needs_the_label():
    """Training-free replacement with the whole-digit UNet: told the label, the completed digits keep their class
    (measured 0.98-0.99); without it the class changes for about half of them (0.46-0.49)."""
    from cs280diff.images import digits
    from cs280diff.images import metrics as image_metrics

    unet = load_pretrained("digits_unet")
    x1, cond = tasks.test_batch("inpaint")
    _, y = digits.load_digits("test")
    acc = {}
    for name, labels in (("label", y), ("none", None)):
        fills = tasks.replacement_inpaint(unet, cond[:, :1], cond[:, 1:], labels, k=2, seed=SEED)
        acc[name] = sum(image_metrics.class_accuracy(f, y) for f in fills) / len(fills)
    assert acc["label"] >= 0.95, acc
    assert acc["none"] <= 0.7, acc


def test_a_prompt_read_by_cross_attention_composes_the_style_not_the_digit():
    """prompt_dit on its 20 prompts (50 samples each, new noise): the seen prompts come out as asked (digit read
    0.89, style 0.99); on the three held-out ones the style word still transfers (1.0) but the digit mostly does not
    (0.29, where the classifier reads 0.95 of real digits of those prompts): notebook 8's "it half composes"."""
    from cs280diff.images import prompts

    r = prompts.composition(load_pretrained("prompt_dit"), n_per=50, seed=SEED)
    held = [tuple(p) for p in prompts.HELD_OUT]
    ceiling = sum(r["real_digit"][d, s].item() for d, s in held) / len(held)
    assert r["seen_digit"] >= 0.8 and r["seen_style"] >= 0.95, r
    assert r["held_out_style"] >= 0.9, r
    assert r["held_out_digit"] <= 0.6 * ceiling and r["held_out_digit"] <= r["seen_digit"] - 0.3, (r, ceiling)
