"""Curve diagnosis (seed 001's cases C1..C8) on real training runs and on synthetic curves.

Two sets of real runs, each trained by one ``train_many`` call, with settings known to put a
run in one case:

- ``tuning_runs``: the runs the thresholds of ``diagnose_curves`` were chosen on (the first
  version of the rule was tuned on exactly these; seed 0 by default, 1 and 2 slow).
- ``held_out_runs``: written afterwards with other settings for every case (another MNIST-1D
  draw, 25 % validation, other models, optimizers, learning rates, data sizes, evaluation
  cadences) and not used to choose the first rule's thresholds.

What happened on the held-out set (genlab/measure/_curves.py says what changed and why, step
by step): each batch of new seeds, run once the rule of the previous step was fixed, showed
faults of the rule, not of the runs: seed 0 (zig-zags summed over evaluations), seeds 1-2
(3 of 30 wrong: C8 before a clear C2 rise; one noisy evaluation deciding "still falling"),
seeds 3-4 (2 of 30: a zig-zag ratio standing in for "noise the training curve lacks"; a
two-point "still falling"), seeds 5-6 (3 of 30: slow swings missed by zig-zags; a C2 still
rising but < 5 % above its minimum; a width-2 plateau still creeping down). Each time the
rule was fixed in principle and every seen seed of both sets re-checked. The final
thresholds are the middles of the gaps on all runs seen by then (tuning seeds 0-2, held-out
seeds 0-6), so those seeds no longer test the rule; the untouched check of the final rule is
tuning seeds 3-6 and held-out seeds 7-10 (slow), first run after the last fix: 90 of 92 runs
right, the 2 misses listed in KNOWN_MISSES.

Held-out candidates that the curves themselves showed to be in another case were replaced,
not made to pass: a wide MLP on 600 samples trained 1200 steps, or a label-noise run trained
full batch, reach zero training loss (C5, which the rule puts first; their validation loss
also rises); momentum SGD at lr 0.05 on the full set has a validation loss rising 12 % (C2,
not C1); a depth-3 tanh MLP under RMSprop 5e-4, or depth 2 under SGD lr 0.02, is still
falling with train and validation together after 800-1000 steps (C3, not C1); 30 % label
noise under Adam 3e-3 for 600 steps raises the validation loss by only 3 % (not yet C2).

The synthetic curves at the end have a known answer by construction, so that a broken
threshold fails fast.
"""

import numpy as np
import pytest

from genlab.measure import diagnose_curves
from genlab.measure._curves import oscillation, recent_fall, running_median, shared_jitter


def _train(runs):
    """Train ``[(case, label, model, data, config), ...]`` in ONE ``train_many`` call; return
    ``[(case, label, steps, train_loss, val_loss), ...]``."""
    from genlab.train import train_many

    res = train_many([r[2] for r in runs], [r[3] for r in runs], [r[4] for r in runs])
    out = []
    for i, (case, label, *_) in enumerate(runs):
        tr, va = res.curve(i, "train", "loss"), res.curve(i, "val", "loss")
        out.append((case, label, tr.step.values, tr.value.values, va.value.values))
    return out


def tuning_runs(seed: int):
    """The tuning set: one run per case, the settings the thresholds were chosen on."""
    from genlab.data import make_mnist1d, subsample_train, train_val_split
    from genlab.models import MLP, LogisticRegression
    from genlab.train import TrainConfig

    full = make_mnist1d(5000, seed=seed)

    def val(d, fraction=0.2):
        return train_val_split(d, fraction, seed=seed)

    def mlp(width=64):
        return MLP(40, 10, width=width, seed=seed)

    base = TrainConfig(optimizer="adam", lr=2e-3, batch_size=100, n_steps=500, eval_every=20, seed=seed)
    runs = [
        ("C1", "4000 samples, width 64, Adam 2e-3, stopped near the validation minimum",
         mlp(), val(full), base.replace(n_steps=600)),
        ("C2", "1200 samples, trained on after the validation minimum",
         mlp(), val(subsample_train(full, 1500, seed=seed)), base),
        ("C3", "150 Adam steps at 1e-3: both curves still falling together",
         mlp(), val(full), base.replace(lr=1e-3, n_steps=150, eval_every=5)),
        ("C4", "plain SGD at lr 1e-3", mlp(), val(full), base.replace(optimizer="sgd", lr=1e-3)),
        ("C5", "240 samples, width 256, full-batch Adam 1e-2",
         mlp(256), val(subsample_train(full, 300, seed=seed)), base.replace(lr=1e-2, n_steps=1000, batch_size=None)),
        ("C6", "logistic regression", LogisticRegression(seed=seed), val(full), base.replace(lr=5e-3, n_steps=1000)),
        ("C7", "SGD at lr 1.5", mlp(), val(full), base.replace(optimizer="sgd", lr=1.5)),
        ("C8", "a validation set of 12 samples",
         mlp(), train_val_split(full, 0.003, seed=seed), base.replace(lr=1e-3, n_steps=600, eval_every=10)),
    ]
    return _train(runs)


def held_out_runs(seed: int):
    """The held-out set: other settings known to cause each case (never used to set thresholds)."""
    from genlab.data import make_mnist1d, subsample_train, train_val_split, with_label_noise
    from genlab.models import MLP
    from genlab.train import TrainConfig

    full = make_mnist1d(4000, seed=seed + 100)  # 3200 training samples, another draw than the tuning set's

    def val(d):
        return train_val_split(d, 0.25, seed=seed)

    def mlp(width=100, depth=1, **kw):
        return MLP(40, 10, width=width, depth=depth, seed=seed, **kw)

    sgd = TrainConfig(optimizer="sgd", momentum=0.9, lr=0.05, batch_size=50, n_steps=600, eval_every=25, seed=seed)
    rmsprop = sgd.replace(optimizer="rmsprop", momentum=0.0)
    adam = sgd.replace(optimizer="adam", momentum=0.0)
    runs = [
        ("C1", "early stopping (patience 4): RMSprop 1e-3, width 128, 2400 samples",
         mlp(128), val(full), rmsprop.replace(lr=1e-3, batch_size=64, n_steps=3000, eval_every=20, patience=4)),
        ("C1", "moderate run: momentum SGD lr 0.01, 1000 steps, 2400 samples",
         mlp(), val(full), sgd.replace(lr=0.01, batch_size=100, n_steps=1000)),
        ("C2", "600 samples, width 512, momentum SGD 0.05, 300 steps",
         mlp(512), val(subsample_train(full, 800, seed=seed)), sgd.replace(n_steps=300, eval_every=15)),
        ("C2", "20 % label noise, 938 samples, width 256, Adam 1e-3",
         mlp(256), val(with_label_noise(subsample_train(full, 1250, seed=seed), 0.2, seed=seed)),
         adam.replace(lr=1e-3, batch_size=100, n_steps=800, eval_every=20)),
        ("C3", "200 momentum-SGD steps at lr 0.005",
         mlp(), val(full), sgd.replace(lr=0.005, n_steps=200, eval_every=10)),
        ("C4", "Adam at lr 1e-5", mlp(), val(full), adam.replace(lr=1e-5)),
        ("C4", "saturated init: sigmoid depth 2, He init x 0.01, plain SGD 0.01",
         mlp(100, 2, activation="sigmoid", init="he_scaled", init_scale=0.01), val(full),
         sgd.replace(lr=0.01, momentum=0.0)),
        ("C5", "90 samples, width 128, full-batch momentum SGD 0.1, 1500 steps",
         mlp(128), val(subsample_train(full, 120, seed=seed)), sgd.replace(lr=0.1, batch_size=None, n_steps=1500, eval_every=30)),
        ("C5", "90 samples, width 128, batches of 30, momentum SGD 0.05, 1500 steps",
         mlp(128), val(subsample_train(full, 120, seed=seed)), sgd.replace(lr=0.05, batch_size=30, n_steps=1500, eval_every=30)),
        ("C6", "width-2 MLP, evaluated every 10 steps", mlp(2), val(full), sgd.replace(eval_every=10)),
        ("C6", "weight decay 0.05", mlp(), val(full), sgd.replace(weight_decay=0.05)),
        ("C7", "Adam at lr 0.1", mlp(), val(full), adam.replace(lr=0.1)),
        ("C7", "SGD momentum 0.99 at lr 0.5 (diverges)", mlp(), val(full), sgd.replace(momentum=0.99, lr=0.5)),
        ("C8", "a validation set of 19 samples, evaluated every 10 steps",
         mlp(), train_val_split(full, 0.006, seed=seed), sgd.replace(lr=0.02, eval_every=10)),
        ("C8", "a validation set of 19 samples, evaluated every 25 steps",
         mlp(), train_val_split(full, 0.006, seed=seed), sgd.replace(lr=0.02)),
    ]
    return _train(runs)


# Misses of the final rule on its untouched check (tuning seeds 3-6, held-out seeds 7-10,
# run once after the last fix): 2 of 92 runs, both the tuning set's C1 run (1000 validation
# samples, Adam 2e-3) read as C8: its validation curve zig-zags by 0.33 % (seed 3) and 0.44 %
# (seed 6) per evaluation (threshold 0.3 %; the weakest C8 run seen, 12 validation samples,
# 0.37 %) and its fluctuations correlate only 0.22 and 0.35 with the training curve's
# (threshold 0.4; C8 runs <= 0.33). From the two curves alone, optimizer noise that shows on
# the validation curve and noise of a validation average over few samples look alike here;
# telling them apart needs the validation set's size or its per-sample losses. Not tuned
# away (that would need fresh seeds again): expected failures, reported as XFAIL, while every
# other run of those seeds is still checked.
KNOWN_MISSES = {("tuning", 3, "C1"): "C8", ("tuning", 6, "C1"): "C8"}


def _check(runs, name: str, seed: int):
    wrong, known = [], []
    for case, label, steps, tr, va in runs:
        d = diagnose_curves(tr, va, steps)
        assert d.next_step and d.reasons and "progress" in d.evidence
        if d.case == case:
            continue
        miss = (case, label, d.case, d.reasons)
        (known if KNOWN_MISSES.get((name, seed, case)) == d.case else wrong).append(miss)
    assert not wrong, wrong
    if known:
        pytest.xfail(f"known misses of the rule (KNOWN_MISSES): {known}")


def test_each_case_on_a_tuning_run():
    _check(tuning_runs(0), "tuning", 0)


@pytest.mark.slow
@pytest.mark.parametrize("seed", [1, 2, 3, 4, 5, 6])
def test_each_case_on_a_tuning_run_other_seeds(seed):
    _check(tuning_runs(seed), "tuning", seed)


def test_each_case_on_a_held_out_run():
    _check(held_out_runs(0), "held_out", 0)


@pytest.mark.slow
@pytest.mark.parametrize("seed", [1, 2, 3, 4, 5, 6, 7, 8, 9, 10])
def test_each_case_on_a_held_out_run_other_seeds(seed):
    _check(held_out_runs(seed), "held_out", seed)


# Synthetic curves whose case is known by construction (41 evaluations over t in [0, 1]).
T = np.linspace(0.0, 1.0, 41)
E = np.exp(-5 * T)


def _synthetic(case: str):
    noise = np.random.default_rng(0).standard_normal(T.size)
    tr = 1.0 + 1.3 * E
    if case == "C1":  # validation flattened well above a training loss at 0.4 x initial
        return 0.9 + 1.4 * E, 1.25 + 1.05 * E
    if case == "C2":  # U-shaped validation loss, minimum near t = 0.3
        return 0.3 + 2.0 * E, 1.3 + 1.0 * np.exp(-10 * T) + 0.6 * T**2
    if case == "C3":  # both falling in a straight line, 0.03 apart
        return 2.3 - 0.6 * T, 2.33 - 0.6 * T
    if case == "C4":  # flat: 2 % progress
        return 2.3 - 0.05 * T, 2.31 - 0.05 * T
    if case == "C5":  # monotone to zero
        return 2.3 * np.exp(-12 * T), 1.5 + 0.8 * np.exp(-12 * T)
    if case == "C6":  # plateau at 0.7 x initial, validation close
        return 1.6 + 0.7 * np.exp(-20 * T), 1.65 + 0.7 * np.exp(-20 * T)
    if case == "C7":  # 6 % multiplicative noise on the training loss
        tr = tr * (1 + 0.06 * noise)
        return tr, tr + 0.2
    if case == "C8":  # smooth training loss, 4 % multiplicative noise on the validation loss
        return tr, (tr + 0.1) * (1 + 0.04 * noise)
    raise AssertionError(case)


@pytest.mark.parametrize("case", ["C1", "C2", "C3", "C4", "C5", "C6", "C7", "C8"])
def test_synthetic_curve_of_each_case(case):
    tr, va = _synthetic(case)
    d = diagnose_curves(tr, va)
    assert d.case == case, (d.case, d.reasons, d.evidence)


def test_synthetic_u_shape_reports_its_minimum():
    tr, va = _synthetic("C2")
    d = diagnose_curves(tr, va, steps=10 * np.arange(T.size))
    assert abs(d.evidence["val_min_step"] - 10 * int(np.argmin(va))) <= 10  # the running median's minimum
    assert 0.25 <= T[np.argmin(va)] <= 0.35


def test_a_rise_well_above_the_noise_is_c2_even_on_a_noisy_validation_curve():
    # 1.5 % validation noise (C8 on its own) on a curve that rises 35 %: C2; averaging over
    # more validation samples would remove the noise, not the rise.
    tr, va = _synthetic("C2")
    noisy = va * (1 + 0.015 * np.random.default_rng(2).standard_normal(T.size))
    d = diagnose_curves(tr, noisy)
    assert d.evidence["val_oscillation"] > 0.003
    assert d.case == "C2", (d.case, d.reasons, d.evidence)


def test_one_low_evaluation_makes_no_minimum_and_one_high_one_no_drop():
    tr, va = _synthetic("C6")
    low = va.copy()
    low[20] *= 0.9  # a 10 % dip at one evaluation: the raw minimum would read a 10 % rise (C2)
    assert diagnose_curves(tr, low).case == "C6"
    high = va.copy()
    high[T.size - T.size // 4 - 1] *= 1.02  # 2 % up at the quarter point: a raw difference says C3
    assert diagnose_curves(tr, high).case == "C6"


def test_slow_swings_of_the_training_loss_are_c7():
    # +-10 % swings over 4 evaluations: small zig-zags at the turns, a large ascent.
    tr = (1.0 + 1.3 * E) * (1 + 0.1 * np.sin(2 * np.pi * np.arange(T.size) / 8))
    assert oscillation(tr[1:]) < 0.01
    d = diagnose_curves(tr, tr + 0.2)
    assert d.case == "C7" and d.evidence["train_ascent"] > 0.008, (d.case, d.evidence)


def test_a_validation_loss_still_rising_is_c2_before_it_is_5_percent_up():
    # Flat from t = 0.5, then up 0.045 by the end: 2-3 % above its minimum, < 5 %, but rising
    # by more than 1 % per quarter of the run: past the threshold.
    tr = 0.3 + 2.0 * E
    va = 1.5 + 0.8 * np.exp(-10 * T) + 0.045 * np.clip(2 * T - 1, 0, None) ** 1.5
    d = diagnose_curves(tr, va)
    assert d.evidence["val_rise"] < 0.05 and d.evidence["val_recent_fall"] < -0.01, d.evidence
    assert d.case == "C2", (d.case, d.reasons, d.evidence)


def test_shared_jitter_tells_common_from_separate_noise():
    rng = np.random.default_rng(3)
    base = 1.6 + 0.7 * np.exp(-5 * T)
    common = 0.01 * rng.standard_normal(T.size)
    assert shared_jitter(base + common, base + 0.05 + 1.5 * common) > 0.95
    assert abs(shared_jitter(base + common, base + 0.01 * rng.standard_normal(T.size))) < 0.5
    assert shared_jitter(base, base + common) == 0.0  # a monotone curve has no fluctuation


def test_recent_fall_is_a_line_through_the_second_half():
    line = 2.0 - 0.4 * T  # falls 0.1 per quarter of the run, ends at 1.6
    assert recent_fall(line, 1.6) == pytest.approx(0.1 / 1.6)
    noisy = line + 0.02 * np.random.default_rng(4).standard_normal(T.size)
    assert recent_fall(noisy, 1.6) == pytest.approx(0.1 / 1.6, abs=0.01)
    assert recent_fall(np.full(T.size, 1.7), 1.7) == pytest.approx(0.0, abs=1e-12)


def test_running_median():
    c = np.array([5.0, 1.0, 2.0, 9.0, 3.0, 4.0])
    assert np.array_equal(running_median(c, 3), [3.0, 2.0, 2.0, 3.0, 4.0, 3.5])
    assert np.array_equal(running_median(c, 1), c)
    with pytest.raises(ValueError, match="'window' parameter of running_median"):
        running_median(c, 0)


@pytest.mark.parametrize("n_points", [25, 200])
def test_plateau_jitter_shared_by_both_curves_is_underfitting_at_any_cadence(n_points):
    # A momentum-SGD plateau: 0.4 % evaluation-to-evaluation noise, the same on both curves
    # (weights jitter; both losses follow). The first rule summed the zig-zags: C7 at 200
    # evaluations. And a validation curve that shares the training curve's noise is not C8.
    rng = np.random.default_rng(1)
    s = np.linspace(0.0, 1.0, n_points)
    base = 1.65 + 0.75 * np.exp(-30 * s)
    jitter = 0.004 * 1.65 * rng.standard_normal(n_points)
    tr = base + jitter
    va = base + 0.03 + 1.2 * jitter + 0.002 * rng.standard_normal(n_points)
    d = diagnose_curves(tr, va)
    assert d.case == "C6", (d.case, d.reasons, d.evidence)
    assert d.evidence["train_ascent"] < 0.008


def test_wiggles_of_a_loss_already_at_zero_are_not_instability():
    # Every other point 80 % up once the loss is below 1e-3 (< 1e-3 nats): C5, not C7.
    smooth = 2.3 * np.exp(-12 * T)
    tr = smooth * (1 + 0.8 * (np.arange(T.size) % 2) * (smooth < 1e-3))
    assert oscillation(tr[1:]) > 0.05  # relative to its own level the curve does zig-zag
    assert diagnose_curves(tr, 1.5 + 0.8 * np.exp(-12 * T)).case == "C5"


def test_oscillation_is_the_mean_zigzag_per_evaluation_relative_to_the_level():
    t = np.linspace(0, 1, 50)
    assert oscillation(np.exp(-3 * t)) == 0.0
    assert oscillation((t - 0.5) ** 2) == 0.0  # one smooth turn is no zig-zag
    saw = 1.0 + 0.02 * (np.arange(20) % 2)  # every interior point turns by 0.02
    assert oscillation(saw) == pytest.approx(np.mean(0.02 / saw[1:-1]))
    assert oscillation(np.tile(saw, 5)) == pytest.approx(oscillation(saw), rel=0.02)  # 5x the evaluations
    assert oscillation(1e-4 * saw, floor=0.02) == pytest.approx(1e-4 * 0.02 / 0.02)


def test_divergence_is_c7_and_short_curves_are_refused():
    t = np.linspace(0, 1, 50)
    tr = np.exp(-3 * t) * 2.3
    tr[30:] = np.nan
    assert diagnose_curves(tr, tr).case == "C7"
    with pytest.raises(ValueError, match="'train_loss' parameter of diagnose_curves"):
        diagnose_curves([1, 2], [1, 2])
