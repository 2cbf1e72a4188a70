"""Sweep declaration: a base configuration plus axes, expanded into runs with stable ids.

A run's configuration is one flat dict (see :data:`DEFAULTS`): the dataset and its options, the
model (an MLP), the label noise and every :class:`genlab.train.TrainConfig` field. An axis is one
of those keys. ``grid`` axes are crossed; ``random`` axes are drawn ``n_samples`` times from a
seeded generator and crossed with the grid. A run's id is a hash of its canonical JSON, so the
same configuration always gets the same id and a resumed sweep knows what is done.
"""

from __future__ import annotations

import dataclasses
import difflib
import hashlib
import inspect
import itertools
import json
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from genlab._checks import (
    SEED_MAX,
    ParameterError,
    UserError,
    check_choice,
    check_float,
    check_int,
    fail,
)
from genlab.train import TrainConfig

try:  # Python >= 3.11
    import tomllib
except ModuleNotFoundError:  # pragma: no cover - Python 3.10
    import tomli as tomllib

OWNER = "Sweep"

# Keys of a run configuration and their defaults. TrainConfig fields come after ours.
_OWN_DEFAULTS: dict[str, Any] = {
    "dataset": "mnist1d",  # a name of genlab.data.DATASETS
    "data": {},  # keyword arguments of the dataset generator, e.g. {"n_samples": 1000}
    "data_seed": 0,  # seed of the n_train subsample
    "n_train": None,  # keep this many training samples (None: all)
    "label_noise": 0.0,  # fraction of training labels redrawn (genlab.data.with_label_noise)
    "noise_seed": None,  # seed of the label-noise draw (None: the run's seed)
    "width": 100,  # MLP hidden units
    "depth": 2,  # MLP hidden layers
    "activation": "relu",
    "init": "default",
    "init_scale": 1.0,
}
_TRAIN_DEFAULTS = {k: v for k, v in TrainConfig().to_dict().items()}
_TRAIN_DEFAULTS["betas"] = list(_TRAIN_DEFAULTS["betas"])  # JSON has no tuples
DEFAULTS: dict[str, Any] = {**_OWN_DEFAULTS, **_TRAIN_DEFAULTS}
TRAIN_KEYS = tuple(_TRAIN_DEFAULTS)

# Axes the population engine trains in one vectorized group (same tensor shapes, per-member
# hyperparameters or data). Every other key changes shapes or the training loop: separate groups.
BATCHABLE = ("seed", "lr", "weight_decay", "momentum", "l1", "l2", "label_noise", "noise_seed",
             "init_scale")

_DISTRIBUTIONS = ("uniform", "log_uniform", "int_uniform", "choice")
MAX_RUNS = 100_000  # runs one sweep may declare: each is a row, a model and a hash; more is a typo


def _canonical(value: Any) -> Any:
    """JSON-stable form: ints stay ints, integral floats stay floats, tuples become lists."""
    if isinstance(value, dict):
        return {str(k): _canonical(v) for k, v in sorted(value.items())}
    if isinstance(value, (list, tuple)):
        return [_canonical(v) for v in value]
    if isinstance(value, np.generic):
        return value.item()
    return value


def run_id(config: dict) -> str:
    """Deterministic id of a run: the first 16 hex digits of sha1(canonical JSON)."""
    text = json.dumps(_canonical(config), sort_keys=True, separators=(",", ":"))
    return hashlib.sha1(text.encode()).hexdigest()[:16]


def group_key(config: dict) -> str:
    """Runs with equal keys differ only in batchable axes and train as one population."""
    return run_id({k: v for k, v in config.items() if k not in BATCHABLE})


def _check_key(name: str, where: str) -> None:
    if name in DEFAULTS:
        return
    close = difflib.get_close_matches(name, list(DEFAULTS), n=1)
    hint = f" Did you mean {close[0]!r}?" if close else ""
    raise ParameterError(f"Unknown {where} {name!r} in sweep.{hint} Valid names: {', '.join(DEFAULTS)}.")


def _check_value(config: dict, where: str) -> None:
    """Validate one resolved configuration, naming the axis value that is wrong."""
    try:
        TrainConfig(**{k: (tuple(v) if k == "betas" else v) for k, v in config.items() if k in TRAIN_KEYS})
    except (ValueError, TypeError) as exc:
        raise ParameterError(f"{where}: {exc}") from None
    from genlab.data import DATASETS

    if config["dataset"] not in DATASETS:
        close = difflib.get_close_matches(str(config["dataset"]), list(DATASETS), n=1)
        hint = f" Did you mean {close[0]!r}?" if close else ""
        raise ParameterError(f"{where}: unknown dataset {config['dataset']!r}.{hint}")
    if not isinstance(config["data"], dict):
        raise ParameterError(f"{where}: " + str(fail("data", OWNER, "a table of dataset options", config["data"])))
    try:
        check_int(config["width"], "width", OWNER, low=1)
        check_int(config["depth"], "depth", OWNER, low=0)
        check_int(config["data_seed"], "data_seed", OWNER, low=0)
        if config["n_train"] is not None:
            check_int(config["n_train"], "n_train", OWNER, low=1)
        if config["noise_seed"] is not None:
            check_int(config["noise_seed"], "noise_seed", OWNER, low=0)
        ln = config["label_noise"]
        if isinstance(ln, bool) or not isinstance(ln, (int, float)) or not 0.0 <= ln <= 1.0:
            raise fail("label_noise", OWNER, "a float in the range [0.0, 1.0]", ln)
        from genlab.models import ACTIVATIONS, INITS

        check_choice(config["activation"], "activation", OWNER, ACTIVATIONS)
        check_choice(config["init"], "init", OWNER, INITS)
        check_float(config["init_scale"], "init_scale", OWNER, low=0.0, low_open=True)  # finite too
        n_train = _check_data(config["dataset"], config["data"])
        if config["n_train"] is not None and config["n_train"] > n_train:
            raise fail("n_train", OWNER, f"at most the dataset's {n_train} training samples (or null: all)", config["n_train"])
    except ParameterError as exc:
        raise ParameterError(f"{where}: {exc}") from None


def _check_data(dataset: str, options: dict) -> int:
    """Generate the run's dataset once (runs reuse it) to check its options; its training size."""
    from genlab.data import DATASETS
    from genlab.sweep._execute import _base_data

    make = DATASETS[dataset].make
    known = inspect.signature(make).parameters
    unknown = [k for k in options if k not in known]
    if unknown:
        raise ParameterError(
            f"The 'data' parameter of {OWNER} has option(s) {', '.join(map(repr, unknown))} that dataset "
            f"{dataset!r} does not take. Its options: {', '.join(known)}."
        )
    try:
        data = _base_data(dataset, json.dumps(options, sort_keys=True))
    except (ValueError, TypeError) as exc:
        raise ParameterError(f"The 'data' parameter of {OWNER} ({dataset!r} with {options}) was refused: {exc}") from None
    return len(data.y_train)


@dataclass(frozen=True)
class Run:
    """One run of a sweep: its id, its group and its full configuration."""

    id: str
    group: str
    config: dict


@dataclass(frozen=True)
class Sweep:
    """A sweep: ``base`` configuration, ``grid`` axes (crossed) and ``random`` axes (sampled).

    Parameters
    ----------
    name : str
        Used for the default output directory ``sweeps/<name>``.
    base : dict
        Keys of :data:`DEFAULTS` to override for every run.
    grid : dict of str -> list
        Each axis is a non-empty list of values; all combinations are run.
    random : dict of str -> dict
        ``{"lr": {"log_uniform": [1e-3, 1e-1]}}``; also ``uniform``, ``int_uniform`` (inclusive)
        and ``choice``. ``n_samples`` draws (seeded by ``random_seed``) are crossed with the grid.
    n_samples : int
        Number of random draws (ignored without random axes).
    random_seed : int
        Seed of the random draws.
    """

    name: str = "sweep"
    base: dict = field(default_factory=dict)
    grid: dict = field(default_factory=dict)
    random: dict = field(default_factory=dict)
    n_samples: int = 1
    random_seed: int = 0

    def __post_init__(self) -> None:
        for key in self.base:
            _check_key(key, "base key")
        for key, values in self.grid.items():
            _check_key(key, "grid axis")
            if not isinstance(values, (list, tuple)) or len(values) == 0:
                raise ParameterError(
                    f"The grid axis {key!r} of sweep {self.name!r} must be a non-empty list of values. Got {values!r} instead."
                )
        for key, dist in self.random.items():
            _check_key(key, "random axis")
            if key in self.grid:
                raise ParameterError(f"The axis {key!r} of sweep {self.name!r} is both a grid and a random axis.")
            if not (isinstance(dist, dict) and len(dist) == 1 and next(iter(dist)) in _DISTRIBUTIONS):
                raise ParameterError(
                    f"The random axis {key!r} of sweep {self.name!r} must be one of "
                    f"{{{', '.join(d + '=[...]' for d in _DISTRIBUTIONS)}}}. Got {dist!r} instead."
                )
            kind, args = next(iter(dist.items()))
            if not isinstance(args, (list, tuple)) or (kind != "choice" and len(args) != 2) or len(args) == 0:
                raise ParameterError(f"The random axis {key!r} of sweep {self.name!r} needs [low, high] or a non-empty choice list. Got {args!r} instead.")
            if kind != "choice":
                number = int if kind == "int_uniform" else (int, float)
                if not all(isinstance(a, number) and not isinstance(a, bool) and math.isfinite(a) for a in args) or args[0] > args[1]:
                    raise ParameterError(
                        f"The random axis {key!r} of sweep {self.name!r} needs [low, high] with finite "
                        f"{'ints' if kind == 'int_uniform' else 'numbers'} and low <= high. Got {args!r} instead."
                    )
            if kind == "log_uniform" and not (args[0] > 0 and args[1] > 0):
                raise ParameterError(f"The random axis {key!r} of sweep {self.name!r} needs log_uniform bounds > 0. Got {args!r} instead.")
        check_int(self.n_samples, "n_samples", OWNER, low=1, high=MAX_RUNS)
        check_int(self.random_seed, "random_seed", OWNER, low=0, high=SEED_MAX)
        n_runs = math.prod(len(v) for v in self.grid.values()) * (self.n_samples if self.random else 1)
        if n_runs > MAX_RUNS:  # refused before expanding (a 10**12-run product would never finish)
            raise ParameterError(
                f"The sweep {self.name!r} declares {n_runs:,} runs (the product of its axes' lengths"
                f"{' times n_samples' if self.random else ''}); at most {MAX_RUNS:,} are allowed. Split it into smaller sweeps."
            )
        self.runs()  # validate every value before any work starts

    def _draws(self) -> list[dict]:
        if not self.random:
            return [{}]
        rng = np.random.default_rng(self.random_seed)
        draws = []
        for _ in range(self.n_samples):
            d = {}
            for key, dist in sorted(self.random.items()):
                kind, args = next(iter(dist.items()))
                if kind == "uniform":
                    d[key] = float(rng.uniform(args[0], args[1]))
                elif kind == "log_uniform":
                    d[key] = float(math.exp(rng.uniform(math.log(args[0]), math.log(args[1]))))
                elif kind == "int_uniform":
                    d[key] = int(rng.integers(args[0], args[1] + 1))
                else:
                    d[key] = _canonical(args[int(rng.integers(len(args)))])
            draws.append(d)
        return draws

    def runs(self) -> list[Run]:
        """Expand into runs, in a deterministic order (grid order, then draws)."""
        keys = list(self.grid)
        out, seen = [], set()
        for values in itertools.product(*(self.grid[k] for k in keys)):
            for draw in self._draws():
                config = _canonical({**DEFAULTS, **self.base, **dict(zip(keys, values)), **draw})
                where = f"Sweep {self.name!r}, run " + ", ".join(f"{k}={v!r}" for k, v in {**dict(zip(keys, values)), **draw}.items())
                _check_value(config, where if keys or draw else f"Sweep {self.name!r} base")
                rid = run_id(config)
                if rid not in seen:  # duplicated grid values give one run
                    seen.add(rid)
                    out.append(Run(rid, group_key(config), config))
        return out

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)


def sweep_from_dict(d: dict, *, name: str = "sweep", source: str = "sweep file") -> Sweep:
    """Build a :class:`Sweep` from a parsed TOML/JSON document (see the package docs).

    The document must be a table; an empty one, or a ``[grid]`` (``[random]``) without axes, is
    refused rather than run as one default MLP (``[base]`` alone declares one run). ``source``
    names the document in errors.
    """
    if not isinstance(d, dict):
        kind = {list: "a list", str: "a string"}.get(type(d), type(d).__name__)
        raise ParameterError(f"The {source} must hold a table (name, base, grid, random). Got {kind} instead.")
    allowed = {"name", "base", "grid", "random"}
    for key in d:
        if key not in allowed:
            close = difflib.get_close_matches(key, sorted(allowed), n=1)
            hint = f" Did you mean {close[0]!r}?" if close else ""
            raise ParameterError(f"Unknown top-level key {key!r} in {source}.{hint} Valid keys: {', '.join(sorted(allowed))}.")
    for key in ("base", "grid", "random"):
        if not isinstance(d.get(key, {}), dict):
            raise ParameterError(f"The [{key}] of the {source} must be a table of keys. Got {d[key]!r} instead.")
    if "name" in d and not (isinstance(d["name"], str) and d["name"] and "/" not in d["name"] and not d["name"].startswith(".")):
        raise ParameterError(f"The 'name' of the {source} must be a non-empty string without '/' (it names sweeps/<name>). Got {d['name']!r} instead.")
    random = dict(d.get("random", {}))
    n_samples = random.pop("n_samples", 1)
    random_seed = random.pop("seed", 0)
    if not d.get("grid") and not random and (not d or "grid" in d or "random" in d):  # [base] alone: one run
        got = "an empty document" if not d else ("a [grid] without axes" if "grid" in d else "a [random] without axes")
        raise ParameterError(f"The {source} must declare at least one axis in [grid] (e.g. width = [8, 16]) or [random]. Got {got} instead.")
    return Sweep(name=d.get("name", name), base=dict(d.get("base", {})), grid=dict(d.get("grid", {})),
                 random=random, n_samples=n_samples, random_seed=random_seed)


def load_sweep(file_or_name: str | Path) -> Sweep:
    """Load a sweep from a ``.toml``/``.json`` file or by built-in name (see :data:`BUILTIN_SWEEPS`)."""
    from genlab._checks import DamagedFileError
    from genlab._io import read_text
    from genlab.sweep._builtin import BUILTIN_SWEEPS

    text = str(file_or_name)
    if text in BUILTIN_SWEEPS:
        return sweep_from_dict(BUILTIN_SWEEPS[text], name=text)
    path = Path(text)
    if not path.is_file():
        close = difflib.get_close_matches(text, list(BUILTIN_SWEEPS), n=1)
        hint = f" Did you mean {close[0]!r}?" if close else ""
        raise UserError(
            f"No sweep file or built-in sweep named {text!r}.{hint} Built-in sweeps: {', '.join(BUILTIN_SWEEPS)}."
        )
    if path.suffix not in (".json", ".toml"):
        raise UserError(f"The sweep file {text!r} must end in .toml or .json (its format). Got {path.suffix or 'no extension'!r} instead.")
    try:
        content = read_text(path)
    except DamagedFileError as exc:
        raise UserError(f"Cannot read sweep file {text!r}: {exc.problem}.") from None
    try:
        if path.suffix == ".json":
            doc = json.loads(content) if content.strip() else {}
        else:
            doc = tomllib.loads(content)
    except (json.JSONDecodeError, tomllib.TOMLDecodeError) as exc:
        raise UserError(f"Cannot parse sweep file {text!r}: {exc}") from None
    except RecursionError:
        raise UserError(f"Cannot parse sweep file {text!r}: it is nested too deeply.") from None
    return sweep_from_dict(doc, name=path.stem, source=f"sweep file {text!r}")
