"""initialization: the He-init explorer's claims, each shown able to fail on violating metrics."""

import math

import numpy as np
import pandas as pd
import pytest
from experiment_helpers import check_claims_fail, claim

from genlab.experiments import run_experiment
from genlab.experiments.practice._signal_propagation import InitConfig, init_summarize, init_task
from genlab.sweep import TaskOutput

SEEDS = (0, 1)
SMALL = {"width": 128, "depth": 3, "scales": [0.5, 1.0, 2.0], "input_means": [0.0, 2.0], "input_stds": [1.0],
         "n_networks": 4, "n_inputs": 64}


@pytest.fixture(scope="module")
def outputs():
    return [init_task(s, **SMALL) for s in SEEDS]


def _cfg():
    return InitConfig(seeds=SEEDS, **{k: tuple(v) if isinstance(v, list) else v for k, v in SMALL.items()})


def _mutated(outputs, pick, change):
    return [TaskOutput([{**r, "value": change(r)} if pick(r) else r for r in out.records]) for out in outputs]


def _is(r, **kw):
    return all(r.get(k) == v for k, v in kw.items())


def test_smoke_run_relu_homogeneity_and_dead_half(smoke):
    run = smoke("initialization")
    m = pd.read_csv(run / "metrics.csv")
    std = m[(m.metric == "act_std") & (m.part == "scale") & (m.norm == "none")].pivot_table(
        index=["seed", "layer"], columns="scale", values="value")
    layer = std.index.get_level_values("layer").to_numpy()
    # ReLU nets without biases are positively homogeneous: scale s multiplies layer l by s^l exactly
    # (the output, l = depth + 1, too); the input (l = 0) is untouched.
    for s in (0.5, 2.0):
        np.testing.assert_allclose(std[s] / std[1.0], s ** layer, rtol=1e-4)
    zero = m[(m.metric == "frac_zero") & (m.part == "scale") & (m.norm == "none") & m.layer.between(1, 4)]
    assert zero.value.between(0.35, 0.65).all()  # ReLU zeroes about half the units
    assert claim(run, "He 1x keeps the spread")["n_seeds"] == 2


def test_claims_hold_on_the_small_setting(outputs):
    claims = init_summarize(_cfg(), outputs).claims
    assert all(c.verdict == "holds" for c in claims), [(c.name, c.values) for c in claims if c.verdict != "holds"]


def test_he_flatness_claim_fails_when_the_last_layer_grows(outputs):
    bad = _mutated(outputs, lambda r: _is(r, part="scale", norm="none", scale=1.0, metric="act_std", layer=3),
                   lambda r: 3 * r["value"])
    check_claims_fail(init_summarize(_cfg(), bad).claims, "He 1x keeps the spread")


def test_geometric_claims_fail_when_the_growth_is_not_the_scale(outputs):
    claims = init_summarize(_cfg(), _mutated(outputs, lambda r: _is(r, part="scale", norm="none", metric="act_std", layer=3)
                                             and r["scale"] != 1.0, lambda r: r["value"] * (2.0 if r["scale"] < 1 else 0.5))).claims
    check_claims_fail(claims, "He scales below 1 vanish")
    check_claims_fail(claims, "He scales above 1 explode")


def test_mean_field_claim_fails_when_the_spread_is_off(outputs):
    bad = _mutated(outputs, lambda r: _is(r, metric="act_std", norm="none") and r["layer"] > 0, lambda r: 1.3 * r["value"])
    check_claims_fail(init_summarize(_cfg(), bad).claims, "every layer's spread matches the mean-field")


def test_scheme_claims_fail_when_xavier_and_default_behave_like_he(outputs):
    he = {(r["seed"], r["layer"]): r["value"] for out in outputs for r in out.records
          if _is(r, part="scheme", init="he_normal", metric="act_std")}
    bad = _mutated(outputs, lambda r: _is(r, part="scheme", metric="act_std") and r["init"] != "he_normal",
                   lambda r: he[(r["seed"], r["layer"])])
    claims = init_summarize(_cfg(), bad).claims
    check_claims_fail(claims, "Xavier on a ReLU net")
    check_claims_fail(claims, "PyTorch's default shrinks")


def test_layernorm_claim_fails_without_normalization(outputs):
    bad = _mutated(outputs, lambda r: _is(r, norm="layer", metric="act_std", part="scale", scale=2.0),
                   lambda r: r["value"] * 2.0 ** r["layer"])
    check_claims_fail(init_summarize(_cfg(), bad).claims, "LayerNorm holds every hidden layer")


def test_input_shift_claim_fails_when_the_shift_has_no_effect(outputs):
    bad = _mutated(outputs, lambda r: _is(r, part="input", norm="none", metric="act_std"),
                   lambda r: r["value"] / math.hypot(r["input_mean"], r["input_std"]))
    check_claims_fail(init_summarize(_cfg(), bad).claims, "shifted or scaled inputs")


@pytest.mark.slow
def test_quick_scale_every_claim_holds_in_every_seed(tmp_path):
    run = run_experiment("initialization", scale="quick", out=tmp_path / "initialization")
    claims = pd.read_json(run / "summary.json", typ="series")["claims"]
    assert len(claims) >= 8 and all(c["verdict"] == "holds" for c in claims), [c["name"] for c in claims if c["verdict"] != "holds"]
