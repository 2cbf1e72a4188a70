"""bad-minima: the poisoned set and the basin radius against plain recomputation, the stored minima
against their logged accuracies, and every claim failing on synthetic metrics that violate it."""

import json

import numpy as np
import pandas as pd
import pytest
import torch
from experiment_helpers import check_claims_fail, summary_of

import genlab.models
from genlab.experiments import get_experiment, run_experiment
from genlab.experiments.expressivity._bad_minima import (
    VARIANTS,
    BadMinimaConfig,
    basin_radii,
    claims_of,
    clean_data,
    poisoned_data,
)
from genlab.measure import random_directions
from genlab.models import MLP

NAME = "bad-minima"
SEEDS = (0, 1, 2)
CFG = BadMinimaConfig(seeds=SEEDS, n_train=1000, n_poison=2000)
# (train accuracy, test accuracy, basin radius) of a minimum as the papers describe them
GOOD = {"normal": (1.0, 0.46, 0.6), "poisoned": (1.0, 0.22, 0.3), "pretrained": (1.0, 0.38, 0.4)}


def synthetic(changes=None) -> pd.DataFrame:
    table = {**GOOD, **(changes or {})}
    rows = []
    for v, (train, test, radius) in table.items():
        for s in SEEDS:
            for metric, value in (("train_accuracy", train), ("test_accuracy", test), ("basin_radius", radius),
                                  ("train_loss", 0.01), ("lambda_max", 1.0), ("weight_norm", 20.0)):
                rows.append({"part": "minimum", "variant": v, "phase": "", "seed": s, "step": np.nan,
                             "radius": np.nan, "metric": metric, "value": value})
    return pd.DataFrame(rows)


def test_claims_hold_on_paper_like_minima():
    claims = claims_of(CFG, synthetic())[0]
    assert len(claims) == 5
    assert all(all(c.holds) for c in claims), [(c.name, c.values) for c in claims if not all(c.holds)]


@pytest.mark.parametrize("changes, prefix", [
    ({"poisoned": (0.97, 0.22, 0.3)}, "every minimum fits the clean training set"),
    ({"pretrained": (0.99, 0.38, 0.4)}, "every minimum fits the clean training set"),
    ({"poisoned": (1.0, 0.44, 0.3)}, "poisoned minimum generalizes worse"),
    ({"pretrained": (1.0, 0.45, 0.4)}, "pre-training on random labels leads to a worse minimum"),
    ({"poisoned": (1.0, 0.22, 0.7)}, "poisoned minimum has the smaller basin"),
    ({"pretrained": (1.0, 0.38, 0.6)}, "pretrained minimum has the smaller basin"),
])
def test_each_claim_fails_on_violating_minima(changes, prefix):
    check_claims_fail(claims_of(CFG, synthetic(changes))[0], prefix)


def test_poisoned_set_is_the_clean_set_plus_random_labels():
    clean, poisoned = clean_data(200, 100, 0), poisoned_data(200, 100, 300, 0)
    assert poisoned.x_train.shape == (500, 40) and poisoned.y_train.shape == (500,)
    assert np.array_equal(poisoned.x_train[:200], clean.x_train) and np.array_equal(poisoned.y_train[:200], clean.y_train)
    assert np.array_equal(poisoned.x_test, clean.x_test) and np.array_equal(poisoned.y_test, clean.y_test)
    x_p, y_p = poisoned.x_train[200:], poisoned.y_train[200:]
    # fresh inputs (no copies of training or test examples) with labels uniform over the 10 classes
    dist = np.abs(x_p[:, None, :] - np.concatenate([clean.x_train, clean.x_test])[None]).sum(-1).min(1)
    assert (dist > 1e-3).all()
    assert set(np.unique(y_p)) == set(range(10)) and np.bincount(y_p).max() < 60  # ~30 per class
    assert not np.array_equal(poisoned_data(200, 100, 300, 1).x_train[200:], x_p)  # each seed its own draw


def test_basin_radius_is_the_first_crossing_of_a_plain_loop():
    """The radius equals the first grid distance, on each side, where a plain loop over
    ``theta + t d`` (vector_to_parameters, argmax) drops below the accuracy threshold."""
    data = clean_data(200, 100, 0)
    model = MLP(40, 10, width=16, depth=2, seed=3)
    opt = torch.optim.Adam(model.parameters(), lr=1e-2)
    x, y = torch.tensor(np.array(data.x_train), dtype=torch.float32), torch.tensor(np.array(data.y_train)).long()
    for _ in range(30):  # short of a minimum: the gradient makes the two signs differ
        opt.zero_grad()
        torch.nn.functional.cross_entropy(model(x), y).backward()
        opt.step()
    model.eval()
    with torch.no_grad():
        acc0 = float((model(x).argmax(1) == y).float().mean())
    threshold, span, n_points = acc0 - 0.0525, 2.0, 81  # between attainable accuracies (k / 200)
    radii, coords, acc = basin_radii(model, data, n_directions=3, span=span, n_points=n_points,
                                     basin_accuracy=threshold, seed=5)
    theta = torch.nn.utils.parameters_to_vector(model.parameters()).detach().clone()
    probe = MLP(40, 10, width=16, depth=2, seed=0).eval()
    asymmetric = []
    for k in range(3):
        d = random_directions(model, seed=1000 * 5 + 300 + k)[0]
        sides = []
        for sign in (1, -1):
            r = span
            for t in coords[coords > 0]:
                torch.nn.utils.vector_to_parameters(theta + sign * t * d, probe.parameters())
                with torch.no_grad():
                    if float((probe(x).argmax(1) == y).float().mean()) < threshold:
                        r = t
                        break
            sides.append(r)
        assert radii[k] == pytest.approx(np.mean(sides))
        asymmetric.append(sides[0] != sides[1])
        assert acc[k][n_points // 2] == pytest.approx(acc0)
    assert (radii > 0).all() and (radii < span).all()  # the basin ends inside the searched span
    assert any(asymmetric)  # the two signs differ somewhere: the mean of both is what is checked


def test_smoke_minima_match_their_logged_accuracies(smoke):
    """The stored minima, re-evaluated here on freshly generated data, give the logged clean train
    and test accuracies; the basin profile's centre is the minimum's own train accuracy."""
    run_dir = smoke(NAME)
    metrics = pd.read_csv(run_dir / "metrics.csv")
    scale = get_experiment(NAME).scales["smoke"]
    index = json.loads((run_dir / "models" / "index.json").read_text())
    seeds = summary_of(run_dir)["seeds"]
    assert set(index) == {f"{v}_seed{s}" for v in VARIANTS for s in seeds}
    m = metrics[metrics.part == "minimum"].set_index(["variant", "seed", "metric"]).value
    for s in seeds:
        data = clean_data(scale["n_train"], 200, s)
        x_tr, x_te = (torch.tensor(np.array(a), dtype=torch.float32) for a in (data.x_train, data.x_test))
        for v in VARIANTS:
            spec = index[f"{v}_seed{s}"]
            model = getattr(genlab.models, spec["factory"].rsplit(".", 1)[1])(**spec["kwargs"])
            model.load_state_dict(torch.load(run_dir / "models" / f"{v}_seed{s}.pt", weights_only=True))
            model.eval()
            with torch.no_grad():
                train = float((model(x_tr).argmax(1).numpy() == data.y_train).mean())
                test = float((model(x_te).argmax(1).numpy() == data.y_test).mean())
            assert m[(v, s, "train_accuracy")] == pytest.approx(train)
            assert m[(v, s, "test_accuracy")] == pytest.approx(test)
            basin = metrics[(metrics.part == "basin") & (metrics.variant == v) & (metrics.seed == s)]
            assert basin[basin.radius == 0].value.iloc[0] == pytest.approx(train)
            assert 0 < m[(v, s, "basin_radius")] <= get_experiment(NAME).config_cls().span
        # the pre-training fitted random labels: far above chance on labels that carry no signal
        assert m[("pretrained", s, "pretrain_fit")] > 0.5
        # the poisoned run saw more examples: its curve is over more steps
        curve = metrics[(metrics.part == "curve") & (metrics.phase == "train")]
        assert curve[curve.variant == "poisoned"].step.max() > curve[curve.variant == "normal"].step.max()


def test_bad_input_names_the_parameter():
    with pytest.raises(ValueError, match="n_points"):
        BadMinimaConfig(n_points=20)


@pytest.mark.quick  # minutes: not in CI (`pytest -m quick`); genlab reproduce checks it
def test_quick_scale_claims_hold_in_every_seed(tmp_path):
    run_dir = run_experiment(NAME, scale="quick", out=tmp_path / NAME)
    summary = summary_of(run_dir)
    assert len(summary["claims"]) == 5
    assert all(c["verdict"] == "holds" for c in summary["claims"]), [c["name"] for c in summary["claims"]
                                                                     if c["verdict"] != "holds"]
    assert get_experiment(NAME).n_seeds["quick"] >= 3
