"""information-plane: the Tishby task, segmented training equals one run, binned MI bounds, claims that can fail."""

import math

import numpy as np
import pandas as pd
import pytest
import torch
from experiment_helpers import check_claims_fail, summary_of

from genlab._checks import ParameterError
from genlab.data import ClassificationData
from genlab.experiments import run_experiment
from genlab.experiments.overfitting._information_plane import (
    InformationPlaneConfig,
    TishbyNet,
    information_claims,
    label_entropy,
    log_epochs,
    tishby_task,
    train_logged,
)
from genlab.train import TrainConfig, train_many


def test_tishby_task_is_all_patterns_with_a_symmetric_balanced_rule():
    x, y = tishby_task()
    assert x.shape == (4096, 12) and len(np.unique(x, axis=0)) == 4096
    assert np.bincount(y).tolist() == [2060, 2036]
    # sum_i v_i = 0 on the icosahedron: the complement 1 - x has the same |x V|^2, so the same label
    complement = (1 - x).astype(int) @ (2 ** np.arange(11, -1, -1))
    assert np.array_equal(y[complement], y)
    assert label_entropy() == pytest.approx(-(2060 / 4096) * math.log2(2060 / 4096) - (2036 / 4096) * math.log2(2036 / 4096))


def test_init_is_saxes_truncated_normal():
    net = TishbyNet((200, 100), "tanh", seed=3)
    w = net.linears[0].weight.detach()  # (200, 12): fan_out 200
    std = 1 / math.sqrt(200)
    assert w.abs().max() <= 2 * std + 1e-7
    assert w.std().item() == pytest.approx(0.88 * std, rel=0.05)  # a normal truncated at 2 std has std 0.88
    assert all((lin.bias == 0).all() for lin in net.linears)
    assert not torch.equal(w, TishbyNet((200, 100), "tanh", seed=4).linears[0].weight)
    h = TishbyNet(seed=0).hidden(torch.from_numpy(tishby_task()[0][:5]))
    assert [a.shape[1] for a in h] == [10, 7, 5, 4, 3]


def _datas(seeds):
    x, y = tishby_task()
    return [ClassificationData(x[s::3], y[s::3], x[:10], y[:10], n_classes=2) for s in seeds]


def test_segmented_training_is_one_run_and_tanh_relu_do_not_share_a_forward():
    seeds = [0, 1]
    models = [TishbyNet(activation=a, seed=s) for s, a in zip(seeds, ("tanh", "relu"))]
    twins = [TishbyNet(activation=a, seed=s) for s, a in zip(seeds, ("tanh", "relu"))]
    stored, metrics = train_logged(models, _datas(seeds), [0, 2, 7], 0.5, 0, seeds)
    assert len(stored) == 3 and stored[0][0][4].shape == (4096, 3)
    assert sorted(metrics.epoch.unique()) == [2, 7]
    for twin, data in zip(twins, _datas(seeds)):  # one plain full-batch SGD loop of 7 steps, alone
        opt = torch.optim.SGD(twin.parameters(), lr=0.5)
        xt, yt = torch.from_numpy(data.x_train), torch.from_numpy(data.y_train)
        for _ in range(7):
            opt.zero_grad()
            torch.nn.functional.cross_entropy(twin(xt), yt).backward()
            opt.step()
    for model, twin in zip(models, twins):
        for p, q in zip(model.parameters(), twin.parameters()):
            assert torch.allclose(p, q, atol=1e-6)
    x_all = torch.from_numpy(tishby_task()[0]).double()
    last = twins[1].double().hidden(x_all)[2].detach().numpy()
    assert np.allclose(stored[-1][1][2], last, atol=1e-5)
    assert (stored[-1][1][0] >= 0).all() and (stored[-1][0][0] < 0).any()  # relu member ran relu, tanh tanh


def test_minibatch_segments_are_whole_epochs_each_with_its_own_batch_order():
    seeds = [0]
    models = [TishbyNet(seed=0)]
    stored, _ = train_logged(models, _datas(seeds), [0, 1, 3], 0.1, 500, seeds)
    alone = TishbyNet(seed=0)  # 1 epoch then 2 epochs of ceil(1366 / 500) = 3 minibatches, seeds 1 and 2
    for n_steps, seed in ((3, 1), (6, 2)):
        train_many([alone], _datas(seeds), TrainConfig(optimizer="sgd", lr=0.1, batch_size=500, n_steps=n_steps,
                                                       seed=seed), progress=False)
    for p, q in zip(models[0].parameters(), alone.parameters()):
        assert torch.allclose(p, q, atol=1e-6)
    assert not np.allclose(stored[0][0][0], stored[-1][0][0])


def test_log_epochs():
    e = log_epochs(3000, 30)
    assert e[0] == 0 and e[1] == 1 and e[-1] == 3000 and e == sorted(set(e)) and 20 <= len(e) <= 31


def test_config_checks():
    with pytest.raises(ParameterError, match="n_fine_bins"):
        InformationPlaneConfig(n_bins=30, n_fine_bins=20)
    with pytest.raises(ParameterError, match="n_fine_bins"):
        InformationPlaneConfig(n_bins=30, n_fine_bins=1000)
    with pytest.raises(ParameterError, match="activations"):
        InformationPlaneConfig(activations=("tanh", "tanh"))
    with pytest.raises(ParameterError, match="activation"):
        InformationPlaneConfig(activations=("sigmoid",))


def _synthetic(tanh_peak=8.0, tanh_end=4.0, relu_end=5.0, fine_end=11.8, ity_end=0.99, ity_max=None, adaptive_end=4.0):
    """Metrics of 2 seeds, 3 layers, 4 epochs: tanh compresses, ReLU does not, fine bins stay near 12."""
    rows = []
    epochs = [0, 10, 100, 1000]
    curves = {("tanh", "fixed"): [7.0, tanh_peak, 6.0, tanh_end], ("tanh", "fine"): [12.0, 12.0, 11.9, fine_end],
              ("relu", "fixed"): [3.0, 5.2, 5.1, relu_end], ("relu", "fine"): [11.0, 11.5, 11.5, 11.5],
              ("relu", "adaptive"): [6.0, 7.0, 6.0, adaptive_end]}
    for (a, b), ixt in curves.items():
        for s in (0, 1):
            for layer in (1, 2, 3):
                for k, e in enumerate(epochs):
                    base = {"activation": a, "seed": s, "epoch": e, "layer": layer, "binning": b}
                    ity = [0.3, 0.6, 0.9, ity_end][k] if layer == 3 else 0.99
                    if ity_max is not None and layer == 1:
                        ity = ity_max
                    rows += [{**base, "metric": "i_xt", "value": ixt[k] if layer == 3 else 12.0},
                             {**base, "metric": "i_ty", "value": ity}]
    return pd.DataFrame(rows)


def test_claims_hold_on_good_metrics_and_fail_on_violating_ones():
    assert all(all(c.holds) for c in information_claims((0, 1), _synthetic()))
    claims = information_claims((0, 1), _synthetic(tanh_end=7.8, relu_end=3.0, ity_end=0.35))
    for prefix in ("tanh, last hidden layer, 30 fixed bins: fall", "ReLU, last hidden layer, 30 fixed",
                   "tanh, last hidden layer, 30 fixed bins: rise"):
        check_claims_fail(claims, prefix)
    check_claims_fail(information_claims((0, 1), _synthetic(adaptive_end=7.0)), "ReLU, last hidden layer, 30 adaptive")
    check_claims_fail(information_claims((0, 1), _synthetic(fine_end=9.0)), "tanh, last hidden layer: fall of I(X;T) with fine")
    check_claims_fail(information_claims((0, 1), _synthetic(ity_max=1.05)), "data processing")
    over = _synthetic()
    over.loc[(over.metric == "i_xt") & (over.layer == 1) & (over.epoch == 0), "value"] = 12.3  # above H(X) = 12 bits
    check_claims_fail(information_claims((0, 1), over), "data processing")


def test_smoke_run_estimates(smoke):
    run_dir = smoke("information-plane")
    m = pd.read_csv(run_dir / "metrics.csv")
    ixt = m[m.metric == "i_xt"]
    assert ixt.value.max() <= 12 + 1e-9 and (m[m.metric == "i_ty"].value <= label_entropy() + 1e-9).all()
    # at initialization the first layer (10 units) is injective: the fine bins see all 4096 patterns
    first = ixt[(ixt.epoch == 0) & (ixt.layer == 1) & (ixt.binning == "fine")]
    assert np.allclose(first.value, 12.0)
    # bins over a range fixed for the run never see more patterns than the fine bins of the same range
    piv = ixt[ixt.binning != "adaptive"].pivot_table(index=["activation", "seed", "epoch", "layer"], columns="binning",
                                                     values="value")
    assert (piv.fixed <= piv.fine + 1e-9).all()
    assert sorted(m.activation.unique()) == ["relu", "tanh"]
    assert all(c["n_seeds"] == 2 for c in summary_of(run_dir)["claims"])


@pytest.mark.quick  # minutes: not in CI (`pytest -m quick`); genlab reproduce checks it
def test_quick_scale_claims_hold_in_every_seed(tmp_path):
    run_dir = run_experiment("information-plane", scale="quick", out=tmp_path / "information-plane")
    for c in summary_of(run_dir)["claims"]:
        assert c["verdict"] == "holds", c
