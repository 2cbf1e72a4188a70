"""Bad input to TrainConfig, train and train_many: one clear error naming the parameter."""

from types import SimpleNamespace

import numpy as np
import pytest

from genlab._checks import ParameterError
from genlab.models import MLP, MNIST1DCNN
from genlab.train import TrainConfig, train, train_many


@pytest.mark.parametrize("name", ["lr", "momentum", "eps", "weight_decay", "l1", "l2", "sam_rho", "gamma"])
@pytest.mark.parametrize("value", [float("inf"), float("nan")])
def test_float_fields_must_be_finite(name, value):
    with pytest.raises(ParameterError, match=f"'{name}' parameter of TrainConfig"):
        TrainConfig(**{name: value})


@pytest.mark.parametrize("name", ["shuffle", "restore_best", "nesterov"])
@pytest.mark.parametrize("value", ["no", "x", 0, None])
def test_bool_fields_must_be_bools(name, value):
    with pytest.raises(TypeError, match=rf"'{name}' parameter of TrainConfig must be a bool \(True or False\)"):
        TrainConfig(**{name: value})
    assert TrainConfig(shuffle=np.False_).shuffle == np.False_


@pytest.mark.parametrize("schedule", ["warmup_linear", "warmup_cosine"])
def test_warmup_must_end_before_the_last_step(schedule):
    with pytest.raises(ParameterError, match=r"'warmup_steps' parameter of TrainConfig must be an int in the range \[0, n_steps - 1 = 9\]"):
        TrainConfig(schedule=schedule, warmup_steps=10, n_steps=10)
    TrainConfig(schedule=schedule, warmup_steps=9, n_steps=10)
    TrainConfig(schedule="constant", warmup_steps=1000, n_steps=10)  # ignored without warm-up


def test_seed_beyond_32_bits_is_refused_not_aliased():
    TrainConfig(seed=2**32 - 1)
    with pytest.raises(ParameterError, match=r"'seed' parameter of TrainConfig must be an int in the range \[0, 4294967295\]"):
        TrainConfig(seed=2**32)


def toy(n=12, d=40, k=10, seed=0):
    rng = np.random.default_rng(seed)
    y = np.arange(n) % k
    return SimpleNamespace(x_train=rng.standard_normal((n, d)), y_train=y, x_test=rng.standard_normal((4, d)), y_test=y[:4])


CFG = TrainConfig(n_steps=2, eval_every=1, batch_size=4)


@pytest.mark.parametrize("model", [None, "mlp", 3])
def test_train_model_must_be_a_module(model):
    with pytest.raises(TypeError, match=r"'model' parameter of train must be an nn.Module"):
        train(model, toy(), CFG)


@pytest.mark.parametrize("data", [None, np.zeros((10, 40)), {"x_train": np.zeros((4, 40))}])
def test_train_data_must_be_a_dataset(data):
    with pytest.raises(TypeError, match=r"'data' parameter of train must be a dataset with x_train and y_train"):
        train(MLP(40, 10, width=4), data, CFG)


def test_data_splits_must_pair_up():
    d = toy()
    d.y_test = d.y_test[:3]
    with pytest.raises(ParameterError, match=r"'data' parameter of train .* x_test and y_test have the same number"):
        train(MLP(40, 10, width=4), d, CFG)


def test_config_must_be_a_trainconfig():
    with pytest.raises(TypeError, match=r"'config' parameter of train must be a TrainConfig \(TrainConfig\(\*\*d\)"):
        train(MLP(40, 10, width=4), toy(), {"n_steps": 5})
    with pytest.raises(TypeError, match=r"'configs' parameter of train_many must be a TrainConfig or a sequence"):
        train_many([MLP(40, 10, width=4)], toy(), None)
    with pytest.raises(TypeError, match=r"'configs\[1\]' parameter of train_many must be a TrainConfig"):
        train_many([MLP(40, 10, width=4), MLP(40, 10, width=4)], toy(), [CFG, {"lr": 0.1}])


@pytest.mark.parametrize(("device", "error"), [("tpu", ParameterError), ("meta", ParameterError), (None, TypeError), (0.5, TypeError)])
def test_device_is_checked(device, error):
    with pytest.raises(error, match=r"'device' parameter of train must be 'cpu' or 'cuda'"):
        train(MLP(40, 10, width=4), toy(), CFG, device=device)


def test_train_many_models_must_be_distinct_modules():
    with pytest.raises(TypeError, match=r"'models' parameter of train_many must be a sequence of nn.Module \(use train\(\)"):
        train_many(MLP(40, 10, width=4), toy(), CFG)
    with pytest.raises(TypeError, match=r"'models\[1\]' parameter of train_many must be an nn.Module"):
        train_many([MLP(40, 10, width=4), 2], toy(), CFG)
    m = MLP(40, 10, width=4)
    with pytest.raises(ParameterError, match=r"'models' parameter of train_many must be distinct model objects.*positions 0 and 1"):
        train_many([m, m], toy(), CFG)
    assert len(train_many((MLP(40, 10, width=4, seed=s) for s in range(2)), toy(), CFG).models) == 2  # any iterable


def test_model_inputs_must_match_the_data():
    with pytest.raises(ParameterError, match=r"'model' parameter of train .*x_train is \(12, 40\), so in_features=40\. Got MLP with in_features=7"):
        train(MLP(7, 10, width=4), toy(), CFG)
    with pytest.raises(ParameterError, match=r"'models\[1\]' parameter of train_many .*in_features=40"):
        train_many([MLP(40, 10, width=4), MLP(7, 10, width=4)], toy(), CFG)


def test_other_modules_are_checked_by_one_forward():
    with pytest.raises(ParameterError, match=r"'model' parameter of train must be a model taking the data's inputs \(x_train is \(12, 7\)\)\. Got a MNIST1DCNN that fails"):
        train(MNIST1DCNN(4), toy(d=7), CFG)
    with pytest.raises(ParameterError, match=r"'model' parameter of train must be a model with at least 10 outputs.*shape \(3,\)"):
        train(MNIST1DCNN(4, out_features=3), toy(), CFG)
    model = MNIST1DCNN(4)
    train(model, toy(), CFG)
    assert model.training  # the probe's eval mode is undone


def test_model_outputs_must_cover_the_labels():
    with pytest.raises(ParameterError, match=r"'model' parameter of train must be a model with at least 10 outputs \(the data's labels go up to 9\)\. Got a MLP with outputs of shape \(3,\)"):
        train(MLP(40, 3, width=4), toy(), CFG)


def test_loss_must_fit_the_targets():
    with pytest.raises(ParameterError, match=r"'model' parameter of train must be a model with out_features=1, the shape of the targets y_train \(12,\), for loss='mse'"):
        train(MLP(40, 10, width=4), toy(), CFG.replace(loss="mse"))
    train(MLP(40, 1, width=4), toy(), CFG.replace(loss="mse"))  # regressing on the label value is allowed
    d = toy()
    d.y_train = d.y_train + 0.5
    with pytest.raises(ParameterError, match=r"'data' parameter of train must be class labels .* for loss='cross_entropy'"):
        train(MLP(40, 10, width=4), d, CFG)
