"""Bad input to TrainConfig, train and train_many: one clear error naming the parameter."""

import numpy as np
import pytest

from genlab._checks import ParameterError
from genlab.train import TrainConfig


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
