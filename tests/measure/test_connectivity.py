"""Bezier curves between two solutions: the ends are the solutions, the midpoint control is the
straight line (against genlab.measure.interpolate), training lowers the curve's loss, determinism,
the models untouched and the error texts."""

import copy
import functools

import pytest
import torch
import torch.nn.functional as F
from measure_helpers import assert_unchanged, small_problem, snapshot

from genlab._checks import ParameterError
from genlab.measure import bezier_curve, bezier_point, curve_losses, interpolate
from genlab.models import MLP


@functools.lru_cache(maxsize=2)
def _trained(n_steps: int):
    """Two MLPs from different inits trained (plain Adam loop) on the same small problem."""
    a, data = small_problem(seed=0, n=64, width=16)
    b, _ = small_problem(seed=1, n=64, width=16)
    x, y = data
    for model in (a, b):
        opt = torch.optim.Adam(model.parameters(), lr=1e-2)
        for _ in range(n_steps):
            opt.zero_grad()
            F.cross_entropy(model(x), y).backward()
            opt.step()
    return a, b, data


def two_solutions(n_steps: int = 300):
    """Fresh copies (tests may not share the models they check for changes)."""
    a, b, data = _trained(n_steps)
    return copy.deepcopy(a), copy.deepcopy(b), data


def flat(model):
    return torch.cat([p.detach().reshape(-1) for p in model.parameters()])


def ce(model, x, y):
    with torch.no_grad():
        return float(F.cross_entropy(model(x), y))


def test_ends_of_the_curve_are_the_two_solutions_exactly():
    a, b, (x, y) = two_solutions()
    wa, wb = flat(a), flat(b)
    control = torch.randn(wa.shape, generator=torch.Generator().manual_seed(3))
    assert torch.equal(bezier_point(wa, control, wb, 0.0), wa)
    assert torch.equal(bezier_point(wa, control, wb, 1.0), wb)
    c = curve_losses(a, b, (x, y), control=control, n_points=5)
    assert c.ts[0] == 0.0 and c.ts[-1] == 1.0
    assert c.losses[0] == pytest.approx(ce(a, x, y), rel=1e-6)
    assert c.losses[-1] == pytest.approx(ce(b, x, y), rel=1e-6)
    assert c.errors[0] == pytest.approx(float((a(x).argmax(1) != y).float().mean()))
    assert c.losses[2] > 5 * max(c.losses[0], c.losses[-1])  # a random control point: far off at t = 1/2


def test_midpoint_control_is_the_straight_line_of_interpolate():
    a, b, data = two_solutions()
    line = interpolate(a, b, data, n_points=11)  # an independent implementation of the line
    mid = (flat(a) + flat(b)) / 2
    for control in (None, mid):
        c = curve_losses(a, b, data, control=control, n_points=11)
        assert c.ts == pytest.approx(line.alphas)
        assert c.losses == pytest.approx(line.losses, rel=1e-5, abs=1e-6)
        assert c.errors == pytest.approx(line.errors)
        assert c.barrier == pytest.approx(line.barrier, rel=1e-5, abs=1e-6)
    assert line.barrier > 0.1  # two independent solutions: the line has a barrier


def test_barrier_is_the_rise_above_the_ends_linear_interpolation():
    a, b, data = two_solutions()
    c = curve_losses(a, b, data, n_points=9)
    chord = (1 - c.ts) * c.losses[0] + c.ts * c.losses[-1]
    assert c.barrier == pytest.approx(float((c.losses - chord).max()))
    echord = (1 - c.ts) * c.errors[0] + c.ts * c.errors[-1]
    assert c.error_barrier == pytest.approx(float((c.errors - echord).max()))


def test_training_the_control_point_removes_most_of_the_barrier_and_leaves_the_models():
    a, b, data = two_solutions()
    snaps = snapshot(a), snapshot(b)
    curve = bezier_curve(a, b, data, n_steps=300, lr=1e-2, batch_size=32, n_points=11, seed=0)
    assert_unchanged(a, snaps[0])
    assert_unchanged(b, snaps[1])
    assert curve.line.barrier > 0.1
    assert curve.train.barrier < 0.3 * curve.line.barrier
    assert curve.train.losses.mean() < curve.line.losses.mean()
    assert curve.train.losses[0] == curve.line.losses[0] and curve.train.losses[-1] == curve.line.losses[-1]
    assert curve.control_shift > 0 and curve.distance == pytest.approx(float((flat(b) - flat(a)).norm()))
    assert curve.history.shape == (300,)


def test_same_seed_same_curve():
    a, b, data = two_solutions()
    one, again, other = (bezier_curve(a, b, data, n_steps=20, batch_size=32, n_points=3, seed=s) for s in (0, 0, 1))
    assert torch.equal(again.control, one.control)
    assert not torch.equal(other.control, one.control)
    with torch.no_grad():  # a caller's no_grad block does not stop the curve from training
        inside = bezier_curve(a, b, data, n_steps=20, batch_size=32, n_points=3, seed=0)
    assert torch.equal(inside.control, one.control)


def test_zero_steps_leave_the_control_at_the_midpoint():
    a, b, data = two_solutions()
    curve = bezier_curve(a, b, data, n_steps=0, n_points=7)
    assert torch.allclose(curve.control, (flat(a) + flat(b)) / 2)
    assert curve.train.losses == pytest.approx(curve.line.losses)


def test_regression_has_no_error_and_bad_inputs_name_the_parameter():
    g = torch.Generator().manual_seed(0)
    x, y = torch.randn(20, 3, generator=g), torch.randn(20, generator=g)
    a, b = MLP(3, 1, width=4, depth=1, seed=0), MLP(3, 1, width=4, depth=1, seed=1)
    c = curve_losses(a, b, (x, y), n_points=3)
    assert c.errors is None and c.error_barrier is None
    with pytest.raises(ParameterError, match="control"):
        curve_losses(a, b, (x, y), control=torch.zeros(3))
    with pytest.raises(ParameterError, match="model_b"):
        curve_losses(a, MLP(3, 1, width=5, depth=1, seed=1), (x, y))
    with pytest.raises(ParameterError, match="n_points"):
        curve_losses(a, b, (x, y), n_points=1)
    with pytest.raises(ParameterError, match="lr"):
        bezier_curve(a, b, (x, y), lr=0.0)
