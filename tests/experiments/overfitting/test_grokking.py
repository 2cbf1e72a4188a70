"""grokking: the modular-addition data, the stacked population against a plain per-model loop, the
smoke run's memorization, claims that fail on curves without grokking, and the quick scale."""

import numpy as np
import pandas as pd
import pytest
import torch
from experiment_helpers import check_claims_fail, summary_of

from genlab._checks import ParameterError
from genlab.experiments import run_experiment
from genlab.experiments.overfitting._grokking import (
    GrokkingConfig,
    claims_of,
    init_weights,
    log_steps,
    pairs,
    train_condition,
    train_indices,
)


@pytest.mark.parametrize("modulus", [5, 59])
def test_pairs_and_nested_splits_cover_every_pair_once(modulus):
    a, b, y = pairs(modulus)
    assert sorted(zip(a.tolist(), b.tolist())) == [(i, j) for i in range(modulus) for j in range(modulus)]
    assert all(label == (i + j) % modulus for i, j, label in zip(a.tolist(), b.tolist(), y.tolist()))
    small, large = train_indices(modulus, 0.3, 7), train_indices(modulus, 0.5, 7)
    n = modulus**2
    assert len(small) == round(0.3 * n) and len(large) == round(0.5 * n)
    assert len(set(large.tolist())) == len(large) and set(small.tolist()) <= set(large.tolist())  # nested prefix
    test = sorted(set(range(n)) - set(small.tolist()))
    assert len(test) + len(small) == n and not set(test) & set(small.tolist())  # disjoint, covering all p^2
    assert not torch.equal(train_indices(modulus, 0.3, 8), small)  # each seed its own split


def plain_loop(modulus, width, fraction, weight_decay, seed, n_steps, lr, steps):
    """One model alone: one-hot inputs times a (2p, N) matrix, squared, times (N, p); torch's AdamW."""
    a, b, y = (t.numpy() for t in pairs(modulus))
    x = np.zeros((modulus**2, 2 * modulus))
    x[np.arange(modulus**2), a] = 1
    x[np.arange(modulus**2), modulus + b] = 1
    x, labels = torch.tensor(x), torch.tensor(y)
    train = np.zeros(modulus**2, bool)
    train[train_indices(modulus, fraction, 1000 * seed).numpy()] = True
    u, v, w = init_weights(modulus, width, 1000 * seed + 1, torch.float64)
    w1 = torch.cat([u, v]).requires_grad_()  # (2p, N)
    w2 = w.clone().requires_grad_()  # (N, p)
    opt = torch.optim.AdamW([w1, w2], lr=lr, betas=(0.9, 0.98), weight_decay=weight_decay)
    target = torch.nn.functional.one_hot(labels, modulus).double()
    out = []
    for step in range(n_steps + 1):
        if step in steps:
            with torch.no_grad():
                right = ((x @ w1) ** 2 @ w2).argmax(1) == labels
                norm = torch.sqrt(w1.pow(2).sum() + w2.pow(2).sum())
            out.append((step, right[train].double().mean().item(), right[~train].double().mean().item(), norm.item()))
        if step == n_steps:
            break
        loss = torch.nn.functional.mse_loss((x[train] @ w1) ** 2 @ w2, target[train])
        opt.zero_grad()
        loss.backward()
        opt.step()
    return out


def test_each_member_trains_as_alone_in_a_plain_loop():
    """The stacked population against an independent per-model loop (float64, one-hot matmuls)."""
    kw = {"modulus": 13, "width": 16, "fraction": 0.4, "weight_decay": 0.5, "n_steps": 40, "lr": 1e-2}
    out = pd.DataFrame(train_condition(seeds=[3, 4], n_evals=10, dtype="float64", **kw).records)
    steps = log_steps(40, 10)
    for seed in (3, 4):
        got = out[out.seed == seed].pivot(index="step", columns="metric", values="value")
        want = plain_loop(seed=seed, steps=set(steps), **kw)
        assert list(got.index) == steps == [s for s, *_ in want]
        np.testing.assert_allclose(got.train_accuracy, [t for _, t, _, _ in want], atol=1e-12)
        np.testing.assert_allclose(got.test_accuracy, [t for _, _, t, _ in want], atol=1e-12)
        np.testing.assert_allclose(got.weight_norm, [n for *_, n in want], rtol=1e-9)
        assert got.train_accuracy.iloc[-1] > got.train_accuracy.iloc[0]  # it learned something


def test_smoke_run_memorizes_from_chance(smoke):
    """At smoke scale the network fits its training pairs (100 %) starting from chance on the test pairs."""
    run_dir = smoke("grokking")
    m = pd.read_csv(run_dir / "metrics.csv")
    cfg = summary_of(run_dir)["config"]
    main = m[(m.fraction == cfg["train_fraction"]) & (m.weight_decay == cfg["weight_decay"])]
    last = main[main.step == cfg["n_steps"]].pivot(index="seed", columns="metric", values="value")
    first = main[main.step == 0].pivot(index="seed", columns="metric", values="value")
    assert (last.train_accuracy == 1.0).all(), last
    assert (first.test_accuracy < 5 / cfg["modulus"]).all() and (first.train_accuracy < 5 / cfg["modulus"]).all()
    assert set(m.metric) == {"train_accuracy", "test_accuracy", "train_loss", "weight_norm"}
    assert set(m.seed) == {0, 1} and set(m.fraction) == set(cfg["fractions"])


def synthetic(seeds=(0, 1, 2), fit=30, gen=1000, gen_no_wd=None, gen_big=100, n_steps=3000, norm_falls=True):
    """Long metrics of step curves: train accuracy jumps to 1 at ``fit``, test to 1 at ``gen`` (None: never);
    the weight norm grows to 40 until ``gen`` and ends at 36 where ``norm_falls``."""
    rows = []
    steps = log_steps(n_steps, 60)
    for (f, wd, g) in ((0.3, 1.0, gen), (0.3, 0.0, gen_no_wd), (0.5, 1.0, gen_big), (0.5, 0.0, gen_big)):
        for s in seeds:
            for step in steps:
                vals = {"train_accuracy": float(step >= fit), "test_accuracy": 0.98 if g is not None and step >= g else 0.02,
                        "train_loss": 0.01,
                        "weight_norm": 36.0 if norm_falls and g is not None and step == n_steps
                        else 40 * min(step / (g or n_steps), 1)}
                rows += [{"fraction": f, "weight_decay": wd, "seed": s, "step": step, "metric": k, "value": v}
                         for k, v in vals.items()]
    return pd.DataFrame(rows)


CFG = GrokkingConfig()


def test_claims_hold_on_a_grokking_curve():
    claims = claims_of(CFG, synthetic())
    assert all(all(c.holds) for c in claims), [(c.name, c.values) for c in claims]


def test_claims_fail_without_delay_without_grokking_and_with_grokking_without_weight_decay():
    check_claims_fail(claims_of(CFG, synthetic(gen=60)), "fraction 0.3, wd 1.0: delay")  # test follows train
    never = claims_of(CFG, synthetic(gen=None))  # no generalization at all
    check_claims_fail(never, "fraction 0.3, wd 1.0: delay")
    check_claims_fail(never, "fraction 0.3, wd 1.0: test accuracy at the end")
    check_claims_fail(claims_of(CFG, synthetic(gen_no_wd=2000)), "fraction 0.3, wd 0: test accuracy")
    check_claims_fail(claims_of(CFG, synthetic(gen_big=2000)), "fraction 0.5, wd 1.0: delay")  # delayed too
    check_claims_fail(claims_of(CFG, synthetic(gen=600, norm_falls=False)), "fraction 0.3, wd 1.0: the weight norm")


def test_config_needs_the_conditions_its_claims_compare():
    with pytest.raises(ParameterError, match="'fractions' parameter of grokking must be a list holding train_fraction"):
        GrokkingConfig(fractions=(0.3,))
    with pytest.raises(ParameterError, match="'weight_decays' parameter of grokking must be a list holding weight_decay = 1.0 and 0"):
        GrokkingConfig(weight_decays=(1.0, 0.5))
    with pytest.raises(ParameterError, match="'modulus' parameter of grokking"):
        GrokkingConfig(modulus=2)


@pytest.mark.quick  # minutes: not in CI (`pytest -m quick`); genlab reproduce checks it
def test_quick_scale_groks_in_every_seed(tmp_path):
    run_dir = run_experiment("grokking", scale="quick", out=tmp_path / "grokking")
    for c in summary_of(run_dir)["claims"]:
        assert c["verdict"] == "holds", (c["name"], c["values"])
