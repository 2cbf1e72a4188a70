"""Curve diagnosis on real training runs (the population engine) with settings known to put
each run in one of the lecture's cases C1..C8."""

import numpy as np
import pytest

from genlab.measure import diagnose_curves
from genlab.measure._curves import oscillation


def case_runs(seed: int):
    from genlab.data import make_mnist1d, subsample_train, train_val_split
    from genlab.models import MLP, LogisticRegression
    from genlab.train import TrainConfig, train_many

    full = make_mnist1d(5000, seed=seed)

    def val(d, fraction=0.2):
        return train_val_split(d, fraction, seed=seed)

    def mlp(width=64):
        return MLP(40, 10, width=width, seed=seed)

    base = TrainConfig(optimizer="adam", lr=2e-3, batch_size=100, n_steps=500, eval_every=20, seed=seed)
    runs = {
        # good fit: enough data (4000), moderate width, stopped near the validation minimum
        "C1": (mlp(), val(full), base.replace(n_steps=600)),
        # past the threshold: 1200 training samples, trained on after the validation minimum
        "C2": (mlp(), val(subsample_train(full, 1500, seed=seed)), base),
        # far below: stopped after 150 small Adam steps, both curves still falling together
        "C3": (mlp(), val(full), base.replace(lr=1e-3, n_steps=150, eval_every=5)),
        # convergence problem: plain SGD with lr 1e-3
        "C4": (mlp(), val(full), base.replace(optimizer="sgd", lr=1e-3)),
        # training loss to zero: 240 samples, width 256, full-batch Adam 1e-2
        "C5": (mlp(256), val(subsample_train(full, 300, seed=seed)),
               base.replace(lr=1e-2, n_steps=1000, batch_size=None)),
        # capacity too small: logistic regression
        "C6": (LogisticRegression(seed=seed), val(full), base.replace(lr=5e-3, n_steps=1000)),
        # unstable training loss: SGD with lr 1.5
        "C7": (mlp(), val(full), base.replace(optimizer="sgd", lr=1.5)),
        # unstable validation loss: a validation set of 12 samples
        "C8": (mlp(), train_val_split(full, 0.003, seed=seed), base.replace(lr=1e-3, n_steps=600, eval_every=10)),
    }
    res = train_many([r[0] for r in runs.values()], [r[1] for r in runs.values()], [r[2] for r in runs.values()])
    out = {}
    for i, case in enumerate(runs):
        tr, va = res.curve(i, "train", "loss"), res.curve(i, "val", "loss")
        out[case] = (tr.step.values, tr.value.values, va.value.values)
    return out


def _check(seed):
    for case, (steps, tr, va) in case_runs(seed).items():
        d = diagnose_curves(tr, va, steps)
        assert d.case == case, (case, d.case, d.evidence)
        assert d.next_step and d.reasons and "progress" in d.evidence


def test_each_case_on_a_real_run():
    _check(0)


@pytest.mark.slow
@pytest.mark.parametrize("seed", [1, 2])
def test_each_case_on_a_real_run_other_seeds(seed):
    _check(seed)


def test_oscillation_zero_for_smooth_curves_and_divergence_is_c7():
    t = np.linspace(0, 1, 50)
    assert oscillation(np.exp(-3 * t), 1.0) == 0.0
    assert oscillation((t - 0.5) ** 2, 1.0) == 0.0  # one smooth turn is no zig-zag
    tr = np.exp(-3 * t) * 2.3
    tr[30:] = np.nan
    assert diagnose_curves(tr, tr).case == "C7"
    with pytest.raises(ValueError, match="'train_loss' parameter of diagnose_curves"):
        diagnose_curves([1, 2], [1, 2])
