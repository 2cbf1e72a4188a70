"""Precomputed grids of the newer experiments' demos: grokking, implicit bias, early stopping, knots.

Each builder runs the experiment's own task functions (``genlab run NAME`` and the page compute
with the same code; tests/web/test_same_code.py checks it) at the experiment's scale, with one seed
and a denser grid of the knob a slider moves. Training them takes minutes, so they are shipped in
``genlab/web/data`` (rebuilt by ``genlab web-data``) and a slider move only looks a value up.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

GROK_FRACTIONS = (0.3, 0.5)  # the experiment's; each condition trains ~20 CPU-s
GROK_WEIGHT_DECAYS = (0.0, 0.3, 1.0)
IB_ALPHAS = (3.0, 1.0, 0.5, 0.3, 0.1, 0.05, 0.03, 0.01, 0.003)
ES_NOISE = (0.0, 0.15, 0.3, 0.45)
IB_PLOT_POINTS = 400


def config(name: str, scale: str, seed: int, **overrides):
    """The experiment ``name``'s config at ``scale`` with the one seed ``seed`` (and ``overrides``)."""
    from genlab.experiments._framework import get_experiment, make_config

    return make_config(get_experiment(name), scale, seed, overrides, seeds=[seed])


def _r(values, digits: int = 6) -> list:
    return np.round(np.asarray(values, dtype=float), digits).tolist()


def grokking(scale: str, seed: int) -> dict:
    """Train and test accuracy and the weight norm of every (fraction, weight decay) of the grid."""
    from genlab.experiments.overfitting import _grokking as g

    cfg = config("grokking", scale, seed, fractions=GROK_FRACTIONS, weight_decays=GROK_WEIGHT_DECAYS,
                 train_fraction=min(GROK_FRACTIONS), weight_decay=max(GROK_WEIGHT_DECAYS))
    frames = []
    for f in GROK_FRACTIONS:
        for wd in GROK_WEIGHT_DECAYS:
            out = g.train_condition(cfg.modulus, cfg.width, f, wd, [seed], cfg.n_steps, cfg.lr, cfg.n_evals)
            frames.append(pd.DataFrame(out.records))
    metrics = pd.concat(frames, ignore_index=True)
    ms = g.milestones(metrics)
    runs = {}
    for (f, wd), m in metrics.groupby(["fraction", "weight_decay"]):
        wide = m.pivot(index="step", columns="metric", values="value").sort_index()
        row = ms.loc[(f, wd, seed)]
        runs[f"{f:g}/{wd:g}"] = {
            "train_accuracy": _r(wide.train_accuracy, 4), "test_accuracy": _r(wide.test_accuracy, 4),
            "weight_norm": _r(wide.weight_norm, 4),
            "steps_to_fit": None if np.isnan(row.steps_to_fit) else float(row.steps_to_fit),
            "steps_to_generalize": None if np.isnan(row.steps_to_generalize) else float(row.steps_to_generalize),
            "final_test": float(row.final_test)}
    return {"fractions": list(GROK_FRACTIONS), "weight_decays": list(GROK_WEIGHT_DECAYS),
            "steps": g.log_steps(cfg.n_steps, cfg.n_evals), "modulus": cfg.modulus, "width": cfg.width,
            "lr": cfg.lr, "n_steps": cfg.n_steps, "fit": g.FIT, "generalize": g.GENERALIZE, "runs": runs}


def implicit_bias(scale: str, seed: int) -> dict:
    """Both interpolants and the diagonal network at every alpha of the grid: metrics, fits and coefficients."""
    from genlab.experiments.overfitting import _implicit_bias as ib

    cfg = config("implicit-bias", scale, seed)
    prob = ib.problem(seed, cfg.n_train, cfg.n_freq, cfg.n_test)
    F, y = prob["F"], prob["y"]
    l2, l1 = ib.min_l2(F, y), ib.min_l1(F, y)
    grid = np.linspace(0, 1, IB_PLOT_POINTS)
    phi = ib.features(grid, cfg.n_freq)
    thetas = ib.gd_diagonal(F, y, list(IB_ALPHAS), cfg.diag_steps, cfg.diag_lr)

    def solution(solver, theta, alpha=np.nan):
        rows = ib.describe(seed, solver, theta, prob, l2, l1, alpha)
        return {"metrics": {r["metric"]: r["value"] for r in rows}, "fit": _r(phi @ theta, 5),
                "coef": _r(theta, 6)}

    return {"alphas": list(IB_ALPHAS), "n_train": cfg.n_train, "n_freq": cfg.n_freq, "diag_steps": cfg.diag_steps,
            "diag_lr": cfg.diag_lr, "x_grid": _r(grid, 5), "y_true": _r(phi @ prob["theta_star"], 5),
            "x_train": _r(prob["x"]), "y_train": _r(y), "target_coef": _r(prob["theta_star"]),
            "min_l2": solution("min_l2", l2), "min_l1": solution("min_l1", l1),
            "diagonal": {f"{a:g}": solution("diagonal", t, a) for a, t in zip(IB_ALPHAS, thetas)}}


def early_stopping(scale: str, seed: int) -> dict:
    """Per label-noise level: the curves trained to the end, the patience stop, the clean-first probe."""
    from genlab.experiments.d2l import _early_stopping as es

    cfg = config("early-stopping", scale, seed, noise_levels=ES_NOISE)
    n_train = None if cfg.n_train >= 4000 else cfg.n_train
    levels = {}
    for p in ES_NOISE:
        m = pd.DataFrame(es.noise_task(p, [seed], cfg.width, cfg.n_steps, cfg.lr, cfg.batch_size, cfg.eval_every,
                                       cfg.patience, n_train, "cpu").records)

        def curve(role, split, metric="error", m=m, p=p):
            return es._curve(m, p, seed, role, split, metric)

        val, test = curve("full", "val"), curve("full", "test")
        level = {"steps": [int(s) for s in val.index], "val_error": _r(val, 5), "test_error": _r(test, 5),
                 "train_error": _r(curve("full", "train").reindex(val.index), 5),
                 "stopped_step": float(curve("stopped", "train", "stopped_step").iloc[0]),
                 "best_step": float(curve("stopped", "test", "restored_error").index[0]),
                 "restored_error": float(curve("stopped", "test", "restored_error").iloc[0]),
                 "gain_points": es.gains(m, p, [seed])[0]}
        if p > 0:
            level["clean_fitted"] = _r(1 - curve("probe", "clean").reindex(val.index), 5)
            level["mislabelled_fitted"] = _r(1 - curve("probe", "mislabelled").reindex(val.index), 5)
            level["clean_first_ratio"] = es.clean_first_ratios(m, p, [seed])[0]
        levels[f"{p:g}"] = level
    return {"noise": list(ES_NOISE), "patience": cfg.patience, "eval_every": cfg.eval_every, "n_steps": cfg.n_steps,
            "width": cfg.width, "lr": cfg.lr, "levels": levels}


def knots(scale: str, seed: int) -> dict:
    """The knots experiment's sweep of one seed (its quantiles of the exact test error per K)."""
    from genlab.experiments.measuring import _knots as kn

    cfg = config("knots", scale, seed)
    m = pd.DataFrame(kn.sweep_task(list(cfg.knot_counts), cfg.n_draws, cfg.n_draws_large, cfg.n_spline_draws,
                                   seed).records)
    table = kn.sweep_table(m, seed)
    return {"K": [int(k) for k in table.index], "n_draws": cfg.n_draws, "n_draws_large": cfg.n_draws_large,
            "threshold": kn.THRESHOLD, "spline_test_mse": kn.spline_test_mse(),
            "stats": {c: [None if not np.isfinite(v) else float(v) for v in table[c]] for c in table.columns}}


BUILDERS = {"grokking": grokking, "implicit_bias": implicit_bias, "early_stopping": early_stopping, "knots": knots}


def knot_fit(k: int, draw: int, seed: int = 0, n_points: int = 501) -> dict:
    """One random draw of ``k`` knots on [0, 5] fitted with the knots experiment's functions.

    The knots are ``numpy.random.default_rng([seed, k, draw]).uniform(0, 5, k)`` (a demo's draw; the
    experiment's own draws are summarized in :func:`knots`); the fit is
    :func:`~genlab.experiments.measuring._knots.fit_knots`, the curve
    :func:`~genlab.experiments.measuring._knots.predict_knots` and the error its exact test MSE.
    """
    from genlab.experiments.measuring import _knots as kn

    t = np.sort(np.random.default_rng([seed, k, draw]).uniform(0, 5, (1, k)), axis=1)
    ab, gamma = kn.fit_knots(t)
    grid = np.linspace(0, 5, n_points)
    pred = kn.predict_knots(t, ab, gamma, grid)[0]
    train = kn.predict_knots(t, ab, gamma, kn._X)[0]
    return {"K": k, "draw": draw, "knots": _r(t[0]), "x_grid": _r(grid, 4), "y_pred": _r(pred, 5),
            "y_true": _r(4 * (grid - 2.5) ** 2, 5), "x_train": kn._X.tolist(), "y_train": kn._Y.tolist(),
            "test_mse": float(kn.exact_test_mse(t, ab, gamma)[0]),
            "train_max_error": float(np.max(np.abs(train - kn._Y))),
            "interpolates": bool(np.max(np.abs(train - kn._Y)) < 1e-6),
            "max_abs_slope": float(np.max(np.abs(np.diff(pred) / np.diff(grid))))}

