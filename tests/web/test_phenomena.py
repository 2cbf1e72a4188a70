"""The demos of the newer experiments (grokking, implicit bias, early stopping, knots).

Same code: each precomputed grid is built by the experiment's own task functions, so the page shows
what ``genlab run NAME`` computes (checked here against the task function at small settings). And
the shipped grids show the phenomenon each page teaches (a damaged or wrongly built grid fails).
"""

import numpy as np
import pandas as pd
import pytest

from genlab.web import _phenomena


def test_implicit_bias_grid_equals_the_experiments_seed_task(monkeypatch):
    from genlab.experiments.overfitting import _implicit_bias as ib

    monkeypatch.setattr(_phenomena, "IB_ALPHAS", (1.0, 0.1, 0.01))
    web = _phenomena.implicit_bias("smoke", 2)
    cfg = _phenomena.config("implicit-bias", "smoke", 2)
    rows = pd.DataFrame(ib.seed_task(2, cfg.n_train, cfg.n_freq, cfg.n_test, cfg.gd_steps, [1.0, 0.1, 0.01],
                                     cfg.diag_steps, cfg.diag_lr).records)
    for solver in ("min_l2", "min_l1"):
        exp = rows[rows.solver == solver].set_index("metric").value
        for metric, v in web[solver]["metrics"].items():
            assert v == pytest.approx(exp[metric], rel=1e-9, abs=1e-12), (solver, metric)
    for a in (1.0, 0.1, 0.01):
        exp = rows[(rows.solver == "diagonal") & np.isclose(rows.alpha, a)].set_index("metric").value
        for metric, v in web["diagonal"][f"{a:g}"]["metrics"].items():
            assert v == exp[metric], (a, metric)  # the same arithmetic: equal, not close


def test_knots_sweep_and_fit_equal_the_experiments_functions(client):
    from genlab.experiments.measuring import _knots as kn

    web = _phenomena.knots("smoke", 1)
    cfg = _phenomena.config("knots", "smoke", 1)
    table = kn.sweep_table(pd.DataFrame(kn.sweep_task(list(cfg.knot_counts), cfg.n_draws, cfg.n_draws_large,
                                                      cfg.n_spline_draws, 1).records), 1)
    np.testing.assert_array_equal(web["K"], table.index)
    np.testing.assert_allclose(web["stats"]["test_mse_p95"], table.test_mse_p95, rtol=1e-12)
    api = client.get("/api/knots", params={"K": 3, "draw": 7}).json()
    t = np.array([api["knots"]])
    ab, gamma = kn.fit_knots(t)
    assert api["test_mse"] == pytest.approx(kn.exact_test_mse(t, ab, gamma)[0], rel=1e-6)
    np.testing.assert_allclose(api["y_pred"], kn.predict_knots(t, ab, gamma, np.array(api["x_grid"]))[0], atol=2e-4)
    assert api["interpolates"] is False  # K + 2 = 5 < 6 parameters: least squares, no interpolation
    assert client.get("/api/knots", params={"K": 10, "draw": 7}).json()["interpolates"] is True


@pytest.mark.slow
def test_grokking_grid_equals_the_experiments_training(monkeypatch):
    from genlab.experiments.overfitting import _grokking as g

    monkeypatch.setattr(_phenomena, "GROK_FRACTIONS", (0.4, 0.6))  # the config needs a larger fraction too
    monkeypatch.setattr(_phenomena, "GROK_WEIGHT_DECAYS", (0.0, 1.0))
    web = _phenomena.grokking("smoke", 0)
    cfg = _phenomena.config("grokking", "smoke", 0, fractions=(0.4, 0.6), train_fraction=0.4)
    out = pd.DataFrame(g.train_condition(cfg.modulus, cfg.width, 0.4, 1.0, [0], cfg.n_steps, cfg.lr, cfg.n_evals).records)
    acc = out[out.metric == "test_accuracy"].sort_values("step").value
    np.testing.assert_allclose(web["runs"]["0.4/1"]["test_accuracy"], acc, atol=1e-4)


@pytest.mark.slow
def test_early_stopping_grid_equals_the_experiments_task(monkeypatch):
    from genlab.experiments.d2l import _early_stopping as es

    monkeypatch.setattr(_phenomena, "ES_NOISE", (0.0, 0.3))  # the config needs the clean level too
    web = _phenomena.early_stopping("smoke", 0)["levels"]["0.3"]
    cfg = _phenomena.config("early-stopping", "smoke", 0)
    m = pd.DataFrame(es.noise_task(0.3, [0], cfg.width, cfg.n_steps, cfg.lr, cfg.batch_size, cfg.eval_every, cfg.patience,
                                   cfg.n_train, "cpu").records)
    np.testing.assert_allclose(web["test_error"], es._curve(m, 0.3, 0, "full", "test", "error"), atol=1e-5)
    assert web["gain_points"] == es.gains(m, 0.3, [0])[0]


# ---------------------------------------------------------------- what the shipped grids show
def test_implicit_bias_page_moves_from_l2_to_l1_as_alpha_shrinks(client):
    d = client.get("/api/implicit-bias", params={"alpha": 1.0}).json()
    path = d["path"]
    l1, l2 = np.array(path["dist_to_min_l1"]), np.array(path["dist_to_min_l2"])
    assert np.all(np.diff(l1) < 0) and np.all(np.diff(l2) > 0)  # alphas are listed largest first
    assert l2[0] < 0.05 and l1[-1] < 0.05  # the two ends are the two interpolants
    assert d["min_l1"]["metrics"]["test_error"] < 1e-6 < 0.1 < d["min_l2"]["metrics"]["test_error"]
    assert len(d["diagonal"]["fit"]) == len(d["x_grid"]) == _phenomena.IB_PLOT_POINTS


def test_knots_page_tail_peaks_at_the_threshold(client):
    d = client.get("/api/knots").json()["sweep"]
    p95, median = np.array(d["stats"]["test_mse_p95"]), np.array(d["stats"]["test_mse_median"])
    assert d["K"][int(p95.argmax())] == d["threshold"] == 4
    assert np.all(np.diff(median) <= 1e-9)  # the median falls monotonically


def test_grokking_page_shows_the_delay_and_the_weight_decay_effect(client):
    d = client.get("/api/grokking", params={"fraction": 0.3, "weight_decay": 1.0}).json()
    r = d["run"]
    assert r["steps_to_generalize"] > 10 * r["steps_to_fit"] and r["final_test"] > 95
    assert d["grid"]["0.3/0"]["final_test"] < 50  # no weight decay: memorization only within the budget
    assert len(r["test_accuracy"]) == len(d["steps"])
    big = d["grid"]["0.5/1"]
    assert big["steps_to_generalize"] < r["steps_to_generalize"]


def test_early_stopping_page_gain_grows_with_noise_and_clean_first(client):
    d = client.get("/api/early-stopping", params={"noise": 0.45}).json()
    assert d["gains"]["0.45"] > d["gains"]["0"] + 1
    L = d["level"]
    clean, wrong, steps = np.array(L["clean_fitted"]), np.array(L["mislabelled_fitted"]), np.array(L["steps"])
    assert steps[np.argmax(wrong >= 0.5)] > 2 * steps[np.argmax(clean >= 0.5)]
    assert L["best_step"] <= L["stopped_step"]


@pytest.mark.parametrize("url,params,needle", [
    ("/api/grokking", {"fraction": 0.35}, "'fraction' parameter must be one of"),
    ("/api/grokking", {"weight_decay": -1}, "weight_decay"),
    ("/api/implicit-bias", {"alpha": 0.2}, "'alpha' parameter must be one of"),
    ("/api/early-stopping", {"noise": 0.2}, "'noise' parameter must be one of"),
    ("/api/knots", {"K": 5000}, "'K' parameter"),
    ("/api/knots", {"draw": -1}, "'draw' parameter"),
])
def test_off_grid_values_get_422_naming_the_parameter(client, url, params, needle):
    r = client.get(url, params=params)
    assert r.status_code == 422 and needle in r.json()["detail"], r.text
