"""Experiments: one command per figure of the lecture (``genlab run NAME``)."""

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

__all__ = ["SCALES", "Comparison", "Experiment", "ExperimentFailed", "RunOutput", "get_experiment", "list_experiments",
           "pack_models", "plot_run", "run_experiment", "unpack_models"]
