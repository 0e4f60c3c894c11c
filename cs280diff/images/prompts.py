"""A toy "prompt" for cross-attention (notebook 8): a digit and a stroke style, with some combinations held out.

A prompt is two token ids, (digit, style): digit 0-9, then ``10 + style`` with style 0 = thin (the digit as it is)
and 1 = bold (strokes one pixel thicker, ``embolden``); vocabulary 12, null token 12.  The training pairs never show
the combinations in ``HELD_OUT``: the digit appears there only in its other style.  Does a model that read the two
words through cross-attention compose them, drawing a bold 7 it has never seen?  ``composition`` measures it, in the
spirit of the slide's "beret of raspberries" vs "raspberry beret".
    style is read from the ink: a sample is "bold" when its ink mass is nearer the bold digits' of its class than the
    thin ones' (class means of the training digits); the digit is read by the clean classifier.
"""
from __future__ import annotations

from typing import Callable

import torch
import torch.nn.functional as F

from cs280diff.flows import schedules, solvers
from cs280diff.images import digits
from cs280diff.images import metrics as image_metrics
from cs280diff.validate import check_int

Tensor = torch.Tensor

__all__ = ["STYLES", "HELD_OUT", "VOCAB", "PROMPT_LEN", "embolden", "prompt_tokens", "sampler", "ink",
           "generate", "composition"]

STYLES = ("thin", "bold")
HELD_OUT = ((2, 1), (5, 0), (7, 1))  # (digit, style) pairs never seen in training: bold 2, thin 5, bold 7
VOCAB, PROMPT_LEN = 12, 2


def embolden(x: Tensor) -> Tensor:
    """Strokes one pixel thicker: the maximum over each pixel's 2 × 2 window (right and down); (n, 1, s, s) in
    [-1, 1] (+1 = ink) -> same."""
    return F.max_pool2d(F.pad(x, (0, 1, 0, 1), value=-1.0), 2, stride=1)


def prompt_tokens(digit: Tensor, style: Tensor) -> Tensor:
    """(n,) digits and (n,) styles -> (n, 2) int64 prompts [digit, 10 + style]."""
    return torch.stack([digit.long(), 10 + style.long()], dim=1)


def _styled(x: Tensor, style: Tensor) -> Tensor:
    return torch.where(style.bool()[:, None, None, None], embolden(x), x)


def sampler(held_out=HELD_OUT) -> Callable:
    """``sample_data(n, generator) -> (x1, {"tokens": prompts})`` over the training digits, styles drawn at random,
    a held-out (digit, style) pair replaced by the same digit in the other style."""
    x_all, y_all = digits.load_digits("train")
    banned = torch.zeros(10, 2, dtype=torch.bool)
    for d, s in held_out:
        banned[d, s] = True

    def sample_data(n, generator):
        i = torch.randint(x_all.shape[0], (n,), generator=generator)
        y = y_all[i]
        style = torch.randint(2, (n,), generator=generator)
        style = torch.where(banned[y, style], 1 - style, style)  # never a held-out combination
        return _styled(x_all[i], style), {"tokens": prompt_tokens(y, style)}

    return sample_data


def ink(x: Tensor) -> Tensor:
    """Ink mass per image: the sum of (x + 1) / 2 over its pixels, (n, 1, s, s) -> (n,)."""
    return ((x.clamp(-1, 1) + 1) / 2).flatten(1).sum(1)


def _ink_thresholds() -> Tensor:
    """Per class, the midpoint between the mean ink of thin and of bold training digits: (10,)."""
    x, y = digits.load_digits("train")
    thin, bold = ink(x), ink(embolden(x))
    return torch.stack([(thin[y == d].mean() + bold[y == d].mean()) / 2 for d in range(10)])


@torch.no_grad()
def generate(model, digit: Tensor, style: Tensor, *, n_steps: int = 20, seed: int = 0) -> Tensor:
    """Samples (n, 1, 8, 8) for prompts (digit, style), Euler on a uniform grid from seeded noise."""
    z = torch.randn(digit.shape[0], 1, 8, 8, generator=torch.Generator().manual_seed(seed))
    device = next(model.parameters()).device
    return solvers.sample(model, z.to(device), schedules.uniform(check_int(n_steps, "n_steps")).to(device),
                          cond={"tokens": prompt_tokens(digit, style).to(device)}).cpu()


def composition(model, *, n_per: int = 50, n_steps: int = 20, seed: int = 0, held_out=HELD_OUT) -> dict:
    """Digit and style accuracy per (digit, style) prompt, and their means over the seen and the held-out ones.

    Returns {"digit": (10, 2) accuracy, "style": (10, 2) accuracy, "samples" (10, 2, n_per, 1, 8, 8), "seen_digit",
    "seen_style", "held_out_digit", "held_out_style"}; the ceiling of "digit" is the classifier's accuracy on real
    test digits of each (digit, style), "real_digit" (10, 2), and on all real bold ones, "real_bold_digit".
    """
    n_per = check_int(n_per, "n_per")
    digit = torch.arange(10).repeat_interleave(2 * n_per)
    style = torch.arange(2).repeat_interleave(n_per).repeat(10)
    x = generate(model, digit, style, n_steps=n_steps, seed=seed)
    read_digit = image_metrics.predict_digits(x)
    read_style = (ink(x) > _ink_thresholds()[digit]).long()
    acc_d = (read_digit == digit).double().reshape(10, 2, n_per).mean(2)
    acc_s = (read_style == style).double().reshape(10, 2, n_per).mean(2)
    held = torch.zeros(10, 2, dtype=torch.bool)
    for d, s in held_out:
        held[d, s] = True
    xb, yb = digits.load_digits("test")
    real = torch.stack([image_metrics.predict_digits(xb) == yb, image_metrics.predict_digits(embolden(xb)) == yb], 1)
    real_digit = torch.stack([real[yb == d].double().mean(0) for d in range(10)])  # (10, 2): the ceiling per prompt
    return {"digit": acc_d, "style": acc_s, "samples": x.reshape(10, 2, n_per, 1, 8, 8), "real_digit": real_digit,
            "seen_digit": acc_d[~held].mean().item(), "seen_style": acc_s[~held].mean().item(),
            "held_out_digit": acc_d[held].mean().item(), "held_out_style": acc_s[held].mean().item(),
            "real_bold_digit": image_metrics.class_accuracy(embolden(xb), yb)}
