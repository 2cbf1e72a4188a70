"""training-curves: properties of the smoke run read back from its run directory (the whole-set
loss is the mean of per-example losses, the engine's mean of the last n batches is the rolling
mean of its per-batch losses, eval mode is deterministic and train mode draws masks), each claim
failing on synthetic metrics that violate it, and the quick scale holding in every seed."""

import json

import numpy as np
import pandas as pd
import pytest
import torch
from experiment_helpers import check_claims_fail, summary_of

import genlab.models
from genlab.experiments import run_experiment
from genlab.experiments.overfitting import _training_curves as tc

NAME = "training-curves"


def _models(run_dir) -> dict:
    """The run's saved models, rebuilt from models/index.json (as ``genlab measure`` does)."""
    index = json.loads((run_dir / "models" / "index.json").read_text())
    out = {}
    for name, spec in index.items():
        model = getattr(genlab.models, spec["factory"].rsplit(".", 1)[1])(**spec["kwargs"])
        model.load_state_dict(torch.load(run_dir / "models" / f"{name}.pt", weights_only=True))
        out[name] = model
    return out


def _curve(metrics, part, condition, seed, metric="train_loss"):
    m = metrics[(metrics.part == part) & (metrics.condition == condition) & (metrics.seed == seed) & (metrics.metric == metric)]
    return m.set_index("step").value.sort_index()


def _per_example_ce(model, x, y) -> np.ndarray:
    """Cross-entropy of each example, written out (log-softmax picked at the label), eval mode."""
    model.eval()
    with torch.no_grad():
        logits = model(torch.as_tensor(x, dtype=torch.float32)).double()
    logp = logits - torch.logsumexp(logits, dim=1, keepdim=True)
    return (-logp[torch.arange(len(y)), torch.as_tensor(y, dtype=torch.long)]).numpy()


def test_whole_set_training_loss_is_the_mean_of_the_per_example_losses(smoke):
    run_dir = smoke(NAME)
    cfg = summary_of(run_dir)["config"]
    metrics = pd.read_csv(run_dir / "metrics.csv")
    models = _models(run_dir)
    for s in summary_of(run_dir)["seeds"]:
        _, _, data, _ = tc.case_setting("C1", tc.member_seed(s), cfg["n_samples"], cfg["step_factor"])
        logged = _curve(metrics, "averaging", "whole_set", s)
        losses = _per_example_ce(models[f"averaging-full-seed-{s}"], data.x_train, data.y_train)
        assert losses.size == data.n_train
        assert abs(losses.mean() - logged.iloc[-1]) < 1e-5, (losses.mean(), logged.iloc[-1])
        # the per-batch curve at the same step is a different number (one minibatch, train mode)
        assert _curve(metrics, "averaging", "per_batch", s).index.tolist() == list(range(int(logged.index[-1]) + 1))


def test_mean_of_the_last_n_batches_is_the_rolling_mean_of_the_per_batch_losses(smoke):
    run_dir = smoke(NAME)
    window = summary_of(run_dir)["config"]["window"]
    metrics = pd.read_csv(run_dir / "metrics.csv")
    for s in summary_of(run_dir)["seeds"]:
        batch = _curve(metrics, "averaging", "per_batch", s).iloc[1:]  # step 0: the evaluated initial loss
        last_n = _curve(metrics, "averaging", f"mean_last_{window}", s).iloc[1:]
        rolling = batch.rolling(window, min_periods=1).mean().reindex(last_n.index)
        assert np.abs(rolling.values - last_n.values).max() < 1e-6  # twin members: the same batches, bit for bit
        epoch = _curve(metrics, "averaging", "running_epoch_mean", s)
        assert abs(epoch.iloc[-1] - batch.iloc[-(((batch.index[-1] - 1) % _per_epoch(run_dir)) + 1):].mean()) < 1e-9


def _per_epoch(run_dir) -> int:
    cfg = summary_of(run_dir)["config"]
    _, _, data, config = tc.case_setting("C1", tc.member_seed(0), cfg["n_samples"], cfg["step_factor"])
    return -(-data.n_train // config.batch_size)


def test_eval_mode_is_deterministic_and_train_mode_draws_masks(smoke):
    run_dir = smoke(NAME)
    cfg = summary_of(run_dir)["config"]
    metrics = pd.read_csv(run_dir / "metrics.csv")
    model = _models(run_dir)["dropout-seed-0"]
    data = tc.dropout_data(tc.member_seed(0), cfg["n_samples"])
    x, y = torch.as_tensor(data.x_train, dtype=torch.float32), torch.as_tensor(data.y_train, dtype=torch.long)
    model.train()
    first, second = tc.eval_mode_loss(model, x, y), tc.eval_mode_loss(model, x, y)
    assert first == second and model.training  # identical twice; the module's mode is given back
    logged = _curve(metrics, "dropout", "eval_mode", 0)  # the engine's eval-mode whole-set loss, last step
    assert abs(first - logged.iloc[-1]) < 1e-5 and abs(first - _per_example_ce(model, x, y).mean()) < 1e-5
    model.train()
    with torch.no_grad():
        a, b = model(x), model(x)
    assert not torch.equal(a, b)  # masks: two train-mode passes differ
    assert tc.train_mode_loss(model, x, y, 3, seed=1) == tc.train_mode_loss(model, x, y, 3, seed=1)  # seeded
    final = metrics[(metrics.part == "dropout") & (metrics.metric == "final_train_loss") & (metrics.seed == 0)]
    assert final.set_index("condition").value["eval_mode"] == pytest.approx(first, abs=1e-6)


def test_every_case_run_is_diagnosed_and_logged(smoke):
    run_dir = smoke(NAME)
    metrics = pd.read_csv(run_dir / "metrics.csv")
    seeds = summary_of(run_dir)["seeds"]
    found = tc.diagnoses(metrics, tc.CASE_NAMES, seeds)
    diag = metrics[metrics.metric == "diagnosed_case"].set_index(["condition", "seed"]).value
    assert len(diag) == len(tc.CASE_NAMES) * len(seeds)
    for (case, s), d in found.items():
        assert tc.CASE_NAMES[int(diag[(case, s)]) - 1] == d.case
    assert len([c for c in summary_of(run_dir)["claims"] if c["name"].startswith("case C")]) == 8


# Synthetic metrics (the long format of metrics.csv) that violate each claim.
T = np.linspace(0.0, 1.0, 41)
SEEDS = [0, 1]


def _rows(part, condition, seed, metric, steps, values):
    return [{"part": part, "condition": condition, "seed": seed, "step": int(t), "metric": metric, "value": float(v)}
            for t, v in zip(steps, values)]


def test_case_claim_fails_when_the_run_shows_another_case():
    # "C2" runs whose validation loss flattens without rising (a C1 shape): not diagnosed as C2.
    e = np.exp(-5 * T)
    rows = []
    for s in SEEDS:
        rows += _rows("cases", "C2", s, "train_loss", 10 * np.arange(T.size), 0.9 + 1.4 * e)
        rows += _rows("cases", "C2", s, "val_loss", 10 * np.arange(T.size), 1.25 + 1.05 * e)
    claims = tc.case_claims(pd.DataFrame(rows), ["C2"], SEEDS, {})
    check_claims_fail(claims, "case C2")
    assert "s0 C1" in claims[0].note
    # and the same claim holds on a U-shaped validation curve
    rows = []
    for s in SEEDS:
        rows += _rows("cases", "C2", s, "train_loss", 10 * np.arange(T.size), 0.3 + 2.0 * e)
        rows += _rows("cases", "C2", s, "val_loss", 10 * np.arange(T.size), 1.3 + np.exp(-10 * T) + 0.6 * T**2)
    assert all(tc.case_claims(pd.DataFrame(rows), ["C2"], SEEDS, {})[0].holds)


def _averaging_rows(batch_noise: float, whole_noise: float, window: int = 1) -> pd.DataFrame:
    """Whole-set curve every 4 steps, per-batch every step; the mean of the last n batches is the
    per-batch curve's rolling mean over ``window`` steps (1: no smoothing)."""
    rng = np.random.default_rng(0)
    steps = np.arange(201)
    trend = 0.8 + 1.5 * np.exp(-steps / 40)
    rows = []
    for s in SEEDS:
        whole = trend * (1 + whole_noise * rng.standard_normal(steps.size))
        batch = trend * (1 + batch_noise * rng.standard_normal(steps.size))
        rows += _rows("averaging", "whole_set", s, "train_loss", steps[::4], whole[::4])
        rows += _rows("averaging", "per_batch", s, "train_loss", steps, batch)
        rows += _rows("averaging", "running_epoch_mean", s, "train_loss", steps, batch)
        rows += _rows("averaging", "mean_last_10", s, "train_loss", steps, pd.Series(batch).rolling(window, min_periods=1).mean())
    return pd.DataFrame(rows)


def test_averaging_claim_fails_when_per_batch_is_no_noisier_than_the_whole_set():
    check_claims_fail([tc.averaging_claim(_averaging_rows(0.01, 0.01), SEEDS, 10)], "per-batch training loss")
    check_claims_fail([tc.averaging_claim(_averaging_rows(0.0, 0.0), SEEDS, 10)], "per-batch training loss")  # both smooth
    assert all(tc.averaging_claim(_averaging_rows(0.05, 0.005), SEEDS, 10).holds)


def test_smoothing_claim_fails_when_the_mean_over_n_batches_is_as_noisy_as_one_batch():
    check_claims_fail([tc.smoothing_claim(_averaging_rows(0.05, 0.0, window=1), SEEDS, 10)], "the mean over the last 10")
    assert all(tc.smoothing_claim(_averaging_rows(0.05, 0.0, window=10), SEEDS, 10).holds)


def _dropout_rows(train_mode: float, eval_mode: float) -> pd.DataFrame:
    return pd.DataFrame([row for s in SEEDS for cond, v in (("train_mode", train_mode), ("eval_mode", eval_mode))
                         for row in _rows("dropout", cond, s, "final_train_loss", [400], [v])])


def test_dropout_claim_fails_when_train_mode_equals_eval_mode():
    check_claims_fail([tc.dropout_claim(_dropout_rows(1.0, 1.0), SEEDS)], "dropout")
    check_claims_fail([tc.dropout_claim(_dropout_rows(0.9, 1.0), SEEDS)], "dropout")
    assert all(tc.dropout_claim(_dropout_rows(1.3, 1.0), SEEDS).holds)


def _accuracy_rows(loss, error) -> pd.DataFrame:
    steps = 20 * np.arange(T.size)
    return pd.DataFrame([row for s in SEEDS for metric, v in (("val_loss", loss), ("val_error", error))
                         for row in _rows("accuracy", tc.ACC_RUN, s, metric, steps, v)])


def test_accuracy_claim_fails_without_a_divergence():
    u_loss = 1.0 + np.exp(-10 * T) + 0.8 * T**2  # minimum near t = 0.2, then up 60 %
    falling_error = 0.5 * np.exp(-4 * T) + 0.2  # fewer errors to the end: accuracy keeps rising
    rising_error = 0.3 + 0.2 * (T - 0.2) ** 2  # errors grow with the loss: no divergence
    check_claims_fail([tc.accuracy_claim(_accuracy_rows(u_loss, rising_error), SEEDS)], "dev loss rises")
    flat_loss = 1.0 + np.exp(-10 * T)  # the loss never rises: nothing to diverge from
    check_claims_fail([tc.accuracy_claim(_accuracy_rows(flat_loss, falling_error), SEEDS)], "dev loss rises")
    assert all(tc.accuracy_claim(_accuracy_rows(u_loss, falling_error), SEEDS).holds)


@pytest.mark.quick  # minutes: not in CI (`pytest -m quick`); genlab reproduce checks it
def test_quick_scale_claims_hold_in_every_seed(tmp_path):
    run_dir = run_experiment(NAME, scale="quick", out=tmp_path / NAME)
    summary = summary_of(run_dir)
    assert len(summary["seeds"]) >= 3
    failing = [(c["name"], c["values"], c["note"]) for c in summary["claims"] if c["verdict"] != "holds"]
    assert not failing, failing
