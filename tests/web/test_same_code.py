"""One implementation, two front ends: each demo's JSON equals what the experiment computes.

Every test asks the API (through FastAPI's test client, as the page does) and compares the answer
with the experiment's own task function for the same settings: ``genlab run NAME`` and the page
cannot drift apart. A demo that reimplemented its subject (another net or RNG, LeakyReLU's
lecture slope 0.1 instead of the model's, its own LayerNorm, He init instead of the experiment's
default init, another data draw) fails here.
"""

import math

import numpy as np
import pandas as pd
import pytest

from genlab.experiments.practice import (
    _input_normalization,
    _optimizers,
    _signal_propagation,
    _spectral_bias,
)

ROUND = 5e-7  # the API rounds values to 6 decimals


def rows(task_output) -> pd.DataFrame:
    return pd.DataFrame(task_output.records)


@pytest.mark.parametrize("layer_norm", [False, True])
def test_init_equals_the_initialization_experiments_profile(client, layer_norm):
    q = {"scale": 0.7, "mean": 1.5, "std": 2.0, "layer_norm": layer_norm, "seed": 3}
    api = client.get("/api/init", params=q).json()["layers"]
    # The experiment's pooled statistics of net 0 with one input are the demo's numbers.
    exp = _signal_propagation.profile(3, scale=0.7, norm="layer" if layer_norm else None, input_mean=1.5, input_std=2.0,
                                      n_networks=1, n_inputs=1, gradients=False)
    assert [layer["name"] for layer in api] == ["x", "h1", "h2", "h3", "h4", "y"]
    np.testing.assert_allclose([layer["std"] for layer in api], exp["act_std"], rtol=1e-12)
    np.testing.assert_allclose([layer["mean"] for layer in api], exp["act_mean"], rtol=1e-12, atol=1e-15)
    np.testing.assert_allclose([layer["frac_zero"] for layer in api], exp["frac_zero"])
    acts, _ = _signal_propagation.net_signals(3, 0, scale=0.7, norm="layer" if layer_norm else None, input_mean=1.5,
                                              input_std=2.0, n_inputs=1, gradients=False)
    for layer, values in zip(api, acts.values):
        assert len(layer["values"]) == 128
        np.testing.assert_allclose(layer["values"], values, atol=ROUND)


@pytest.mark.parametrize("activation", ["relu", "leaky_relu", "sigmoid", "tanh"])
def test_gradflow_equals_the_gradient_flow_experiments_profile(client, activation):
    api = client.get("/api/gradflow", params={"activation": activation, "scale": 1.2, "seed": 2}).json()["layers"]
    exp = _signal_propagation.profile(2, activation=activation, scale=1.2, n_networks=1, n_inputs=1)
    np.testing.assert_allclose([layer["std"] for layer in api], exp["grad_std"], rtol=1e-12)
    assert abs(api[-1]["std"] - 1 / math.sqrt(128)) < 0.01  # dE/dy: the injected unit vector


def test_activation_curves_equal_the_gradient_flow_experiments_rows(client):
    api = client.get("/api/activations", params={"z_max": 4.0}).json()
    acts = list(api["activations"])
    out = rows(_signal_propagation.gradflow_task(seed=0, width=8, depth=2, activations=acts, scale=1.0, n_networks=1,
                                                 n_inputs=2, z_max=4.0))
    curves = out[out.part == "curve"]
    for a in acts:
        for m in ("g", "dg"):
            c = curves[(curves.activation == a) & (curves.metric == m)].sort_values("z")
            np.testing.assert_allclose(api["z"], c.z, atol=ROUND)
            np.testing.assert_allclose(api["activations"][a][m], c.value, atol=ROUND, err_msg=f"{a} {m}")
    assert api["activations"]["sigmoid"]["max_dg"] == pytest.approx(0.25, abs=1e-4)


def test_ema_equals_the_optimizers_experiments_ema(client):
    api = client.get("/api/ema", params={"beta": 0.8, "n_steps": 40, "noise": 0.5, "seed": 4}).json()
    signal = np.array(api["signal"])
    np.testing.assert_allclose(api["ema"], _optimizers.ema(signal, 0.8, correct=False), atol=4 * ROUND)
    np.testing.assert_allclose(api["ema_corrected"], _optimizers.ema(signal, 0.8, correct=True), atol=4 * ROUND)


def test_optimizer_path_equals_the_optimizers_experiments_path(client):
    # The experiment's Adam preset at batch 32 on seed 0's data, with its own batch-order seed.
    lr, b1, b2 = _optimizers.PRESETS["adam"]
    batch_seed = 100_000 * 0 + 10 * 32 + list(_optimizers.PRESETS).index("adam")
    out = rows(_optimizers.demo_task([0], [32], 20, 0.9, 8, 10, 1))
    exp = out[(out.part == "path") & (out.optimizer == "adam")].pivot_table(index="step", columns="metric", values="value")
    api = client.get("/api/optimizer", params={"log_lr": math.log10(lr), "beta1": b1, "beta2": b2, "batch_size": 32,
                                               "n_steps": 20, "seed": batch_seed, "contour": False}).json()
    np.testing.assert_allclose(api["path"], exp[["w1", "w2"]].to_numpy(), atol=ROUND)
    np.testing.assert_allclose(api["batch_loss"], exp.batch_mse.dropna().to_numpy(), rtol=1e-9)
    opt = out[out.part == "optimum"].set_index("metric").value
    np.testing.assert_allclose(api["optimum"], [opt["w1"], opt["w2"]], rtol=1e-12)


def test_spectral_training_equals_the_spectral_bias_experiment(client):
    # The experiment trains with genlab's population engine, the page with torch.optim step by
    # step: the fit, its Fourier content and the curves agree to float32 rounding.
    seed, t = 1, 30
    out = rows(_spectral_bias.spectral_task(seed, [t], 1e-3, 10, 64))
    api = client.get("/api/spectral", params={"log_lr": -3.0, "step": t, "seed": seed}).json()
    assert api["complete"] and api["step"] == t
    fit = out[(out.metric == "fit") & (out.step == t)].sort_values("x")
    np.testing.assert_allclose(api["x_grid"], fit.x)
    np.testing.assert_allclose(api["y_pred"], fit.value, atol=2e-5)
    amp = out[(out.metric == "amplitude") & (out.step == t)].sort_values("k")
    np.testing.assert_allclose(api["amplitude"], amp.value, atol=2e-5)
    for name, key in (("train_mse", "train_loss"), ("val_mse", "val_loss")):
        c = out[out.metric == name].set_index("step").value
        web = dict(zip(api["loss_steps"], api[key]))
        np.testing.assert_allclose([web[s] for s in c.index], c, rtol=1e-4, err_msg=name)
    pts = out[out.metric == "train_point"]
    np.testing.assert_allclose(api["x_train"], pts.x)
    np.testing.assert_allclose(api["y_train"], pts.value)


@pytest.mark.parametrize("normalize", [False, True])
def test_normalization_training_equals_the_input_normalization_experiment(client, normalize):
    seed, t = 0, 40
    member = {"dx": 2.0, "dy": 3.0, "standardized": normalize}
    out = rows(_input_normalization.shift_task([seed], [member], 0.1, t, 10, 64))
    api = client.get("/api/normalization", params={"x_offset": 2.0, "y_offset": 3.0, "log_lr": -1.0, "normalize": normalize,
                                                   "step": t, "seed": seed}).json()
    assert api["complete"] and api["diverged_at"] is None
    for name, key in (("train_mse", "train_loss"), ("val_mse", "val_loss")):
        c = out[out.metric == name].set_index("step").value  # original units, as the page shows
        web = dict(zip(api["loss_steps"], api[key]))
        np.testing.assert_allclose([web[s] for s in c.index], c, rtol=1e-4, err_msg=name)
    d = _input_normalization.shifted_sine(seed, 2.0, 3.0)
    np.testing.assert_allclose(api["x_train"], d.x_train[:, 0])
    np.testing.assert_allclose(api["y_train"], d.y_train)


def test_normalization_divergence_agrees_with_the_experiment(client):
    member = {"dx": 0.0, "dy": 10.0, "standardized": False}
    out = rows(_input_normalization.shift_task([0], [member], 0.1, 40, 10, 64))
    api = client.get("/api/normalization", params={"y_offset": 10.0, "log_lr": -1.0, "step": 40}).json()
    assert out[out.metric == "diverged"].value.item() == 1.0
    assert api["diverged_at"] is not None and api["diverged_at"] <= out[out.metric == "diverged"].step.item()


def test_double_descent_curve_is_the_linear_experiments_legendre_task():
    """The shipped double-descent curves are double-descent-linear's own ``legendre_task`` (seed 0, 30 draws)."""
    from genlab.experiments.measuring._double_descent_linear import legendre_task
    from genlab.web import _curves

    d = _curves.precomputed("double_descent", _curves.SHIPPED)
    rows = legendre_task(0, 15, [5, 15, 28], 30, 1e-3).records
    for p in (5, 15, 28):
        i = d["features"].index(p)
        got = {r["metric"]: r["value"] for r in rows if r["P"] == p}
        # at P = N the least-squares system is nearly singular (test MSE ~1e7): its round-off, which
        # varies with the NumPy/LAPACK build (2e-11 relative seen), is amplified by the condition number
        rel = 1e-6 if p == 15 else 1e-12
        assert d["curves"]["0.0"]["test_mse_median"][i] == pytest.approx(got["test_mse_median"], rel=rel)
        assert d["curves"]["0.001"]["test_mse_median"][i] == pytest.approx(got["ridge_test_mse_median"], rel=1e-12)
