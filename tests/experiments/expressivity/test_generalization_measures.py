"""generalization-measures: the granulated Kendall coefficient against scipy's
kendalltau, the stored population's invariants, the Monte-Carlo check of the flatness, and every
claim failing on synthetic metrics that violate it."""

import itertools
import math

import numpy as np
import pandas as pd
import pytest
import torch
from experiment_helpers import check_claims_fail, summary_of
from scipy.stats import kendalltau

from genlab.data import make_mnist1d, subsample_train
from genlab.experiments import get_experiment, run_experiment
from genlab.experiments.expressivity._generalization_measures import (
    AXES,
    MEASURES,
    GeneralizationMeasuresConfig,
    _tau,
    claims_of,
    granulated_tau,
    member_table,
    monte_carlo_increase,
)
from genlab.measure import pac_bayes_flatness
from genlab.models import MLP
from genlab.train import TrainConfig, train

NAME = "generalization-measures"
GRID = {"width": (64, 256), "depth": (1, 2), "batch_size": (32, 128), "weight_decay": (0.0, 1e-4),
        "label_noise": (0.0, 0.1, 0.2)}


def oracle_tau(x, y) -> float:
    x = np.where(np.isinf(x), 1e300, x)  # scipy ranks inf like a huge finite value
    return float(kendalltau(x, y).statistic)


def test_tau_is_scipys_kendall_tau_b_with_ties():
    rng = np.random.default_rng(0)
    for n in (2, 3, 7, 48):
        for _ in range(20):
            x, y = rng.integers(0, 4, n).astype(float), rng.standard_normal(n)
            x[x == 3] = np.inf  # an infinite measure (no margin) ranks last
            expected = oracle_tau(x, y) if np.ptp(x) > 0 else float("nan")
            assert _tau(x, y) == pytest.approx(expected, abs=1e-12, nan_ok=True)


def grid_table(seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    rows = [dict(zip(GRID, values)) for values in itertools.product(*GRID.values())]
    table = pd.DataFrame(rows)
    table["gap"] = 0.5 + table.label_noise + 0.01 * rng.standard_normal(len(table))
    table["noisy"] = rng.standard_normal(len(table))
    return table


def test_granulated_tau_matches_scipy_kendall_tau_per_group():
    table = grid_table()
    got = granulated_tau(table, "noisy")
    for axis in AXES:
        others = [a for a in AXES if a != axis]
        taus = [oracle_tau(g.noisy.to_numpy(), g.gap.to_numpy()) for _, g in table.groupby(others)]
        assert got[axis] == pytest.approx(np.mean(taus), abs=1e-12), axis
    assert got["Psi"] == pytest.approx(np.mean([got[a] for a in AXES]), abs=1e-12)
    # the gap itself ranks the gap perfectly on every axis; its negation perfectly wrong
    assert granulated_tau(table, "gap")["Psi"] == pytest.approx(1.0)
    assert granulated_tau(table.assign(neg=-table.gap), "neg")["Psi"] == pytest.approx(-1.0)
    # a measure that only moves with the label noise is undefined (constant) inside the other axes' groups
    only_noise = granulated_tau(table.assign(m=table.label_noise), "m")
    assert only_noise["label_noise"] == pytest.approx(1.0)
    assert all(math.isnan(only_noise[a]) for a in AXES if a != "label_noise")
    assert only_noise["Psi"] == pytest.approx(1.0)


def synthetic_metrics(cfg: GeneralizationMeasuresConfig) -> pd.DataFrame:
    """A population where every claim holds: all members at CE < stop_loss, the gap rising with the
    noise over a 20-point range, and the flatness check equal to the tolerance."""
    rows = []
    for s in cfg.seeds:
        table = grid_table(s)
        table["gap"] = 0.55 + table.label_noise
        table["train_loss"] = 0.5 * cfg.stop_loss
        table["diverged"] = 0.0
        table["flat_sigma"] = 0.1
        table["flat_check_increase"] = cfg.flat_tolerance
        for name in MEASURES:
            table[name] = np.random.default_rng(s).standard_normal(len(table))
        long = table.melt(id_vars=list(AXES), var_name="metric", value_name="value")
        rows.append(long.assign(seed=s))
    return pd.concat(rows, ignore_index=True)


def change(metrics, metric, fn, seed=None):
    """``fn`` applied to the rows of ``metric`` of each seed (or of ``seed`` only)."""
    out = metrics.copy()
    for s in ([seed] if seed is not None else out.seed.unique()):
        mask = (out.metric == metric) & (out.seed == s)
        out.loc[mask, "value"] = fn(out.loc[mask])
    return out


def test_claims_hold_on_a_good_population_and_fail_on_each_violation():
    cfg = GeneralizationMeasuresConfig(seeds=(0, 1, 2))
    good = synthetic_metrics(cfg)
    claims = claims_of(cfg, good)[0]
    assert len(claims) == 4 and all(all(c.holds) for c in claims), [(c.name, c.values) for c in claims]
    # one member per seed above the stop loss; or one diverged
    first = lambda g: np.where(np.arange(len(g)) == 0, 3 * cfg.stop_loss, g.value)  # noqa: E731
    check_claims_fail(claims_of(cfg, change(good, "train_loss", first))[0], "every member trained")
    flag = lambda g: np.where(np.arange(len(g)) == 0, 1.0, 0.0)  # noqa: E731
    check_claims_fail(claims_of(cfg, change(good, "diverged", flag))[0], "every member trained")
    # the gap hardly varies (a 4-point range)
    narrow = change(good, "gap", lambda g: 0.6 + 0.2 * (g.value - 0.55))
    check_claims_fail(claims_of(cfg, narrow)[0], "the generalization gap varies")
    # more noise, smaller gap
    check_claims_fail(claims_of(cfg, change(good, "gap", lambda g: 1.5 - g.value))[0], "label noise orders the gap")
    # the flatness bisection's sigma' disagrees with the independent estimate (3x the tolerance)
    check_claims_fail(claims_of(cfg, change(good, "flat_check_increase", lambda g: 3 * g.value))[0],
                      "PAC-Bayes flatness: an independent")
    # one seed violating leaves the others holding
    c = next(c for c in claims_of(cfg, change(good, "gap", lambda g: 1.5 - g.value, seed=1))[0]
             if c.name.startswith("label noise"))
    assert c.holds == (True, False, True)


def test_monte_carlo_check_agrees_with_the_flatness_bisection():
    """A trained MLP: the fresh-draw loss increase at the bisection's sigma' is near the tolerance,
    and far above it at 2 sigma' (the increase grows ~ sigma'^2)."""
    data = subsample_train(make_mnist1d(), 200, seed=0)
    model = MLP(40, 10, width=32, depth=1, seed=3)
    train(model, data, TrainConfig(optimizer="adam", lr=1e-2, batch_size=50, n_steps=300, eval_every=300))
    x = torch.tensor(np.array(data.x_train), dtype=torch.float32)
    y = torch.from_numpy(np.array(data.y_train)).long()
    flat = pac_bayes_flatness(model, (x, y), tolerance=0.1, n_draws=20, magnitude_aware=True, seed=0)
    at = monte_carlo_increase(model, x, y, flat.sigma, 60, seed=11)
    assert 0.06 < at < 0.15, (flat.sigma, at)
    assert monte_carlo_increase(model, x, y, 2 * flat.sigma, 60, seed=11) > 2.5 * at


def test_smoke_population_is_stored_complete_and_consistent(smoke):
    run_dir = smoke(NAME)
    metrics = pd.read_csv(run_dir / "metrics.csv")
    scale = get_experiment(NAME).scales["smoke"]
    cfg = GeneralizationMeasuresConfig(**scale)
    n_grid = math.prod(len(getattr(cfg, f"{a}s")) for a in ("width", "depth", "batch_size", "weight_decay", "label_noise"))
    for s in summary_of(run_dir)["seeds"]:
        t = member_table(metrics, s)
        assert len(t) == n_grid
        assert not t[list(MEASURES) + ["gap", "flat_check_increase"]].isna().any().any()
        assert np.allclose(t.gap, t.test_error - t.train_error)
        # a member stops at its first evaluation below the stop loss, or runs to the cap
        assert ((t.train_loss < cfg.stop_loss) | (t.steps == cfg.max_steps)).all()
        w, d = t.width, t.depth
        assert np.array_equal(t.n_params, 41 * w + (d - 1) * (w * w + w) + 10 * w + 10)
        # the bisection keeps sigma' within the tolerance, and flatness is 1 / sigma'^2
        assert (t.flat_increase <= cfg.flat_tolerance + 1e-12).all()
        assert np.allclose(t.flatness, 1 / t.flat_sigma**2)
        fitted = t.margin > 0  # at smoke scale some training points are still misclassified
        assert np.allclose(t.inverse_margin[fitted], 1 / t.margin[fitted] ** 2)
        assert np.isinf(t.inverse_margin[~fitted]).all()


@pytest.mark.quick  # minutes: not in CI (`pytest -m quick`); genlab reproduce checks it
def test_quick_scale_every_claim_holds_in_every_seed(tmp_path):
    run_dir = run_experiment(NAME, scale="quick", out=tmp_path / NAME)
    claims = summary_of(run_dir)["claims"]
    assert len(claims) == 4
    assert all(c["verdict"] == "holds" for c in claims), [(c["name"], c["values"]) for c in claims if c["verdict"] != "holds"]
