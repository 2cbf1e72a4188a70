"""gradient-flow: injected unit gradients per activation; each claim shown able to fail."""

import pandas as pd
import pytest
from experiment_helpers import check_claims_fail, claim

from genlab.experiments import run_experiment
from genlab.experiments.practice._signal_propagation import (
    GradFlowConfig,
    gradflow_summarize,
    gradflow_task,
)
from genlab.sweep import TaskOutput

SEEDS = (0, 1)
SMALL = {"width": 128, "depth": 4, "activations": ["relu", "elu", "sigmoid", "tanh"], "scale": 1.0, "n_networks": 2,
         "n_inputs": 64, "z_max": 5.0}


@pytest.fixture(scope="module")
def outputs():
    return [gradflow_task(s, **SMALL) for s in SEEDS]


def _cfg():
    return GradFlowConfig(seeds=SEEDS, **{**SMALL, "activations": tuple(SMALL["activations"])})


def _mutated(outputs, pick, change):
    return [TaskOutput([{**r, "value": change(r)} if pick(r) else r for r in out.records]) for out in outputs]


def test_smoke_run_relu_gradients_keep_scale_and_sigmoid_vanishes(smoke):
    run = smoke("gradient-flow")
    m = pd.read_csv(run / "metrics.csv")
    g = m[(m.part == "network") & (m.metric == "grad_std")].pivot_table(index=["activation", "seed"], columns="layer",
                                                                         values="value")
    # dE/dy is a unit vector in R^128: entries of std 1/sqrt(128); the linear output layer multiplies by sqrt(2) (He).
    assert (g[5] * 128**0.5).between(0.999, 1.001).all()
    assert ((g.loc["relu"][0] / g.loc["relu"][4]).between(0.7, 1.4)).all()
    assert ((g.loc["sigmoid"][0] / g.loc["sigmoid"][4]) < 0.03).all()
    assert claim(run, "sigmoid'(z) <= 0.25")["values"] == pytest.approx([0.25, 0.25], abs=1e-4)


def test_claims_hold_on_the_small_setting(outputs):
    claims = gradflow_summarize(_cfg(), outputs).claims
    assert all(c.verdict == "holds" for c in claims), [(c.name, c.values) for c in claims if c.verdict != "holds"]


def test_sigmoid_claims_fail_when_sigmoid_behaves_like_tanh(outputs):
    tanh = {(r["seed"], r["metric"], r.get("layer"), r.get("z")): r["value"] for out in outputs for r in out.records
            if r["activation"] == "tanh"}
    bad = _mutated(outputs, lambda r: r["activation"] == "sigmoid" and r["metric"] in ("grad_std", "dg"),
                   lambda r: tanh[(r["seed"], r["metric"], r.get("layer"), r.get("z"))])
    claims = gradflow_summarize(_cfg(), bad).claims
    check_claims_fail(claims, "sigmoid'(z) <= 0.25")
    check_claims_fail(claims, "sigmoid: the gradient decays")
    check_claims_fail(claims, "tanh vanishes far less than sigmoid")
    check_claims_fail(claims, "sigmoid loses the most gradient")
    check_claims_fail(claims, "every layer's gradient spread matches")


def test_relu_and_tanh_claims_fail_when_their_gradients_vanish(outputs):
    bad = _mutated(outputs, lambda r: r["activation"] in ("relu", "tanh") and r["metric"] == "grad_std",
                   lambda r: r["value"] * 0.5 ** (4 - min(r["layer"], 4)))
    claims = gradflow_summarize(_cfg(), bad).claims
    check_claims_fail(claims, "ReLU keeps the gradient's scale")
    check_claims_fail(claims, "tanh at depth 4 under He init")


@pytest.mark.slow
def test_quick_scale_every_claim_holds_in_every_seed(tmp_path):
    run = run_experiment("gradient-flow", scale="quick", out=tmp_path / "gradient-flow")
    claims = pd.read_json(run / "summary.json", typ="series")["claims"]
    assert len(claims) >= 7 and all(c["verdict"] == "holds" for c in claims), [c["name"] for c in claims if c["verdict"] != "holds"]
