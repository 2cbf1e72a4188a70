"""train_many against plain PyTorch loops written here (the oracle), in float64."""

import copy
import math
from types import SimpleNamespace

import numpy as np
import pytest
import torch
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

from genlab._checks import ParameterError
from genlab.models import MLP, MNIST1DCNN
from genlab.train import TrainConfig, train, train_many

torch.set_num_threads(1)


def toy_data(n=60, n_test=40, d=5, k=3, seed=0):
    rng = np.random.default_rng(seed)
    w = rng.standard_normal((d, k))
    def draw(m):
        x = rng.standard_normal((m, d))
        return x, (x @ w + 0.5 * rng.standard_normal((m, k))).argmax(1)
    x, y = draw(n)
    xt, yt = draw(n_test)
    xv, yv = draw(n_test)
    return SimpleNamespace(x_train=x, y_train=y, x_test=xt, y_test=yt, x_val=xv, y_val=yv, n_classes=k)


def make_optimizer(cfg, params):
    if cfg.optimizer == "sgd":
        return torch.optim.SGD(params, lr=cfg.lr, momentum=cfg.momentum, nesterov=cfg.nesterov, weight_decay=cfg.weight_decay)
    if cfg.optimizer == "adam":
        return torch.optim.Adam(params, lr=cfg.lr, betas=cfg.betas, eps=cfg.eps, weight_decay=cfg.weight_decay)
    if cfg.optimizer == "adamw":
        return torch.optim.AdamW(params, lr=cfg.lr, betas=cfg.betas, eps=cfg.eps, weight_decay=cfg.weight_decay)
    if cfg.optimizer == "rmsprop":
        return torch.optim.RMSprop(params, lr=cfg.lr, alpha=cfg.alpha, eps=cfg.eps, momentum=cfg.momentum, weight_decay=cfg.weight_decay)
    return torch.optim.Adagrad(params, lr=cfg.lr, eps=cfg.eps, weight_decay=cfg.weight_decay)


def make_scheduler(cfg, opt):
    if cfg.schedule == "step":
        return torch.optim.lr_scheduler.StepLR(opt, step_size=cfg.step_every, gamma=cfg.gamma)
    if cfg.schedule == "cosine":
        return torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=cfg.n_steps)
    if cfg.schedule == "warmup_linear":
        w, rest = cfg.warmup_steps, cfg.n_steps - cfg.warmup_steps
        return torch.optim.lr_scheduler.LambdaLR(opt, lambda t: (t + 1) / (w + 1) if t < w else max(0.0, 1 - (t - w) / rest))
    return None


def plain_loop(model, data, cfg):
    """The lecture's loop: DataLoader + model + torch.optim (+ SAM written out), float64."""
    x = torch.tensor(data.x_train, dtype=torch.float64)
    y = torch.tensor(data.y_train)
    bs = cfg.batch_size or len(y)
    loader = DataLoader(TensorDataset(x, y), batch_size=bs, shuffle=cfg.shuffle and bs < len(y),
                        generator=torch.Generator().manual_seed(cfg.seed))
    opt = make_optimizer(cfg, model.parameters())
    sched = make_scheduler(cfg, opt)
    step = 0
    while step < cfg.n_steps:
        for xb, yb in loader:
            loss = nn.functional.cross_entropy(model(xb), yb)
            if cfg.l2:
                loss = loss + cfg.l2 * sum((p * p).sum() for p in model.parameters())
            opt.zero_grad()
            loss.backward()
            if cfg.sam_rho:
                grads = [p.grad.clone() for p in model.parameters()]
                norm = torch.sqrt(sum((g * g).sum() for g in grads))
                eps = [cfg.sam_rho * g / (norm + 1e-12) for g in grads]
                with torch.no_grad():
                    for p, e in zip(model.parameters(), eps):
                        p.add_(e)
                opt.zero_grad()
                nn.functional.cross_entropy(model(xb), yb).backward()
                with torch.no_grad():
                    for p, e in zip(model.parameters(), eps):
                        p.sub_(e)
            opt.step()
            if sched:
                sched.step()
            step += 1
            if step == cfg.n_steps:
                break
    return model


def members(widths=(8, 16), lrs=(0.05, 0.1), **cfg):
    models, configs = [], []
    for w in widths:
        for lr in lrs:
            seed = len(models)
            models.append(MLP(5, 3, width=w, depth=2, seed=seed).double())
            configs.append(TrainConfig(lr=lr, seed=10 + seed, **cfg))
    return models, configs


def assert_same_weights(a, b, tol=1e-5):
    for (n, p), (_, q) in zip(a.named_parameters(), b.named_parameters()):
        torch.testing.assert_close(p, q, rtol=0, atol=tol, msg=n)


@pytest.mark.parametrize(
    "cfg",
    [
        dict(optimizer="sgd", momentum=0.9, batch_size=10, n_steps=40),
        dict(optimizer="sgd", momentum=0.9, batch_size=None, n_steps=30),
        dict(optimizer="adam", batch_size=10, n_steps=40),
        dict(optimizer="adam", batch_size=None, n_steps=30),
        # plain SGD takes its step inside the backward pass (MLPPopulation.backward(sgd_lr=...))
        dict(optimizer="sgd", batch_size=10, n_steps=40),
        dict(optimizer="sgd", batch_size=None, n_steps=30, schedule="step", step_every=10, gamma=0.5),
    ],
    ids=["sgd-momentum-minibatch", "sgd-momentum-fullbatch", "adam-minibatch", "adam-fullbatch",
         "sgd-minibatch", "sgd-fullbatch-step-schedule"],
)
def test_population_equals_separate_plain_loops(cfg):
    data = toy_data()
    models, configs = members(eval_every=10, **cfg)
    oracles = [plain_loop(copy.deepcopy(m), data, c) for m, c in zip(models, configs)]
    result = train_many(models, data, configs)
    assert result.modes == ["mlp"] * 4
    for model, oracle in zip(result.models, oracles):
        assert_same_weights(model, oracle)
    # The reported final training loss is the oracle's loss on the whole training set.
    x, y = torch.tensor(data.x_train), torch.tensor(data.y_train)
    for i, oracle in enumerate(oracles):
        expected = nn.functional.cross_entropy(oracle(x), y).item()
        got = result.curve(i, "train", "loss").value.iloc[-1]
        assert got == pytest.approx(expected, abs=1e-8)


@pytest.mark.parametrize(
    "cfg",
    [
        dict(optimizer="sgd", momentum=0.9, nesterov=True, weight_decay=0.01),
        dict(optimizer="adamw", weight_decay=0.1, lr=0.01),
        dict(optimizer="rmsprop", lr=0.01, momentum=0.5),
        dict(optimizer="adagrad", lr=0.1, eps=1e-10),
        dict(optimizer="sgd", schedule="step", step_every=7, gamma=0.5),
        dict(optimizer="adam", lr=0.01, schedule="cosine"),
        dict(optimizer="sgd", schedule="warmup_linear", warmup_steps=5),
        dict(optimizer="sgd", l2=0.01),
        dict(optimizer="sgd", sam_rho=0.05),
    ],
    ids=["nesterov-wd", "adamw", "rmsprop", "adagrad", "step", "cosine", "warmup", "l2", "sam"],
)
def test_optimizers_schedules_penalties_match_torch(cfg):
    data = toy_data(seed=1)
    cfg = {"lr": 0.05, **cfg}
    models = [MLP(5, 3, width=12, seed=s).double() for s in range(2)]
    configs = [TrainConfig(batch_size=15, n_steps=25, eval_every=25, seed=s, **cfg) for s in range(2)]
    oracles = [plain_loop(copy.deepcopy(m), data, c) for m, c in zip(models, configs)]
    train_many(models, data, configs)
    for model, oracle in zip(models, oracles):
        assert_same_weights(model, oracle)


@pytest.mark.parametrize("batch_size", [10, None], ids=["minibatch", "fullbatch"])
def test_vmap_population_equals_separate_loops_for_the_cnn(batch_size):
    rng = np.random.default_rng(0)
    data = SimpleNamespace(x_train=rng.standard_normal((40, 40)), y_train=rng.integers(0, 10, 40),
                           x_test=rng.standard_normal((20, 40)), y_test=rng.integers(0, 10, 20))
    models = [MNIST1DCNN(channels=4, seed=s).double() for s in range(2)]
    configs = [TrainConfig(optimizer="adam", lr=0.01, batch_size=batch_size, n_steps=12, eval_every=6, seed=s)
               for s in range(2)]
    oracles = [plain_loop(copy.deepcopy(m), data, c) for m, c in zip(models, configs)]
    result = train_many(models, data, configs)
    assert result.modes == ["vmap", "vmap"]
    for model, oracle in zip(models, oracles):
        assert_same_weights(model, oracle)


def test_members_with_their_own_labels():
    base = toy_data(seed=2)
    rng = np.random.default_rng(5)
    datas = [SimpleNamespace(**{**vars(base), "y_train": rng.integers(0, 3, len(base.y_train))}) for _ in range(3)]
    models = [MLP(5, 3, width=10, seed=s).double() for s in range(3)]
    cfg = TrainConfig(batch_size=20, n_steps=20, eval_every=10)
    oracles = [plain_loop(copy.deepcopy(m), d, cfg) for m, d in zip(models, datas)]
    train_many(models, datas, cfg)
    for model, oracle in zip(models, oracles):
        assert_same_weights(model, oracle)


def test_early_stopping_restores_the_best_weights():
    data = toy_data(n=30, seed=3)
    model = MLP(5, 3, width=64, seed=0).double()
    cfg = TrainConfig(optimizer="adam", lr=0.05, batch_size=None, n_steps=400, eval_every=5, patience=5,
                      restore_best=True, monitor="val_loss")
    r = train(model, data, cfg)
    val = r.curve(0, "val", "loss")
    best_step = int(val.loc[val.value.idxmin(), "step"])
    assert r.best_step[0] == best_step
    assert r.stopped_step[0] < 400  # it overfits the 30 points, so validation loss turns up
    assert r.stopped_step[0] == best_step + 5 * 5
    with torch.no_grad():
        now = nn.functional.cross_entropy(model(torch.tensor(data.x_val)), torch.tensor(data.y_val)).item()
    assert now == pytest.approx(val.value.min(), abs=1e-10)


@pytest.mark.parametrize("optimizer, lrs", [("adam", (0.02, 0.05)), ("sgd", (0.2, 0.5))])
def test_stop_loss_stops_each_member_at_the_target_training_loss(optimizer, lrs):
    """Each member stops at its first evaluation below ``stop_loss``, with the weights of a plain
    loop run for exactly that many steps; the other members go on."""
    data = toy_data(n=30, seed=6)
    models, configs = members(widths=(16,), lrs=lrs, optimizer=optimizer, batch_size=10, n_steps=400,
                              eval_every=5, stop_loss=0.3)
    models.append(MLP(5, 3, width=16, seed=7).double())
    configs.append(configs[0].replace(lr=1e-6, seed=3))  # never gets there: trains all n_steps
    inits = [copy.deepcopy(m) for m in models]
    r = train_many(models, data, configs)
    for i, (model, init, cfg) in enumerate(zip(models, inits, configs)):
        curve = r.curve(i, "train", "loss")
        below = curve[curve.value < 0.3]
        if i < 2:
            assert len(below) == 1 and r.stopped_step[i] == int(below.step.iloc[0]) < 400  # logged up to the stop
            assert (curve.value.iloc[:-1] >= 0.3).all()
        else:
            assert below.empty and r.stopped_step[i] == 400
        assert_same_weights(model, plain_loop(init, data, cfg.replace(n_steps=r.stopped_step[i], stop_loss=None)))
    assert r.stopped_step[0] != r.stopped_step[1]


def test_a_diverging_member_does_not_disturb_the_others():
    data = toy_data(seed=4)
    models, configs = members(widths=(8,), lrs=(0.05, 0.1), eval_every=5, n_steps=30, batch_size=10)
    alone = [copy.deepcopy(m) for m in models]
    models.append(MLP(5, 3, width=8, seed=99).double())
    configs.append(TrainConfig(lr=1e150, n_steps=30, eval_every=5, batch_size=10, seed=3))
    result = train_many(models, data, configs)
    assert result.diverged == [False, False, True]
    assert result.stopped_step[2] < 30
    reference = train_many(alone, data, configs[:2])
    for a, b in zip(result.models[:2], reference.models):
        assert_same_weights(a, b, tol=0)
    assert all(torch.isfinite(p).all() for p in result.models[2].parameters())


def test_widths_get_their_own_groups_and_metrics_table_is_tidy():
    data = toy_data()
    models, configs = members(eval_every=10, n_steps=20)
    r = train_many(models, data, configs)
    assert list(r.metrics.columns) == ["member", "step", "split", "metric", "value"]
    assert set(r.metrics.split) == {"train", "val", "test"} and set(r.metrics.metric) == {"loss", "error"}
    assert sorted(r.metrics.step.unique()) == [0, 10, 20]
    assert r.final().shape[0] == 4


def test_members_with_other_validation_sizes_train_in_their_own_groups():
    a, b = toy_data(n_test=40, seed=3), toy_data(n_test=25, seed=3)
    models, configs = members(widths=(8,), lrs=(0.1,), eval_every=5, n_steps=10, batch_size=10)
    models.append(copy.deepcopy(models[0]))
    configs.append(configs[0])
    alone = copy.deepcopy(models[1])
    r = train_many(models, [a, b], configs)
    assert r.metrics.groupby("member").size().tolist() == [18, 18]  # 3 evaluations x 3 splits x 2 metrics
    assert_same_weights(r.models[1], train(alone, b, configs[1]).model, tol=0)


def test_train_loss_modes():
    data = toy_data()
    for mode in ("batch", "running"):
        r = train(MLP(5, 3, width=8, seed=0).double(), data, TrainConfig(batch_size=10, n_steps=20, eval_every=10, train_loss=mode, running_window=3))
        assert np.isfinite(r.curve(0, "train", "loss").value).all()


def test_training_is_deterministic_and_leaves_global_rng_alone():
    data = toy_data()
    state = torch.random.get_rng_state()
    a = train(MLP(5, 3, width=8, seed=1), data, TrainConfig(n_steps=15, batch_size=10)).model
    b = train(MLP(5, 3, width=8, seed=1), data, TrainConfig(n_steps=15, batch_size=10)).model
    assert torch.equal(state, torch.random.get_rng_state())
    assert_same_weights(a, b, tol=0)


def test_config_errors_name_the_parameter():
    with pytest.raises(ParameterError, match="'optimizer' parameter of TrainConfig must be one of"):
        TrainConfig(optimizer="lbfgs")
    with pytest.raises(ParameterError, match="'lr' parameter"):
        TrainConfig(lr=-1)
    with pytest.raises(ParameterError, match="'batch_size' parameter"):
        TrainConfig(batch_size=0)
    with pytest.raises(ParameterError, match="one entry per model"):
        train_many([MLP(5, 3, width=4)], toy_data(), [TrainConfig(), TrainConfig()])


def test_lr_multipliers_match_torch_schedulers():
    from genlab.train import lr_multipliers
    for cfg in (TrainConfig(schedule="step", step_every=3, gamma=0.5, n_steps=20), TrainConfig(schedule="cosine", n_steps=20)):
        opt = torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=1.0)
        sched = make_scheduler(cfg, opt)
        seen = []
        for _ in range(cfg.n_steps):
            seen.append(opt.param_groups[0]["lr"])
            opt.step()
            sched.step()
        np.testing.assert_allclose(lr_multipliers(cfg), seen, rtol=1e-12, atol=1e-15)
    assert math.isclose(lr_multipliers(TrainConfig(schedule="warmup_cosine", warmup_steps=4, n_steps=10))[4], 1.0)


def test_mlp_vmap_and_loop_modes_give_the_same_numbers():
    data = toy_data(seed=6)
    cfg = TrainConfig(optimizer="adam", lr=0.02, batch_size=12, n_steps=15, eval_every=5)
    runs = {}
    for mode in ("mlp", "vmap", "loop"):
        models = [MLP(5, 3, width=9, residual=True, seed=s).double() for s in range(2)]
        runs[mode] = train_many(models, data, [cfg.replace(seed=s) for s in range(2)], mode=mode)
        assert runs[mode].modes == [mode, mode]
    for mode in ("vmap", "loop"):
        for a, b in zip(runs[mode].models, runs["mlp"].models):
            assert_same_weights(a, b, tol=1e-10)
        np.testing.assert_allclose(runs[mode].metrics.value, runs["mlp"].metrics.value, atol=1e-10)
    with pytest.raises(ParameterError, match="'mode' parameter of train_many"):
        train_many([MLP(5, 3, width=4, dropout=0.5)], data, cfg, mode="mlp")


@pytest.mark.parametrize("batch_size", [8, None], ids=["minibatch", "fullbatch"])
def test_loop_population_equals_separate_loops_for_the_gru(batch_size):
    from genlab.models import MNIST1DGRU

    rng = np.random.default_rng(1)
    data = SimpleNamespace(x_train=rng.standard_normal((24, 12)), y_train=rng.integers(0, 10, 24),
                           x_test=rng.standard_normal((8, 12)), y_test=rng.integers(0, 10, 8))
    models = [MNIST1DGRU(hidden_size=3, time_steps=12, seed=s).double() for s in range(2)]
    configs = [TrainConfig(optimizer="adam", lr=0.01, batch_size=batch_size, n_steps=6, eval_every=3, seed=s)
               for s in range(2)]
    oracles = [plain_loop(copy.deepcopy(m), data, c) for m, c in zip(models, configs)]
    result = train_many(models, data, configs)
    assert result.modes == ["loop", "loop"]
    for model, oracle in zip(models, oracles):
        assert_same_weights(model, oracle)


@pytest.mark.parametrize("kind", ["warmup_linear", "warmup_cosine"])
def test_warmup_schedules_match_torch_sequential_lr(kind):
    from genlab.train import lr_multipliers

    cfg = TrainConfig(schedule=kind, warmup_steps=4, n_steps=20)
    opt = torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=1.0)
    rest = cfg.n_steps - cfg.warmup_steps
    warm = torch.optim.lr_scheduler.LinearLR(opt, start_factor=1 / (cfg.warmup_steps + 1), total_iters=cfg.warmup_steps)
    if kind == "warmup_linear":
        decay = torch.optim.lr_scheduler.LinearLR(opt, start_factor=1.0, end_factor=0.0, total_iters=rest)
    else:
        decay = torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=rest)
    sched = torch.optim.lr_scheduler.SequentialLR(opt, [warm, decay], milestones=[cfg.warmup_steps])
    seen = []
    for _ in range(cfg.n_steps):
        seen.append(opt.param_groups[0]["lr"])
        opt.step()
        sched.step()
    np.testing.assert_allclose(lr_multipliers(cfg), seen, rtol=1e-12, atol=1e-12)
