"""Packed widths: members zero-padded to a common width train as themselves alone (float64)."""

import copy

import numpy as np
import pytest
import torch

from genlab._checks import ParameterError
from genlab.models import MLP, pad_mlp, unpad_mlp
from genlab.train import TrainConfig, train_many


class _Data:
    def __init__(self, seed=0, n=60, d=7, k=3):
        rng = np.random.default_rng(seed)
        self.x_train, self.x_test = rng.normal(size=(n, d)), rng.normal(size=(20, d))
        self.y_train, self.y_test = rng.integers(0, k, n), rng.integers(0, k, 20)


WIDTHS = (2, 5, 9)


@pytest.mark.parametrize(
    ("cfg", "activation"),
    [
        (dict(optimizer="adam", batch_size=None, n_steps=40, weight_decay=1e-3), "relu"),
        (dict(optimizer="sgd", lr=0.05, momentum=0.9, batch_size=16, n_steps=40), "tanh"),
        (dict(optimizer="adamw", batch_size=16, n_steps=40, weight_decay=1e-2), "relu"),
    ],
    ids=["adam-fullbatch-l2-relu", "sgd-momentum-minibatch-tanh", "adamw-minibatch-relu"],
)
def test_packed_members_equal_themselves_trained_alone(cfg, activation):
    data = _Data()
    models = [MLP(7, 3, width=h, depth=2, activation=activation, seed=10 + h).double() for h in WIDTHS]
    configs = [TrainConfig(eval_every=cfg["n_steps"], seed=s, **cfg) for s in range(len(WIDTHS))]
    alone = [train_many([copy.deepcopy(m)], data, [c]).models[0] for m, c in zip(models, configs)]
    padded = [pad_mlp(m, max(WIDTHS)) for m in models]
    result = train_many(padded, data, configs)
    assert result.modes == ["mlp"] * len(WIDTHS)  # one population: all members share the padded shape
    for h, big, ref in zip(WIDTHS, result.models, alone):
        back = unpad_mlp(big, h)
        for (name, p), (_, q) in zip(back.named_parameters(), ref.named_parameters()):
            torch.testing.assert_close(p, q, rtol=0, atol=1e-12, msg=f"width {h} {name}")
        # the padding is still exactly zero (no parameter outside the member's block moved)
        for layer in big.linears:
            rows, cols = layer.weight.shape
            block = torch.zeros_like(layer.weight, dtype=torch.bool)
            block[: (h if rows == big.width else rows), : (h if cols == big.width else cols)] = True
            assert torch.all(layer.weight[~block] == 0)
            if rows == big.width:
                assert torch.all(layer.bias[h:] == 0)
    # the same functions on held-out inputs
    x = torch.tensor(data.x_test)
    for big, ref in zip(result.models, alone):
        torch.testing.assert_close(big(x), ref(x), rtol=0, atol=1e-12)


def test_pad_and_unpad_round_trip_and_refuse_what_cannot_be_packed():
    m = MLP(4, 2, width=3, depth=3, seed=1)
    padded = pad_mlp(m, 8)
    assert padded.width == 8 and padded.depth == 3
    x = torch.randn(5, 4)
    torch.testing.assert_close(padded(x), m(x), rtol=0, atol=1e-6)
    for p, q in zip(unpad_mlp(padded, 3).parameters(), m.parameters()):
        assert torch.equal(p, q)
    with pytest.raises(ParameterError, match="'width' parameter of pad_mlp"):
        pad_mlp(m, 2)
    with pytest.raises(ParameterError, match="g\\(0\\) = 0"):
        pad_mlp(MLP(4, 2, width=3, activation="sigmoid"), 8)
    with pytest.raises(ParameterError, match="plain MLP"):
        pad_mlp(MLP(4, 2, width=3, dropout=0.5), 8)
