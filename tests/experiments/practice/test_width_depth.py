"""width-depth: the smoke run's networks are what they claim to be; each claim shown able to fail."""

import itertools

import numpy as np
import pandas as pd
import pytest
import torch
from experiment_helpers import check_claims_fail

from genlab.experiments import run_experiment
from genlab.experiments.practice._width_depth import VARIANTS, WidthDepthConfig, build, summarize
from genlab.models import MLP, n_parameters
from genlab.sweep import TaskOutput

SEEDS = (0, 1)


def test_smoke_budget_pair_has_the_same_parameter_count_and_members_their_architecture(smoke):
    m = pd.read_csv(smoke("width-depth") / "metrics.csv")
    assert {"part", "variant", "width", "depth", "seed", "step", "metric", "value"} <= set(m.columns)
    assert set(m.metric) == {"train_loss", "train_error", "test_loss", "test_error"}
    members = m.drop_duplicates(["part", "variant", "width", "depth", "seed"])
    for r in members.itertuples():  # the logged count is the built network's, recomputed here
        kw = VARIANTS.get(r.variant, {}) if r.part == "depth" else {}
        assert r.n_params == n_parameters(MLP(40, 10, width=int(r.width), depth=int(r.depth), **kw)), r
    b = members[members.part == "budget"].drop_duplicates("variant").set_index("variant")
    assert b.loc["deep-narrow", "depth"] > b.loc["shallow-wide", "depth"] == 1
    assert b.loc["deep-narrow", "width"] < b.loc["shallow-wide", "width"]
    assert abs(b.loc["deep-narrow", "n_params"] / b.loc["shallow-wide", "n_params"] - 1) < 0.05
    # the residual and plain deep nets start from the same weights and must train differently
    d = m[(m.part == "depth") & (m.metric == "train_loss")]
    d = d[d.step == d.step.max()].set_index(["variant", "seed"]).value
    assert all(d[("residual", s)] != d[("plain", s)] for s in SEEDS)
    # every member evaluated on the whole splits at step 0 and the last step
    assert (m.groupby(["part", "variant", "width", "seed"]).step.min() == 0).all()


def test_variants_have_the_architecture_they_are_named_for():
    x = torch.randn(64, 40, generator=torch.Generator().manual_seed(0))
    nets = {v: build(v, 16, 5, seed=3, x_init=x) for v in ("plain", "residual", "weightnorm+data-init")}
    for v in ("plain", "residual"):  # zero every layer after the first: only a skip path still carries x
        with torch.no_grad():
            for lin in nets[v].linears[1:]:
                lin.weight.zero_()
                lin.bias.zero_()
            nets[v].linears[-1].weight.fill_(1.0)
        spread = nets[v](x).std(0).max().item()
        assert (spread > 1e-3) if v == "residual" else (spread == 0.0), (v, spread)
    with torch.no_grad():  # data-based init: the first hidden pre-activation standardized over x
        z = nets["weightnorm+data-init"].linears[0](x)
    assert torch.allclose(z.std(0), torch.ones(16), atol=1e-4)
    assert isinstance(build("batchnorm", 16, 5, 3).norms[0], torch.nn.BatchNorm1d)


CFG = WidthDepthConfig(seeds=SEEDS, widths=(8, 16, 32, 64), variants=tuple(VARIANTS), depth_steps=500, width_steps=1000)


def _fake(width_loss, width_test, depth_loss, budget=(42.0, 39.0)) -> list[TaskOutput]:
    """Synthetic final metrics: width -> (train loss, test error %), variant -> train loss."""
    rows = []
    for s, (k, w) in itertools.product(SEEDS, enumerate(CFG.widths)):
        for metric, v in (("train_loss", width_loss[k]), ("test_error", width_test[k] / 100), ("train_error", 0.1)):
            rows.append({"part": "width", "variant": "plain", "width": w, "depth": 1, "seed": s, "step": 1000,
                         "metric": metric, "value": v})
    for s, (v, loss) in itertools.product(SEEDS, depth_loss.items()):
        rows.append({"part": "depth", "variant": v, "width": CFG.depth_width, "depth": 2 if v == "shallow" else 16, "seed": s,
                     "step": 500, "metric": "train_loss", "value": loss})
    for s, (v, w, d, err) in itertools.product(SEEDS, (("shallow-wide", 256, 1, budget[0]), ("deep-narrow", 58, 4, budget[1]))):
        rows.append({"part": "budget", "variant": v, "width": w, "depth": d, "n_params": 13000, "seed": s, "step": 2000,
                     "metric": "test_error", "value": err / 100})
    return [TaskOutput(rows)]


GOOD_DEPTH = {"shallow": 1.2, "plain": 2.3, "residual": 1.0, "layernorm": 1.3, "batchnorm": 1.25, "weightnorm": 2.3,
              "weightnorm+data-init": 1.3}


def test_claims_hold_on_the_lectures_picture():
    claims = summarize(CFG, _fake((1.3, 1.0, 0.8, 0.5), (55, 48, 44, 43), GOOD_DEPTH)).claims
    assert len(claims) == 7 and all(c.verdict == "holds" for c in claims), [(c.name, c.values) for c in claims]


def test_claims_fail_when_width_slows_or_overfits_and_depth_does_not_matter():
    bad_depth = dict(GOOD_DEPTH, plain=1.3, residual=2.3, batchnorm=2.0, **{"weightnorm+data-init": 1.6})
    # a loss that does not fall and rises at one doubling; a U-shaped test error (+10 points)
    claims = summarize(CFG, _fake((1.0, 0.9, 1.2, 0.9), (50, 40, 45, 50), bad_depth, budget=(40.0, 41.0))).claims
    for prefix in ("width speeds optimization: training loss", "width speeds optimization: largest rise",
                   "width rarely adds overfitting", "depth without skips", "residual fixes", "batchnorm fixes",
                   "fixed budget, deeper is better"):
        check_claims_fail(claims, prefix)


@pytest.mark.quick  # minutes: not in CI (`pytest -m quick`); genlab reproduce checks it
def test_quick_scale_every_claim_holds_in_every_seed(tmp_path):
    run = run_experiment("width-depth", scale="quick", out=tmp_path / "width-depth")
    claims = pd.read_json(run / "summary.json", typ="series")["claims"]
    assert len(claims) >= 7 and all(c["verdict"] == "holds" for c in claims), [c["name"] for c in claims if c["verdict"] != "holds"]
    values = {c["name"].split(":")[0]: np.array(c["values"]) for c in claims}
    assert (values["depth without skips or normalization hurts optimization"] >= 0.5).all()
