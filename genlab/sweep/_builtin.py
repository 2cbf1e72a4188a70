"""Built-in named sweeps (``genlab sweep demo``), written as the documents a sweep file holds."""

from __future__ import annotations

BUILTIN_SWEEPS: dict[str, dict] = {
    # 8 runs in 2 groups, a few seconds on 2 cores: width (shape) x seed x lr (batched).
    "demo": {
        "name": "demo",
        "base": {"dataset": "mnist1d", "data": {"n_samples": 1000}, "depth": 2, "n_steps": 200,
                 "eval_every": 50, "batch_size": 100, "lr": 0.1},
        "grid": {"width": [32, 64], "seed": [0, 1], "lr": [0.05, 0.1]},
    },
    # Width x label noise x seed, the shape of a double-descent-in-width study (48 runs).
    "width-noise": {
        "name": "width-noise",
        "base": {"dataset": "mnist1d", "data": {"n_samples": 2000}, "n_steps": 1000,
                 "eval_every": 100, "optimizer": "adam", "lr": 0.001},
        "grid": {"width": [8, 16, 32, 64, 128, 256], "label_noise": [0.0, 0.2], "seed": [0, 1, 2, 3]},
    },
    # The benchmark's 64 runs of small MLPs: 4 widths x 4 seeds x 4 learning rates.
    "bench": {
        "name": "bench",
        "base": {"dataset": "mnist1d", "data": {"n_samples": 1000}, "depth": 2, "n_steps": 300,
                 "eval_every": 100, "batch_size": 100},
        "grid": {"width": [16, 32, 64, 128], "seed": [0, 1, 2, 3], "lr": [0.01, 0.03, 0.1, 0.3]},
    },
}
