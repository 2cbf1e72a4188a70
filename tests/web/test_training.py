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


def test_y_offset_diverges_and_is_flagged():
    # The input-normalization experiment's setting: plain SGD at lr 0.1 diverges for a large target shift.
    out = training_state(TrainSettings("normalization", y_offset=10.0, log_lr=-1.0), 200)
    assert out["diverged_at"] is not None and out["diverged_at"] < 200
    assert out["step"] == out["diverged_at"]
    ok = training_state(TrainSettings("normalization", log_lr=-1.0), 200)
    assert ok["diverged_at"] is None


def test_spectral_best_validation_before_the_end():
    out = training_state(TrainSettings("spectral", log_lr=-2.5), 300)
    assert out["best_step"] < 300
    assert out["val_loss_now"] > out["best_val_loss"]  # validation rose after its best point
    assert out["train_loss_now"] < out["train_loss"][0]


def test_one_request_trains_a_bounded_number_of_steps():
    from genlab.web._training import MAX_STEPS_PER_REQUEST

    s = TrainSettings("spectral", log_lr=-2.7, seed=3)
    first = training_state(s, 5000)
    assert first["step"] == MAX_STEPS_PER_REQUEST and not first["complete"]
    second = training_state(s, 5000)  # the next request goes on from there
    assert second["step"] == 2 * MAX_STEPS_PER_REQUEST
    assert training_state(s, 20)["complete"]


def test_a_busy_run_does_not_block_another_client():
    import threading

    from genlab.web._training import _slot

    busy = TrainSettings("spectral", log_lr=-3.0, seed=5)
    lock = _slot(busy)[0]
    with lock:  # as if another client were training this run right now
        done = []
        t = threading.Thread(target=lambda: done.append(training_state(TrainSettings("spectral", log_lr=-3.0, seed=6), 5)))
        t.start()
        t.join(timeout=60)
        assert done and done[0]["step"] == 5


def test_normalize_removes_the_offsets_effect():
    kw = {"log_lr": -1.0}
    shifted_y = training_state(TrainSettings("normalization", y_offset=10.0, **kw), 300, budget=10**6)
    fixed_y = training_state(TrainSettings("normalization", y_offset=10.0, normalize=True, **kw), 300, budget=10**6)
    shifted_x = training_state(TrainSettings("normalization", x_offset=4.0, **kw), 300, budget=10**6)
    fixed_x = training_state(TrainSettings("normalization", x_offset=4.0, normalize=True, **kw), 300, budget=10**6)
    plain = training_state(TrainSettings("normalization", **kw), 300, budget=10**6)
    assert shifted_y["diverged_at"] is not None and fixed_y["diverged_at"] is None
    assert shifted_x["train_loss_now"] > 1.1 * plain["train_loss_now"]  # an input shift slows SGD
    # Standardized, the offsets are gone: the same run (up to rounding) whatever the shift.
    centred = training_state(TrainSettings("normalization", normalize=True, **kw), 300, budget=10**6)
    for fixed in (fixed_x, fixed_y):
        np.testing.assert_allclose(fixed["train_loss"], centred["train_loss"], rtol=1e-5)
    assert centred["train_loss_now"] < shifted_x["train_loss_now"]
    y_shift = training_state(TrainSettings("normalization", y_offset=8.0, normalize=True, **kw), 0)
    assert abs(np.mean(y_shift["y_pred"]) - 8.0) < 1.5  # the prediction is shown in the data's units


def test_a_playing_page_can_leave_out_the_fixed_data(client):
    full = client.get("/api/spectral", params={"step": 5, "seed": 8}).json()
    lean = client.get("/api/spectral", params={"step": 5, "seed": 8, "data": 0}).json()
    assert "x_train" in full and "x_train" not in lean and "y_true" not in lean
    assert lean == {k: v for k, v in full.items() if k not in ("x_train", "y_train", "x_val", "y_val", "x_grid", "y_true")}


def test_a_time_bound_answers_early_and_the_run_goes_on_the_same():
    s = TrainSettings("spectral", log_lr=-3.0, seed=9)
    first = training_state(s, 40, seconds=0.0)  # past its deadline after the first step: one step, then the answer
    assert first["step"] == 1 and not first["complete"]
    while not (last := training_state(s, 40, seconds=0.0))["complete"]:
        pass
    assert last["step"] == 40
    from genlab.web._training import _CACHE

    _CACHE.clear()  # replayed from scratch in one call: the same bytes as the run trained one step per call
    np.testing.assert_array_equal(training_state(s, 40)["y_pred"], last["y_pred"])
