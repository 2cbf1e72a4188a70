"""mnist1d-benchmark: the headline is the final test accuracy; claims fail when the lesson is absent."""

import pandas as pd
import pytest
from experiment_helpers import claim, summary_of

from genlab.experiments import run_experiment
from genlab.experiments.measuring._mnist1d_benchmark import BenchmarkConfig, summarize
from genlab.sweep import TaskOutput


def outputs(acc: dict, seeds=(0, 1, 2), n_steps=6000, early=0.2):
    """Task outputs whose final test accuracy is ``acc[(model, dataset)]`` for every seed, after an
    early checkpoint ``early`` better (what the paper's protocol, the best logged one, reads)."""
    out = []
    for model in ("logistic", "mlp", "cnn", "gru"):
        rows = []
        for d in ("mnist1d", "shuffled"):
            for s in seeds:
                rows.append({"model": model, "dataset": d, "seed": s, "step": 250, "metric": "test_accuracy",
                             "value": acc[(model, d)] + early})
                rows.append({"model": model, "dataset": d, "seed": s, "step": n_steps, "metric": "test_accuracy",
                             "value": acc[(model, d)]})
        out.append(TaskOutput(rows))
    return out


# Final accuracies of the paper's table; the paper's protocol (best logged, test-selected) reads the
# early checkpoint, `early` above the final one.
PAPER = {("logistic", "mnist1d"): 0.32, ("mlp", "mnist1d"): 0.68, ("cnn", "mnist1d"): 0.94, ("gru", "mnist1d"): 0.91,
         ("logistic", "shuffled"): 0.32, ("mlp", "shuffled"): 0.68, ("cnn", "shuffled"): 0.56, ("gru", "shuffled"): 0.57}


def verdicts(acc, early=0.0):
    result = summarize(BenchmarkConfig(seeds=(0, 1, 2)), outputs(acc, early=early))
    return {c.name: c.verdict for c in result.claims}, result


def test_the_papers_table_passes_every_claim_and_the_headline_is_final():
    v, result = verdicts(PAPER, early=0.01)  # best logged = final + 1 point
    assert set(v.values()) == {"holds"}, v
    assert result.headline["mnist1d/cnn"]["final_mean"] == pytest.approx(94.0)  # final, not the best checkpoint
    assert any("test-selected" in str(c.published) for c in result.comparisons)
    v, _ = verdicts(PAPER, early=0.2)  # a test-selected number 20 points above the paper's: outside its band
    assert v["mnist1d: cnn test accuracy, the paper's protocol (%)"] == "fails"


def test_claims_fail_without_the_lesson():
    no_prior = {**PAPER, ("cnn", "shuffled"): 0.93}  # shuffling costs the CNN nothing: no spatial prior
    v, _ = verdicts(no_prior)
    assert v["shuffling the positions costs the cnn, final accuracy (points)"] == "fails"
    wrong_order = {**PAPER, ("mlp", "mnist1d"): 0.95, ("mlp", "shuffled"): 0.95}
    v, _ = verdicts(wrong_order)
    assert v["cnn and gru > mlp > logistic on MNIST-1D, final accuracy (smallest gap, points)"] == "fails"
    assert v["mnist1d: mlp test accuracy, the paper's protocol (%)"] == "fails"  # 95 is far outside 68 +- 6
    mlp_sees_order = {**PAPER, ("mlp", "shuffled"): 0.60}
    v, _ = verdicts(mlp_sees_order)
    assert v["shuffling the positions leaves the mlp unchanged, final accuracy (points)"] == "fails"


def test_smoke_run_trains_each_model_on_both_datasets(smoke):
    run = smoke("mnist1d-benchmark")
    m = pd.read_csv(run / "metrics.csv")
    assert set(m.model) == {"logistic", "mlp", "cnn", "gru"} and set(m.dataset) == {"mnist1d", "shuffled"}
    assert sorted(m.seed.unique()) == [0, 1]
    acc = m[m.metric == "test_accuracy"]
    # Training helps every model beyond chance (10 %), already at smoke scale.
    assert (acc.groupby(["model", "dataset", "seed"]).value.max() > 0.15).all()
    assert summary_of(run)["claims"]


@pytest.mark.quick  # minutes: not in CI (`pytest -m quick`); genlab reproduce checks it
def test_quick_benchmark_claims_hold_in_every_seed(tmp_path):
    run = run_experiment("mnist1d-benchmark", scale="quick", out=tmp_path / "bench")
    for c in summary_of(run)["claims"]:
        assert c["verdict"] == "holds", (c["name"], c["values"])
    assert claim(run, "cnn and gru > mlp")["n_seeds"] == 3
