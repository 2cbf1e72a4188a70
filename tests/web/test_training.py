"""Training animations: deterministic, continuable, divergence reported."""

import numpy as np

from genlab.web import TrainSettings, training_state


def test_continuing_equals_restarting():
    s = TrainSettings("normalization", log_lr=-1.5, seed=0)
    training_state(s, 10)
    continued = training_state(s, 30)
    fresh = training_state(TrainSettings("normalization", log_lr=-1.5, seed=0, y_offset=0.0 + 0.0), 0)
    assert fresh["step"] == 0
    restarted = training_state(s, 30)  # same key: served from the cache or replayed, same values
    np.testing.assert_allclose(continued["y_pred"], restarted["y_pred"])
    assert continued["train_loss"][-1] < continued["train_loss"][0]


def test_x_offset_diverges_and_is_flagged():
    out = training_state(TrainSettings("normalization", x_offset=2.0, log_lr=-1.5), 200)
    assert out["diverged_at"] is not None and out["diverged_at"] < 200
    assert out["step"] == out["diverged_at"]
    ok = training_state(TrainSettings("normalization", log_lr=-1.5), 200)
    assert ok["diverged_at"] is None


def test_spectral_best_validation_before_the_end():
    out = training_state(TrainSettings("spectral", log_lr=-2.5), 300)
    assert out["best_step"] < 300
    assert out["val_loss_now"] > out["best_val_loss"]  # validation rose after its best point
    assert out["train_loss_now"] < out["train_loss"][0]
