"""MNIST-1D against the reference package (the oracle), determinism and global-state hygiene."""

import dataclasses
import hashlib

import numpy as np
import pytest
from mnist1d.data import get_dataset_args, make_dataset

from genlab._checks import ParameterError
from genlab.data import make_mnist1d

ARG_SETS = [
    pytest.param({}, id="defaults"),
    pytest.param({"shuffle_seq": True, "num_samples": 2000}, id="shuffled"),
    pytest.param({"seed": 7, "num_samples": 1234}, id="other-seed-and-size"),
    pytest.param({"num_samples": 1500, "corr_noise_scale": 0.5, "iid_noise_scale": 0.1, "shear_scale": 1.5, "scale_coeff": 0.8}, id="noise-and-shear"),
    pytest.param({"num_samples": 1000, "padding": [10, 20], "final_seq_length": 30, "max_translation": 20, "train_split": 0.5}, id="geometry"),
    # Edge cases: one padding zero (an exact zero at the right end of the dilation), shifts
    # >= the dilated length (the reference's concat then does not shift), a single shift,
    # more samples than one generation chunk (the draws continue across chunks).
    pytest.param({"num_samples": 600, "padding": [0, 3], "max_translation": 30}, id="padding-0-and-shift-beyond-length"),
    pytest.param({"num_samples": 300, "max_translation": 1, "seed": 11}, id="no-shift"),
    pytest.param({"num_samples": 9000, "seed": 5}, id="several-chunks"),
    pytest.param({"num_samples": 20017, "seed": 13, "max_translation": 65}, id="many-chunks-odd-size-wide-mask"),
    pytest.param({"num_samples": 800, "template_len": 3, "padding": [0, 2], "max_translation": 2}, id="short-signal-shorter-than-filter"),
]


def reference(overrides: dict) -> dict:
    args = get_dataset_args()
    for key, value in overrides.items():
        setattr(args, key, value)
    return make_dataset(args)


def ours(overrides: dict):
    kwargs = {("n_samples" if k == "num_samples" else k): (tuple(v) if k == "padding" else v) for k, v in overrides.items()}
    return make_mnist1d(**kwargs)


@pytest.mark.parametrize("overrides", ARG_SETS)
def test_identical_to_reference_package(overrides):
    ref = reference(overrides)
    got = ours(overrides).as_mnist1d_dict()
    for key in ("x", "x_test", "t"):
        assert got[key].shape == ref[key].shape
        np.testing.assert_array_equal(got[key], ref[key])  # bit for bit, not merely close
    for key in ("y", "y_test"):
        np.testing.assert_array_equal(got[key], ref[key])
    np.testing.assert_allclose(got["templates"]["x"], ref["templates"]["x"], rtol=0, atol=1e-14)


def test_default_fingerprint_from_reference_notes():
    d = make_mnist1d()
    assert d.x_train.shape == (4000, 40) and d.x_test.shape == (1000, 40)
    assert list(d.y_train[:20]) == [2, 6, 4, 5, 6, 6, 6, 0, 3, 1, 6, 9, 4, 3, 4, 5, 1, 9, 0, 3]
    digest = hashlib.sha256(d.y_train.astype("<i8").tobytes()).hexdigest()
    assert digest == "d97dc7aecec8ad6b5d8f143ba3e9c4bd7e25c420d7dfc2eb990591cfc0ed3e15"
    assert np.bincount(d.y_train).tolist() == [398, 396, 411, 394, 394, 402, 401, 404, 402, 398]
    assert d.x_train.sum() == pytest.approx(-51.787468, abs=1e-5)


def test_global_numpy_state_untouched_and_unused():
    np.random.seed(123)
    before = np.random.get_state()
    a = make_mnist1d(500, seed=3)
    after = np.random.get_state()
    assert before[0] == after[0] and np.array_equal(before[1], after[1]) and before[2:] == after[2:]
    np.random.seed(999)  # a different global state must not change the output
    b = make_mnist1d(500, seed=3)
    np.testing.assert_array_equal(a.x_train, b.x_train)


def test_same_seed_same_bytes_different_seed_different_data():
    a, b, c = make_mnist1d(600, seed=1), make_mnist1d(600, seed=1), make_mnist1d(600, seed=2)
    assert a.x_train.tobytes() == b.x_train.tobytes() and a.y_train.tobytes() == b.y_train.tobytes()
    assert not np.allclose(a.x_train, c.x_train)


def test_result_is_frozen():
    d = make_mnist1d(100)
    with pytest.raises(dataclasses.FrozenInstanceError):
        d.x_train = None
    with pytest.raises(ValueError):
        d.x_train[0, 0] = 1.0


@pytest.mark.parametrize(
    ("kwargs", "param"),
    [
        ({"n_samples": 0}, "n_samples"),
        ({"n_samples": -5}, "n_samples"),
        ({"train_split": 0.0}, "train_split"),
        ({"train_split": 1.0}, "train_split"),
        ({"padding": (5, 2)}, "padding"),
        ({"seed": -1}, "seed"),
        ({"iid_noise_scale": -0.1}, "iid_noise_scale"),
    ],
)
def test_bad_arguments_name_the_parameter(kwargs, param):
    with pytest.raises(ParameterError, match=rf"The '{param}' parameter of make_mnist1d must be .* Got .* instead"):
        make_mnist1d(**kwargs)


@pytest.mark.parametrize(
    ("templates", "error"),
    [({}, ParameterError), ("x", TypeError), ({"x": np.zeros((10, 12)), "t": np.zeros(5), "y": np.arange(10)}, ParameterError),
     ({"x": "ab", "t": np.zeros(12), "y": np.arange(10)}, ParameterError)],
    ids=["empty", "str", "shapes", "non-numeric"],
)
def test_bad_templates_are_named(templates, error):
    with pytest.raises(error, match="'templates' parameter of make_mnist1d must be a dict"):
        make_mnist1d(100, templates=templates)


@pytest.mark.parametrize("name", ["scale_coeff", "corr_noise_scale", "iid_noise_scale", "shear_scale"])
def test_non_finite_floats_are_refused(name):
    with pytest.raises(ParameterError, match=f"'{name}' parameter of make_mnist1d"):
        make_mnist1d(100, **{name: float("inf")})


def test_num_samples_alias_must_not_conflict():
    with pytest.raises(ParameterError, match=r"'num_samples' parameter of make_mnist1d must be omitted or equal to n_samples=100"):
        make_mnist1d(100, num_samples=200)
    assert make_mnist1d(num_samples=200).args["num_samples"] == make_mnist1d(200, num_samples=200).args["num_samples"] == 200


@pytest.mark.parametrize("value", ["yes", 1, None])
def test_shuffle_seq_must_be_a_bool(value):
    with pytest.raises(TypeError, match=r"'shuffle_seq' parameter of make_mnist1d must be a bool"):
        make_mnist1d(100, shuffle_seq=value)

