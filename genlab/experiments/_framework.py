"""The experiment framework: a declared, documented unit that writes a run directory.

An experiment declares its work as a list of :class:`genlab.sweep.Task` (importable functions
and their arguments: one per population trained, or per independent computation), which the
sweep runner executes on any backend (``local`` process pool, ``dask``, ``serial``) and commits,
each as it ends, to a store in the run directory; ``summarize`` then turns the tasks' outputs
into tidy metrics and comparisons. An interrupted run (Ctrl-C, SIGKILL, a crash) resumes: the
tasks already committed are read back, not recomputed.

A run directory holds ``config.json`` (written first), ``tasks/`` (the store: ``runs.sqlite``,
``weights/``), ``metrics.csv`` (tidy, long), the figures (PNG and SVG), ``README.md`` (measured
next to published numbers) and ``summary.json``, written last and atomically: its presence
marks a complete run. ``genlab plot RUN_DIR`` redraws the figures from ``metrics.csv`` alone.
"""

from __future__ import annotations

import dataclasses
import json
import os
import platform
import shutil
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from genlab import _forkserver
from genlab._checks import ParameterError, check_choice, check_int
from genlab.experiments._claims import Claim, tally
from genlab.experiments._params import SEED_MAX

SCALES = ("smoke", "quick", "paper")
#: Seeds per scale unless an experiment says otherwise: enough at quick scale that a claim
#: holding "by luck" shows up as holding in fewer than all seeds.
DEFAULT_N_SEEDS = {"smoke": 2, "quick": 3, "paper": 3}
MAX_SEEDS = 1000  #: seeds in one run (each is a replicate of the whole experiment)
TASKS_DIR = "tasks"  #: the run directory's store of finished tasks
# The local backend's workers import every experiment module once, before they are forked.
WORKER_PRELOAD = _forkserver.EXPERIMENT_PRELOAD


class ExperimentFailed(RuntimeError):
    """Some tasks of an experiment failed after their retries; the finished ones are kept."""


@dataclass(frozen=True)
class Comparison:
    """A descriptive number beside its reference, without a verdict (verdicts are claims)."""

    quantity: str
    measured: float
    published: float | str | None
    note: str = ""

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)


@dataclass
class RunOutput:
    """What an experiment's ``summarize`` returns: tidy metrics, claims, descriptive numbers, headline.

    ``claims`` are checked on every seed of the run (see :mod:`genlab.experiments._claims`);
    ``comparisons`` are numbers shown beside a reference without a verdict.
    """

    metrics: pd.DataFrame
    claims: list[Claim]
    comparisons: list[Comparison] = field(default_factory=list)
    headline: dict = field(default_factory=dict)
    models: dict = field(default_factory=dict)  #: name -> trained genlab model, saved under models/


@dataclass(frozen=True)
class Experiment:
    """A declared experiment.

    ``tasks(config, device) -> [Task]`` declares the work (each task a top-level function of
    the experiment's module with JSON-able arguments, returning a ``TaskOutput``);
    ``summarize(config, outputs) -> RunOutput`` gets ``outputs[i]``, the output of
    ``tasks[i]``, read back from the store. ``plot(metrics, summary, out_dir) -> [file
    names]`` draws from stored data only. ``scales`` maps each scale to config overrides;
    ``n_seeds`` each scale to its default number of seeds (the run's replicates);
    ``estimates`` says how long each scale takes on this project's 2-core CPU (measured by
    ``genlab bench estimates``). ``section`` is the report's heading inside the lecture (the
    experiment's package) and ``order`` its place there; ``series`` names the metrics columns
    that tell one curve from another (the web runs browser groups by them).
    """

    name: str
    title: str
    question: str
    metrics_doc: str
    config_cls: type
    scales: dict
    estimates: dict
    tasks: Callable
    summarize: Callable
    plot: Callable
    gpu_advised: bool = False
    section: str = ""
    order: int = 100
    n_seeds: dict = field(default_factory=lambda: dict(DEFAULT_N_SEEDS))
    series: tuple = ()
    #: ``work(config) -> (FLOP, steps field)``: the arithmetic of a configuration, for ``genlab bench paper``
    work: Callable | None = None
    #: The config field(s) the run time is about linear in (training steps or epochs), scaled
    #: together by ``genlab bench paper`` to project the paper-scale time from a few steps
    steps: str | tuple[str, ...] | None = None
    #: Why ``genlab bench paper`` cannot project the paper time from a few steps (no ``work``, no ``steps``)
    not_projectable: str = ""

    @property
    def lecture(self) -> str:
        """The lecture package the experiment belongs to (``measuring``, ``overfitting``, ...)."""
        parts = self.tasks.__module__.split(".")
        return parts[2] if len(parts) > 3 and parts[:2] == ["genlab", "experiments"] else ""


def check_training(owner: str, **fields) -> None:
    """Validate training settings by building the :class:`genlab.train.TrainConfig` the tasks
    will build, before any work; ``fields`` are named as the experiment's config fields (its
    ``--set`` keys), which the error names instead of TrainConfig."""
    from genlab.train import TrainConfig

    try:
        TrainConfig(**fields)
    except ParameterError as exc:
        raise ParameterError(str(exc).replace(" parameter of TrainConfig ", f" parameter of {owner} ", 1)) from None


REGISTRY: dict[str, Experiment] = {}


def register(experiment: Experiment) -> Experiment:
    assert set(experiment.scales) == set(SCALES) == set(experiment.n_seeds), experiment.name
    assert experiment.name not in REGISTRY or REGISTRY[experiment.name].tasks.__module__ == experiment.tasks.__module__, experiment.name
    REGISTRY[experiment.name] = experiment
    return experiment


def _ensure_loaded() -> None:
    from genlab.experiments import _catalogue  # noqa: F401 - importing registers the experiments


def list_experiments() -> list[Experiment]:
    """Every experiment, in the course's order (lecture, then its place in the lecture)."""
    from genlab.experiments._catalogue import LECTURES

    _ensure_loaded()
    rank = {name: getattr(pkg, "ORDER", 99) for name, pkg in LECTURES.items()}
    return sorted(REGISTRY.values(), key=lambda e: (rank.get(e.lecture, 99), e.order, e.name))


def get_experiment(name: str) -> Experiment:
    """Look an experiment up; an unknown name gets the closest valid one."""
    import difflib

    _ensure_loaded()
    if name not in REGISTRY:
        close = difflib.get_close_matches(name, list(REGISTRY), n=1)
        hint = f" Did you mean {close[0]!r}?" if close else ""
        raise ParameterError(
            f"The 'name' parameter of genlab run must be one of {{{', '.join(REGISTRY)}}}. Got {name!r} instead.{hint}"
        )
    return REGISTRY[name]


def run_seeds(experiment: Experiment, scale: str, seed: int, seeds=None) -> tuple[int, ...]:
    """The seeds of a run: ``seeds`` given as a list, else ``seeds`` (an int, default the scale's
    number) consecutive seeds from ``seed``."""
    owner = f"genlab run {experiment.name}"
    seed = check_int(seed, "seed", owner, low=0, high=SEED_MAX)
    if seeds is None:
        seeds = experiment.n_seeds[scale]
    if isinstance(seeds, (list, tuple)):
        return tuple(seeds)  # checked by the config's declared constraint
    n = check_int(seeds, "seeds", owner, low=1, high=min(MAX_SEEDS, SEED_MAX + 1 - seed))
    return tuple(range(seed, seed + n))


def make_config(experiment: Experiment, scale: str, seed: int, overrides: dict, seeds=None):
    """The experiment's config at ``scale`` with the run's seeds and user ``overrides`` (validated)."""
    check_choice(scale, "scale", f"genlab run {experiment.name}", SCALES)
    fields = {f.name: f for f in dataclasses.fields(experiment.config_cls)}
    if "seeds" in overrides:
        raise ParameterError("The '--set' parameter of genlab run must not set 'seeds': use --seeds N or --seeds 0,3,7.")
    for key in overrides:
        if key not in fields:
            import difflib

            close = difflib.get_close_matches(key, list(fields), n=1)
            hint = f" Did you mean {close[0]!r}?" if close else ""
            raise ParameterError(
                f"The override {key!r} of genlab run {experiment.name} must be one of "
                f"{{{', '.join(fields)}}}.{hint}"
            )
    values = {**experiment.scales[scale], **overrides, "seeds": run_seeds(experiment, scale, seed, seeds)}
    try:
        return experiment.config_cls(**values)
    except TypeError as exc:  # a wrong type inside a config value
        raise ParameterError(f"Invalid configuration for {experiment.name}: {exc}") from None


def check_device(device: str, owner: str) -> str:
    """``device`` if it is 'cpu', or 'cuda' with a CUDA device present."""
    check_choice(device, "device", owner, ("cpu", "cuda"))
    if device == "cuda":
        import torch

        if not torch.cuda.is_available():
            raise ParameterError(f"The 'device' parameter of {owner} must be 'cpu' here (no CUDA device is available). Got 'cuda' instead.")
    return device


def check_out_dir(out: str | Path, owner: str) -> Path:
    """``out`` as a Path if it is, or can become, a directory this process writes; checked
    before any work (a file there, a file or an unwritable folder above it, are refused)."""
    out = Path(out)
    if out.exists():
        blocker = out
    else:
        blocker = next(p for p in out.parents if p.exists())  # the nearest existing folder above ("." at worst)
    if not blocker.is_dir():
        reason = "it is a file" if blocker == out else f"{str(blocker)!r} is a file"
    elif not os.access(blocker, os.W_OK | os.X_OK):
        reason = f"{str(blocker)!r} is not writable"
    else:
        return out
    raise ParameterError(f"The '--out' parameter of {owner} must be a directory that can be created and written. "
                         f"Got {str(out)!r} instead ({reason}).")


def make_out_dir(out: Path, owner: str) -> None:
    """``out.mkdir(parents=True, exist_ok=True)``, an OS refusal reported as a bad '--out'."""
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise ParameterError(f"The '--out' parameter of {owner} must be a directory that can be created and written. "
                             f"Got {str(out)!r} instead (cannot create it: {exc.strerror or exc}).") from None


def machine_info(device: str) -> dict:
    import numpy as np
    import torch

    return {
        "device": device,
        "cpu_count": os.cpu_count(),
        "torch_threads": torch.get_num_threads(),
        "python": platform.python_version(),
        "torch": torch.__version__,
        "numpy": np.__version__,
        "platform": platform.platform(),
        "gpu": torch.cuda.get_device_name(0) if device == "cuda" and torch.cuda.is_available() else None,
    }


def _write_json(path: Path, data: dict) -> None:
    from genlab._io import write_text

    write_text(path, json.dumps(data, indent=2, default=str))


def pack_models(models: dict) -> bytes:
    """Trained genlab models as bytes a task can return: ``{name: (factory, kwargs, state)}``."""
    import io

    import torch

    buf = io.BytesIO()
    torch.save({name: {"factory": type(m).__name__, "kwargs": m.config(),
                       "state": {k: v.detach().cpu() for k, v in m.state_dict().items()}}
                for name, m in models.items()}, buf)
    return buf.getvalue()


def unpack_models(blob: bytes) -> dict:
    """The models :func:`pack_models` packed, rebuilt by their ``genlab.models`` factory."""
    import io

    import torch

    import genlab.models

    out = {}
    for name, spec in torch.load(io.BytesIO(blob), weights_only=True).items():
        model = getattr(genlab.models, spec["factory"])(**spec["kwargs"])
        model.load_state_dict(spec["state"])
        out[name] = model
    return out


def _save_models(folder: Path, models: dict) -> None:
    """State dicts plus ``index.json`` saying how to rebuild each model (for ``genlab measure``)."""
    import torch

    if folder.exists():  # a resumed run rewrites them
        shutil.rmtree(folder)
    folder.mkdir()
    index = {}
    for name, model in models.items():
        torch.save(model.state_dict(), folder / f"{name}.pt")
        index[name] = {"factory": f"genlab.models.{type(model).__name__}", "kwargs": model.config()}
    _write_json(folder / "index.json", index)


def _reuse_note(summary: dict) -> str:
    t = summary.get("tasks") or {}
    if not t.get("reused"):
        return ""
    return f"; resumed: {t['reused']} of {t['n_tasks']} task(s) read back from the run's store"


SCALE_CAVEAT = {
    "smoke": "Smoke scale checks that the code runs end to end: its claims are evaluated but not expected to hold.",
    "quick": "Quick scale: fewer samples or steps than the publications, chosen so that the lecture's claims show "
             "in every seed; numbers printed in publications are compared only where the setting allows.",
    "paper": "Paper scale: the publications' settings.",
}


def claims_headline(counts: dict) -> str:
    """'claims holding in all seeds: k of n (published k/n, qualitative k/n, genlab reference k/n)'."""
    kinds = ", ".join(f"{label} {counts[k]['all_seeds']} of {counts[k]['n']}"
                      for k, label in (("published", "published numbers"), ("qualitative", "qualitative claims"),
                                       ("reference", "genlab references")) if counts[k]["n"])
    return f"claims holding in all seeds: {counts['all_seeds']} of {counts['n']}" + (f" ({kinds})" if kinds else "")


def _readme(experiment: Experiment, summary: dict) -> str:
    from genlab.experiments._claims import KIND_TEXT, format_values

    seeds = summary["seeds"]
    lines = [
        f"# {experiment.title} (`{experiment.name}`)",
        "",
        f"**Question.** {experiment.question}",
        "",
        f"**Metrics.** {experiment.metrics_doc}",
        "",
        f"Scale `{summary['scale']}`, {len(seeds)} seed(s) {seeds}, wall time {summary['wall_time_s']:.1f} s on "
        f"{summary['machine']['cpu_count']} CPU core(s) ({summary['machine']['device']}){_reuse_note(summary)}.",
        SCALE_CAVEAT[summary["scale"]],
        f"Reproduce: `{summary['command']}`",
        "",
        f"## Claims: {claims_headline(summary['claim_counts'])}",
        "",
        "Each claim is evaluated on every seed; the verdict is the number of seeds where it holds.",
        "",
        "| claim | reference | published | band | holds in | per seed | note |",
        "|---|---|---|---|---|---|---|",
    ]
    for c in summary["claims"]:
        band = f"[{c['band'][0]:.4g}, {c['band'][1]:.4g}]" if c["band"] else "—"
        held = f"{c['n_holding']} of {c['n_seeds']}" + ("" if c["verdict"] == "holds" else " **(not all)**")
        pub = f"{c['published']:.4g}" if isinstance(c["published"], float) else ("—" if c["published"] is None else str(c["published"]))
        lines.append(f"| {c['name']} | {KIND_TEXT[c['kind']]}: {c['source']} | {pub} | {band} | {held} | "
                     f"{format_values(c)} | {c['note']} |")
    if summary["comparisons"]:
        lines += ["", "## Further numbers (no verdict)", "", "| quantity | measured | reference | note |", "|---|---|---|---|"]
        for c in summary["comparisons"]:
            pub = f"{c['published']:.4g}" if isinstance(c["published"], float) else str(c["published"])
            lines.append(f"| {c['quantity']} | {c['measured']:.4g} | {pub} | {c['note']} |")
    lines += ["", *[f"![{f}]({f})" for f in summary["figures"] if f.endswith(".png")], ""]
    return "\n".join(lines)


def _busy(store_dir: Path) -> None:
    """Refuse to touch a run directory whose store another driver is writing right now."""
    if (store_dir / "sweep.lock").exists():
        from genlab.sweep._store import SweepLock

        with SweepLock(store_dir):  # raises "Another genlab process (pid N) is writing to ..."
            pass


def _is_run_dir(folder: Path) -> bool:
    """Whether ``folder`` is a run directory genlab wrote (its ``config.json`` names an experiment)."""
    try:
        header = json.loads((folder / "config.json").read_text())
    except (OSError, ValueError):
        return False
    return isinstance(header, dict) and {"experiment", "scale", "seed", "config"} <= set(header)


def _prepare_run_dir(out: Path, header: dict, fresh: bool) -> bool:
    """Create ``out`` with ``config.json``, or keep it to resume: True when an earlier run of the
    same configuration (finished or interrupted) is resumed, its finished tasks reused."""
    if out.exists():
        if not out.is_dir():
            raise ParameterError(f"The '--out' parameter of genlab run must be a directory. Got {str(out)!r} instead (a file).")
        entries = list(out.iterdir())
        if entries and not _is_run_dir(out):
            raise ParameterError(
                f"The '--out' parameter of genlab run must be a new or empty directory, or a genlab run "
                f"directory (to resume or replace). Got {str(out)!r} instead, which holds {len(entries)} "
                f"other entr{'y' if len(entries) == 1 else 'ies'} (nothing was changed)."
            )
        _busy(out / TASKS_DIR)
        try:
            same = json.loads((out / "config.json").read_text()) == json.loads(json.dumps(header, default=str))
        except (OSError, json.JSONDecodeError):
            same = False
        if same and not fresh:
            (out / "summary.json").unlink(missing_ok=True)  # incomplete until rewritten, last
            return True
        if entries:
            shutil.rmtree(out)  # a genlab run of another configuration (or --fresh)
    make_out_dir(out, "genlab run")
    _write_json(out / "config.json", header)
    return False


def _set_value(value) -> str:
    """An override as ``--set`` parses it back: JSON, or bare text for a string that is not JSON."""
    if isinstance(value, str):
        try:
            json.loads(value)
        except json.JSONDecodeError:
            return value
    return json.dumps(list(value) if isinstance(value, tuple) else value)


def reproduce_command(name: str, scale: str, seeds: tuple[int, ...], device: str, overrides: dict) -> str:
    """The ``genlab run`` command line of a run, each argument shell-quoted (paste it in bash)."""
    import shlex

    consecutive = list(seeds) == list(range(seeds[0], seeds[0] + len(seeds)))
    args = ["genlab", "run", name, "--scale", scale]
    args += ["--seed", str(seeds[0]), "--seeds", str(len(seeds))] if consecutive else ["--seeds", ",".join(map(str, seeds))]
    if device != "cpu":
        args += ["--device", device]
    for key, value in overrides.items():
        args += ["--set", f"{key}={_set_value(value)}"]
    return shlex.join(args)


def run_experiment(
    name: str,
    *,
    scale: str = "quick",
    seed: int = 0,
    seeds: int | list[int] | None = None,
    out: str | Path | None = None,
    device: str = "cpu",
    backend="local",
    workers: int | None = None,
    scheduler: str | None = None,
    fresh: bool = False,
    progress: bool | None = False,
    echo: Callable[[str], None] | None = None,
    **overrides,
) -> Path:
    """Run experiment ``name`` at ``scale`` and write its run directory; return its path.

    The experiment's tasks run through the sweep runner (:func:`genlab.sweep.run_sweep`) and
    are committed one by one to ``OUT/tasks``; the numbers do not depend on the backend.

    Parameters
    ----------
    seed, seeds
        The run's seeds: ``seeds`` consecutive seeds from ``seed`` (default: the scale's number,
        at least 3 at quick scale), or ``seeds`` given as a list. Each seed is an independent
        replicate, trained beside the others as members of the same populations; every claim
        is evaluated on each.
    out : path, optional
        The run directory (default ``runs/NAME``). A directory holding a run of the same
        experiment, scale, seed, device and configuration is resumed: its finished tasks are
        read back, the others run. Any other directory there is replaced.
    backend : {'local', 'dask', 'serial'} or a backend object
        Where the tasks run: a local process pool (default), Dask (``scheduler`` or a
        LocalCluster on 127.0.0.1), or this process. A backend built by
        :func:`genlab.sweep.make_backend` is used as is and left running.
    workers : int, optional
        Worker processes (default: one per core, at most one per task).
    scheduler : str, optional
        Dask scheduler address ``tcp://HOST:PORT`` (with ``backend='dask'``).
    fresh : bool
        Start over even when ``out`` holds a run of the same configuration.
    progress, echo
        The runner's progress (``None`` or ``True``: a bar on a terminal, else a line every
        30 s, on stderr; the fraction done is the tasks' measured work) and its one-line
        messages; both off by default.
    **overrides
        Config fields of the experiment (``n_steps=500``).

    The directory is complete once ``summary.json`` exists; a crash leaves no summary.
    """
    from genlab.sweep import TaskSweep, make_backend, open_store, run_sweep

    experiment = get_experiment(name)
    owner = f"genlab run {name}"
    seed = check_int(seed, "seed", owner, low=0, high=SEED_MAX)
    check_device(device, owner)
    config = make_config(experiment, scale, seed, overrides, seeds)
    tasks = list(experiment.tasks(config, device))
    sweep = TaskSweep(name, tuple(tasks))
    out = check_out_dir(out if out is not None else Path("runs") / name, "genlab run")
    # Backend errors (a bad name, an unreachable scheduler) come before the directory is touched.
    owned = isinstance(backend, str)
    exe = make_backend(backend, len(sweep.runs()), workers, scheduler, preload=WORKER_PRELOAD, owner="genlab run") if owned else backend
    try:
        header = {"experiment": name, "scale": scale, "seed": config.seeds[0], "seeds": list(config.seeds), "device": device,
                  "config": dataclasses.asdict(config)}
        _prepare_run_dir(out, header, fresh)
        store_dir = out / TASKS_DIR
        t0 = time.perf_counter()
        # The declared arithmetic (FLOP) weighs the tasks not yet started in the progress estimate.
        work = experiment.work(config)[0] if experiment.work is not None else None
        report = run_sweep(sweep, store_dir, backend=exe, workers=workers, progress=progress, work=work, echo=echo,
                           owner=owner)
    finally:
        if owned:
            exe.shutdown()
    with open_store(store_dir) as store:
        runs = store.runs(flatten=False).set_index("id")
        if report.n_failed:
            failed = runs[runs.status == "failed"]
            raise ExperimentFailed(
                f"{len(failed)} of {len(runs)} task(s) of {name} failed after their retries "
                f"({failed.error.iloc[0]}); the {len(runs) - len(failed)} finished task(s) are kept in "
                f"{store_dir}: run the same command again to retry the others."
            )
        outputs = [store.task_output(t.id) for t in tasks]
    result: RunOutput = experiment.summarize(config, outputs)
    wall = time.perf_counter() - t0
    result.metrics.to_csv(out / "metrics.csv", index=False)
    if result.models:
        _save_models(out / "models", result.models)
    command = reproduce_command(name, scale, config.seeds, device, overrides)
    claims = [c.to_dict() for c in result.claims]
    bad = [c.quantity for c in result.comparisons if not isinstance(c, Comparison)]
    assert not bad, f"{name}: comparisons must be Comparison rows (verdicts are claims): {bad}"
    for c in result.claims:
        assert c.seeds == config.seeds, f"{name}: claim {c.name!r} evaluated on seeds {c.seeds}, the run has {config.seeds}"
    summary = {
        "experiment": name,
        "title": experiment.title,
        "question": experiment.question,
        "lecture": experiment.lecture,
        "section": experiment.section,
        "series": list(experiment.series),
        "scale": scale,
        "seed": config.seeds[0],
        "seeds": list(config.seeds),
        "config": json.loads(json.dumps(dataclasses.asdict(config), default=str)),
        "wall_time_s": wall,
        "machine": machine_info(device),
        "command": command,
        "tasks": {"n_tasks": report.n_runs, "reused": report.n_skipped, "computed": report.n_done,
                  "backend": report.backend, "task_time_s": float(runs.wall_s.sum())},
        "claims": claims,
        "claim_counts": tally(claims),
        "comparisons": [c.to_dict() for c in result.comparisons],
        "metrics": result.headline,
        "figures": [],
    }
    summary["figures"] = experiment.plot(result.metrics, summary, out)
    (out / "README.md").write_text(_readme(experiment, summary))
    _write_json(out / "summary.json", summary)
    return out


def plot_run(run_dir: str | Path) -> list[str]:
    """Redraw a stored run's figures from its ``metrics.csv`` (no training).

    A damaged ``summary.json`` or ``metrics.csv`` (not parseable, or without what the figures
    read) is one :class:`~genlab._checks.DamagedFileError` naming the file."""
    from genlab._checks import DamagedFileError
    from genlab._io import read_csv, read_json

    run_dir = Path(run_dir)
    summary_path = run_dir / "summary.json"
    if not summary_path.is_file():
        raise ParameterError(
            f"The 'run_dir' parameter of genlab plot must be a complete run directory (with summary.json). Got {str(run_dir)!r} instead."
        )
    summary = read_json(summary_path, keys=("experiment",))
    _ensure_loaded()
    if not isinstance(summary["experiment"], str) or summary["experiment"] not in REGISTRY:
        raise DamagedFileError(summary_path, f"its 'experiment' {summary['experiment']!r} is not one of {{{', '.join(REGISTRY)}}}")
    experiment = REGISTRY[summary["experiment"]]
    metrics_path = run_dir / "metrics.csv"
    if not metrics_path.is_file():
        raise DamagedFileError(run_dir, "it has summary.json but no metrics.csv")
    metrics = read_csv(metrics_path)
    try:
        return experiment.plot(metrics, summary, run_dir)
    except (KeyError, AttributeError) as exc:  # a column (or summary key) the figures read is missing
        missing = exc.name if isinstance(exc, AttributeError) else exc.args[0]
        raise DamagedFileError(metrics_path, f"it (or summary.json) lacks {missing!r}, which the {experiment.name} "
                               f"figures read (its columns: {', '.join(map(str, metrics.columns))})") from None
    except (IndexError, ValueError, TypeError) as exc:  # rows missing or of the wrong type
        raise DamagedFileError(metrics_path, f"the {experiment.name} figures cannot be drawn from it and summary.json "
                               f"({type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else 'no detail'})") from None
