"""Training animations (input normalization, spectral bias / early stopping) computed here.

The page asks for the state after ``step`` optimizer steps of a run fixed by its settings; the
server keeps recent runs in a small LRU so asking for the next frame continues training instead
of restarting, and a run is deterministic, so a link with ``step=`` reproduces the same picture.
"""

from __future__ import annotations

import math
import threading
from collections import OrderedDict
from dataclasses import dataclass

import numpy as np
import torch

from genlab.models import MLP
from genlab.web._datasets import noisy_sine

N_GRID = 200


@dataclass(frozen=True)
class TrainSettings:
    """What fixes a training run (its cache key)."""

    demo: str  # "normalization" (plain SGD) or "spectral" (Adam)
    x_offset: float = 0.0
    y_offset: float = 0.0
    log_lr: float = -2.0
    seed: int = 0


class _Run:
    def __init__(self, s: TrainSettings) -> None:
        self.settings = s
        x, y, xv, yv, grid, ygrid = noisy_sine(s.seed)
        as_t = lambda a: torch.as_tensor(a, dtype=torch.float32).reshape(-1, 1)  # noqa: E731
        # The offsets shift the data the network sees; plots show it in shifted units too.
        self.x, self.y = as_t(x + s.x_offset), as_t(y + s.y_offset)
        self.xv, self.yv = as_t(xv + s.x_offset), as_t(yv + s.y_offset)
        self.grid = as_t(np.linspace(-1, 1, N_GRID) + s.x_offset)
        self.model = MLP(1, 1, width=64, depth=4, activation="gelu", init="he_normal", seed=s.seed)
        lr = 10.0**s.log_lr
        if s.demo == "normalization":
            self.opt = torch.optim.SGD(self.model.parameters(), lr=lr)
        else:
            self.opt = torch.optim.Adam(self.model.parameters(), lr=lr)
        self.step = 0
        self.train_loss: list[float] = []
        self.val_loss: list[float] = []
        self.diverged_at: int | None = None
        self._record()

    def _losses(self) -> tuple[float, float]:
        with torch.no_grad():
            return (float(torch.mean((self.model(self.x) - self.y) ** 2)),
                    float(torch.mean((self.model(self.xv) - self.yv) ** 2)))

    def _record(self) -> None:
        tr, va = self._losses()
        self.train_loss.append(tr)
        self.val_loss.append(va)
        if self.diverged_at is None and not (math.isfinite(tr) and tr < 1e8):
            self.diverged_at = self.step

    def advance(self, n: int) -> None:
        for _ in range(n):
            if self.diverged_at is not None:
                return
            self.opt.zero_grad(set_to_none=True)
            loss = torch.mean((self.model(self.x) - self.y) ** 2)  # full batch
            loss.backward()
            self.opt.step()
            self.step += 1
            self._record()


_CACHE: OrderedDict[TrainSettings, _Run] = OrderedDict()
_LOCK = threading.Lock()
_MAX_RUNS = 16


def _finite(values: list[float]) -> list[float | None]:
    return [v if math.isfinite(v) and abs(v) < 1e30 else None for v in values]


def training_state(settings: TrainSettings, step: int) -> dict:
    """The fit and the loss curves after ``step`` steps (or at divergence, if that came first).

    Returns the train/validation points, the clean sine and the network's prediction on a
    200-point grid, loss histories (one value per step, ``None`` where not finite), the
    best-validation step, and ``diverged_at`` (the step whose loss was no longer finite).
    """
    with _LOCK:  # torch modules are not safe to train from two threads at once
        run = _CACHE.pop(settings, None)
        if run is None or run.step > step:
            run = _Run(settings)
        run.advance(step - run.step)
        _CACHE[settings] = run
        while len(_CACHE) > _MAX_RUNS:
            _CACHE.popitem(last=False)
        with torch.no_grad():
            pred = run.model(run.grid).numpy().ravel()
        x, y, xv, yv, grid, ygrid = noisy_sine(settings.seed)
        val = np.array(run.val_loss)
        val = np.where(np.isfinite(val), val, np.inf)
        best = int(np.argmin(val))
        s = settings
        # Thin long histories to at most ~500 points for the plot; keep the exact best point.
        stride = max(1, len(run.train_loss) // 500)
        steps = list(range(0, len(run.train_loss), stride))
        return {
            "step": run.step, "requested_step": step, "diverged_at": run.diverged_at,
            "x_train": (x + s.x_offset).tolist(), "y_train": (y + s.y_offset).tolist(),
            "x_val": (xv + s.x_offset).tolist(), "y_val": (yv + s.y_offset).tolist(),
            "x_grid": (np.linspace(-1, 1, N_GRID) + s.x_offset).tolist(),
            "y_true": (np.sin(2 * np.pi * np.linspace(-1, 1, N_GRID)) + s.y_offset).tolist(),
            "y_pred": _finite(pred.astype(float).tolist()),
            "loss_steps": steps, "train_loss": _finite([run.train_loss[i] for i in steps]),
            "val_loss": _finite([run.val_loss[i] for i in steps]),
            "best_step": best, "best_val_loss": float(run.val_loss[best]),
            "train_loss_now": _finite([run.train_loss[-1]])[0], "val_loss_now": _finite([run.val_loss[-1]])[0],
        }
