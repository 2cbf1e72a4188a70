"""error-decomposition: the teacher and its noise against their definitions, the smoke run's bookkeeping, claims that fail."""

import numpy as np
import pandas as pd
import pytest
import torch
from experiment_helpers import check_claims_fail, claim, summary_of

from genlab._checks import ParameterError
from genlab.experiments import run_experiment
from genlab.experiments.expressivity._error_decomposition import (
    ErrorDecompositionConfig,
    decompose,
    draw,
    make_teacher,
    summarize,
)
from genlab.sweep import TaskOutput

NAME = "error-decomposition"


def test_teacher_is_a_standardized_network_of_its_width_with_the_declared_noise():
    """f* is exactly an MLP of teacher_width ReLU units (a plain forward of its weights), with mean 0 and
    variance 1 on fresh inputs; the labels' residuals are N(0, noise_std^2) (chi-square bounds)."""
    teacher = make_teacher(5, 4, seed=11)
    assert teacher.width == 4 and teacher.depth == 1
    x, y, f = draw(teacher, 50000, 0.3, seed=12)
    (w1, b1), (w2, b2) = [(lin.weight.detach().double(), lin.bias.detach().double()) for lin in teacher.linears]
    plain = (torch.relu(torch.as_tensor(x, dtype=torch.float64) @ w1.T + b1) @ w2.T + b2).squeeze(-1).numpy()
    np.testing.assert_allclose(f, plain, atol=1e-5)
    assert abs(f.mean()) < 0.03 and abs(f.var() - 1) < 0.03
    r = y - f
    assert abs(r.mean()) < 4 * 0.3 / np.sqrt(r.size)
    assert abs(np.mean(r ** 2) / 0.09 - 1) < 4 * np.sqrt(2 / r.size)
    # every unit's kink cuts the input bulk: each unit is active on between 5 % and 95 % of inputs
    active = (torch.as_tensor(x, dtype=torch.float64) @ w1.T + b1 > 0).double().mean(0)
    assert ((active > 0.05) & (active < 0.95)).all(), active


def test_smoke_run_bookkeeping(smoke):
    """The teacher's distance to itself is 0; f_n is the restart of lowest training loss; the loosest budget
    leaves a higher training loss than f_n (rho > 0); the sum-vs-total and Bayes-risk checks hold."""
    run = smoke(NAME)
    metrics = pd.read_csv(run / "metrics.csv")
    assert (metrics[metrics.kind == "teacher"].dist_b == 0).all()
    dec = decompose(metrics)
    loosest = dec[dec.steps == dec.steps.min()]
    assert (loosest.rho > 0).all(), loosest.rho
    assert claim(run, "E_app + E_est + E_opt")["verdict"] == "holds"
    assert claim(run, "Bayes risk")["verdict"] == "holds"
    assert set(summary_of(run)["figures"]) == {"error_decomposition.png", "error_decomposition.svg"}


CFG = ErrorDecompositionConfig(seeds=(0, 1, 2))


def _synthetic(app_wide=0.0, est_growth=True, est_fall=True, opt_fall=True, total_gap=0.0, bayes_gap=0.0, seeds=(0, 1, 2)):
    """Rows as the tasks write them, from the lecture's picture: E_app = 0.5 / w^2 below the teacher's width
    (then ``app_wide``), E_est = 0.002 w / n * 400, E_opt = 5 / steps."""
    c, var, rows = CFG, CFG.noise_std ** 2, []
    budgets = sorted(c.loose_steps) + [c.n_steps]

    def row(kind, s, w, n, steps, train, risk, gap=0.0):
        return {"kind": kind, "seed": s, "width": w, "n": n, "restart": 0, "steps": steps, "train_risk": train,
                "risk_a": risk, "se_excess_a": 1e-4, "risk_b": risk + gap, "se_risk_b": 1e-4, "dist_b": risk - var,
                "noise_var": var}

    for s in seeds:
        rows.append(row("teacher", s, c.teacher_width, 0, 0, np.nan, var * (1 + bayes_gap)))
        for w in c.widths:
            app = 0.5 / w ** 2 if w < c.teacher_width else app_wide
            rows.append(row("best", s, w, c.n_plentiful, c.n_steps, var + app, var + app))
            for n in c.ns:
                est = 0.002 * (w if est_growth else 1.0) * (400 / n if est_fall else 1.0)
                for steps in budgets:
                    opt = 0.0 if steps == c.n_steps else (5 / steps if opt_fall else 0.01)
                    rows.append(row("sample", s, w, n, steps, var - est + opt, var + app + est + opt, gap=total_gap))
    return [TaskOutput(rows)]


def test_claims_hold_on_the_lecture_s_picture():
    claims = summarize(CFG, _synthetic()).claims
    assert all(all(c.holds) for c in claims), [(c.name, c.values) for c in claims if not all(c.holds)]


def test_claims_fail_on_violating_input():
    check_claims_fail(summarize(CFG, _synthetic(app_wide=0.1)).claims, "approximation error falls")
    check_claims_fail(summarize(CFG, _synthetic(app_wide=0.02)).claims, "approximation error ~0")
    check_claims_fail(summarize(CFG, _synthetic(est_growth=False)).claims, "estimation error grows")
    check_claims_fail(summarize(CFG, _synthetic(est_fall=False)).claims, "estimation error falls")
    check_claims_fail(summarize(CFG, _synthetic(opt_fall=False)).claims, "optimization error falls")
    check_claims_fail(summarize(CFG, _synthetic(total_gap=0.01)).claims, "E_app + E_est + E_opt")
    check_claims_fail(summarize(CFG, _synthetic(bayes_gap=0.05)).claims, "Bayes risk")


@pytest.mark.parametrize("override, name", [({"n_plot": 123}, "n_plot"), ({"loose_steps": (50, 4000)}, "loose_steps"),
                                           ({"teacher_width": 3}, "teacher_width")])
def test_bad_settings_name_the_parameter(override, name):
    with pytest.raises(ParameterError, match=f"'{name}' parameter of error-decomposition"):
        ErrorDecompositionConfig(**override)


@pytest.mark.quick  # minutes: not in CI (`pytest -m quick`); genlab reproduce checks it
def test_quick_scale_claims_hold_in_every_seed(tmp_path):
    claims = summary_of(run_experiment(NAME, scale="quick", out=tmp_path / NAME))["claims"]
    assert all(c["verdict"] == "holds" for c in claims), [(c["name"], c["values"]) for c in claims]
