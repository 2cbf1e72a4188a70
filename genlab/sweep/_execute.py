"""What a worker runs: one group of runs, trained as one population by ``train_many``.

A worker needs no access to the store: it gets a :class:`GroupTask` (plain data) and returns a
:class:`GroupResult` of plain Python floats, lists and bytes (no tensors, no modules), which any
backend can pickle. The driver commits it.
"""

from __future__ import annotations

import functools
import io
import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from genlab.sweep._spec import TRAIN_KEYS


@dataclass(frozen=True)
class GroupTask:
    """A group of runs that share tensor shapes: ``runs`` is a list of ``(run_id, config)``."""

    group: str
    runs: list
    threads: int = 1
    save_weights: bool = True


@dataclass
class RunOutput:
    """One run's result: tidy metric rows ``(step, split, metric, value)`` and final metrics.

    A generic task (:class:`genlab.sweep.Task`) fills ``records`` (tidy rows as dicts) instead of
    ``metrics``, its named values in ``final`` and its bytes in ``weights``.
    """

    id: str
    metrics: list
    final: dict
    diverged: bool = False
    weights: bytes | None = None
    records: list | None = None


@dataclass
class GroupResult:
    group: str
    runs: list
    started: float = 0.0
    wall_s: float = 0.0
    worker: str = ""
    extra: dict = field(default_factory=dict)


@functools.lru_cache(maxsize=8)
def _base_data(dataset: str, options_json: str):
    from genlab.data import make_dataset

    return make_dataset(dataset, **json.loads(options_json))


def make_run_data(config: dict):
    """The dataset of one run: generator, then ``n_train`` subsample, then label noise."""
    from genlab.data import subsample_train, with_label_noise

    data = _base_data(config["dataset"], json.dumps(config["data"], sort_keys=True))
    if config["n_train"] is not None:
        data = subsample_train(data, config["n_train"], seed=config["data_seed"])
    if config["label_noise"] > 0:
        seed = config["seed"] if config["noise_seed"] is None else config["noise_seed"]
        data = with_label_noise(data, config["label_noise"], seed=seed)
    return data


def make_run_model(config: dict, data):
    """An MLP sized for ``data``: classes out for classification, targets out for regression."""
    from genlab.models import MLP

    in_features = int(data.x_train.reshape(len(data.x_train), -1).shape[1])
    if hasattr(data, "n_classes"):
        out_features = int(data.n_classes)
    else:
        out_features = 1 if data.y_train.ndim == 1 else int(data.y_train.shape[1])
    return MLP(in_features, out_features, width=config["width"], depth=config["depth"],
               activation=config["activation"], init=config["init"], init_scale=config["init_scale"],
               seed=config["seed"])


def make_train_config(config: dict, data):
    from genlab.train import TrainConfig

    fields = {k: (tuple(v) if k == "betas" else v) for k, v in config.items() if k in TRAIN_KEYS}
    if not hasattr(data, "n_classes"):
        fields["loss"] = "mse"
    return TrainConfig(**fields)


def train_group(task: GroupTask) -> list[RunOutput]:
    """Train every run of ``task`` as one population with :func:`genlab.train.train_many`."""
    import torch

    from genlab.train import train_many

    configs = [c for _, c in task.runs]
    datas = [make_run_data(c) for c in configs]
    models = [make_run_model(c, d) for c, d in zip(configs, datas)]
    train_configs = [make_train_config(c, d) for c, d in zip(configs, datas)]
    result = train_many(models, datas, train_configs, progress=False)
    final = result.final()
    metrics = result.metrics
    outputs = []
    for i, (rid, _) in enumerate(task.runs):
        sub = metrics[metrics.member == i]
        rows = [(int(s), str(sp), str(m), float(v)) for s, sp, m, v in
                zip(sub.step, sub.split, sub.metric, sub.value)]
        fin = {f"{sp}/{m}": float(final.loc[i, (sp, m)]) for sp, m in final.columns if i in final.index}
        weights = None
        if task.save_weights:
            buf = io.BytesIO()
            torch.save({k: v.detach().cpu() for k, v in result.models[i].state_dict().items()}, buf)
            weights = buf.getvalue()
        outputs.append(RunOutput(rid, rows, fin, bool(result.diverged[i]), weights))
    return outputs


def execute_group(fn: Callable[[GroupTask], list[RunOutput]], task: GroupTask) -> GroupResult:
    """Worker entry point: set the thread count, run ``fn`` and time it (exceptions propagate).

    The training inside ``fn`` counts its steps and work (:mod:`genlab._progress`): they go to
    this process's progress sink while it runs, and into ``extra['progress']`` of the result.
    """
    import os
    import socket

    import torch

    from genlab._progress import task_progress

    # The pool is sized so that workers x threads <= cores (oversubscription costs 2-20x).
    torch.set_num_threads(task.threads)
    started = time.time()
    t0 = time.perf_counter()
    with task_progress(task.group) as progress:
        runs = fn(task)
    return GroupResult(task.group, runs, started, time.perf_counter() - t0, f"{socket.gethostname()}:{os.getpid()}",
                       extra={"progress": progress.message()})
