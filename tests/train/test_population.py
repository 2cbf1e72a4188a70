"""The MLP population's hand-written backward against autograd on the plain modules (float64)."""

import pytest
import torch
from torch import nn

from genlab.models import MLP, LogisticRegression
from genlab.models._neural import ACTIVATIONS
from genlab.train._population import MLPPopulation

torch.set_num_threads(1)


def oracle(model, x, y, loss):
    out = model(x)
    if loss == "cross_entropy":
        value = nn.functional.cross_entropy(out, y)
    else:
        value = nn.functional.mse_loss(out.squeeze(-1) if y.dim() == 1 else out, y)
    grads = torch.autograd.grad(value, list(model.parameters()))
    return value, grads


@pytest.mark.parametrize("activation", sorted(ACTIVATIONS))
@pytest.mark.parametrize("residual", [False, True])
@pytest.mark.parametrize("loss", ["cross_entropy", "mse"])
def test_loss_and_grads_equal_autograd(activation, residual, loss):
    g = torch.Generator().manual_seed(0)
    n_out = 4 if loss == "cross_entropy" else 3
    models = [MLP(6, n_out, width=6 if residual else 7, depth=1 + s, activation=activation, residual=residual,
                  seed=s).double() for s in range(1)]
    models += [MLP(6, n_out, width=models[0].width, depth=models[0].depth, activation=activation,
                   residual=residual, seed=s).double() for s in (1, 2)]
    x = torch.randn(3, 11, 6, generator=g, dtype=torch.float64)
    if loss == "cross_entropy":
        y = torch.randint(0, n_out, (3, 11), generator=g)
    else:
        y = torch.randn(3, 11, n_out, generator=g, dtype=torch.float64)
    pop = MLPPopulation(models, "cpu")
    value, grads = pop.loss_and_grads(x, y, loss)
    torch.testing.assert_close(pop.forward(x), torch.stack([m(x[i]) for i, m in enumerate(models)]), rtol=0, atol=1e-12)
    for i, model in enumerate(models):
        ref_value, ref_grads = oracle(model, x[i], y[i], loss)
        torch.testing.assert_close(value[i], ref_value, rtol=0, atol=1e-12)
        stacked = [grads[2 * k][i] for k in range(len(model.linears))]
        for k, linear in enumerate(model.linears):
            torch.testing.assert_close(grads[2 * k][i], ref_grads[2 * k], rtol=0, atol=1e-12)
            torch.testing.assert_close(grads[2 * k + 1][i].reshape(-1), ref_grads[2 * k + 1], rtol=0, atol=1e-12)
            assert stacked[k].shape == linear.weight.shape


def test_logistic_regression_and_scalar_regression_targets():
    g = torch.Generator().manual_seed(1)
    models = [LogisticRegression(5, 3, seed=s).double() for s in range(2)]
    x = torch.randn(2, 9, 5, generator=g, dtype=torch.float64)
    y = torch.randint(0, 3, (2, 9), generator=g)
    value, grads = MLPPopulation(models, "cpu").loss_and_grads(x, y, "cross_entropy")
    for i, model in enumerate(models):
        ref_value, ref_grads = oracle(model, x[i], y[i], "cross_entropy")
        torch.testing.assert_close(value[i], ref_value, rtol=0, atol=1e-12)
        torch.testing.assert_close(grads[0][i], ref_grads[0], rtol=0, atol=1e-12)
    models = [MLP(1, 1, width=5, seed=s).double() for s in range(2)]
    x = torch.randn(2, 7, 1, generator=g, dtype=torch.float64)
    y = torch.randn(2, 7, generator=g, dtype=torch.float64)
    value, grads = MLPPopulation(models, "cpu").loss_and_grads(x, y, "mse")
    for i, model in enumerate(models):
        ref_value, ref_grads = oracle(model, x[i], y[i], "mse")
        torch.testing.assert_close(value[i], ref_value, rtol=0, atol=1e-12)
        for k in range(len(ref_grads)):
            torch.testing.assert_close(grads[k][i].reshape(ref_grads[k].shape), ref_grads[k], rtol=0, atol=1e-12)


@pytest.mark.parametrize("activation", ["relu", "tanh", "gelu"])
@pytest.mark.parametrize("residual", [False, True])
@pytest.mark.parametrize("loss", ["cross_entropy", "mse"])
def test_sgd_step_inside_the_backward_pass_equals_p_minus_lr_grad(activation, residual, loss):
    g = torch.Generator().manual_seed(2)
    models = [MLP(5, 3, width=5, depth=2, activation=activation, residual=residual, seed=s).double() for s in range(3)]
    x = torch.randn(3, 8, 5, generator=g, dtype=torch.float64)
    y = torch.randint(0, 3, (3, 8), generator=g) if loss == "cross_entropy" else torch.randn(3, 8, 3, generator=g, dtype=torch.float64)
    lr = torch.tensor([0.1, 0.5, 0.0], dtype=torch.float64)  # a zero rate leaves a member where it is
    pop = MLPPopulation(models, "cpu")
    value, d, keep = pop.loss_and_delta(x, y, loss)
    assert pop.backward(d, keep, sgd_lr=lr) is None
    for i, model in enumerate(models):
        ref_value, ref_grads = oracle(model, x[i], y[i], loss)
        torch.testing.assert_close(value[i], ref_value, rtol=0, atol=1e-12)
        for k, linear in enumerate(model.linears):
            expected_w = linear.weight.detach() - lr[i] * ref_grads[2 * k]
            expected_b = linear.bias.detach() - lr[i] * ref_grads[2 * k + 1]
            torch.testing.assert_close(pop.params[2 * k][i], expected_w, rtol=0, atol=1e-12)
            torch.testing.assert_close(pop.params[2 * k + 1][i].reshape(-1), expected_b, rtol=0, atol=1e-12)


def test_plain_and_residual_members_of_equal_shapes_train_each_as_itself():
    """A population must not run a residual MLP through a plain member's forward (equal shapes)."""
    from genlab.data import make_mnist1d
    from genlab.train import TrainConfig, train, train_many

    data = make_mnist1d(500)
    cfg = TrainConfig(lr=0.05, n_steps=5, eval_every=5)
    make = lambda residual: MLP(40, 10, width=8, depth=3, residual=residual, seed=1)  # noqa: E731
    together = train_many([make(False), make(True)], data, cfg, progress=False).final()
    for i, residual in enumerate((False, True)):
        alone = train(make(residual), data, cfg, progress=False).final()
        assert together.loc[i, ("train", "loss")] == pytest.approx(alone.loc[0, ("train", "loss")], rel=1e-6)
