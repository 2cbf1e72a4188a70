"""Learning-rate schedules as multipliers of the base rate, one value per step."""

from __future__ import annotations

import math

import numpy as np

from genlab.train._config import TrainConfig


def lr_multipliers(config: TrainConfig) -> np.ndarray:
    """Multiplier of ``config.lr`` used at steps 1..n_steps, shape ``(n_steps,)``.

    Matches ``torch.optim.lr_scheduler`` stepped once per optimizer step: ``StepLR(step_size=
    step_every, gamma)``, ``CosineAnnealingLR(T_max=n_steps)`` (closed form), and for warm-up a
    ``LambdaLR`` rising as ``(t + 1) / (warmup + 1)`` then decaying linearly or by cosine.
    """
    t = np.arange(config.n_steps, dtype=np.float64)  # number of scheduler steps taken before step t+1
    kind = config.schedule
    if kind == "constant":
        return np.ones_like(t)
    if kind == "step":
        return config.gamma ** np.floor(t / config.step_every)
    if kind == "cosine":
        return 0.5 * (1 + np.cos(math.pi * t / config.n_steps))
    w = config.warmup_steps
    rest = max(config.n_steps - w, 1)
    frac = np.clip((t - w) / rest, 0.0, 1.0)
    decay = 1 - frac if kind == "warmup_linear" else 0.5 * (1 + np.cos(math.pi * frac))
    return np.where(t < w, (t + 1) / (w + 1), decay)
