"""Checks of ``train`` / ``train_many`` arguments, run once per call before any training.

Each bad argument raises the one-template error naming the parameter, the function and the value
given, instead of an AttributeError or a torch shape error from deep inside the loop. The fit of
model to data (input features, number of classes, target shape for ``mse``) is read from the
attributes of an :class:`MLP` and, for any other module, from one forward pass on two training
samples in eval mode without gradients (no parameter, buffer or RNG state changes).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import numpy as np
import torch
from torch import nn

from genlab._checks import ParameterError, describe, fail, fail_type
from genlab.models import MLP
from genlab.train._config import TrainConfig

_DATASET = "a dataset with x_train and y_train arrays (and optionally x_val/y_val, x_test/y_test), e.g. make_mnist1d()"


def check_models(models, owner: str, name: str) -> list[nn.Module]:
    """The members as a list of distinct ``nn.Module`` s."""
    if isinstance(models, nn.ModuleList):
        models = list(models)
    if isinstance(models, (nn.Module, str)) or not isinstance(models, Iterable):
        hint = " (use train() for one model)" if isinstance(models, nn.Module) else ""
        raise fail_type(name, owner, f"a sequence of nn.Module{hint}", models)
    models = list(models)  # any iterable of modules (a generator too)
    if not models:
        raise fail(name, owner, "a non-empty sequence of nn.Module", models)
    seen: dict[int, int] = {}
    for i, model in enumerate(models):
        label = name if owner == "train" else f"{name}[{i}]"
        if not isinstance(model, nn.Module):
            raise fail_type(label, owner, "an nn.Module (e.g. MLP(40, 10))", model)
        if id(model) in seen:  # both members would write their result into the same object
            j = seen[id(model)]
            raise fail(name, owner, "distinct model objects (one per member: build each, or copy.deepcopy)",
                       models, got=f"the same {type(model).__name__} object at positions {j} and {i}")
        seen[id(model)] = i
        if next(model.parameters(), None) is None:
            raise fail(label, owner, "a module with trainable parameters", model, got=describe(model))
    return models


def check_configs(configs, m: int, owner: str, name: str) -> list[TrainConfig]:
    """One ``TrainConfig`` per member."""
    if isinstance(configs, TrainConfig):
        return [configs] * m
    allowed = "a TrainConfig" + ("" if owner == "train" else " or a sequence of TrainConfig, one per model")
    if isinstance(configs, dict):
        raise fail_type(name, owner, allowed + " (TrainConfig(**d) builds one from a dict)", configs)
    if owner == "train" or not isinstance(configs, Sequence) or isinstance(configs, str):
        raise fail_type(name, owner, allowed, configs)
    configs = list(configs)
    for i, cfg in enumerate(configs):
        if not isinstance(cfg, TrainConfig):
            raise fail_type(f"{name}[{i}]", owner, "a TrainConfig", cfg)
    return configs


def check_device(device, owner: str) -> torch.device:
    allowed = "'cpu' or 'cuda' (or 'cuda:N'), a str or torch.device"
    if not isinstance(device, (str, torch.device)):
        raise fail_type("device", owner, allowed, device)
    try:
        dev = torch.device(device)
    except (RuntimeError, ValueError):
        raise fail("device", owner, allowed, device) from None
    if dev.type not in ("cpu", "cuda"):
        raise fail("device", owner, allowed, device)
    if dev.type == "cuda" and not torch.cuda.is_available():
        raise fail("device", owner, "'cpu' (no CUDA device is available here)", str(dev))
    return dev


def _check_dataset(d, owner: str, name: str) -> None:
    if getattr(d, "x_train", None) is None or getattr(d, "y_train", None) is None:
        raise fail_type(name, owner, _DATASET, d)
    x_shape = np.shape(d.x_train)
    for s in ("train", "val", "test"):
        x, y = getattr(d, f"x_{s}", None), getattr(d, f"y_{s}", None)
        if (x is None) != (y is None):
            raise fail(name, owner, f"a dataset with both x_{s} and y_{s} (or neither)", d,
                       got=f"x_{s} {'missing' if x is None else 'given'} and y_{s} {'missing' if y is None else 'given'}")
        if x is None:
            continue
        xs, ys = np.shape(x), np.shape(y)
        if not xs or not ys or xs[0] != ys[0] or xs[0] == 0:
            raise fail(name, owner, f"a dataset whose x_{s} and y_{s} have the same number (>= 1) of rows", d,
                       got=f"x_{s} of shape {xs} and y_{s} of shape {ys}")
        if xs[1:] != x_shape[1:]:
            raise fail(name, owner, f"a dataset whose x_{s} rows have the shape of x_train's {x_shape[1:]}", d,
                       got=f"x_{s} of shape {xs}")


def check_datas(data, m: int, owner: str) -> list:
    """One dataset per member (the same object repeated when one is given)."""
    per_member = isinstance(data, (list, tuple))
    datas = list(data) if per_member else [data] * m
    checked: set[int] = set()
    for i, d in enumerate(datas):
        if id(d) not in checked:
            _check_dataset(d, owner, f"data[{i}]" if per_member else "data")
            checked.add(id(d))
    return datas


def _targets(d) -> tuple[tuple, bool, int]:
    """``y_train``'s row shape, whether all labels are integers >= 0, and the largest label + 1."""
    ys = [np.asarray(getattr(d, f"y_{s}")) for s in ("train", "val", "test") if getattr(d, f"y_{s}", None) is not None]
    integral = all(y.dtype.kind in "iub" or (y.dtype.kind == "f" and bool(np.all(np.mod(y, 1) == 0))) for y in ys)
    integral = integral and all(y.size == 0 or y.min() >= 0 for y in ys)
    n_labels = int(max(y.max() for y in ys)) + 1 if integral else 0
    return ys[0].shape[1:], integral, n_labels


def _output_shape(model: nn.Module, x, owner: str, label: str, x_shape: tuple) -> tuple:
    """Row shape of ``model``'s output on the data, from attributes (MLP) or one small forward."""
    if isinstance(model, MLP) and type(model).forward is MLP.forward:
        n_features = int(np.prod(x_shape[1:])) if len(x_shape) > 1 else None
        if n_features != model.in_features:
            raise fail(label, owner, f"a model taking the data's inputs: x_train is {x_shape}, so in_features="
                       f"{n_features if n_features else '... after reshaping x to (n, 1)'}", model,
                       got=f"{type(model).__name__} with in_features={model.in_features}")
        return (model.out_features,)
    p = next(model.parameters())
    xb = torch.as_tensor(np.array(x[:2]), dtype=p.dtype, device=p.device)
    was_training = model.training
    try:
        model.eval()  # no dropout draw, no BatchNorm statistics update
        with torch.no_grad():
            out = model(xb)
    except Exception as exc:  # noqa: BLE001 - any failure here means the model does not fit the data
        raise ParameterError(
            f"The {label!r} parameter of {owner} must be a model taking the data's inputs (x_train is {x_shape}). "
            f"Got a {type(model).__name__} that fails on 2 of them: {type(exc).__name__}: {str(exc).splitlines()[0]}"
        ) from exc
    finally:
        model.train(was_training)
    if not isinstance(out, torch.Tensor) or out.dim() < 1 or out.shape[0] != xb.shape[0]:
        raise fail(label, owner, "a model returning one output row per sample", model,
                   got=f"a {type(model).__name__} returning {describe(out)} for {tuple(xb.shape)} inputs")
    return tuple(out.shape[1:])


def check_fit(models, datas, configs, owner: str, name: str) -> None:
    """Each model's inputs and outputs agree with its data and loss."""
    targets: dict[int, tuple] = {}
    for i, (model, d, cfg) in enumerate(zip(models, datas, configs)):
        label = name if owner == "train" else f"{name}[{i}]"
        if id(d) not in targets:
            targets[id(d)] = _targets(d)
        y_row, integral, n_labels = targets[id(d)]
        x_shape = tuple(np.shape(d.x_train))
        out_row = _output_shape(model, d.x_train, owner, label, x_shape)
        kind = type(model).__name__
        if cfg.loss == "cross_entropy":
            if y_row or not integral:
                raise fail("data", owner, "class labels (integers >= 0, shape (n,)) for loss='cross_entropy' "
                           "(use loss='mse' for real targets)", d, got=f"y_train of shape {np.shape(d.y_train)} "
                           f"and dtype {np.asarray(d.y_train).dtype}")
            if len(out_row) != 1 or out_row[0] < n_labels:
                raise fail(label, owner, f"a model with at least {n_labels} outputs (the data's labels go up to "
                           f"{n_labels - 1})", model, got=f"a {kind} with outputs of shape {out_row}")
        elif not (out_row == y_row or (out_row == (1,) and y_row == ())):
            want = "out_features=1" if y_row == () else f"outputs of shape {y_row}"
            raise fail(label, owner, f"a model with {want}, the shape of the targets y_train {np.shape(d.y_train)}, "
                       "for loss='mse' (class labels need loss='cross_entropy')", model,
                       got=f"a {kind} with outputs of shape {out_row}")
