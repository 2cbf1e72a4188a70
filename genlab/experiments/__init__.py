"""Experiments: one command per figure of the lectures (``genlab run NAME``)."""

from genlab.experiments._claims import KINDS, Claim, in_band, per_seed
from genlab.experiments._framework import (
    SCALES,
    Comparison,
    Experiment,
    ExperimentFailed,
    RunOutput,
    get_experiment,
    list_experiments,
    pack_models,
    plot_run,
    run_experiment,
    unpack_models,
)
from genlab.experiments._params import ExperimentConfig, param

__all__ = ["KINDS", "SCALES", "Claim", "Comparison", "Experiment", "ExperimentConfig", "ExperimentFailed", "RunOutput",
           "get_experiment", "in_band", "list_experiments", "pack_models", "param", "per_seed", "plot_run",
           "run_experiment", "unpack_models"]
