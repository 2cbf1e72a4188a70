"""Training animations (input normalization, spectral bias / early stopping) computed here.

The page asks for the state after ``step`` optimizer steps of a run fixed by its settings; the
server keeps recent runs in a small LRU so asking for the next frame continues training instead
of restarting, and a run is deterministic, so a link with ``step=`` reproduces the same picture.

Bounds: one request trains at most ``MAX_STEPS_PER_REQUEST`` steps (well under a second), so a
link to step 3000 is reached in a few requests, each answered with its progress; each run has
its own lock (clients training different settings never wait for each other), and at most
``_MAX_RUNS`` runs of a few hundred kB are kept.
"""

from __future__ import annotations

import dataclasses
import math
import threading
import time
from collections import OrderedDict
from dataclasses import dataclass

import numpy as np
import torch

from genlab.experiments.practice import _input_normalization, _spectral_bias

GRID = _spectral_bias.GRID  # the experiments' 512-point periodic grid of [-1, 1): the fit is drawn (and Fourier-read) there
N_AMPLITUDES = 33  # Fourier amplitudes shown: 0 .. 32 cycles per [-1, 1) (what the experiment stores)


@dataclass(frozen=True)
class TrainSettings:
    """What fixes a training run (its cache key)."""

    demo: str  # "normalization" (plain SGD) or "spectral" (Adam)
    x_offset: float = 0.0
    y_offset: float = 0.0
    log_lr: float = -2.0
    seed: int = 0
    normalize: bool = False  # standardize inputs and targets (training-set mean and std) first


def demo_data(s: TrainSettings):
    """(data the network sees, std_y, mean_y) from the experiments' own functions.

    spectral: :func:`~genlab.experiments.practice._spectral_bias.spectral_data`; normalization:
    :func:`~genlab.experiments.practice._input_normalization.shifted_sine` (its test set replaced
    by the clean sine on ``GRID + dx``, for the plot) and, with ``normalize``, its ``standardize``.
    """
    if s.demo == "spectral":
        return _spectral_bias.spectral_data(s.seed), 1.0, 0.0
    d = _input_normalization.shifted_sine(s.seed, s.x_offset, s.y_offset)
    d = dataclasses.replace(d, x_test=GRID[:, None] + s.x_offset, y_test=np.sin(2 * np.pi * GRID) + s.y_offset)
    if not s.normalize:
        return d, 1.0, 0.0
    mean_y = float(d.y_train.mean())
    d, std_y = _input_normalization.standardize(d)
    return d, std_y, mean_y


def demo_model(s: TrainSettings) -> torch.nn.Module:
    """The experiment's network ([1, 64 x 4, 1], GELU, PyTorch's default init, its init seed)."""
    return (_spectral_bias.spectral_mlp if s.demo == "spectral" else _input_normalization.normalization_mlp)(s.seed, 64)


class _Run:
    def __init__(self, s: TrainSettings) -> None:
        self.settings = s
        d, self.y_std, self.y_mean = demo_data(s)
        self.shown = demo_data(dataclasses.replace(s, normalize=False))[0] if s.normalize else d  # in the data's units
        as_t = lambda a: torch.as_tensor(a, dtype=torch.float32).reshape(-1, 1)  # noqa: E731
        # With ``normalize`` the network sees standardized data; the plots and the losses stay in
        # the data's own units (the prediction is mapped back, the loss scaled by std_y**2).
        self.x, self.y = as_t(d.x_train), as_t(d.y_train)
        self.xv, self.yv = as_t(d.x_val), as_t(d.y_val)
        self.grid = as_t(d.x_test)
        self.model = demo_model(s)
        lr = 10.0**s.log_lr
        # Full batch, as the experiments' TrainConfig(batch_size=None): torch.optim's rules, which
        # genlab.train's population optimizer matches (the test checks the curves agree).
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
            scale = self.y_std**2  # back to the data's units
            return (scale * float(torch.mean((self.model(self.x) - self.y) ** 2)),
                    scale * float(torch.mean((self.model(self.xv) - self.yv) ** 2)))

    def _record(self) -> None:
        tr, va = self._losses()
        self.train_loss.append(tr)
        self.val_loss.append(va)
        if self.diverged_at is None and not (math.isfinite(tr) and tr < 1e8):
            self.diverged_at = self.step

    def advance(self, n: int, deadline: float | None = None) -> None:
        for _ in range(n):
            if self.diverged_at is not None:
                return
            self.opt.zero_grad(set_to_none=True)
            loss = torch.mean((self.model(self.x) - self.y) ** 2)  # full batch
            loss.backward()
            self.opt.step()
            self.step += 1
            self._record()
            if deadline is not None and time.perf_counter() > deadline:
                return  # at least one step per call: a slow machine still makes progress

    def to_step(self, step: int, budget: int, deadline: float | None = None) -> None:
        """Train towards ``step`` (restarting when it lies behind), at most ``budget`` steps now (and
        none after ``deadline``, a ``time.perf_counter()`` value)."""
        if self.step > step:
            self.__init__(self.settings)
        self.advance(min(step - self.step, budget), deadline)


def warm_up(demo: str) -> None:
    """Two steps of a throw-away run (not cached): torch.optim's first step imports a lot."""
    _Run(TrainSettings(demo)).advance(2)


_CACHE: OrderedDict[TrainSettings, list] = OrderedDict()  # settings -> [lock, run or None]
_CACHE_LOCK = threading.Lock()  # held only to look a run up, never while training
_MAX_RUNS = 32
MAX_STEPS_PER_REQUEST = 250


def _finite(values: list[float]) -> list[float | None]:
    return [v if math.isfinite(v) and abs(v) < 1e30 else None for v in values]


def _slot(settings: TrainSettings) -> list:
    with _CACHE_LOCK:
        slot = _CACHE.pop(settings, None) or [threading.Lock(), None]
        _CACHE[settings] = slot
        while len(_CACHE) > _MAX_RUNS:
            _CACHE.popitem(last=False)
        return slot


def training_state(settings: TrainSettings, step: int, *, budget: int = MAX_STEPS_PER_REQUEST, seconds: float | None = None,
                   data: bool = True) -> dict:
    """The fit and the loss curves after ``step`` steps (or at divergence, if that came first).

    At most ``budget`` steps are trained per call: ``step`` in the answer is how far the run
    got, ``complete`` whether that is the requested step (or divergence); ask again to go on.
    Returns the train/validation points, the clean sine and the network's prediction on a
    200-point grid, loss histories (one value per step, ``None`` where not finite), the
    best-validation step, and ``diverged_at`` (the step whose loss was no longer finite).
    ``seconds`` also bounds the training time of one call (the server's answer to a far step
    then comes within about that, on any machine; the run itself stays deterministic).
    ``data=False`` leaves out what does not change while a run trains (the points, the grid and
    the clean sine): a playing page asks for them once per run.
    """
    if torch.get_num_threads() != 1:  # per thread: a server's worker threads start with one per core
        torch.set_num_threads(1)  # tiny models: more threads only contend (40x slower on a busy machine)
    slot = _slot(settings)
    with slot[0]:  # one run is trained by one thread at a time; other runs go on in parallel
        deadline = None if seconds is None else time.perf_counter() + seconds  # from when this run is ours
        if slot[1] is None:
            slot[1] = _Run(settings)
        run = slot[1]
        run.to_step(step, budget, deadline)
        with torch.no_grad():
            pred = run.model(run.grid).numpy().ravel().astype(np.float64) * run.y_std + run.y_mean
        val = np.array(run.val_loss)
        val = np.where(np.isfinite(val), val, np.inf)
        best = int(np.argmin(val))
        # Thin long histories to at most ~500 points for the plot; keep the exact best point.
        stride = max(1, len(run.train_loss) // 500)
        steps = list(range(0, len(run.train_loss), stride))
        raw = run.shown
        amp = _spectral_bias.fourier_amplitudes(pred) if np.all(np.isfinite(pred)) else np.full(N_AMPLITUDES, np.nan)
        fixed = {"x_train": raw.x_train.ravel().tolist(), "y_train": raw.y_train.tolist(),
                 "x_val": raw.x_val.ravel().tolist(), "y_val": raw.y_val.tolist(),
                 "x_grid": raw.x_test.ravel().tolist(), "y_true": raw.y_test.tolist()} if data else {}
        return {
            "step": run.step, "requested_step": step, "diverged_at": run.diverged_at,
            "complete": run.step == step or run.diverged_at is not None, **fixed,
            "y_pred": _finite(pred.tolist()),
            "amplitude": _finite(amp[:N_AMPLITUDES].tolist()),
            "loss_steps": steps, "train_loss": _finite([run.train_loss[i] for i in steps]),
            "val_loss": _finite([run.val_loss[i] for i in steps]),
            "best_step": best, "best_val_loss": float(run.val_loss[best]),
            "train_loss_now": _finite([run.train_loss[-1]])[0], "val_loss_now": _finite([run.val_loss[-1]])[0],
        }
