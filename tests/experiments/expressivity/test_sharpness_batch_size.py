"""sharpness-batch-size: the stored minima against recomputation (exact Hessian, losses on the
line), and every claim failing on synthetic metrics that violate it."""

import json

import numpy as np
import pandas as pd
import pytest
import torch
from experiment_helpers import summary_of

import genlab.models
from genlab.data import make_mnist1d, subsample_train
from genlab.experiments import get_experiment, run_experiment
from genlab.experiments.expressivity._sharpness_batch_size import (
    SharpnessConfig,
    claims_of,
    rescaled,
)

NAME = "sharpness-batch-size"


def stored_models(run_dir) -> dict:
    index = json.loads((run_dir / "models" / "index.json").read_text())
    out = {}
    for name, spec in index.items():
        model = getattr(genlab.models, spec["factory"].rsplit(".", 1)[1])(**spec["kwargs"])
        model.load_state_dict(torch.load(run_dir / "models" / f"{name}.pt", weights_only=True))
        out[name] = model.eval()
    return out


def smoke_data():
    n_train = get_experiment(NAME).scales["smoke"]["n_train"]
    return subsample_train(make_mnist1d(), n_train, seed=0)


def ce(model, x, y) -> float:
    with torch.no_grad():
        return float(torch.nn.functional.cross_entropy(model(torch.as_tensor(x, dtype=torch.float32)), torch.as_tensor(y)))


def test_smoke_line_ends_are_the_two_trained_minima(smoke):
    """The interpolation's alpha = 0 and 1 are the SB and LB models' own losses (recomputed here),
    which are also the engine's logged final training losses; the path leaves both ends."""
    run_dir = smoke(NAME)
    metrics = pd.read_csv(run_dir / "metrics.csv")
    models, data = stored_models(run_dir), smoke_data()
    cfg = get_experiment(NAME).scales["smoke"]
    for s in summary_of(run_dir)["seeds"]:
        line = metrics[(metrics.part == "interpolation") & (metrics.seed == s)]
        for split in ("train", "test"):
            x, y = getattr(data, f"x_{split}"), getattr(data, f"y_{split}")
            curve = line[line.metric == f"{split}_loss"].set_index("alpha").value
            assert curve.index.min() == -0.5 and curve.index.max() == 1.5
            for alpha, name in ((0.0, "sb"), (1.0, "lb")):
                assert curve[alpha] == pytest.approx(ce(models[f"{name}_seed{s}"], x, y), rel=1e-5)
            assert curve.max() > max(curve[0.0], curve[1.0])  # the line leaves both minima
        mins = metrics[(metrics.part == "minima") & (metrics.seed == s)]
        for name, b in (("sb", cfg["small_batch"]), ("lb", cfg["large_batch"])):
            logged = mins[(mins.batch_size == b) & (mins.metric == "train_loss")].value.item()
            assert logged == pytest.approx(ce(models[f"{name}_seed{s}"], data.x_train, data.y_train), rel=1e-5)


def exact_top_eigenvalue(model, x, y) -> float:
    names = [n for n, _ in model.named_parameters()]
    shapes = [p.shape for _, p in model.named_parameters()]
    theta = torch.cat([p.detach().reshape(-1) for _, p in model.named_parameters()])

    def loss(t):
        parts = dict(zip(names, (v.view(sh) for v, sh in zip(torch.split(t, [sh.numel() for sh in shapes]), shapes))))
        return torch.nn.functional.cross_entropy(torch.func.functional_call(model, parts, (x,)), y)

    return float(torch.linalg.eigvalsh(torch.func.hessian(loss)(theta))[-1])


def test_smoke_top_eigenvalue_is_the_exact_hessians(smoke):
    """Lanczos' lambda_max against the top eigenvalue of the full Hessian (torch.func.hessian, float64)."""
    run_dir = smoke(NAME)
    metrics = pd.read_csv(run_dir / "metrics.csv")
    models, data = stored_models(run_dir), smoke_data()
    cfg = get_experiment(NAME).scales["smoke"]
    x = torch.as_tensor(data.x_train, dtype=torch.float64)
    y = torch.as_tensor(data.y_train)
    for name, b in (("sb", cfg["small_batch"]), ("lb", cfg["large_batch"])):
        exact = exact_top_eigenvalue(models[f"{name}_seed0"].double(), x, y)
        mins = metrics[(metrics.part == "minima") & (metrics.seed == 0) & (metrics.batch_size == b)]
        assert mins[mins.metric == "lambda_max"].value.item() == pytest.approx(exact, rel=1e-3)


def test_rescaling_keeps_the_function_and_changes_the_curvature():
    model = genlab.models.MLP(40, 10, width=16, seed=3)
    x = torch.randn(50, 40)
    other = rescaled(model, 3.0)
    torch.testing.assert_close(other(x), model(x), rtol=1e-5, atol=1e-5)
    assert not torch.equal(other.linears[0].weight, model.linears[0].weight)


# Synthetic metrics: a run where every claim holds, then one violation at a time.
SEEDS = (0, 1, 2)
CFG = SharpnessConfig(seeds=SEEDS, sweep_batches=(16, 64), sweep_lrs=(0.1, 0.2))


def good_metrics() -> pd.DataFrame:
    rows = []
    minima = {CFG.small_batch: {"train_loss": 0.009, "reached": 1, "test_accuracy": 0.62, "lambda_max": 3.0, "trace": 60.0,
                                "keskar_sharpness": 2.5, "rescaled_max_output_change": 1e-7, "rescaled_lambda_max": 30.0},
              CFG.large_batch: {"train_loss": 0.008, "reached": 1, "test_accuracy": 0.59, "lambda_max": 6.5, "trace": 120.0,
                                "keskar_sharpness": 6.0}}
    for s in SEEDS:
        for b, values in minima.items():
            rows += [{"part": "minima", "batch_size": b, "lr": CFG.lr, "seed": s, "alpha": np.nan, "metric": k, "value": v}
                     for k, v in values.items()]
        rows.append({"part": "interpolation", "batch_size": np.nan, "lr": np.nan, "seed": s, "alpha": np.nan,
                     "metric": "train_barrier", "value": 0.8})
        for b in CFG.sweep_batches:
            for lr in CFG.sweep_lrs:
                values = {"train_loss": 0.04, "reached": 1, "lambda_max": 0.1 * b / lr}  # sharper at small lr / B
                rows += [{"part": "sweep", "batch_size": b, "lr": lr, "seed": s, "alpha": np.nan, "metric": k, "value": v}
                         for k, v in values.items()]
    return pd.DataFrame(rows)


def claims_by_name(metrics):
    return {c.name: c for c in claims_of(CFG, metrics)[0]}


def change(metrics, part, metric, value, batch_size=None, seed=None):
    out = metrics.copy()
    hit = (out.part == part) & (out.metric == metric)
    if batch_size is not None:
        hit &= out.batch_size == batch_size
    if seed is not None:
        hit &= out.seed == seed
    out.loc[hit, "value"] = value(out.loc[hit]) if callable(value) else value
    return out


def test_every_claim_holds_on_good_metrics():
    claims = claims_by_name(good_metrics())
    assert len(claims) == 10 and all(all(c.holds) for c in claims.values()), [n for n, c in claims.items() if not all(c.holds)]


LB, SB = CFG.large_batch, CFG.small_batch
VIOLATIONS = {
    "both batch sizes trained": ("minima", "train_loss", 0.02, LB),  # LB hit the step cap above the stop loss
    "LB's top Hessian eigenvalue": ("minima", "lambda_max", 2.0, LB),
    "LB's Hessian trace": ("minima", "trace", 50.0, LB),
    "LB's Keskar epsilon-sharpness": ("minima", "keskar_sharpness", 2.0, LB),
    "SB test accuracy": ("minima", "test_accuracy", 0.63, LB),
    "a barrier on the line": ("interpolation", "train_barrier", 0.0, None),  # a convex path
    "sweep: every member": ("sweep", "reached", 0, 64),
    "sweep: sharpness falls": ("sweep", "lambda_max", lambda rows: rows.lr / rows.batch_size, None),  # sharper at large lr / B
    "rescaling (a W1": ("minima", "rescaled_max_output_change", 0.3, SB),  # a rescaling that changed the function
    "... but moves": ("minima", "rescaled_lambda_max", 3.0, SB),
}


@pytest.mark.parametrize("prefix", list(VIOLATIONS))
def test_each_claim_fails_on_metrics_violating_it(prefix):
    part, metric, value, batch_size = VIOLATIONS[prefix]
    claims = claims_by_name(change(good_metrics(), part, metric, value, batch_size))
    found = [c for n, c in claims.items() if n.startswith(prefix)]
    assert len(found) == 1 and not any(found[0].holds), (prefix, found)
    assert all(all(c.holds) for n, c in claims.items() if not n.startswith(prefix))  # only that one


def test_one_bad_seed_shows_in_the_verdict():
    claims = claims_by_name(change(good_metrics(), "minima", "lambda_max", 1.0, LB, seed=1))
    c = claims["LB's top Hessian eigenvalue above SB's (ratio LB / SB)"]
    assert c.holds == (True, False, True) and c.verdict == "partly"


@pytest.mark.quick  # minutes: not in CI (`pytest -m quick`); genlab reproduce checks it
def test_quick_scale_every_claim_holds_in_every_seed(tmp_path):
    run_dir = run_experiment(NAME, scale="quick", out=tmp_path / NAME)
    claims = summary_of(run_dir)["claims"]
    assert len(claims) == 10
    assert all(c["verdict"] == "holds" for c in claims), [(c["name"], c["values"]) for c in claims if c["verdict"] != "holds"]
