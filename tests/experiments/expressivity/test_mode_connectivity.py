"""mode-connectivity: the paths' ends against the engine's own final losses, the Bezier curve below
the straight line, and every claim failing on synthetic metrics that violate it."""

import numpy as np
import pandas as pd
import pytest
from experiment_helpers import check_claims_fail, summary_of

from genlab.experiments import run_experiment
from genlab.experiments.expressivity._mode_connectivity import (
    COLUMNS,
    ModeConnectivityConfig,
    claims_of,
)

NAME = "mode-connectivity"


def test_smoke_paths_start_and_end_at_the_trained_solutions(smoke):
    """t = 0 and 1 of both paths are members 0 and 1 as the training engine evaluated them (an
    independent forward pass), on train and test; the line's train loss rises above both ends."""
    run_dir = smoke(NAME)
    m = pd.read_csv(run_dir / "metrics.csv")
    for s in summary_of(run_dir)["seeds"]:
        sol = m[(m.part == "solutions") & (m.seed == s)].set_index(["split", "member", "metric"]).value
        for split in ("train", "test"):
            for path in ("line", "bezier"):
                p = m[(m.part == "path") & (m.seed == s) & (m.path == path) & (m.split == split)]
                for t, k in ((0.0, 0), (1.0, 1)):
                    at = p[p.t == t].set_index("metric").value
                    assert at["loss"] == pytest.approx(sol[(split, k, "final_loss")], rel=1e-4)
                    assert at["error"] == pytest.approx(sol[(split, k, "final_error")], abs=1e-6)
        line = m[(m.part == "path") & (m.seed == s) & (m.path == "line") & (m.split == "train") & (m.metric == "loss")]
        assert line.value.max() > line[line.t.isin([0.0, 1.0])].value.max()  # on test it may not: the ends overfit


def test_smoke_bezier_barrier_below_the_lines_in_every_seed(smoke):
    run_dir = smoke(NAME)
    m = pd.read_csv(run_dir / "metrics.csv")
    bar = m[(m.part == "barrier") & (m.split == "train") & (m.metric == "barrier")]
    for s in summary_of(run_dir)["seeds"]:
        b = bar[bar.seed == s].set_index("path").value
        assert 0 <= b["bezier"] < 0.5 * b["line"]


def synthetic(seeds=(0, 1, 2), *, final=(0.02, 0.021), initial=2.3, line=5.0, bezier=0.05, test_rise=0.01):
    """Tidy metrics of the shape the experiment writes, with chosen values."""
    rows = []
    for s in seeds:
        for k, f in enumerate(final):
            rows.append({"part": "solutions", "split": "train", "seed": s, "member": k, "metric": "final_loss", "value": f})
            rows.append({"part": "solutions", "split": "train", "seed": s, "member": k, "metric": "initial_loss",
                         "value": initial})
        for path, b, rise in (("line", line, 0.3), ("bezier", bezier, test_rise)):
            for split in ("train", "test"):
                rows.append({"part": "barrier", "path": path, "split": split, "seed": s, "metric": "barrier", "value": b})
                rows.append({"part": "barrier", "path": path, "split": split, "seed": s, "metric": "error_barrier",
                             "value": rise})
    return pd.DataFrame(rows, columns=COLUMNS)


CFG = ModeConnectivityConfig(seeds=(0, 1, 2))


def test_claims_hold_on_a_connected_landscape():
    claims, _, headline = claims_of(CFG, synthetic())
    assert all(all(c.holds) for c in claims), [(c.name, c.values) for c in claims]
    assert headline["bezier_barrier"] == pytest.approx(0.05)


@pytest.mark.parametrize("kwargs, prefix", [
    ({"final": (0.02, 0.9)}, "the 2 solutions of a seed reach similar"),  # one member stuck
    ({"line": 0.2, "bezier": 0.0}, "the straight line between two solutions has a barrier"),  # linearly connected
    ({"bezier": 2.0}, "the trained Bezier curve has (almost) no barrier"),  # the curve did not train
    ({"test_rise": 0.12}, "test error along the Bezier curve stays"),  # the curve fits train but not test
])
def test_each_claim_fails_when_violated(kwargs, prefix):
    claims, _, _ = claims_of(CFG, synthetic(**kwargs))
    check_claims_fail(claims, prefix)


def test_nan_metric_never_holds():
    claims, _, _ = claims_of(CFG, synthetic(bezier=np.nan))
    check_claims_fail(claims, "the trained Bezier curve")


@pytest.mark.quick  # minutes: not in CI (`pytest -m quick`); genlab reproduce checks it
def test_quick_scale_every_claim_holds_in_every_seed(tmp_path):
    run_dir = run_experiment(NAME, scale="quick", out=tmp_path / NAME)
    claims = summary_of(run_dir)["claims"]
    assert len(claims) == 4
    for c in claims:
        assert all(c["holds"]), (c["name"], c["values"])
