"""Experiments: one command per figure of the lecture (``genlab run NAME``)."""

from genlab.experiments._framework import (
    SCALES,
    Comparison,
    Experiment,
    RunOutput,
    get_experiment,
    list_experiments,
    plot_run,
    run_experiment,
)

__all__ = ["SCALES", "Comparison", "Experiment", "RunOutput", "get_experiment", "list_experiments", "plot_run", "run_experiment"]
