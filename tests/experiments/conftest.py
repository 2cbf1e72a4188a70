"""Shared smoke runs: each experiment runs once at smoke scale per test session, on first use.

Experiment test files import their helpers as ``from experiment_helpers import claim``.
"""

import sys
from pathlib import Path

import pytest
import torch

from genlab.experiments import run_experiment

torch.set_num_threads(1)


@pytest.fixture(scope="session")
def smoke(tmp_path_factory):
    """``smoke(name)`` -> the run directory of experiment ``name`` at smoke scale, seed 0 (cached)."""
    root = tmp_path_factory.mktemp("smoke-runs")
    cache = {}

    def get(name: str):
        if name not in cache:
            cache[name] = run_experiment(name, scale="smoke", seed=0, out=root / name)
        return cache[name]

    return get


sys.path.insert(0, str(Path(__file__).parent))  # experiment_helpers
