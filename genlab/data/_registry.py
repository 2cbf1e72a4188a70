"""The catalogue of datasets behind ``genlab data``: name -> generator and one-line description."""

from __future__ import annotations

import difflib
from collections.abc import Callable
from dataclasses import dataclass

from genlab._checks import ParameterError
from genlab.data._mnist1d import make_mnist1d
from genlab.data._toys import (
    make_demystified,
    make_diabetes,
    make_knots,
    make_modular,
    make_noisy_sine,
    make_optimizer_data,
    make_seattle_temperature,
    make_toy_regression,
)


@dataclass(frozen=True)
class DatasetEntry:
    name: str
    make: Callable
    description: str
    defaults: dict  # keyword arguments applied before the user's (e.g. shuffle_seq=True)


DATASETS: dict[str, DatasetEntry] = {
    e.name: e
    for e in [
        DatasetEntry("mnist1d", make_mnist1d, "MNIST-1D, identical to the reference mnist1d package (4000/1000, 40 features).", {}),
        DatasetEntry("mnist1d-shuffled", make_mnist1d, "MNIST-1D with one fixed permutation of the 40 positions.", {"shuffle_seq": True}),
        DatasetEntry("toy-regression", make_toy_regression, "UDL toy regression exp(sin(2 pi x)) on [0,1], one x per 1/n segment, sigma 0.3.", {}),
        DatasetEntry("noisy-sine", make_noisy_sine, "60 samples of sin(2 pi x) + N(0, 0.45^2), x in [-1,1], plus a validation set.", {}),
        DatasetEntry("optimizer-demo", make_optimizer_data, "500 samples of sin(pi x) + N(0, 0.2^2), x in [-1,1] (the optimizer demo).", {}),
        DatasetEntry("knots", make_knots, "The knots lecture's 6 points and gold function 4(x-5/2)^2 (--scaled: x/10, y/100).", {}),
        DatasetEntry("demystified", make_demystified, "15 noiseless points of y = 2x + cos(25x), x ~ U[-1,1] (Double Descent Demystified).", {}),
        DatasetEntry("diabetes", make_diabetes, "scikit-learn's bundled diabetes regression data (442 x 10), no download.", {}),
        DatasetEntry("modular", make_modular, "Modular arithmetic a op b mod p for grokking, with a train fraction.", {}),
        DatasetEntry("seattle-temperature", make_seattle_temperature, "Seattle daily temperature 2012-2015 (vega_datasets, offline): train one year, test the next.", {}),
    ]
}


def get_dataset_entry(name: str) -> DatasetEntry:
    """Look a dataset up by name, with a suggestion when the name is unknown."""
    if name in DATASETS:
        return DATASETS[name]
    close = difflib.get_close_matches(name, list(DATASETS), n=1)
    hint = f" Did you mean {close[0]!r}?" if close else ""
    raise ParameterError(
        f"The 'name' parameter of genlab data must be one of {{{', '.join(DATASETS)}}}. Got {name!r} instead.{hint}"
    )


def make_dataset(name: str, **kwargs):
    """Generate the dataset ``name`` with ``kwargs`` passed to its generator."""
    entry = get_dataset_entry(name)
    return entry.make(**{**entry.defaults, **kwargs})
