"""optimizers: the demo's update rule against torch.optim.Adam, the EMA, and each claim shown able to fail."""

import numpy as np
import pandas as pd
import pytest
import torch
from experiment_helpers import check_claims_fail

from genlab.data import make_optimizer_data
from genlab.experiments import run_experiment
from genlab.experiments.practice._optimizers import (
    OptimizersConfig,
    adam_family_path,
    demo_task,
    ema,
    features,
    gd_distance,
    summarize,
)
from genlab.sweep import TaskOutput

SEEDS = (0, 1)


def _problem(seed=0):
    d = make_optimizer_data(seed=seed)
    return features(d.x_train), np.asarray(d.y_train, dtype=np.float64)


def test_the_demos_rule_with_a_second_moment_is_torch_adam():
    phi, y = _problem()
    path, _ = adam_family_path(phi, y, lr=0.05, beta1=0.9, beta2=0.999, batch_size=16, n_steps=30, seed=5)
    rng = np.random.default_rng(5)  # the same batches, replayed for the oracle
    w = torch.zeros(2, dtype=torch.float64, requires_grad=True)
    opt = torch.optim.Adam([w], lr=0.05, betas=(0.9, 0.999), eps=1e-8)
    pt, yt = torch.from_numpy(phi), torch.from_numpy(y)
    for t in range(30):
        idx = torch.from_numpy(rng.choice(len(y), size=16, replace=False))
        opt.zero_grad()
        torch.mean((pt[idx] @ w - yt[idx]) ** 2).backward()
        opt.step()
        np.testing.assert_allclose(path[t + 1], w.detach().numpy(), rtol=1e-10, atol=1e-12)


def test_sgd_preset_at_full_batch_is_gradient_descent():
    phi, y = _problem()
    path, _ = adam_family_path(phi, y, lr=0.1, beta1=0.0, beta2=0.0, batch_size=len(y), n_steps=50, seed=0)
    w_star = np.linalg.lstsq(phi, y, rcond=None)[0]
    assert np.linalg.norm(path[-1] - w_star) == pytest.approx(gd_distance(phi, y, 0.1, 50), rel=1e-9)


def test_ema_bias_and_correction_on_a_constant_signal():
    g = np.ones((20, 3))
    np.testing.assert_allclose(ema(g, 0.9, correct=True), 1.0, rtol=1e-12)
    np.testing.assert_allclose(ema(g, 0.9, correct=False)[:, 0], 1 - 0.9 ** np.arange(1, 21), rtol=1e-12)


def test_divergence_stops_the_path_without_a_crash():
    phi, y = _problem()
    path, _ = adam_family_path(phi, y, lr=50.0, beta1=0.0, beta2=0.0, batch_size=32, n_steps=100, seed=0)
    assert np.isnan(path[-1]).all() and np.isfinite(path[0]).all()


def test_smoke_run_corrected_ema_starts_at_the_first_gradient(smoke):
    run = smoke("optimizers")
    m = pd.read_csv(run / "metrics.csv")
    first = m[(m.part == "ema") & (m.metric == "first_component")].pivot_table(index=["seed", "step"], columns="series",
                                                                                 values="value")
    step1 = first.xs(1, level="step")
    np.testing.assert_allclose(step1.ema_corrected, step1.raw, rtol=1e-12)  # m_hat_1 = g_1
    np.testing.assert_allclose(step1.ema_uncorrected, 0.1 * step1.raw, rtol=1e-12)  # m_1 = (1 - beta) g_1
    opt = m[m.part == "optimum"].pivot_table(index="seed", columns="metric", values="value")
    for s, row in opt.iterrows():
        phi, y = _problem(s)
        np.testing.assert_allclose(row[["w1", "w2"]].to_numpy(float), np.linalg.solve(phi.T @ phi, phi.T @ y), rtol=1e-8)


CFG = OptimizersConfig(seeds=SEEDS, batch_sizes=(8, 128), demo_steps=200, ema_runs=100, ema_steps=100, mnist_steps=1500)


@pytest.fixture(scope="module")
def demo():
    return demo_task(list(SEEDS), [8, 128], 200, 0.9, 32, 100, 100)


def _mnist(errors: dict, jitter: float = 0.2) -> TaskOutput:
    """Synthetic MNIST-1D curves: test error ends at errors[name] (wobbling by jitter points at the end)."""
    rows = []
    for name, e in errors.items():
        for s in SEEDS:
            for k, t in enumerate((0, 500, 1000, 1500)):
                v = 0.9 if t == 0 else e / 100 + (jitter / 100) * (k % 2)
                for metric in ("test_error", "train_loss", "test_loss"):
                    rows.append({"part": "mnist1d", "optimizer": name, "seed": s, "step": t, "metric": metric,
                                 "value": v})
    return TaskOutput(rows)


GOOD = {"sgd": 39, "momentum": 40, "rmsprop": 39, "adam": 35, "adam+step": 34.5, "adam+cosine": 35.5,
        "adam+warmup_cosine": 34.5}


def _swap(out: TaskOutput, names: dict) -> TaskOutput:
    """Records of optimizer a replaced by those of b, for each a -> b in ``names``."""
    rows = [r for r in out.records if r.get("optimizer") not in names]
    for a, b in names.items():
        rows += [{**r, "optimizer": a} for r in out.records if r.get("optimizer") == b]
    return TaskOutput(rows)


def test_claims_hold_on_the_lectures_picture(demo):
    claims = summarize(CFG, [demo, _mnist(GOOD)]).claims
    assert all(c.verdict == "holds" for c in claims), [(c.name, c.values) for c in claims if c.verdict != "holds"]


def test_path_claims_fail_when_adam_and_rmsprop_are_sgd_and_momentum_does_nothing(demo):
    claims = summarize(CFG, [_swap(demo, {"adam": "sgd", "rmsprop": "sgd", "momentum": "sgd"}), _mnist(GOOD)]).claims
    for prefix in ("Adam ends far closer", "RMSprop-like (beta1 = 0) ends", "momentum smooths",
                   "larger batches, less noise"):
        check_claims_fail(claims, prefix)


def test_ema_claims_fail_without_smoothing_or_correction(demo):
    rows = [r for r in demo.records if r.get("part") != "ema"]
    ema_rows = [r for r in demo.records if r.get("part") == "ema"]
    by = {(r["series"], r["seed"], r["step"], r["metric"]): r["value"] for r in ema_rows}
    # The 'EMA' is the raw gradient, and the corrected series is the uncorrected one.
    swapped = [{**r, "value": by[("raw" if r["series"] == "ema_corrected" else r["series"], r["seed"], r["step"], r["metric"])]}
               if r["metric"] == "rel_error_rms" else
               {**r, "value": by[("ema_uncorrected" if r["series"] == "ema_corrected" else "raw", r["seed"], r["step"], r["metric"])]}
               for r in ema_rows]
    claims = summarize(CFG, [TaskOutput(rows + swapped), _mnist(GOOD)]).claims
    check_claims_fail(claims, "the EMA (beta 0.9) cuts")
    check_claims_fail(claims, "without bias correction")
    check_claims_fail(claims, "dividing by 1 - beta^t")


def test_mnist_claims_fail_when_sgd_wins_and_schedules_wobble(demo):
    claims = summarize(CFG, [demo, _mnist({**GOOD, "sgd": 30}, jitter=3.0)]).claims
    check_claims_fail(claims, "Adam beats plain SGD")
    check_claims_fail(claims, "a decayed rate ends steadily")


@pytest.mark.quick  # minutes: not in CI (`pytest -m quick`); genlab reproduce checks it
def test_quick_scale_every_claim_holds_in_every_seed(tmp_path):
    run = run_experiment("optimizers", scale="quick", out=tmp_path / "optimizers")
    claims = pd.read_json(run / "summary.json", typ="series")["claims"]
    assert len(claims) >= 11 and all(c["verdict"] == "holds" for c in claims), [c["name"] for c in claims if c["verdict"] != "holds"]
