"""``train`` and ``train_many``: a population of models trained in lockstep.

Members are grouped by parameter shapes and by the settings that fix the loop's structure
(optimizer kind, batch size, number of steps, ...); within a group one forward/backward per
step serves every member, and per-member numbers (seed of the batch order, learning rate,
weight decay, momentum, betas, penalties, SAM radius, schedule) are vectors. Each member's
result equals training it alone (tested against plain PyTorch loops): training runs in train
mode, each member drawing its dropout masks from its own stream, and evaluation in eval mode
(see :func:`train_many`).
"""

from __future__ import annotations

import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import torch
from torch import nn

from genlab import _progress as _task_progress
from genlab._checks import ParameterError, check_bool, check_choice, fail
from genlab.train._config import TrainConfig
from genlab.train._inputs import check_configs, check_datas, check_device, check_fit, check_models
from genlab.train._optim import PopulationOptimizer
from genlab.train._population import POPULATION_MODES, make_population, shape_key
from genlab.train._schedule import lr_multipliers

# Settings that must agree inside one group (everything else may differ per member).
_STRUCTURAL = ("optimizer", "nesterov", "batch_size", "shuffle", "n_steps", "eval_every", "train_loss",
               "running_window", "loss", "patience", "restore_best", "monitor", "stop_loss")


@dataclass
class PopulationResult:
    """What :func:`train_many` returns.

    Attributes
    ----------
    metrics : DataFrame
        Tidy table with columns ``member, step, split, metric, value`` (split in
        train/val/test, metric in loss/error).
    models : list of nn.Module
        The trained models (the caller's objects, updated in place), with the best weights
        restored where ``restore_best`` is set.
    diverged : list of bool
        Members whose loss or update became NaN or inf; they were frozen at their last finite
        weights (and running statistics and optimizer state), those of ``stopped_step``.
    stopped_step : list of int
        The last step each member trained (``n_steps`` unless stopped early or diverged).
    best_step : list of int or None
        Step of the best monitored value, when early stopping or ``restore_best`` is used.
    modes : list of str
        How each member's group ran: ``mlp`` (batched matmuls), ``vmap`` or ``loop``.
    """

    metrics: pd.DataFrame
    models: list
    configs: list
    diverged: list
    stopped_step: list
    best_step: list
    modes: list
    wall_time_s: float = 0.0
    extra: dict = field(default_factory=dict)

    def final(self) -> pd.DataFrame:
        """One row per member and split/metric: the value at the reported weights' step."""
        rows = []
        for i in range(len(self.models)):
            sub = self.metrics[self.metrics.member == i]
            if sub.empty:
                continue
            step = self.best_step[i] if self.best_step[i] is not None and self.configs[i].restore_best else sub.step.max()
            rows.append(sub[sub.step == step])
        out = pd.concat(rows) if rows else self.metrics.iloc[:0]
        return out.pivot_table(index="member", columns=["split", "metric"], values="value")

    def curve(self, member: int, split: str, metric: str) -> pd.DataFrame:
        m = self.metrics
        return m[(m.member == member) & (m.split == split) & (m.metric == metric)][["step", "value"]]


@dataclass
class TrainResult(PopulationResult):
    """What :func:`train` returns: a population of one (``model`` is ``models[0]``)."""

    @property
    def model(self) -> nn.Module:
        return self.models[0]


def _as_tensor(a, dtype, device, integer: bool) -> torch.Tensor:
    t = torch.from_numpy(np.array(a))  # a copy: the caller's (possibly read-only) arrays stay untouched
    return t.to(device=device, dtype=torch.long if integer else dtype)


def _splits(data) -> list[str]:
    return [s for s in ("train", "val", "test") if getattr(data, f"x_{s}", None) is not None]


def _member_loss(out: torch.Tensor, y: torch.Tensor, kind: str) -> torch.Tensor:
    """Mean loss per member: ``out`` (M, B, C), ``y`` (M, B) -> (M,)."""
    m, b = out.shape[:2]
    if kind == "cross_entropy":  # log-sum-exp form: same value as F.cross_entropy, faster on (M, B, C)
        return (out.logsumexp(-1) - out.gather(-1, y.unsqueeze(-1)).squeeze(-1)).mean(1)
    if out.dim() == 3 and out.shape[-1] == 1 and y.dim() == 2:
        out = out.squeeze(-1)
    return ((out - y) ** 2).reshape(m, -1).mean(1)


def _sample_loss(out: torch.Tensor, y: torch.Tensor, kind: str) -> torch.Tensor:
    """Loss per member and sample: ``out`` (M, B, C), ``y`` (M, B) -> (M, B)."""
    m, b = out.shape[:2]
    if kind == "cross_entropy":
        return out.logsumexp(-1) - out.gather(-1, y.unsqueeze(-1)).squeeze(-1)
    if out.dim() == 3 and out.shape[-1] == 1 and y.dim() == 2:
        out = out.squeeze(-1)
    return ((out - y) ** 2).reshape(m, b, -1).mean(2)


class _Batches:
    """Per-member minibatch indices, as ``DataLoader(shuffle=..., generator=Generator().manual_seed(seed))``."""

    def __init__(self, n: int, batch_size: int | None, shuffle: bool, seeds: Sequence[int], device) -> None:
        self.n, self.bs = n, (batch_size or n)
        self.shuffle = shuffle and self.bs < n
        self.gens = [torch.Generator().manual_seed(int(s)) for s in seeds]
        self.m, self.device, self.pos, self.order = len(seeds), device, n, None

    def next(self) -> torch.Tensor:
        if self.pos >= self.n:
            if self.shuffle:
                # Per epoch a DataLoader iterator draws its base seed from the generator, then
                # RandomSampler draws the permutation it yields and one more whose first
                # n % n = 0 entries it yields: repeat all three so the order is the same.
                perms = []
                for g in self.gens:
                    torch.empty((), dtype=torch.int64).random_(generator=g)
                    perms.append(torch.randperm(self.n, generator=g))
                    torch.randperm(self.n, generator=g)
                self.order = torch.stack(perms).to(self.device)
            else:
                self.order = torch.arange(self.n, device=self.device).expand(self.m, self.n)
            self.pos = 0
        idx = self.order[:, self.pos : self.pos + self.bs]  # (M, b); the last batch of an epoch may be short
        self.pos += self.bs
        return idx


class _Progress:
    """Steps done: the terminal bar (when shown) and the sweep task's progress (when inside one).

    ``update`` runs once per training step and stays O(1): a counter, and every ``_stride``
    steps (sized to about :data:`_FORWARD_EVERY` seconds) the steps and their work are passed on
    to the task's :class:`genlab._progress.TaskProgress`, which sends a few messages a second.
    """

    def __init__(self, total: int, enabled: bool | None, desc: str, work: float) -> None:
        if enabled is None:
            enabled = sys.stderr.isatty() and total >= 2000
        self._bar = None
        if enabled:
            from tqdm.auto import tqdm

            self._bar = tqdm(total=total, desc=desc, leave=False, mininterval=0.5)
        self._task = _task_progress.current()
        self.n = self._passed = 0
        self.step_work = 0.0  # work of one step of the group training now (set per group)
        self._next = 1 if self._task is not None else float("inf")
        self._stride, self._at = 1, time.perf_counter()
        if self._task is not None:
            self._task.begin(total, work)

    def set_step_work(self, work: float) -> None:
        self._forward()  # the steps so far at the previous group's rate
        self.step_work = work

    def update(self, n: int = 1) -> None:
        self.n += n
        if self._bar is not None:
            self._bar.update(n)
        if self.n >= self._next:
            self._forward()

    def _forward(self) -> None:
        if self._task is None:
            return
        steps, self._passed = self.n - self._passed, self.n
        now = time.perf_counter()
        if steps:
            self._task.advance(steps, steps * self.step_work)
            self._stride = max(1, int(steps * _FORWARD_EVERY / max(now - self._at, 1e-9)))
        self._at, self._next = now, self.n + self._stride

    def __enter__(self) -> _Progress:
        return self

    def __exit__(self, *exc) -> None:
        self._forward()
        if self._bar is not None:
            self._bar.close()


_FORWARD_EVERY = 0.1  # seconds of training between two hand-overs to the task's progress


def _step_work(models, datas, configs) -> float:
    """Work of one training step of a group, in FLOP as ``Experiment.work`` counts it: 6 x
    parameters x batch rows (forward 2, backward 4; twice for SAM), plus each evaluation's 2 x
    parameters x evaluated rows spread over the ``eval_every`` steps between evaluations."""
    total = 0.0
    for model, data, cfg in zip(models, datas, configs):
        params = sum(p.numel() for p in model.parameters())
        n_train = len(data.y_train)
        batch = min(cfg.batch_size or n_train, n_train)
        n_eval = sum(len(getattr(data, f"y_{s}")) for s in _splits(data))
        total += params * (6 * batch * (2 if cfg.sam_rho > 0 else 1) + 2 * n_eval / cfg.eval_every)
    return float(total)


def _train_group(models, datas, configs, members, device, bar, rows, mode="auto") -> dict:
    cfg = configs[0]
    pop = make_population(models, device, mode, seeds=[c.seed for c in configs])
    params = pop.params
    buffers = pop.buffer_tensors()  # (M, ...) running statistics, updated by train-mode forwards only
    dtype, m = params[0].dtype, len(models)
    classification = cfg.loss == "cross_entropy"
    splits = _splits(datas[0])
    shared = all(d is datas[0] for d in datas)
    tensors = {}
    for s in splits:
        xs = [_as_tensor(getattr(d, f"x_{s}"), dtype, device, False) for d in (datas[:1] if shared else datas)]
        ys = [_as_tensor(getattr(d, f"y_{s}"), dtype, device, classification) for d in datas]
        tensors[s] = (xs[0] if shared else torch.stack(xs), torch.stack(ys))
    x_train, y_train = tensors["train"]
    n_train = y_train.shape[1]
    rows_idx = torch.arange(m, device=device)[:, None]

    opt = PopulationOptimizer(params, configs)
    lr_table = torch.as_tensor(np.stack([c.lr * lr_multipliers(c) for c in configs], axis=1), dtype=dtype, device=device)
    l1 = torch.tensor([c.l1 for c in configs], dtype=dtype, device=device)
    l2 = torch.tensor([c.l2 for c in configs], dtype=dtype, device=device)
    rho = torch.tensor([c.sam_rho for c in configs], dtype=dtype, device=device)
    sam = bool((rho > 0).any())
    batches = _Batches(n_train, cfg.batch_size, cfg.shuffle, [c.seed for c in configs], device)
    whole_set = batches.bs >= n_train and not batches.shuffle  # every step sees all samples in order
    active = torch.ones(m, dtype=torch.bool, device=device)
    diverged = torch.zeros(m, dtype=torch.bool, device=device)
    stopped = [cfg.n_steps] * m
    track_best = cfg.patience is not None or cfg.restore_best
    mon_split, mon_metric = cfg.monitor.split("_")
    if track_best and mon_split not in tensors:
        raise fail("monitor", "train_many", f"a split present in the data ({', '.join(splits)})", cfg.monitor)
    best = torch.full((m,), float("inf"), dtype=dtype, device=device)
    best_step = [None] * m
    best_params = [p.detach().clone() for p in params] if track_best else None
    best_buffers = [b.clone() for b in buffers] if track_best else None
    since_best = torch.zeros(m, dtype=torch.long, device=device)
    recent = []  # minibatch losses for train_loss='running'

    penalized = bool((l1 > 0).any()) or bool((l2 > 0).any())
    manual = hasattr(pop, "loss_and_grads")  # plain MLPs: a hand-written backward, no autograd graph
    fused = manual and opt.plain_sgd and not penalized and not sam  # SGD steps inside the backward

    def penalty() -> torch.Tensor:
        """L1 and L2 penalties per member (M,)."""
        l1_term = sum(p.abs().flatten(1).sum(1) for p in params)
        l2_term = sum((p * p).flatten(1).sum(1) for p in params)
        return l1 * l1_term + l2 * l2_term

    def batch_grads(x_b, y_b) -> tuple[torch.Tensor, list]:
        """Per-member loss (M,) on the batch, penalties included, and its gradients."""
        if manual:
            loss, grads = pop.loss_and_grads(x_b, y_b, cfg.loss)
            if penalized:
                with torch.no_grad():
                    loss = loss + penalty()
                    grads = [g + pop_view(l1, p) * p.sign() + pop_view(2 * l2, p) * p for g, p in zip(grads, params)]
            return loss, grads
        loss = _member_loss(pop.forward(x_b), y_b, cfg.loss)
        if penalized:
            loss = loss + penalty()
        return loss, torch.autograd.grad(loss.sum(), params)

    # Evaluation chunks bound the activations' memory; members run one by one in loop mode.
    chunk = max(1, 2**22 // (128 * (1 if pop.mode == "loop" else m)))

    @torch.no_grad()
    def evaluate(step: int, last_batch: torch.Tensor | None) -> None:
        """Every split's loss and error in eval mode: running statistics, no dropout, no RNG
        draw, no buffer update. Per-sample values are averaged once over the whole split, so
        chunking changes nothing."""
        results = {}
        with pop.evaluating():
            for s, (x, y) in tensors.items():
                losses, errors = [], []
                for lo in range(0, y.shape[1], chunk):
                    xc = x[lo : lo + chunk] if shared else x[:, lo : lo + chunk]
                    out = pop.forward(xc, shared=shared)  # (M, b, C)
                    yc = y[:, lo : lo + chunk]
                    losses.append(_sample_loss(out, yc, cfg.loss))
                    if classification:
                        errors.append((out.argmax(-1) != yc).to(out.dtype))
                results[(s, "loss")] = torch.cat(losses, 1).mean(1)
                if classification:
                    results[(s, "error")] = torch.cat(errors, 1).mean(1)
        if cfg.train_loss != "full" and last_batch is not None:
            window = recent[-cfg.running_window :] if cfg.train_loss == "running" else recent[-1:]
            results[("train", "loss")] = torch.stack(window).mean(0)
        record = active.clone()
        for (s, metric), values in results.items():
            vals = values.cpu().numpy()
            for i in np.flatnonzero(record.cpu().numpy()):
                rows.append((members[i], step, s, metric, float(vals[i])))
        bad = ~torch.isfinite(results[("train", "loss")])
        newly = bad & active
        if bool(newly.any()):
            diverged.logical_or_(newly)
            active.logical_and_(~newly)
            for i in np.flatnonzero(newly.cpu().numpy()):
                stopped[i] = step
        if cfg.stop_loss is not None:  # trained to the target loss: this member stops here
            done = active & (results[("train", "loss")] < cfg.stop_loss)
            for i in np.flatnonzero(done.cpu().numpy()):
                stopped[i] = step
            active.logical_and_(~done)
        if track_best and (mon_split, mon_metric) in results:
            value = results[(mon_split, mon_metric)]
            improved = (value < best) & active
            best.copy_(torch.where(improved, value, best))
            since_best.copy_(torch.where(improved, 0, since_best + 1))
            for bp, p in zip(best_params + best_buffers, params + buffers):
                bp.copy_(torch.where(pop_view(improved, p), p.detach(), bp))
            for i in np.flatnonzero(improved.cpu().numpy()):
                best_step[i] = step
            if cfg.patience is not None:
                done = active & (since_best >= cfg.patience)
                for i in np.flatnonzero(done.cpu().numpy()):
                    stopped[i] = step
                active.logical_and_(~done)

    def pop_view(mask: torch.Tensor, like: torch.Tensor) -> torch.Tensor:
        return mask.view((-1,) + (1,) * (like.dim() - 1))

    def freeze(bad: torch.Tensor, last_step: int) -> bool:
        """Mark active members in ``bad`` (M,) diverged, their last step ``last_step``; True if any."""
        newly = bad & active
        if not bool(newly.any()):
            return False
        diverged.logical_or_(newly)
        active.logical_and_(~newly)
        for i in np.flatnonzero(newly.cpu().numpy()):
            stopped[i] = last_step
        return True

    evaluate(0, None)
    everyone = bool(active.all())  # every member still training; recomputed whenever active changes
    for step in range(1, cfg.n_steps + 1):
        if not everyone and not bool(active.any()):
            bar.update(cfg.n_steps - step + 1)
            break
        idx = batches.next()
        if whole_set:  # full batch in order: the data itself, no gather
            x_b = x_train.unsqueeze(0).expand((m,) + x_train.shape) if shared else x_train
            y_b = y_train
        else:
            if shared:  # (N, ...) -> (M, b, ...); index_select is ~3x faster than x_train[idx] on CPU
                x_b = x_train.index_select(0, idx.reshape(-1)).view(idx.shape + x_train.shape[1:])
            else:
                x_b = x_train[rows_idx, idx]
            y_b = y_train.gather(1, idx) if y_train.dim() == 2 else y_train[rows_idx, idx]
        before = [b.clone() for b in buffers]  # running statistics before this step's forwards
        if fused:  # plain SGD: the loss first, then the update inside the backward pass
            loss, d, keep = pop.loss_and_delta(x_b, y_b, cfg.loss)
        else:
            loss, grads = batch_grads(x_b, y_b)  # (M,), gradients member-first
        detached = loss.detach()
        recent.append(detached)
        del recent[: -cfg.running_window]
        if not bool(torch.isfinite(detached).all()):
            everyone = not freeze(~torch.isfinite(detached), step - 1) and everyone
        if sam:  # SAM: the gradient at the worst nearby point of the ball, for active members only
            norm = torch.sqrt(sum(g.flatten(1).pow(2).sum(1) for g in grads))
            scale = rho / (norm + 1e-12)
            with torch.no_grad():
                at = [p.detach().clone() for p in params]  # restored exactly afterwards
                for p, g in zip(params, grads):
                    if everyone:
                        p.add_(g * pop_view(scale, g))
                    else:  # a stopped or diverged member (whose g may be NaN) is left untouched
                        p.copy_(torch.where(pop_view(active, p), p + g * pop_view(scale, g), p))
            after_first = [b.clone() for b in buffers]
            grads = batch_grads(x_b, y_b)[1]
            with torch.no_grad():
                for p, a in zip(params, at):
                    p.copy_(a)
                for b, a in zip(buffers, after_first):  # the ascent pass leaves running statistics alone
                    b.copy_(a)
        if fused:
            frozen = None if everyone else [p.detach().clone() for p in params]
            pop.backward(d, keep, sgd_lr=lr_table[step - 1])
            if frozen is not None:  # stopped members keep their weights
                with torch.no_grad():
                    for p, f in zip(params, frozen):
                        p.copy_(torch.where(pop_view(active, p), p, f))
        else:
            finite = opt.step(grads, lr_table[step - 1], active)  # members with a non-finite update keep their weights
            if not bool(finite.all()):
                everyone = not freeze(~finite, step - 1) and everyone
        if buffers and not everyone:  # stopped and diverged members keep their running statistics
            with torch.no_grad():
                for b, old in zip(buffers, before):
                    b.copy_(torch.where(pop_view(~active, b), old, b))
        if step % cfg.eval_every == 0 or step == cfg.n_steps:
            evaluate(step, detached)
            everyone = bool(active.all())
        bar.update(1)

    final_params, final_buffers = params, buffers
    if track_best and cfg.restore_best:
        final_params, final_buffers = best_params, best_buffers
    pop.load_into(models, final_params, final_buffers)
    return {"diverged": diverged.cpu().tolist(), "stopped": stopped, "best_step": best_step, "mode": pop.mode}


def train_many(
    models: Sequence[nn.Module],
    data,
    configs: TrainConfig | Sequence[TrainConfig],
    *,
    device: str | torch.device = "cpu",
    progress: bool | None = None,
    mode: str = "auto",
) -> PopulationResult:
    """Train a population of models in lockstep; each member ends as if trained alone.

    Parameters
    ----------
    models : sequence of nn.Module
        The members, each initialized with its own seed (and width, if widths differ). They
        are updated in place. Members with equal parameter shapes share one batched forward.
    data : dataset or sequence of datasets
        Anything with ``x_train, y_train, x_test, y_test`` (and optionally ``x_val, y_val``),
        NumPy or torch; one per member to give members different labels (e.g. label-noise
        draws).
    configs : TrainConfig or sequence of TrainConfig
        One for all, or one per member. ``seed`` sets each member's batch order and its dropout
        masks (see Notes).
    device : str
        ``'cpu'`` (default) or ``'cuda'``.
    progress : bool or None
        Progress bar; ``None`` shows it on a terminal for runs of 2000 steps or more.
    mode : {'auto', 'mlp', 'vmap', 'loop'}
        How a group of same-shape members runs: ``mlp`` batched matmuls (plain MLPs and
        logistic regression), ``vmap`` (``torch.func.vmap`` over ``functional_call``: e.g. the
        CNN), ``loop`` (members one by one inside each step: recurrent layers, BatchNorm,
        dropout). ``auto`` picks the fastest that applies; all give the same numbers.

    Returns
    -------
    PopulationResult

    Notes
    -----
    **Train mode and eval mode.** Training steps run in train mode (dropout on, BatchNorm
    normalizes by the batch and updates its running statistics). Every evaluation (the metrics
    of all splits at step 0, every ``eval_every`` steps and at the end, and so the values that
    early stopping and ``restore_best`` select on) runs in eval mode, as ``model.eval()`` under
    ``torch.no_grad()``: BatchNorm uses the running statistics, dropout is off, and nothing is
    drawn from any RNG or written to any buffer. A member's metrics therefore do not depend on
    the other members or on how evaluation is chunked. With ``train_loss='batch'`` or
    ``'running'`` the reported training loss is that of the training steps (train mode). Each
    module is returned in the train/eval mode it was given in (a fresh model: train mode;
    call ``model.eval()`` before using it to predict).

    **Randomness inside the model.** Dropout masks come from the member's own stream: the
    device's default generator in the state ``torch.manual_seed(config.seed)`` gives it, kept
    per member and used only by that member's training forwards. Member ``i`` equals the same
    model trained alone, and ``train`` equals this plain loop (float64, up to round-off)::

        torch.manual_seed(cfg.seed)        # dropout masks
        loader = DataLoader(TensorDataset(x, y), batch_size=cfg.batch_size, shuffle=cfg.shuffle,
                            generator=torch.Generator().manual_seed(cfg.seed))  # batch order
        model.train()
        for xb, yb in loader:              # cycled until n_steps
            loss = F.cross_entropy(model(xb), yb); opt.zero_grad(); loss.backward(); opt.step()
            # every eval_every steps: model.eval(); metrics under no_grad; model.train()

    The caller's global RNG state is left as it was.

    **SAM** (``sam_rho > 0``), as Foret et al.'s reference implementation (davda54/sam): the
    weights move to ``w + rho g / (||g|| + 1e-12)``, the gradient is taken there (a train-mode
    forward that draws new dropout masks; BatchNorm running statistics are kept from the first
    forward, as its ``disable_running_stats``), then the weights are restored exactly and the
    base optimizer steps with that gradient. Only active members move.

    **Divergence.** A member diverges at the first step whose minibatch loss, whose update or
    whose evaluated training loss is not finite; it keeps the weights, running statistics and
    optimizer state of its last finite step, bit for bit, and so does an early-stopped member,
    while the others go on exactly as without it. (In the plain-SGD fast path the update is
    applied inside the backward pass and only the loss is checked.)
    """
    return _train_many(models, data, configs, device, progress, mode, "train_many", ("models", "configs"))


def _train_many(models, data, configs, device, progress, mode, owner: str, names: tuple[str, str]) -> PopulationResult:
    t0 = time.perf_counter()
    check_choice(mode, "mode", owner, POPULATION_MODES)
    if progress is not None:
        check_bool(progress, "progress", owner)
    device = check_device(device, owner)
    models = check_models(models, owner, names[0])
    m = len(models)
    configs = check_configs(configs, m, owner, names[1])
    if isinstance(data, (list, tuple)) and len(data) != m or len(configs) != m:
        n_data = len(data) if isinstance(data, (list, tuple)) else m
        raise ParameterError(
            f"The 'configs' and 'data' parameters of {owner} must have one entry per model ({m}). "
            f"Got {len(configs)} configs and {n_data} datasets instead."
        )
    datas = check_datas(data, m, owner)
    check_fit(models, datas, configs, owner, names[0])
    groups: dict[tuple, list[int]] = {}
    for i, (model, cfg) in enumerate(zip(models, configs)):
        key = (shape_key(model), tuple(getattr(cfg, f) for f in _STRUCTURAL),
               tuple((s, np.shape(getattr(datas[i], f"x_{s}")), np.shape(getattr(datas[i], f"y_{s}")))
                     for s in _splits(datas[i])))
        groups.setdefault(key, []).append(i)
    rows: list[tuple] = []
    diverged, stopped, best_step, modes = [False] * m, [0] * m, [None] * m, [""] * m
    total = sum(configs[g[0]].n_steps for g in groups.values())
    # each module's train/eval flag as given, restored at the end (a caller may hold some in eval)
    was_training = [(mod, mod.training) for model in models for mod in model.modules()]
    step_works = [_step_work([models[i] for i in g], [datas[i] for i in g], [configs[i] for i in g]) for g in groups.values()]
    work = sum(configs[g[0]].n_steps * w for g, w in zip(groups.values(), step_works))
    try:
        with _Progress(total, progress, f"training {m} model(s)", work) as bar:
            for members, step_work in zip(groups.values(), step_works):
                bar.set_step_work(step_work)
                for model in (models[i] for i in members):
                    model.train()
                out = _train_group([models[i] for i in members], [datas[i] for i in members],
                                   [configs[i] for i in members], members, device, bar, rows, mode)
                for j, i in enumerate(members):
                    diverged[i], stopped[i] = out["diverged"][j], out["stopped"][j]
                    best_step[i], modes[i] = out["best_step"][j], out["mode"]
    finally:
        for mod, training in was_training:
            mod.training = training
    metrics = pd.DataFrame(rows, columns=["member", "step", "split", "metric", "value"])
    return PopulationResult(metrics, models, configs, diverged, stopped, best_step, modes, time.perf_counter() - t0)


def train(model: nn.Module, data, config: TrainConfig | None = None, *, device="cpu", progress=None,
          mode: str = "auto") -> TrainResult:
    """Train one model (a population of one); see :func:`train_many`."""
    config = TrainConfig() if config is None else config
    r = _train_many([model], data, config, device, progress, mode, "train", ("model", "config"))
    return TrainResult(r.metrics, r.models, r.configs, r.diverged, r.stopped_step, r.best_step, r.modes, r.wall_time_s)
