"""Models: parameter counts from the papers, seeded initialization, closed-form fits vs NumPy."""

import numpy as np
import pytest
import torch

from genlab._checks import ParameterError
from genlab.models import (
    MLP,
    MNIST1DCNN,
    MNIST1DGRU,
    FeatureRegression,
    FixedJointModel,
    KnotsModel,
    LogisticRegression,
    RNNRegressor,
    lecture_mlp,
    n_parameters,
)


def test_parameter_counts_match_the_references():
    assert n_parameters(lecture_mlp()) == 15_210
    assert n_parameters(LogisticRegression()) == 410
    assert n_parameters(MNIST1DCNN()) == 5_210
    assert n_parameters(MNIST1DGRU()) == 5_134


def test_seeded_init_is_reproducible_and_leaves_global_rng_alone():
    state = torch.random.get_rng_state()
    a, b, c = lecture_mlp(seed=3), lecture_mlp(seed=3), lecture_mlp(seed=4)
    assert torch.equal(state, torch.random.get_rng_state())
    assert all(torch.equal(p, q) for p, q in zip(a.parameters(), b.parameters()))
    assert not torch.equal(a.linears[0].weight, c.linears[0].weight)


def test_default_init_has_pytorchs_bounds_and_he_init_its_variance():
    m = MLP(400, 10, width=300, depth=1, seed=0)
    bound = 1 / np.sqrt(400)
    w = m.linears[0].weight
    assert w.abs().max() <= bound and w.abs().max() > 0.99 * bound
    he = MLP(400, 10, width=300, depth=1, init="he_normal", seed=0).linears[0].weight
    assert he.std().item() == pytest.approx(np.sqrt(2 / 400), rel=0.02)
    scaled = MLP(400, 10, width=300, depth=1, init="he_scaled", init_scale=2.0, seed=0).linears[0].weight
    assert scaled.std().item() == pytest.approx(2 * np.sqrt(2 / 400), rel=0.02)


def test_residual_and_norm_variants_run():
    x = torch.randn(4, 40)
    for kwargs in ({"residual": True}, {"norm": "layer"}, {"norm": "batch"}, {"dropout": 0.5}, {"activation": "gelu"}):
        assert MLP(40, 10, width=16, **kwargs)(x).shape == (4, 10)
    assert RNNRegressor(8)(torch.randn(4, 12)).shape == (4, 1)


def test_bad_model_arguments():
    with pytest.raises(ParameterError, match=r"The 'width' parameter of MLP must be an int in the range \[1, inf\). Got 0 instead."):
        MLP(40, 10, width=0)
    with pytest.raises(ParameterError, match="'activation' parameter of MLP must be one of"):
        MLP(40, 10, activation="swish")


def test_fixed_joint_model_equals_lstsq():
    rng = np.random.default_rng(0)
    x, y = rng.random(15), rng.standard_normal(15)
    model = FixedJointModel(4).fit(x, y)
    a = np.column_stack([np.ones(15)] + [np.maximum(x - k / 4, 0) for k in range(4)])
    np.testing.assert_allclose(model.coef_, np.linalg.lstsq(a, y, rcond=None)[0], atol=1e-10)
    np.testing.assert_allclose(model.predict(x), a @ model.coef_, atol=1e-12)


def test_knots_model_is_minimum_norm_and_interpolates():
    x = np.arange(6.0)
    y = np.array([25.0, 9, 1, 1, 9, 25])
    knots = np.array([0.5, 1.7, 2.2, 3.9, 4.4, 0.1, 2.8])
    model = KnotsModel(knots).fit(x, y)
    np.testing.assert_allclose(model.predict(x), y, atol=1e-9)  # 9 parameters > 6 points
    # Minimum ||gamma|| among interpolants (a, b free): the null-space directions of the full
    # design, restricted to gamma, are orthogonal to the fitted gamma.
    a = np.column_stack([np.ones(6), x, np.abs(x[:, None] - knots) / 2])
    _, s, vt = np.linalg.svd(a)
    null = vt[len(s[s > 1e-10]):]  # (dim null, 9)
    gamma = model.coef_[2:]
    np.testing.assert_allclose(null[:, 2:] @ gamma, 0, atol=1e-8)
    # With few knots it is the ordinary least-squares fit.
    few = KnotsModel([2.5]).fit(x, y)
    b = np.column_stack([np.ones(6), x, np.abs(x - 2.5) / 2])
    np.testing.assert_allclose(few.coef_, np.linalg.lstsq(b, y, rcond=None)[0], atol=1e-9)


@pytest.mark.parametrize("kind", ["legendre", "polynomial", "random_relu"])
def test_feature_regression_min_norm_and_ridge(kind):
    rng = np.random.default_rng(1)
    x, y = rng.uniform(-1, 1, 10), rng.standard_normal(10)
    model = FeatureRegression(20, features=kind, seed=0).fit(x, y)
    phi = model.features(x)
    np.testing.assert_allclose(model.coef_, np.linalg.pinv(phi) @ y, atol=1e-7)
    ridge = FeatureRegression(20, features=kind, ridge=0.1, seed=0).fit(x, y)
    np.testing.assert_allclose(ridge.coef_, np.linalg.solve(phi.T @ phi + 0.1 * np.eye(20), phi.T @ y), atol=1e-8)
    assert model.singular_values_.shape == (10,)


@pytest.mark.parametrize("value", ["no", 1, None])
def test_bool_arguments_must_be_bools(value):
    with pytest.raises(TypeError, match=r"'residual' parameter of MLP must be a bool \(True or False\)"):
        MLP(40, 10, residual=value)
    assert MLP(40, 10, width=4, residual=np.True_).residual is True


@pytest.mark.parametrize(
    "make",
    [lambda s: MLP(40, 10, width=4, seed=s), lambda s: LogisticRegression(seed=s), lambda s: MNIST1DCNN(seed=s),
     lambda s: MNIST1DGRU(seed=s), lambda s: RNNRegressor(seed=s), lambda s: FeatureRegression(5, seed=s)],
    ids=["mlp", "logreg", "cnn", "gru", "rnn", "features"],
)
def test_seeds_beyond_32_bits_are_refused_not_aliased(make):
    make(2**32 - 1)
    with pytest.raises(ParameterError, match=r"'seed' parameter of \w+ must be an int in the range \[0, 4294967295\]"):
        make(2**32)


def test_cnn_and_gru_sizes_are_checked():
    with pytest.raises(ParameterError, match="'in_length' parameter of MNIST1DCNN"):
        MNIST1DCNN(in_length=2)
    with pytest.raises(ParameterError, match="'out_features' parameter of MNIST1DGRU"):
        MNIST1DGRU(out_features=0)


def test_weight_norm_mlp_equals_the_plain_init_and_data_init_standardizes():
    x = torch.randn(300, 40, generator=torch.Generator().manual_seed(0))
    plain, wn = MLP(40, 10, width=16, depth=3, seed=4), MLP(40, 10, width=16, depth=3, norm="weight", seed=4)
    assert torch.allclose(plain(x), wn(x), atol=1e-6)  # g = ||v|| at init: the same function
    assert {n.rsplit(".", 1)[1] for n, _ in wn.named_parameters() if "parametrizations" in n} == {"original0", "original1"}
    wn.init_from_data(x)
    h = x
    with torch.no_grad():
        for linear in wn.linears[:-1]:  # every hidden pre-activation: mean 0, std 1 over x
            z = linear(h)
            assert torch.allclose(z.mean(0), torch.zeros(16), atol=1e-5) and torch.allclose(z.std(0), torch.ones(16), atol=1e-4)
            h = torch.relu(z)
    with pytest.raises(ParameterError, match="'norm' parameter of MLP must be 'weight'"):
        plain.init_from_data(x)
