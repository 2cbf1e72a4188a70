"""spectral-bias: Fourier content of the fit over training; each claim shown able to fail."""

import numpy as np
import pandas as pd
import pytest
from experiment_helpers import check_claims_fail

from genlab.experiments import run_experiment
from genlab.experiments.practice._spectral_bias import (
    GRID,
    SpectralConfig,
    fourier_amplitudes,
    summarize,
)
from genlab.sweep import TaskOutput

SEEDS = (0, 1)


def test_fourier_amplitudes_of_known_signals():
    a = fourier_amplitudes(0.3 + np.sin(2 * np.pi * GRID) + 0.2 * np.cos(7 * np.pi * GRID))
    assert a[0] == pytest.approx(0.3) and a[2] == pytest.approx(1.0) and a[7] == pytest.approx(0.2)
    assert np.delete(a, [0, 2, 7]).max() < 1e-10


def test_smoke_snapshot_members_are_the_long_run_at_their_step(smoke):
    run = smoke("spectral-bias")
    m = pd.read_csv(run / "metrics.csv")
    fit = m[m.metric == "fit"]
    clean = m[m.metric == "clean_mse"].set_index(["seed", "step"]).value
    for (s, t), f in fit[fit.step > 0].groupby(["seed", "step"]):
        f = f.sort_values("x")
        mse = np.mean((f.value.to_numpy() - np.sin(2 * np.pi * f.x.to_numpy())) ** 2)
        # The member stopped at step t has the longest member's weights at t (full batch, deterministic).
        assert mse == pytest.approx(clean[(s, t)], rel=1e-4)


def _fake(target_steps, high_steps, val, train) -> list[TaskOutput]:
    """Synthetic metrics: amplitudes at the target and noise frequencies, val and train curves per step."""
    rows = []
    for s in SEEDS:
        for t in [0] + list(target_steps):
            rows.append({"seed": s, "step": t, "metric": "amplitude", "k": 2, "value": target_steps.get(t, 0.0)})
            rows.append({"seed": s, "step": t, "metric": "amplitude", "k": 8, "value": high_steps.get(t, 0.0)})
        for t, v in val.items():
            rows.append({"seed": s, "step": t, "metric": "val_mse", "value": v})
            rows.append({"seed": s, "step": t, "metric": "train_mse", "value": train[t]})
    return [TaskOutput(rows)]


CFG = SpectralConfig(seeds=SEEDS, snapshots=(100, 200, 400, 1000, 3000), eval_every=100)
STEPS = (100, 200, 400, 1000, 3000)
TRAIN = {0: 0.7, 100: 0.5, 200: 0.2, 400: 0.15, 1000: 0.1, 3000: 0.05}


def test_claims_hold_on_the_lectures_picture():
    good = _fake(dict(zip(STEPS, (0.3, 0.9, 0.95, 0.95, 0.95))), dict(zip(STEPS, (0.01, 0.02, 0.05, 0.1, 0.3))),
                 {0: 0.9, 100: 0.5, 200: 0.3, 400: 0.35, 1000: 0.4, 3000: 0.6}, TRAIN)
    claims = summarize(CFG, good).claims
    assert all(c.verdict == "holds" for c in claims), [(c.name, c.values) for c in claims if c.verdict != "holds"]


def test_claims_fail_when_noise_comes_first_and_validation_never_turns():
    bad = _fake(dict(zip(STEPS, (0.1, 0.2, 0.3, 0.4, 0.5))), dict(zip(STEPS, (0.3, 0.3, 0.3, 0.3, 0.3))),
                {0: 0.9, 100: 0.8, 200: 0.7, 400: 0.6, 1000: 0.5, 3000: 0.4}, {k: 0.5 for k in TRAIN})
    claims = summarize(CFG, bad).claims
    for prefix in ("low frequencies first", "at the early-stopping point", "... while little", "validation loss turns up",
                   "training loss keeps falling"):
        check_claims_fail(claims, prefix)


@pytest.mark.quick  # minutes: not in CI (`pytest -m quick`); genlab reproduce checks it
def test_quick_scale_every_claim_holds_in_every_seed(tmp_path):
    run = run_experiment("spectral-bias", scale="quick", out=tmp_path / "spectral-bias")
    claims = pd.read_json(run / "summary.json", typ="series")["claims"]
    assert len(claims) >= 5 and all(c["verdict"] == "holds" for c in claims), [c["name"] for c in claims if c["verdict"] != "holds"]
