"""Guidance (notebook 7's package pieces) against the exact oracles of a labelled mixture: at s = 1 classifier
guidance with the exact noisy classifier and CFG both give the exact class-conditional field (Bayes), the class
posteriors are sums of component posteriors, batched CFG equals two calls, and the interval and autoguidance
wrappers switch where they say."""
import pytest
import torch

from cs280diff import conventions
from cs280diff.flows import guidance, mixtures
from cs280diff.nets.registry import load_pretrained

# 5 components in 2 classes, unequal widths and weights, in 3D: every term of the formulas matters
MIX = mixtures.GaussianMixture([[-2.0, 0.5, 0.0], [1.5, -1.0, 0.5], [0.0, 2.0, -1.0], [2.0, 2.0, 2.0], [-1.0, -2.0, 1.0]],
                               [0.3, 0.6, 0.4, 0.2, 0.8], [0.1, 0.3, 0.2, 0.25, 0.15])
LM = guidance.LabelledMixture(MIX, classes=[0, 1, 0, 1, 1])


def _xty(n=64, seed=0):
    g = torch.Generator().manual_seed(seed)
    x = 2 * torch.randn(n, 3, generator=g, dtype=torch.float64)
    t = 0.05 + 0.9 * torch.rand(n, generator=g, dtype=torch.float64)
    y = torch.randint(0, 2, (n,), generator=g)
    return x, t, y


def test_the_class_field_is_the_sub_mixtures_exact_field():
    """Class c's field equals the exact field of the mixture of c's components, weights renormalised."""
    x, t, _ = _xty()
    for c, idx in ((0, [0, 2]), (1, [1, 3, 4])):
        sub = mixtures.GaussianMixture(MIX.means[idx], MIX.stds[idx], MIX.weights[idx])
        torch.testing.assert_close(LM(x, t, y=torch.full((64,), c)), sub(x, t), rtol=1e-12, atol=1e-12)
    torch.testing.assert_close(LM(x, t), MIX(x, t), rtol=0, atol=0)


def test_class_posteriors_sum_the_component_posteriors():
    x, t, y = _xty()
    p = LM.class_posteriors(x, t)
    w = MIX.posteriors(x, t)
    torch.testing.assert_close(p[:, 0], w[:, [0, 2]].sum(1), rtol=1e-12, atol=1e-12)
    torch.testing.assert_close(p.sum(1), torch.ones(64, dtype=torch.float64), rtol=1e-12, atol=1e-12)
    torch.testing.assert_close(LM.log_class_posterior(x, t, y), p.gather(1, y[:, None])[:, 0].log(), rtol=1e-10,
                               atol=1e-12)


@pytest.mark.parametrize("t_kind", ["per-sample", "float"])
def test_exact_classifier_guidance_at_s1_is_the_conditional_field(t_kind):
    """v(x, t) + ((1 - t) / t) ∇ log p(c | x_t) = v(x, t | c) to 1e-10 (Bayes), one t per sample or one for all."""
    x, t, y = _xty()
    t = t if t_kind == "per-sample" else 0.37
    guided = guidance.classifier_guided_field(LM, LM.log_class_posterior, 1.0)
    torch.testing.assert_close(guided(x, t, y=y), LM(x, t, y=y), rtol=1e-10, atol=1e-10)


def test_guidance_scales_the_step_from_unconditional_to_conditional():
    """At s = 0 both guidances give the unconditional field; CFG at s = 1 the conditional one; at s = 3 the
    classifier-guided and the CFG field agree for the exact oracles (both add 3x the same Bayes difference)."""
    x, t, y = _xty()
    for s, want in ((0.0, LM(x, t)), (1.0, LM(x, t, y=y))):
        torch.testing.assert_close(guidance.cfg_field(LM, s)(x, t, y=y), want, rtol=1e-10, atol=1e-10)
    torch.testing.assert_close(guidance.classifier_guided_field(LM, LM.log_class_posterior, 0.0)(x, t, y=y), LM(x, t))
    cg = guidance.classifier_guided_field(LM, LM.log_class_posterior, 3.0)(x, t, y=y)
    torch.testing.assert_close(cg, guidance.cfg_field(LM, 3.0)(x, t, y=y), rtol=1e-9, atol=1e-9)


def test_the_score_to_velocity_factor():
    """Δv = ((1 - t) / t) Δscore, the change of velocity_from_score; refused at t = 0."""
    x = torch.randn(4, 2, dtype=torch.float64)
    d = torch.randn(4, 2, dtype=torch.float64)
    t = 0.3
    dv = conventions.velocity_from_score(x, t, d) - conventions.velocity_from_score(x, t, torch.zeros_like(d))
    torch.testing.assert_close(conventions.velocity_change_from_score_change(t, d), dv, rtol=1e-12, atol=1e-12)
    with pytest.raises(ValueError, match="t = 0"):
        conventions.velocity_change_from_score_change(0.0, d)


def test_batched_cfg_equals_two_calls_on_a_network():
    """ring_mlp (null class 8): one forward pass on the doubled batch gives the two-call CFG field."""
    net = load_pretrained("ring_mlp")
    x = torch.randn(32, 2, generator=torch.Generator().manual_seed(0))
    y = torch.arange(32) % 8
    t = torch.rand(32, generator=torch.Generator().manual_seed(1))
    for tt in (t, 0.4):
        one = guidance.cfg_field(net, 2.5)(x, tt, y=y)
        two = guidance.cfg_field(net, 2.5, batched=False)(x, tt, y=y)
        torch.testing.assert_close(one, two, rtol=1e-5, atol=1e-6)


def test_x1_classifier_guidance_through_the_model_or_not():
    """With an exact x̂1 classifier, the two variants differ by the Jacobian of x̂1: equal when the field is
    constant in x, different for the mixture; s = 0 is the unconditional field."""
    centre = torch.tensor([[1.0, -1.0, 0.5], [-1.0, 1.0, 0.0]], dtype=torch.float64)

    def log_prob_clean(x1, c):  # a smooth two-class classifier on clean samples
        logits = -((x1[:, None, :] - centre[None]) ** 2).sum(-1)
        return torch.log_softmax(logits, 1).gather(1, c[:, None])[:, 0]

    x, t, y = _xty()
    const = lambda x, t, y=None: torch.ones_like(x)  # noqa: E731
    a = guidance.x1_classifier_guided_field(const, log_prob_clean, 2.0)(x, t, y=y)
    b = guidance.x1_classifier_guided_field(const, log_prob_clean, 2.0, through_model=False)(x, t, y=y)
    torch.testing.assert_close(a, b, rtol=1e-12, atol=1e-12)
    a = guidance.x1_classifier_guided_field(LM, log_prob_clean, 2.0)(x, t, y=y)
    b = guidance.x1_classifier_guided_field(LM, log_prob_clean, 2.0, through_model=False)(x, t, y=y)
    assert (a - b).abs().max() > 1e-3
    torch.testing.assert_close(guidance.x1_classifier_guided_field(LM, log_prob_clean, 0.0)(x, t, y=y), LM(x, t))


def test_interval_and_autoguidance_switch_where_they_say():
    """The interval field is the guided field inside [0.3, 0.7] and the plain one outside, per sample; autoguidance
    is the bad model at s = 0, the good one at s = 1, and extrapolates linearly beyond."""
    x, t, y = _xty()
    guided, plain = guidance.cfg_field(LM, 3.0), LM
    out = guidance.interval_field(guided, plain, 0.3, 0.7)(x, t, y=y)
    inside = (t >= 0.3) & (t <= 0.7)
    assert inside.any() and (~inside).any()
    torch.testing.assert_close(out[inside], guided(x, t, y=y)[inside])
    torch.testing.assert_close(out[~inside], plain(x, t, y=y)[~inside])
    torch.testing.assert_close(guidance.interval_field(guided, plain, 0.3, 0.7)(x, 0.8, y=y), plain(x, 0.8, y=y))
    bad = MIX.tempered(2.0)
    good = lambda x, t, y=None: MIX(x, t)  # noqa: E731
    badf = lambda x, t, y=None: bad(x, t)  # noqa: E731
    for s, want in ((0.0, bad(x, t)), (1.0, MIX(x, t)), (2.0, 2 * MIX(x, t) - bad(x, t))):
        torch.testing.assert_close(guidance.autoguided_field(good, badf, s)(x, t, y=y), want, rtol=1e-10, atol=1e-10)
    with pytest.raises(ValueError, match="t_lo <= t_hi"):
        guidance.interval_field(guided, plain, 0.7, 0.3)


def test_class_log_density_and_the_tilted_density():
    """log p(x | c) is the sub-mixture's log density; the tilted density is p(x | c) at s = 1 and p(x) at s = 0, and
    at s = 3 its log is 3 log p(x | c) - 2 log p(x) exactly."""
    x, _, _ = _xty(32, seed=3)
    sub = mixtures.GaussianMixture(MIX.means[[1, 3, 4]], MIX.stds[[1, 3, 4]], MIX.weights[[1, 3, 4]])
    assert torch.allclose(LM.class_log_prob(x, 1), sub.log_prob(x), atol=1e-12)
    assert torch.allclose(guidance.tilted_log_density(LM, x, 1, 1.0), sub.log_prob(x), atol=1e-12)
    assert torch.allclose(guidance.tilted_log_density(LM, x, 1, 0.0), MIX.log_prob(x), atol=1e-12)
    assert torch.allclose(guidance.tilted_log_density(LM, x, 1, 3.0), 3 * sub.log_prob(x) - 2 * MIX.log_prob(x),
                          atol=1e-10)


def test_grid_total_variation_tells_exact_samples_from_others():
    """Exact samples of a 2D mixture sit at the histogram floor; samples of another law are far; mass off the grid
    counts as mismatch."""
    from cs280diff.flows import metrics
    ring = mixtures.ring_2d()
    x = ring.sample(20_000, torch.Generator().manual_seed(0), dtype=torch.float64)
    tv, p = metrics.grid_total_variation(x, ring.log_prob, lim=3.0, n=40)
    assert p.shape == (40, 40) and abs(p.sum().item() - 1) < 1e-12
    assert tv < 0.08
    assert metrics.grid_total_variation(0.5 * x, ring.log_prob, lim=3.0, n=40)[0] > 0.9
    assert metrics.grid_total_variation(x + 10.0, ring.log_prob, lim=3.0, n=40)[0] == pytest.approx(1.0)
    with pytest.raises(ValueError, match="features"):
        metrics.grid_total_variation(torch.zeros(5, 3), ring.log_prob)


def test_dropout_step_drops_labels_not_data():
    """dropout_step: the model sees the null class for a p_uncond share of the batch and the data unchanged; the
    step equals drop_labels + fm_loss + an optimiser step with the same draws."""
    from cs280diff.conventions import path
    from cs280diff.nets import training
    from cs280diff.nets.mlp import MLPVelocity

    class Spy(MLPVelocity):
        def forward(self, x, t, y=None):
            self.seen = (x.detach().clone(), torch.as_tensor(t).detach().clone(), y.clone())
            return super().forward(x, t, y=y)

    torch.manual_seed(0)
    net = Spy(2, 16, 2, n_classes=3).double()
    x1 = torch.randn(4000, 2, dtype=torch.float64, generator=torch.Generator().manual_seed(1))
    y = torch.randint(0, 3, (4000,), generator=torch.Generator().manual_seed(2))
    g = torch.Generator().manual_seed(3)
    loss = training.dropout_step(net, torch.optim.SGD(net.parameters(), lr=0.1), x1, y, 0.3, g)
    x_seen, t_seen, y_seen = net.seen
    g2 = torch.Generator().manual_seed(3)
    drop = torch.rand(4000, generator=g2) < 0.3
    t = torch.rand(4000, generator=g2, dtype=torch.float64)
    x0 = torch.randn(x1.shape, generator=g2, dtype=torch.float64)
    assert torch.equal(y_seen, torch.where(drop, 3, y)) and abs(drop.double().mean().item() - 0.3) < 0.03
    assert torch.allclose(t_seen, t) and torch.allclose(x_seen, path(x0, x1, t))  # the data are not dropped
    assert isinstance(loss, float) and loss > 0
    with pytest.raises(ValueError, match="p_uncond"):
        training.dropout_step(net, torch.optim.SGD(net.parameters(), lr=0.1), x1, y, 1.5, g)
