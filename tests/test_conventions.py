"""Property tests of the path and every conversion (docs/conventions.md)."""
import pytest
import torch

from cs280diff import conventions as C
from cs280diff import validate

SHAPES = [(7, 1), (5, 3), (4, 1, 3, 3)]


def _batch(shape, gen):
    return (torch.randn(shape, generator=gen, dtype=torch.float64),
            torch.randn(shape, generator=gen, dtype=torch.float64))


@pytest.mark.parametrize("shape", SHAPES)
def test_path_endpoints_and_velocity(shape, gen):
    x0, x1 = _batch(shape, gen)
    assert torch.equal(C.path(x0, x1, 0.0), x0)  # t = 0 is noise
    assert torch.equal(C.path(x0, x1, 1.0), x1)  # t = 1 is data
    u = C.conditional_velocity(x0, x1)
    h = 1e-6
    fd = (C.path(x0, x1, 0.3 + h) - C.path(x0, x1, 0.3 - h)) / (2 * h)
    torch.testing.assert_close(fd, u, atol=1e-8, rtol=1e-6)


@pytest.mark.parametrize("shape", SHAPES)
def test_path_broadcasts_batched_t(shape, gen):
    x0, x1 = _batch(shape, gen)
    t = torch.rand(shape[0], generator=gen, dtype=torch.float64)
    xt = C.path(x0, x1, t)
    for i in range(shape[0]):
        torch.testing.assert_close(xt[i], C.path(x0[i:i + 1], x1[i:i + 1], float(t[i]))[0])


@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("t", [0.0, 0.2, 0.7, 1.0])
def test_predictions_recover_endpoints_of_conditional_path(shape, t, gen):
    """With v = u = x1 - x0 at x_t, x̂1 = x1 and x̂0 = x0 exactly, and x_t = (1 - t) x̂0 + t x̂1 for any v."""
    x0, x1 = _batch(shape, gen)
    xt, u = C.path(x0, x1, t), C.conditional_velocity(x0, x1)
    torch.testing.assert_close(C.x1_from_velocity(xt, t, u), x1)
    torch.testing.assert_close(C.x0_from_velocity(xt, t, u), x0)
    v = torch.randn(shape, generator=gen, dtype=torch.float64)
    torch.testing.assert_close((1 - t) * C.x0_from_velocity(xt, t, v) + t * C.x1_from_velocity(xt, t, v), xt)


@pytest.mark.parametrize("t", [0.1, 0.5, 0.9])
def test_round_trips(t, gen):
    x, v = _batch((6, 2), gen)
    torch.testing.assert_close(C.velocity_from_x1(x, t, C.x1_from_velocity(x, t, v)), v)
    torch.testing.assert_close(C.velocity_from_x0(x, t, C.x0_from_velocity(x, t, v)), v)
    torch.testing.assert_close(C.velocity_from_score(x, t, C.score_from_velocity(x, t, v)), v)
    s = C.sigma_from_t(t)
    torch.testing.assert_close(C.t_from_sigma(s), torch.tensor(t))
    torch.testing.assert_close(C.x_from_edm_y(C.edm_y_from_x(x, t), s.double()), x)


def test_score_equals_minus_x0_over_one_minus_t(gen):
    x, v = _batch((6, 2), gen)
    t = torch.tensor([0.0, 0.1, 0.3, 0.5, 0.8, 0.99], dtype=torch.float64)
    expected = -C.x0_from_velocity(x, t, v) / (1 - t)[:, None]
    torch.testing.assert_close(C.score_from_velocity(x, t, v), expected)


def test_score_of_gaussian_noise_at_t0(gen):
    """At t = 0, p_0 = N(0, I): score = -x, and any field gives x̂0 = x."""
    x, v = _batch((5, 3), gen)
    torch.testing.assert_close(C.score_from_velocity(x, 0.0, v), -x)


def test_denoiser_is_x1_prediction(gen):
    x, _ = _batch((5, 2), gen)
    field = lambda x, t: 2.0 * x + 1.0  # noqa: E731  any field
    D = C.denoiser_from_velocity(field)
    t = 0.4
    y, sigma = C.edm_y_from_x(x, t), C.sigma_from_t(t).double()
    torch.testing.assert_close(D(y, sigma), C.x1_from_velocity(x, t, field(x, t)))


@pytest.mark.parametrize("bad_t, match", [(-0.2, r"\[0, 1\]"), (1.5, r"\[0, 1\]"), (float("nan"), "NaN"),
                                           ("0.5", "float or a torch.Tensor"), (1.11, "tighten"), (-0.11, "tighten"),
                                           (500.0, r"data\); got 500$")])
def test_bad_t_is_refused(bad_t, match, gen):
    """NaN, a time more than validate.T_TOL outside [0, 1] (with a hint about adaptive solvers when it is near),
    and non-numbers are refused, as floats and as tensors."""
    x0, x1 = _batch((3, 2), gen)
    with pytest.raises((ValueError, TypeError), match=match):
        C.path(x0, x1, bad_t)
    if not isinstance(bad_t, str):
        with pytest.raises(ValueError, match=match):
            C.path(x0, x1, torch.full((3,), bad_t, dtype=torch.float64))


@pytest.mark.parametrize("t, clamped", [(1.0 + validate.T_TOL, 1.0), (1.04, 1.0), (-0.03, 0.0), (-validate.T_TOL, 0.0)])
def test_t_slightly_outside_is_clamped(t, clamped, gen):
    """An adaptive solver's overshoot (within T_TOL) is clamped: the path and the conversions see t = 0 or 1."""
    x0, x1 = _batch((3, 2), gen)
    torch.testing.assert_close(C.path(x0, x1, t), C.path(x0, x1, clamped), rtol=0, atol=0)
    tt = torch.tensor([t, 0.5, t], dtype=torch.float64)
    want = torch.tensor([clamped, 0.5, clamped], dtype=torch.float64)
    torch.testing.assert_close(C.path(x0, x1, tt), C.path(x0, x1, want), rtol=0, atol=0)
    v = x1 - x0
    torch.testing.assert_close(C.x0_from_velocity(x0, t, v), C.x0_from_velocity(x0, clamped, v), rtol=0, atol=0)


def test_bad_shapes_and_values_are_refused(gen):
    x0, x1 = _batch((3, 2), gen)
    with pytest.raises(ValueError, match="same shape"):
        C.path(x0, x1[:2], 0.5)
    with pytest.raises(ValueError, match="batch size"):
        C.path(x0, x1, torch.rand(4, dtype=torch.float64))
    with pytest.raises(ValueError, match="shape"):
        C.path(x0, x1, torch.rand(3, 1, dtype=torch.float64))
    with pytest.raises(TypeError, match="floating-point"):
        C.path(x0.long(), x1.long(), 0.5)
    with pytest.raises(TypeError, match="torch.Tensor"):
        C.path(x0.numpy(), x1, 0.5)
    x0[0, 0] = float("nan")
    with pytest.raises(ValueError, match="NaN"):
        C.path(x0, x1, 0.5)


def test_singular_conversions_are_refused(gen):
    x, v = _batch((3, 2), gen)
    with pytest.raises(ValueError, match="t = 1"):
        C.score_from_velocity(x, 1.0, v)
    with pytest.raises(ValueError, match="t = 1"):
        C.velocity_from_x1(x, 1.0, v)
    with pytest.raises(ValueError, match="t = 0"):
        C.velocity_from_x0(x, 0.0, v)
    with pytest.raises(ValueError, match="t = 0"):
        C.sigma_from_t(0.0)
