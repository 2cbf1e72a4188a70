"""Bias-variance decompositions over replica predictions, and replicas trained by the engine.

Squared loss: ``error = bias^2 + variance + noise`` exactly (asserted). 0-1 loss: Domingos (2000)
with net variance, ``loss = bias + net_variance`` exactly (asserted) for noise-free labels;
mlxtend adds the raw variance instead, so its terms do not add up (mlxtend #964).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import torch

from genlab._checks import ParameterError, check_choice, check_int, fail


@dataclass(frozen=True)
class BiasVariance:
    """Squared-loss decomposition averaged over test points (``*_stderr`` over test points).

    ``expected_error = bias2 + variance + noise``. With ``f_test`` (the noiseless target) the
    expected error is over fresh label noise; without it the noise is folded into ``bias2``
    (as mlxtend does) and ``noise`` is 0. ``test_error`` is the error against the given labels.
    """

    expected_error: float
    bias2: float
    variance: float
    noise: float
    test_error: float
    bias2_stderr: float
    variance_stderr: float
    n_replicas: int
    n_points: int


@dataclass(frozen=True)
class BiasVariance01:
    """Domingos' 0-1 decomposition: ``expected_loss = bias + net_variance``.

    ``net_variance = unbiased_variance - biased_variance`` where the unbiased part is the
    variance on points whose main prediction is right (it adds errors) and the biased part is
    weighted by ``P(h = y | h != main)`` on points whose main prediction is wrong (it removes
    errors). ``variance`` is the raw disagreement with the main prediction (mlxtend's term).
    """

    expected_loss: float
    bias: float
    net_variance: float
    unbiased_variance: float
    biased_variance: float
    variance: float
    n_replicas: int
    n_points: int


def _se(a: np.ndarray) -> float:
    return float(a.std(ddof=1) / math.sqrt(a.size)) if a.size > 1 else float("nan")


def bias_variance(predictions, y_test, *, f_test=None, noise_var: float | None = None) -> BiasVariance:
    """Squared-loss bias / variance / noise from replica predictions.

    Parameters
    ----------
    predictions : array (M, n) or (M, n, d)
        Predictions of ``M`` replicas (bootstrap or seed replicas) on ``n`` test points.
    y_test : array (n,) or (n, d)
        Observed test targets.
    f_test : array like ``y_test``, optional
        Noiseless targets (the data's generating function), when known.
    noise_var : float, optional
        Label-noise variance per output; with ``f_test``, used instead of the estimate
        ``mean (y - f)^2``.
    """
    p = np.asarray(predictions, dtype=np.float64)
    y = np.asarray(y_test, dtype=np.float64)
    if p.ndim not in (2, 3) or p.shape[1:] != y.shape:
        raise fail("predictions", "bias_variance", f"an array (M, *{y.shape})", f"shape {p.shape}")
    m = check_int(p.shape[0], "predictions.shape[0]", "bias_variance", low=1)
    axes = tuple(range(1, y.ndim))  # sum over output dims, keep points
    main = p.mean(0)  # (n, ...)
    var_pt = ((p - main) ** 2).mean(0).sum(axes) if axes else ((p - main) ** 2).mean(0)
    err_y = ((p - y) ** 2).mean(0)
    err_y = err_y.sum(axes) if axes else err_y
    if f_test is None:
        bias_pt = ((main - y) ** 2).sum(axes) if axes else (main - y) ** 2
        noise = 0.0
        expected = float(err_y.mean())
    else:
        f = np.asarray(f_test, dtype=np.float64)
        bias_pt = ((main - f) ** 2).sum(axes) if axes else (main - f) ** 2
        d = int(np.prod(y.shape[1:])) if y.ndim > 1 else 1
        noise = float(noise_var) * d if noise_var is not None else float(((y - f) ** 2).reshape(len(y), -1).sum(1).mean())
        err_f = ((p - f) ** 2).mean(0)
        expected = float((err_f.sum(axes) if axes else err_f).mean()) + noise
    bias2, variance = float(bias_pt.mean()), float(var_pt.mean())
    # The identity is exact algebra (E(h-a)^2 = (Eh-a)^2 + Var h); check it in floating point.
    assert math.isclose(expected, bias2 + variance + noise, rel_tol=1e-9, abs_tol=1e-12), (expected, bias2, variance, noise)
    return BiasVariance(expected, bias2, variance, noise, float(err_y.mean()), _se(bias_pt), _se(var_pt), m, len(y))


def bias_variance_01(predictions, y_test) -> BiasVariance01:
    """Domingos' decomposition of the expected 0-1 loss, with net variance.

    Parameters
    ----------
    predictions : int array (M, n)
        Predicted labels of ``M`` replicas (non-negative ints).
    y_test : int array (n,)
        True labels (taken as noise-free: the noise term is 0).
    """
    p = np.asarray(predictions)
    y = np.asarray(y_test)
    if p.ndim != 2 or p.shape[1:] != y.shape or not np.issubdtype(p.dtype, np.integer):
        raise fail("predictions", "bias_variance_01", f"an int array (M, {y.shape[0] if y.ndim else '?'})",
                   f"{p.dtype} array of shape {p.shape}")
    if (p < 0).any() or (y < 0).any():
        raise fail("predictions", "bias_variance_01", "non-negative class labels", int(min(p.min(), y.min())))
    n_cls = int(max(p.max(), y.max())) + 1
    counts = np.zeros((n_cls, p.shape[1]), dtype=np.int64)
    np.add.at(counts, (p, np.arange(p.shape[1])[None, :].repeat(p.shape[0], 0)), 1)
    main = counts.argmax(0)  # the mode; ties go to the smallest label (as np.bincount().argmax())
    loss_pt = (p != y).mean(0)
    bias_pt = (main != y).astype(np.float64)
    var_pt = (p != main).mean(0)
    # P(h = y | h != main) on biased points: replicas that leave a wrong main prediction and hit y.
    hit = (p == y).mean(0)
    q = np.divide(hit, var_pt, out=np.zeros_like(var_pt), where=var_pt > 0)
    unb = np.where(bias_pt == 0, var_pt, 0.0)
    bia = np.where(bias_pt == 1, q * var_pt, 0.0)
    loss, bias = float(loss_pt.mean()), float(bias_pt.mean())
    net = float(unb.mean() - bia.mean())
    assert math.isclose(loss, bias + net, rel_tol=1e-9, abs_tol=1e-12), (loss, bias, net)
    return BiasVariance01(loss, bias, net, float(unb.mean()), float(bia.mean()), float(var_pt.mean()), p.shape[0], p.shape[1])


@dataclass(frozen=True)
class ReplicaBiasVariance:
    """Decomposition over replicas trained by :func:`genlab.train.train_many`.

    ``result`` is a :class:`BiasVariance` (squared loss) or :class:`BiasVariance01`;
    ``predictions`` has shape ``(M, n_test[, d])``.
    """

    result: BiasVariance | BiasVariance01
    predictions: np.ndarray
    replicas: str
    n_replicas: int
    wall_time_s: float


def bias_variance_replicas(make_model: Callable[[int], torch.nn.Module], data, config, *, n_replicas: int = 10,
                           replicas: str = "bootstrap", loss: str | None = None, f_test=None,
                           noise_var: float | None = None, seed: int = 0, device: str = "cpu") -> ReplicaBiasVariance:
    """Train ``n_replicas`` replicas with the population engine and decompose their test error.

    Parameters
    ----------
    make_model : callable seed -> nn.Module
        Builds one replica; e.g. ``lambda s: lecture_mlp(seed=s)``.
    data : dataset
        ``x_train, y_train, x_test, y_test``.
    config : genlab.train.TrainConfig
        Training settings shared by all replicas; each replica gets ``seed + r`` as its
        batch-order seed.
    replicas : {'bootstrap', 'seeds'}
        ``'bootstrap'``: each replica trains on a bootstrap resample of the training set *with
        the same initialization and batch-order seed* (variance from the data only);
        ``'seeds'``: same data, different initialization and batch order (variance from
        initialization and ordering only).
    loss : {'squared', '01'}, optional
        Default: '01' for integer targets, 'squared' otherwise. For classification with
        'squared', predictions are softmax probabilities against one-hot labels.
    """
    import dataclasses
    import time

    from genlab.train import train_many

    owner = "bias_variance_replicas"
    check_choice(replicas, "replicas", owner, ("bootstrap", "seeds"))
    n_replicas = check_int(n_replicas, "n_replicas", owner, low=2)
    y_tr = np.asarray(data.y_train)
    classification = np.issubdtype(y_tr.dtype, np.integer)
    loss = loss or ("01" if classification else "squared")
    check_choice(loss, "loss", owner, ("squared", "01"))
    if loss == "01" and not classification:
        raise ParameterError("The 'loss' parameter of bias_variance_replicas must be 'squared' for real targets. Got '01' instead.")
    t0 = time.perf_counter()
    rng = np.random.default_rng(seed)
    models, datas, configs = [], [], []
    n = len(y_tr)
    for r in range(n_replicas):
        if replicas == "bootstrap":
            idx = rng.integers(0, n, size=n)
            datas.append(_Resampled(np.asarray(data.x_train)[idx], y_tr[idx], data.x_test, data.y_test))
            models.append(make_model(seed))
            configs.append(config.replace(seed=seed) if hasattr(config, "replace") else dataclasses.replace(config, seed=seed))
        else:
            datas.append(data)
            models.append(make_model(seed + r))
            configs.append(config.replace(seed=seed + r))
    res = train_many(models, datas, configs, device=device)
    x_test = torch.as_tensor(np.asarray(data.x_test), dtype=torch.float32)
    preds = []
    for model in res.models:
        was = model.training
        model.eval()
        try:
            with torch.no_grad():
                out = model(x_test.to(next(model.parameters()).device)).cpu()
        finally:
            model.train(was)
        if classification:
            preds.append(out.argmax(1).numpy() if loss == "01" else torch.softmax(out, 1).numpy())
        else:
            preds.append(out.reshape(len(x_test), -1).squeeze(1).numpy() if out.dim() > 1 and out.shape[1] == 1 else out.numpy())
    preds_a = np.stack(preds)
    y_te = np.asarray(data.y_test)
    if loss == "01":
        result = bias_variance_01(preds_a.astype(np.int64), y_te)
    elif classification:
        result = bias_variance(preds_a, np.eye(preds_a.shape[-1])[y_te])
    else:
        result = bias_variance(preds_a, y_te, f_test=f_test, noise_var=noise_var)
    return ReplicaBiasVariance(result, preds_a, replicas, n_replicas, time.perf_counter() - t0)


@dataclass(frozen=True)
class _Resampled:
    x_train: np.ndarray
    y_train: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray
