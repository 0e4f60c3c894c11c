"""Guidance: fields that push samples toward a condition (notebook 5 uses CFG while inverting; notebook 7 teaches it).

  LabelledMixture       a Gaussian mixture whose components carry classes: the exact class-conditional field and the
                        exact noisy classifier p(c | x_t) (the sum of that class's component posteriors)
  cfg_field             classifier-free guidance, the lecture's form v_s = v(x, t; ∅) + s (v(x, t; c) - v(x, t; ∅)),
                        both branches in one batched call when the field has a null class
  classifier_guided_field  v(x, t; ∅) + s ((1 - t) / t) ∇ log p(c | x_t): a noisy classifier's gradient as velocity
  x1_classifier_guided_field  a clean classifier on x̂1(x_t), through the model's Jacobian or not
  interval_field        guidance only for t in an interval (Kynkäänniemi et al. 2024)
  autoguided_field      guide a model by a weaker version of itself (Karras et al. 2024)
  two_class_toy         notebook 7's labelled 2D mixture: two classes of two components each, overlapping a little
  tilted_log_density    s log p(x | c) + (1 - s) log p(x), the density CFG is often said to sample (it does not)

Conventions (docs/conventions.md): s = 0 unconditional, s = 1 conditional, s > 1 extrapolates past the condition
(the other common form, (1 + w) v_c - w v_∅, is s = 1 + w).  A field is ``field(x, t, **cond) -> v``; the
unconditional velocity is the field called with the condition set to ``None`` (the networks' null class).
"""
from __future__ import annotations

from typing import Callable

import torch

from cs280diff.conventions import expand_t, velocity_change_from_score_change, x1_from_velocity
from cs280diff.flows.mixtures import GaussianMixture
from cs280diff.flows.solvers import Field
from cs280diff.validate import check_number, check_t

Tensor = torch.Tensor

__all__ = ["LabelledMixture", "cfg_field", "classifier_guided_field", "x1_classifier_guided_field",
           "interval_field", "autoguided_field", "tilted_log_density",
           "two_class_toy"]


class LabelledMixture:
    """A mixture whose component k belongs to class ``classes[k]`` (default: each component its own class).

    ``lm(x, t, y=None)``: the exact field, unconditional for y = None, else of class y[i] for sample i (the mixture
    restricted to that class's components, weights renormalised).  ``class_posteriors(x, t)``: p(c | x_t), (N, C).
    """

    def __init__(self, mixture: GaussianMixture, classes=None):
        k = mixture.n_components
        self.mixture = mixture
        self.classes = torch.arange(k) if classes is None else torch.as_tensor(classes, dtype=torch.long)
        if self.classes.shape != (k,) or self.classes.min() < 0:
            raise ValueError(f"classes must be {k} non-negative class indices, one per component")
        self.n_classes = int(self.classes.max()) + 1

    def _log_mask(self, y: Tensor, like: Tensor) -> Tensor:
        """(N, K): 0 where component k belongs to y[i], -inf elsewhere."""
        y = torch.as_tensor(y, device=like.device).reshape(-1).expand(like.shape[0])
        keep = self.classes.to(like.device)[None, :] == y[:, None]
        return torch.where(keep, 0.0, float("-inf")).to(like.dtype)

    def velocity(self, x: Tensor, t, y=None) -> Tensor:
        if y is None:
            return self.mixture(x, t)  # the unconditional (marginal) field
        return self.mixture._velocity(x, t, 1.0, log_mask=self._log_mask(y, x))  # class y's sub-mixture

    __call__ = velocity

    def class_posteriors(self, x: Tensor, t) -> Tensor:
        """p(c | x_t = x) = Σ_{k in c} w_k(x, t): (N, C), rows sum to 1."""
        w = self.mixture.posteriors(x, t)
        out = torch.zeros(w.shape[0], self.n_classes, dtype=w.dtype, device=w.device)
        return out.index_add_(1, self.classes.to(w.device), w)

    def log_class_posterior(self, x: Tensor, t, y) -> Tensor:
        """log p(y_i | x_t = x_i): (N,), differentiable in x (the exact noisy classifier)."""
        logits = self.mixture._terms(x, t)[-1]
        lse = torch.logsumexp(logits, dim=1)
        return torch.logsumexp(logits + self._log_mask(y, x), dim=1) - lse

    def class_log_prob(self, x: Tensor, y, t=1.0) -> Tensor:
        """log p_t(x | y_i) for each sample: (N,), the density of class y's sub-mixture (t = 1: the data)."""
        logits = self.mixture._terms(x, t)[-1]
        log_w = torch.log(self.mixture.params(logits)[2])  # (K,) log mixture weights
        mask = self._log_mask(y, x)
        return torch.logsumexp(logits + mask, dim=1) - torch.logsumexp(log_w[None] + mask, dim=1)


def cfg_field(field: Field, scale: float, *, key: str = "y", batched: bool = True) -> Field:
    """The guided field ``guided(x, t, **cond)``: v(x, t; ∅) + s (v(x, t; c) - v(x, t; ∅)) with c = cond[key].

    2 NFE per call.  With ``batched`` and a field that has a ``null_class`` (the shipped networks), both branches go
    through one call on the doubled batch [x, x] with labels [c, null]; otherwise two calls, the unconditional one
    with ``key=None``.  Scale s = 1 returns the conditional field exactly (1 NFE).
    """
    s = check_number(scale, "scale")
    null = getattr(field, "null_class", None)

    def guided(x, t, **cond):
        if s == 1:
            return field(x, t, **cond)  # the conditional field itself
        if batched and null is not None and cond.get(key) is not None:
            y = torch.as_tensor(cond[key], device=x.device).reshape(-1).expand(x.shape[0])
            tt = check_t(t, x)
            t2 = torch.cat([tt.expand(x.shape[0])] * 2) if tt.ndim else tt
            both = field(torch.cat([x, x]), t2, **{**cond, key: torch.cat([y, torch.full_like(y, null)])})
            v_c, v_u = both[: x.shape[0]], both[x.shape[0]:]  # one forward pass for both branches
        else:
            v_c = field(x, t, **cond)  # conditional velocity
            v_u = field(x, t, **{**cond, key: None})  # unconditional velocity (null condition)
        return v_u + s * (v_c - v_u)  # the lecture's form

    guided.scale = s
    return guided


def _grad_x(log_prob: Callable, x: Tensor) -> Tensor:
    """∇_x Σ_i log_prob(x)_i for a batch (each sample's term depends only on its own x_i)."""
    with torch.enable_grad():
        xg = x.detach().requires_grad_(True)
        return torch.autograd.grad(log_prob(xg).sum(), xg)[0]


def classifier_guided_field(field: Field, log_prob: Callable, scale: float, *, key: str = "y") -> Field:
    """v(x, t; ∅) + s ((1 - t) / t) ∇_x log p(c | x_t, t): classifier guidance through the score conversion.

    log_prob(x, t, c) -> (N,) log p(c | x_t = x) (a noisy classifier's log-softmax at c, or
    ``LabelledMixture.log_class_posterior``).  Adding s ∇ log p(c | x_t) to the score adds ((1 - t) / t) times it to
    the velocity (``conventions.velocity_change_from_score_change``).  With the exact classifier, s = 1 gives the
    exact class-conditional field (Bayes: ∇ log p_t(x | c) = ∇ log p_t(x) + ∇ log p(c | x_t)).  Needs t > 0.
    """
    s = check_number(scale, "scale")

    def guided(x, t, **cond):
        c = cond.pop(key)
        v_u = field(x, t, **{**cond, key: None})  # the unconditional velocity
        grad = _grad_x(lambda xg: log_prob(xg, t, c), x)  # ∇_x log p(c | x_t)
        tt = expand_t(check_t(t, x), x)
        return v_u + s * velocity_change_from_score_change(tt, grad)  # the score's change, as a velocity

    guided.scale = s
    return guided


def x1_classifier_guided_field(field: Field, log_prob_clean: Callable, scale: float, *, through_model: bool = True,
                               key: str = "y") -> Field:
    """Guidance by a *clean* classifier applied to x̂1(x_t) = x_t + (1 - t) v(x_t, t; ∅).

    log_prob_clean(x1, c) -> (N,) log p(c | x1).  through_model=True differentiates x̂1 with respect to x_t through
    the field (the correct chain rule); False treats ∂x̂1/∂x_t as the identity, the cheap shortcut whose gradients
    are adversarial for the classifier.  Returns v(x, t; ∅) + s ((1 - t) / t) ∇ log p(c | x̂1).
    """
    s = check_number(scale, "scale")

    def guided(x, t, **cond):
        c = cond.pop(key)
        v_u = field(x, t, **{**cond, key: None})

        def log_prob(xg):
            v = field(xg, t, **{**cond, key: None}) if through_model else v_u.detach()
            return log_prob_clean(x1_from_velocity(xg, t, v), c)

        grad = _grad_x(log_prob, x)
        tt = expand_t(check_t(t, x), x)
        return v_u + s * velocity_change_from_score_change(tt, grad)

    guided.scale = s
    return guided


def interval_field(guided: Field, plain: Field, t_lo: float, t_hi: float) -> Field:
    """``guided`` for t in [t_lo, t_hi], ``plain`` elsewhere (per sample when t is a (batch,) tensor).

    Kynkäänniemi et al. (2024): guidance at high noise (small t here) collapses the samples' layout, at low noise it
    barely matters; guiding only a middle interval keeps most of the diversity.
    """
    lo, hi = check_number(t_lo, "t_lo"), check_number(t_hi, "t_hi")
    if not lo <= hi:
        raise ValueError(f"the guidance interval needs t_lo <= t_hi, got [{lo}, {hi}]")

    def field(x, t, **cond):
        tt = check_t(t, x)
        inside = (tt >= lo) & (tt <= hi)
        if tt.ndim == 0:
            return guided(x, t, **cond) if bool(inside) else plain(x, t, **cond)
        return torch.where(expand_t(inside, x), guided(x, t, **cond), plain(x, t, **cond))

    return field


def autoguided_field(good: Field, bad: Field, scale: float) -> Field:
    """v_bad + s (v_good - v_bad), both conditional (Karras et al. 2024): extrapolate away from a weaker model."""
    s = check_number(scale, "scale")

    def field(x, t, **cond):
        v_bad = bad(x, t, **cond)
        return v_bad + s * (good(x, t, **cond) - v_bad)

    field.scale = s
    return field


def tilted_log_density(labelled: LabelledMixture, x: Tensor, y, scale: float) -> Tensor:
    """s log p(x | y) + (1 - s) log p(x) at t = 1, unnormalised: (N,).

    The "sharpened" density p(x | y)^s p(x)^(1 - s) ∝ p(x | y) p(y | x)^(s - 1).  CFG's field at scale s is the
    same combination of the *noised* scores at every t, which is not the field of this density's noised path, so
    CFG samples do not follow it for s ≠ 0, 1 (Chidambaram et al. 2024); notebook 7 measures the gap on a grid.
    """
    s = check_number(scale, "scale")
    return s * labelled.class_log_prob(x, y) + (1 - s) * labelled.mixture.log_prob(x)


def two_class_toy(width: float = 1.0) -> LabelledMixture:
    """Notebook 7's toy: class 0 = components at (-1.2, 0.4) and (-0.2, 1.5), class 1 = (1.0, -0.2) and (0.1, -1.3).

    Stds (0.45, 0.25, 0.45, 0.2) times ``width``, weights (0.3, 0.2, 0.3, 0.2): unequal in each class, and the two
    wide components touch, so guidance has something to push apart.  width > 1 gives a "blurry model" of the same
    data (autoguidance's good and bad models on the toy).
    """
    w = check_number(width, "width")
    if w <= 0:
        raise ValueError(f"width must be > 0, got {width}")
    stds = [w * s for s in (0.45, 0.25, 0.45, 0.2)]
    mixture = GaussianMixture([[-1.2, 0.4], [-0.2, 1.5], [1.0, -0.2], [0.1, -1.3]], stds, [0.3, 0.2, 0.3, 0.2])
    return LabelledMixture(mixture, [0, 0, 1, 1])
