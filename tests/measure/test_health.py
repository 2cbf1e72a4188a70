"""Health checks: a healthy lecture MLP passes, known-bad setups fail the right check, and
nothing of the caller's state (model, global RNG) changes."""

import numpy as np
import pytest
import torch
from measure_helpers import assert_unchanged, snapshot
from torch import nn

from genlab.measure import health_check, layer_stats, lr_range_test
from genlab.models import MLP, lecture_mlp


@pytest.fixture(scope="module")
def data():
    from genlab.data import make_mnist1d

    return make_mnist1d(2000, seed=0)


def _by_name(report):
    return {c.name: c for c in report.checks}


def test_healthy_model_passes_and_is_untouched(data):
    model = lecture_mlp(seed=0)
    model.train()
    snap = snapshot(model)
    rng = torch.random.get_rng_state()
    r = health_check(model, data)
    assert_unchanged(model, snap)
    assert torch.equal(rng, torch.random.get_rng_state())
    assert r.passed, r.table()
    lo, hi = r.lr_range.suggested
    assert lo < hi < r.lr_range.lr_at_min
    assert "PASS  loss_at_init" in r.table()


def test_large_init_fails_loss_at_init(data):
    r = health_check(MLP(40, 10, width=100, init_scale=5.0, seed=0), data, lr_range=False, baseline_steps=50)
    c = _by_name(r)["loss_at_init"]
    assert not c.passed and "scale the last layer down" in c.detail


def test_vanishing_gradients_fail_gradient_flow(data):
    model = MLP(40, 10, width=100, depth=6, activation="sigmoid", init="xavier", init_scale=0.3, seed=0)
    stats = layer_stats(model, data)
    lin = [s for s in stats if s.kind == "linear"]
    assert lin[0].grad_std < 1e-3 * lin[-1].grad_std  # the signal dies toward the input
    r = health_check(model, data, lr_range=False, baseline_steps=20, overfit_steps=50)
    assert not _by_name(r)["gradient_flow"].passed


class _BatchMixer(nn.Module):
    """A bug seen in real code: normalizing over the batch dimension."""

    def __init__(self):
        super().__init__()
        self.net = MLP(40, 10, width=32, seed=0)

    def forward(self, x):
        return self.net(x - x.mean(0, keepdim=True))


def test_batch_mixing_fails_batch_independence(data):
    r = health_check(_BatchMixer(), data, lr_range=False, baseline_steps=20, overfit_steps=20)
    assert not _by_name(r)["batch_independence"].passed


def test_suggested_learning_rate_trains(data):
    model = lecture_mlp(seed=1)
    r = lr_range_test(model, data, seed=0)
    assert np.all(np.diff(r.lrs) > 0) and r.n_steps >= len(r.losses) == len(r.smoothed)
    x = torch.as_tensor(data.x_train, dtype=torch.float32)
    y = torch.as_tensor(data.y_train)
    losses = {}
    for lr in (r.suggested[1], r.lr_at_min * 30):
        net = lecture_mlp(seed=1)
        opt = torch.optim.SGD(net.parameters(), lr=lr, momentum=0.9)
        g = torch.Generator().manual_seed(0)
        for _ in range(200):
            idx = torch.randint(0, len(x), (64,), generator=g)
            opt.zero_grad()
            nn.functional.cross_entropy(net(x[idx]), y[idx]).backward()
            opt.step()
        with torch.no_grad():
            losses[lr] = float(nn.functional.cross_entropy(net(x), y))
    good, bad = losses[r.suggested[1]], losses[r.lr_at_min * 30]
    assert good < 0.75 * np.log(10)  # learns
    assert not good > bad  # and beats a rate far past the minimum
