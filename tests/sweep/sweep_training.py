"""A sweep task that really trains (through ``train_many``), for the progress tests.

In a plain module (not a test file) so the local backend's workers can import it by name.
"""

from __future__ import annotations

import time
from types import SimpleNamespace

import numpy as np

from genlab.models import MLP
from genlab.sweep import TaskOutput
from genlab.train import TrainConfig, train_many


def toy_data(n_train: int, seed: int) -> SimpleNamespace:
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n_train + 100, 10)).astype(np.float32)
    y = (x[:, 0] + x[:, 1] > 0).astype(np.int64) + (x[:, 2] > 1)
    return SimpleNamespace(x_train=x[:n_train], y_train=y[:n_train], x_test=x[n_train:], y_test=y[n_train:], n_classes=3)


def training_task(n_steps: int, width: int, seeds: list, n_train: int = 256, calls: int = 1,
                  at_least_s: float = 0.0) -> TaskOutput:
    """Train one population per call (``calls`` train_many calls in a row) of one MLP per seed;
    ``at_least_s``: repeat the whole training (from scratch, same numbers) until that many seconds
    have passed, so that the task outlasts several progress messages on any machine."""
    t0 = time.perf_counter()
    while True:
        weights, records = [], []
        for call in range(calls):
            models = [MLP(10, 3, width=width, depth=2, seed=s + 1000 * call) for s in seeds]
            configs = [TrainConfig(optimizer="adam", lr=1e-3, batch_size=32, n_steps=n_steps, eval_every=n_steps, seed=s)
                       for s in seeds]
            final = train_many(models, toy_data(n_train, 0), configs, progress=False).final()
            for i, s in enumerate(seeds):
                records.append({"call": call, "seed": s, "train_loss": float(final.loc[i, ("train", "loss")])})
            weights += [p.detach().numpy().tobytes() for m in models for p in m.parameters()]
        if time.perf_counter() - t0 >= at_least_s:
            break
    return TaskOutput(records, {"n_params": sum(p.numel() for m in models for p in m.parameters())},
                      b"".join(weights))


def idle_task(seconds: float) -> TaskOutput:
    """No training: reports no work (counts as a task)."""
    time.sleep(seconds)
    return TaskOutput([], {"slept": seconds})


__all__ = ["training_task", "idle_task", "toy_data"]
