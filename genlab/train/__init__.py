"""Training: ``train`` for one model, ``train_many`` for a population trained in lockstep."""

from genlab.train._config import OPTIMIZERS, SCHEDULES, TrainConfig
from genlab.train._engine import PopulationResult, TrainResult, train, train_many
from genlab.train._schedule import lr_multipliers
from genlab.train._threads import default_threads, set_threads

__all__ = [
    "TrainConfig",
    "OPTIMIZERS",
    "SCHEDULES",
    "train",
    "train_many",
    "PopulationResult",
    "TrainResult",
    "lr_multipliers",
    "set_threads",
    "default_threads",
]
