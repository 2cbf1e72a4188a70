"""Train mode vs eval mode, dropout streams and SAM divergence, against plain PyTorch loops (float64).

The oracle below is the loop a user writes: ``torch.manual_seed(cfg.seed)`` for dropout, a
seeded DataLoader for the batch order, ``model.train()`` for steps and ``model.eval()`` under
``no_grad`` for the metrics of every split at step 0, every ``eval_every`` steps and at the end.
It uses nothing of the engine.
"""

import copy
import functools
from types import SimpleNamespace

import numpy as np
import pytest
import torch
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

from genlab.models import MLP
from genlab.train import TrainConfig, train, train_many

torch.set_num_threads(1)
SPLITS = ("train", "val", "test")
DEVICES = ["cpu"] + (["cuda"] if torch.cuda.is_available() else [])


def blobs(n=48, n_eval=30, d=5, k=3, seed=0):
    """Gaussian inputs, labels from a noisy linear teacher; val and test drawn the same way."""
    rng = np.random.default_rng(seed)
    w = rng.standard_normal((d, k))

    def draw(m):
        x = rng.standard_normal((m, d)) * 2 + 1  # off-centre, so running statistics matter
        return x, (x @ w + rng.standard_normal((m, k))).argmax(1)

    parts = {}
    for split, m in (("train", n), ("val", n_eval), ("test", n_eval)):
        parts[f"x_{split}"], parts[f"y_{split}"] = draw(m)
    return SimpleNamespace(n_classes=k, **parts)


def optimizer_for(cfg, params):
    if cfg.optimizer == "adam":
        return torch.optim.Adam(params, lr=cfg.lr, betas=cfg.betas, eps=cfg.eps)
    return torch.optim.SGD(params, lr=cfg.lr, momentum=cfg.momentum)


def eval_metrics(model, data, device):
    """{(split, metric): value} of ``model`` in eval mode, by hand."""
    model.eval()
    out = {}
    with torch.no_grad():
        for s in SPLITS:
            x = torch.tensor(getattr(data, f"x_{s}"), dtype=torch.float64, device=device)
            y = torch.tensor(getattr(data, f"y_{s}"), device=device)
            logits = model(x)
            out[(s, "loss")] = nn.functional.cross_entropy(logits, y).item()
            out[(s, "error")] = (logits.argmax(1) != y).double().mean().item()
    model.train()
    return out


def all_finite(model):
    return all(bool(torch.isfinite(p).all()) for p in model.parameters())


def plain_loop(model, data, cfg, device="cpu"):
    """Train ``model`` as documented; return {step: eval metrics}, the last finite step and its state.

    SAM as its reference implementation (davda54/sam): perturb, take the gradient with the
    BatchNorm statistics left alone, restore the saved weights, step. A step whose loss or
    new weights are not finite is undone and ends the run (the engine's divergence rule).
    """
    torch.manual_seed(cfg.seed)
    model.to(device)
    x = torch.tensor(data.x_train, dtype=torch.float64, device=device)
    y = torch.tensor(data.y_train, device=device)
    bs = cfg.batch_size or len(y)
    loader = DataLoader(TensorDataset(x, y), batch_size=bs, shuffle=cfg.shuffle and bs < len(y),
                        generator=torch.Generator().manual_seed(cfg.seed))
    opt = optimizer_for(cfg, model.parameters())
    model.train()
    history = {0: eval_metrics(model, data, device)}
    step, last = 0, 0
    while step < cfg.n_steps:
        for xb, yb in loader:
            state = copy.deepcopy(model.state_dict()), copy.deepcopy(opt.state_dict())
            loss = nn.functional.cross_entropy(model(xb), yb)
            if not torch.isfinite(loss):
                model.load_state_dict(state[0])
                return history, last, model
            opt.zero_grad()
            loss.backward()
            if cfg.sam_rho:
                grads = [p.grad for p in model.parameters()]
                norm = torch.sqrt(sum((g * g).sum() for g in grads))
                saved = [p.detach().clone() for p in model.parameters()]
                stats = {n: b.clone() for n, b in model.named_buffers()}
                with torch.no_grad():
                    for p, g in zip(model.parameters(), grads):
                        p.add_(g * (cfg.sam_rho / (norm + 1e-12)))
                opt.zero_grad()
                nn.functional.cross_entropy(model(xb), yb).backward()
                with torch.no_grad():
                    for p, s in zip(model.parameters(), saved):
                        p.copy_(s)
                    for n, b in model.named_buffers():
                        b.copy_(stats[n])
            opt.step()
            if not all_finite(model):
                model.load_state_dict(state[0])
                opt.load_state_dict(state[1])
                return history, last, model
            step = last = step + 1
            if step % cfg.eval_every == 0 or step == cfg.n_steps:
                history[step] = eval_metrics(model, data, device)
            if step == cfg.n_steps:
                break
    return history, last, model


def reported(result, member):
    """The engine's metrics of one member as {step: {(split, metric): value}}."""
    out = {}
    for row in result.metrics[result.metrics.member == member].itertuples():
        out.setdefault(row.step, {})[(row.split, row.metric)] = row.value
    return out


def max_metric_diff(a, b):
    assert sorted(a) == sorted(b)
    return max(abs(a[s][k] - b[s][k]) for s in a for k in a[s])


def max_state_diff(a, b):
    """Largest difference over parameters and buffers (running statistics, batch counts)."""
    sa, sb = a.state_dict(), b.state_dict()
    assert sa.keys() == sb.keys()
    return max((sa[k].double() - sb[k].double()).abs().max().item() for k in sa)


def assert_bitwise(a, b):
    sa, sb = a.state_dict(), b.state_dict()
    for k in sa:
        assert torch.equal(sa[k], sb[k]), k


def within(diff, tol, what):
    """Assert ``diff <= tol``; the measured value is printed (``pytest -s``) for the record."""
    print(f"[measured] {what}: {diff:.2e} (tolerance {tol:.0e})")
    assert diff <= tol, f"{what}: {diff} > {tol}"


def bn_mlp(seed, **kw):
    return MLP(5, 3, width=8, depth=2, norm="batch", seed=seed, **kw).double()


# --- BatchNorm -------------------------------------------------------------------------------

@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("optimizer", ["sgd", "adam"])
def test_batchnorm_metrics_are_eval_mode_metrics_and_statistics_match_the_plain_loop(optimizer, device):
    data = blobs(seed=1)
    lr = 0.05 if optimizer == "sgd" else 0.01
    cfg = TrainConfig(optimizer=optimizer, lr=lr, momentum=0.9 if optimizer == "sgd" else 0.0,
                      batch_size=10, n_steps=30, eval_every=4, seed=3)
    model = bn_mlp(seed=2)
    history, _, oracle = plain_loop(copy.deepcopy(model), data, cfg, device)
    r = train(model, data, cfg, device=device)
    assert r.modes == ["loop"]
    got = reported(r, 0)
    assert sorted(got) == [0, 4, 8, 12, 16, 20, 24, 28, 30]
    within(max_metric_diff(got, history), 1e-10, f"BN {optimizer} metrics vs plain eval-mode loop")
    # A linear bias before BatchNorm has a zero gradient up to round-off (~1e-17), which Adam
    # scales to lr-sized steps: those biases (and the running means they shift) random-walk on
    # round-off, ~1e-10 apart after 30 steps, without changing any output. Elsewhere ~1e-16.
    tol = 1e-9 if optimizer == "adam" else 1e-12
    within(max_state_diff(model, oracle), tol, f"BN {optimizer} weights+running stats vs plain loop")
    assert int(model.norms[0].num_batches_tracked) == 30  # evaluations add no batch
    # the returned model in eval mode gives the last reported numbers
    within(max(abs(v - got[30][k]) for k, v in eval_metrics(model, data, device).items()), 1e-12,
           "BN returned model's eval metrics vs last reported")


def test_evaluation_never_touches_training_state():
    """BatchNorm and dropout together: evaluating every step or once ends at the same bits."""
    data = blobs(seed=2)
    runs = []
    for eval_every in (1, 7, 25):
        model = MLP(5, 3, width=8, depth=2, norm="batch", dropout=0.3, seed=4).double()
        cfg = TrainConfig(optimizer="adam", lr=0.01, batch_size=12, n_steps=25, eval_every=eval_every, seed=5)
        state = torch.random.get_rng_state()
        train(model, data, cfg)
        assert torch.equal(state, torch.random.get_rng_state())  # the caller's RNG is left alone
        runs.append(model)
    for other in runs[1:]:
        assert_bitwise(runs[0], other)


def test_models_come_back_in_the_mode_they_were_given():
    data = blobs(n=20, seed=2)
    cfg = TrainConfig(batch_size=10, n_steps=2, eval_every=1)
    fresh, evaluated, mixed = bn_mlp(seed=0), bn_mlp(seed=1).eval(), bn_mlp(seed=2)
    mixed.norms[0].eval()
    train_many([fresh, evaluated, mixed], data, cfg)
    assert fresh.training and all(mod.training for mod in fresh.modules())
    assert not any(mod.training for mod in evaluated.modules())
    assert mixed.training and not mixed.norms[0].training and mixed.norms[1].training
    assert int(evaluated.norms[0].num_batches_tracked) == 2  # it trained in train mode all the same


def test_batchnorm_member_of_3_equals_member_of_17():
    data = blobs(seed=3)
    models = [bn_mlp(seed=s) for s in range(17)]
    configs = [TrainConfig(optimizer="sgd", lr=0.02 + 0.01 * s, momentum=0.5, batch_size=8, n_steps=20,
                           eval_every=5, seed=100 + s) for s in range(17)]
    small = [copy.deepcopy(m) for m in models[:3]]
    big = train_many(models, data, configs)
    few = train_many(small, data, configs[:3])
    metric_diff = max(max_metric_diff(reported(big, k), reported(few, k)) for k in range(3))
    state_diff = max(max_state_diff(models[k], small[k]) for k in range(3))
    within(metric_diff, 1e-13, "BN member k of 3 vs of 17: metrics")
    within(state_diff, 1e-13, "BN member k of 3 vs of 17: weights+running stats")
    history, _, oracle = plain_loop(bn_mlp(seed=1), data, configs[1])
    within(max_metric_diff(reported(big, 1), history), 1e-10, "BN member 1 of 17 vs plain loop: metrics")
    within(max_state_diff(models[1], oracle), 1e-10, "BN member 1 of 17 vs plain loop: state")


@pytest.mark.parametrize("mode", ["mlp", "vmap", "loop"])
def test_plain_mlp_metrics_do_not_depend_on_population_size_or_chunking(mode):
    # 2,500 test points: evaluated in chunks of 1,927 samples beside 17 members, whole beside 3
    data = blobs(n=30, n_eval=2500, seed=4)
    models = [MLP(5, 3, width=6, seed=s).double() for s in range(17)]
    configs = [TrainConfig(lr=0.1, batch_size=10, n_steps=6, eval_every=3, seed=s) for s in range(17)]
    small = [copy.deepcopy(m) for m in models[:3]]
    big, few = train_many(models, data, configs, mode=mode), train_many(small, data, configs[:3], mode=mode)
    within(max(max_metric_diff(reported(big, k), reported(few, k)) for k in range(3)), 1e-14,
           f"{mode}: member k of 3 vs of 17 (chunked evaluation): metrics")
    history, _, _ = plain_loop(MLP(5, 3, width=6, seed=2).double(), data, configs[2])
    within(max_metric_diff(reported(big, 2), history), 1e-10, f"{mode}: member 2 of 17 vs plain loop: metrics")


def test_restore_best_restores_the_running_statistics_with_the_weights():
    data = blobs(n=24, seed=5)
    cfg = TrainConfig(optimizer="sgd", lr=0.2, momentum=0.9, batch_size=8, n_steps=60, eval_every=3, patience=4,
                      restore_best=True, seed=1)
    model = bn_mlp(seed=6)
    oracle = copy.deepcopy(model)
    r = train(model, data, cfg)
    history, _, _ = plain_loop(copy.deepcopy(oracle), data, cfg.replace(patience=None, restore_best=False))
    best = min((v[("val", "loss")], s) for s, v in history.items() if s <= r.stopped_step[0])[1]
    assert r.best_step[0] == best and r.stopped_step[0] < 60
    _, _, at_best = plain_loop(oracle, data, cfg.replace(n_steps=best, patience=None, restore_best=False))
    within(max_state_diff(model, at_best), 1e-12, "BN restore_best state vs plain loop at the best step")


# --- Dropout ---------------------------------------------------------------------------------

def drop_mlp(seed):
    return MLP(5, 3, width=16, depth=2, dropout=0.3, seed=seed).double()


@pytest.mark.parametrize("device", DEVICES)
def test_dropout_model_equals_the_documented_plain_loop(device):
    data = blobs(seed=6)
    cfg = TrainConfig(optimizer="sgd", lr=0.1, momentum=0.9, batch_size=10, n_steps=30, eval_every=5, seed=7)
    model = drop_mlp(seed=8)
    history, _, oracle = plain_loop(copy.deepcopy(model), data, cfg, device)
    r = train(model, data, cfg, device=device)
    within(max_metric_diff(reported(r, 0), history), 1e-10, "dropout one model vs documented loop: metrics")
    within(max_state_diff(model, oracle), 1e-10, "dropout one model vs documented loop: weights")
    # a different seed gives other masks (and another batch order): the test can tell them apart
    other = train(drop_mlp(seed=8), data, cfg.replace(seed=8)).model
    assert max_state_diff(other, oracle.cpu()) > 1e-3


DROP_CONFIGS = [TrainConfig(optimizer="adam", lr=0.01 * (1 + k), batch_size=12, n_steps=20, eval_every=5, seed=20 + k)
                for k in range(4)]


@functools.cache
def dropout_alone(k):
    """Member k trained by the plain loop and by ``train`` alone (shared by the orders below)."""
    data = blobs(seed=7)
    history, _, oracle = plain_loop(drop_mlp(seed=k), data, DROP_CONFIGS[k])
    return history, oracle, train(drop_mlp(seed=k), data, DROP_CONFIGS[k]).model


@pytest.mark.parametrize("order", [[0, 1, 2, 3], [3, 1, 0, 1], [2]], ids=["four", "reversed-with-a-repeat", "one"])
def test_each_dropout_member_equals_itself_trained_alone(order):
    data = blobs(seed=7)
    models = [drop_mlp(seed=k) for k in order]
    result = train_many(models, data, [DROP_CONFIGS[k] for k in order])
    for j, k in enumerate(order):
        history, oracle, alone = dropout_alone(k)
        within(max_metric_diff(reported(result, j), history), 1e-10, f"dropout member {k} in {order} vs plain loop: metrics")
        within(max_state_diff(models[j], oracle), 1e-10, f"dropout member {k} in {order} vs plain loop: weights")
        assert_bitwise(models[j], alone)


# --- SAM and divergence ----------------------------------------------------------------------

def test_issue_repro_sam_with_a_huge_rate_ends_finite():
    rng = np.random.default_rng(0)
    data = SimpleNamespace(x_train=rng.standard_normal((40, 6)), y_train=rng.integers(0, 4, 40),
                           x_test=rng.standard_normal((20, 6)), y_test=rng.integers(0, 4, 20))
    r = train(MLP(6, 4, width=8, seed=0).double(), data, TrainConfig(lr=1e150, sam_rho=0.05, batch_size=8, n_steps=10))
    assert r.diverged == [True] and all_finite(r.model)


@pytest.mark.parametrize("mode", ["mlp", "vmap", "loop"])
@pytest.mark.parametrize("optimizer", ["sgd", "adam"])
def test_sam_diverging_member_keeps_its_last_finite_weights_and_the_others_do_not_notice(optimizer, mode):
    data = blobs(seed=8)
    base = dict(optimizer=optimizer, sam_rho=0.05, batch_size=8, n_steps=24, eval_every=4, patience=2)
    lrs = (0.05, 0.0, 1e150, 0.02)  # a learner, one that never improves (stops early), one that diverges
    configs = [TrainConfig(lr=lr, seed=30 + k, **base) for k, lr in enumerate(lrs)]
    inits = [MLP(5, 3, width=8, seed=k).double() for k in range(4)]
    models = [copy.deepcopy(m) for m in inits]
    r = train_many(models, data, configs, mode=mode)
    assert r.diverged == [False, False, True, False]
    # the diverged member: finite, equal to the plain loop's last finite weights
    assert all_finite(models[2])
    _, last, oracle = plain_loop(copy.deepcopy(inits[2]), data, configs[2])
    assert r.stopped_step[2] == last >= 1
    scale = max(p.abs().max().item() for p in oracle.parameters())
    within(max_state_diff(models[2], oracle) / scale, 1e-12, f"SAM {optimizer} {mode}: diverged member vs plain loop's last finite (relative)")
    alone = train(copy.deepcopy(inits[2]), data, configs[2].replace(n_steps=last), mode=mode).model
    assert_bitwise(models[2], alone)  # exactly the weights of its last finite step
    # the stopped member (rate 0, never improves): stopped after `patience` evaluations, unmoved
    assert r.stopped_step[1] == 8
    assert_bitwise(models[1], inits[1])
    # the others: bit-identical to a population without the diverging member
    rest = [copy.deepcopy(inits[k]) for k in (0, 1, 3)]
    train_many(rest, data, [configs[k] for k in (0, 1, 3)], mode=mode)
    for a, b in zip([models[k] for k in (0, 1, 3)], rest):
        assert_bitwise(a, b)
    history, _, _ = plain_loop(copy.deepcopy(inits[0]), data, configs[0].replace(patience=None))
    stop = r.stopped_step[0]
    within(max_metric_diff(reported(r, 0), {s: v for s, v in history.items() if s <= stop}), 1e-10,
           f"SAM {optimizer} {mode}: learner metrics vs plain loop")


def test_sam_with_dropout_and_batchnorm_equals_the_plain_loop():
    data = blobs(seed=9)
    cfg = TrainConfig(optimizer="sgd", lr=0.05, sam_rho=0.1, batch_size=10, n_steps=20, eval_every=5, seed=2)
    models = [MLP(5, 3, width=8, depth=2, norm="batch", dropout=0.2, seed=s).double() for s in range(2)]
    configs = [cfg, cfg.replace(seed=3)]
    oracles = [plain_loop(copy.deepcopy(m), data, c) for m, c in zip(models, configs)]
    r = train_many(models, data, configs)
    for k, (history, _, oracle) in enumerate(oracles):
        within(max_metric_diff(reported(r, k), history), 1e-10, "SAM+BN+dropout metrics vs plain loop")
        within(max_state_diff(models[k], oracle), 1e-10, "SAM+BN+dropout state vs plain loop")
