"""``genlab list``, ``genlab run NAME`` and ``genlab plot RUN_DIR``."""

from __future__ import annotations

import json
from pathlib import Path

import typer

from genlab._checks import ParameterError
from genlab.sweep._cli import BackendName


def _parse_overrides(pairs: list[str]) -> dict:
    """``key=value`` pairs; values are JSON when they parse (numbers, lists, true), else text.

    A key that is one of ``genlab run``'s own options (``seed``, ``scale``, ``out``, ...) is
    refused: it has its own flag, and passing it on would collide with it.
    """
    import inspect

    from genlab.experiments import run_experiment

    own = [name for name, p in inspect.signature(run_experiment).parameters.items() if p.kind is not p.VAR_KEYWORD]
    flags = {"scale": "--scale VALUE", "seed": "--seed VALUE", "seeds": "--seeds VALUE", "out": "--out DIR", "device": "--device VALUE",
             "backend": "--backend VALUE", "workers": "--workers N", "scheduler": "--scheduler ADDRESS", "fresh": "--fresh",
             "name": "the NAME argument"}
    out = {}
    for pair in pairs:
        if "=" not in pair:
            raise ParameterError(f"The '--set' parameter of genlab run must be KEY=VALUE. Got {pair!r} instead.")
        key, raw = pair.split("=", 1)
        key = key.strip()
        if key in own:
            raise ParameterError(
                f"The '--set' parameter of genlab run must name a config field, not one of genlab run's own options "
                f"{{{', '.join(own)}}}. Got {pair!r} instead"
                + (f" (use {flags[key].replace('VALUE', raw)})." if key in flags else ".")
            )
        try:
            value = json.loads(raw)
        except json.JSONDecodeError:
            value = raw
        out[key] = tuple(value) if isinstance(value, list) else value
    return out


def parse_seeds(text: str | None, owner: str = "genlab run"):
    """``--seeds``: ``N`` (N consecutive seeds from --seed) or a comma-separated list ``0,3,7``."""
    if text is None:
        return None
    parts = [p.strip() for p in text.split(",")]
    try:
        values = [int(p) for p in parts]
    except ValueError:
        raise ParameterError(f"The '--seeds' parameter of {owner} must be a count N or a comma-separated list of seeds "
                             f"(0,3,7). Got {text!r} instead.") from None
    return values[0] if len(parts) == 1 and "," not in text else values


def echo_claims(summary: dict) -> None:
    """One line per claim: its verdict over the seeds and the per-seed values."""
    from genlab.experiments._claims import format_values
    from genlab.experiments._framework import claims_headline

    typer.echo(f"  {claims_headline(summary['claim_counts'])}")
    for c in summary["claims"]:
        mark = "holds" if c["verdict"] == "holds" else f"{c['n_holding']}/{c['n_seeds']}"
        typer.echo(f"  [{mark:>5}] ({c['kind']}) {c['name']}: {format_values(c)}")
# Config fields by what they size, for the size check of `genlab run --set` (names shared by the
# experiments' configs; a tuple counts by its largest value, widths by each one). `width(s)` size
# the MNIST-1D MLPs of depth 2 (40 inputs, 10 classes) the width experiments build; the other
# width-like fields one hidden layer on a scalar input (toy regression, features, knots).
_DEEP_WIDTH_FIELDS = ("width", "widths")
_SHALLOW_WIDTH_FIELDS = ("max_hidden", "fixed_hidden", "n_hidden", "feature_counts", "knot_counts")
_MEMBER_FIELDS = ("seeds", "n_seeds", "lrs")  # models trained together as one population (lrs: one per value)
_SAMPLE_FIELDS = ("n_train", "n_samples", "n_data", "n_points", "data_sizes", "diabetes_sizes")
_EVAL_FIELDS = ("n_test", "n_fresh")
_STEP_FIELDS = ("n_steps", "gru_steps", "adam_epochs")
_REPEAT_FIELDS = ("n_repeats", "n_datasets", "n_draws")  # fits repeated one after another (compute x this)
_MNIST1D_TRAIN = 4000  # training signals of MNIST-1D where a config does not say


def _ints(config, names) -> list[int]:
    values = []
    for name in names:
        v = getattr(config, name, None)
        for x in (v if isinstance(v, (tuple, list)) else [v]):
            if isinstance(x, (int, float)) and not isinstance(x, bool):
                values.append(int(x))
    return values


def _members(config) -> int:
    counts = [len(v) if isinstance(v, (tuple, list)) else v for f in _MEMBER_FIELDS for v in [getattr(config, f, None)]]
    return max([c for c in counts if isinstance(c, int) and not isinstance(c, bool)] or [1])


def check_run_size(name: str, scale: str, seed: int, overrides: dict) -> None:
    """Refuse, before any work, an experiment whose overrides (a width of 10**6, 10**12 steps)
    cannot fit: a lower-bound estimate of one population's memory and of the run's compute,
    read from the config fields that size it (see :mod:`genlab._sizes`)."""
    if not overrides:
        return  # the declared scales are sized by their authors
    from genlab._sizes import check_fits, mlp_estimate, optimizer_copies
    from genlab.experiments._framework import get_experiment, make_config

    experiment = get_experiment(name)
    config = make_config(experiment, scale, seed, overrides)  # the same checks run_experiment makes
    deep = _ints(config, _DEEP_WIDTH_FIELDS)
    shape = [(w, 40, 10, 2) for w in deep] + [(w, 1, 1, 1) for w in _ints(config, _SHALLOW_WIDTH_FIELDS)] or [(1, 1, 1, 1)]
    n_train = max(_ints(config, _SAMPLE_FIELDS) or [_MNIST1D_TRAIN if deep else 1])
    batch = getattr(config, "batch_size", None)
    batch = batch if isinstance(batch, int) and not isinstance(batch, bool) else None  # None: full batch
    estimates = [mlp_estimate(n_members=_members(config), in_features=f, out_features=c, width=w, depth=d,
                              n_train=max(n_train, 1), n_eval=max(_ints(config, _EVAL_FIELDS) or [1]), batch_size=batch,
                              n_steps=max(_ints(config, _STEP_FIELDS) or [1]),
                              eval_every=max(_ints(config, ("eval_every",)) or [1]),
                              copies=optimizer_copies(getattr(config, "optimizer", "sgd"), getattr(config, "momentum", 0.0) or 0.0))
                 for w, f, c, d in shape]
    shown = ", ".join(f"{k}={v!r}" for k, v in overrides.items())
    repeats = max(_ints(config, _REPEAT_FIELDS) or [1])
    check_fits(max(m for m, _ in estimates), repeats * sum(t for _, t in estimates), f"this run ({shown})", f"genlab run {name}")


def register(app: typer.Typer) -> None:
    @app.command("list")
    def list_command() -> None:
        """List the experiments by lecture, with each scale's time on this project's 2-core CPU.

        Smoke and quick times are measured (``genlab bench estimates --write`` regenerates them);
        paper times are projected by ``genlab bench paper --write`` where it recorded one, else declared.
        """
        from genlab.bench._estimates import measured, paper_label
        from genlab.experiments import list_experiments
        from genlab.experiments._catalogue import LECTURES

        record = measured()
        times = record.get("experiments", {})
        lecture = None
        for e in list_experiments():
            if e.lecture != lecture:
                lecture = e.lecture
                typer.echo(f"\n== {getattr(LECTURES.get(lecture), 'TITLE', lecture)}")
            parts = []
            for s in ("smoke", "quick", "paper"):
                t = times.get(e.name, {}).get(s)
                projected = paper_label(times.get(e.name, {})) if s == "paper" and t is None else None
                parts.append(f"{s} {t:.0f} s (measured)" if isinstance(t, (int, float))
                             else projected or f"{s} {e.estimates[s]} (declared)")
            gpu = "  [GPU advised for paper]" if e.gpu_advised else ""
            typer.echo(f"{e.name:<26} {e.title}\n{'':<26} time: {', '.join(parts)}{gpu}")
        if record:
            cores = record.get("machine", {}).get("cpu_count", "?")
            load = record.get("load_average_1min")
            typer.echo(f"\nmeasured {record.get('date', '?')} on {cores} CPU core(s)"
                       + (f" at load average {load}" if load is not None else "")
                       + "; `genlab bench estimates --write` measures them again")

    @app.command("run")
    def run_command(
        name: str = typer.Argument(..., help="Experiment name (see genlab list)."),
        scale: str = typer.Option("quick", help="smoke (seconds), quick (default, ~2 min at most) or paper."),
        seed: int = typer.Option(0, help="First seed of the run (everything random derives from its seeds)."),
        seeds: str = typer.Option(None, help="How many seeds (N: --seed, --seed+1, ...) or which (0,3,7); default: the "
                                  "scale's number (3 or more at quick). Seeds train side by side as population members; "
                                  "each claim is checked on every seed."),
        out: Path = typer.Option(None, help="Run directory (default runs/NAME). A run of the same configuration there is "
                                 "resumed (its finished tasks reused); anything else there is replaced."),
        device: str = typer.Option("cpu", help="cpu or cuda."),
        set_: list[str] = typer.Option([], "--set", help="Config override KEY=VALUE (repeatable)."),
        backend: BackendName = typer.Option(BackendName.local, help="Where the tasks run: local process pool, dask, or serial "
                                            "(in-process). The numbers do not depend on it."),
        scheduler: str = typer.Option(None, help="Dask scheduler address tcp://HOST:PORT (default: a LocalCluster on 127.0.0.1)."),
        workers: int = typer.Option(None, min=1, help="Worker processes (default: one per core, at most one per task)."),
        fresh: bool = typer.Option(False, "--fresh", help="Start over instead of resuming a run of the same configuration."),
    ) -> None:
        """Run one experiment: config.json, tasks/ (the resumable store), metrics.csv, figures, README.md, summary.json."""
        from genlab.experiments import ExperimentFailed, run_experiment

        overrides = _parse_overrides(set_)
        check_run_size(name, scale, seed, overrides)
        try:
            run_dir = run_experiment(name, scale=scale, seed=seed, seeds=parse_seeds(seeds), out=out, device=device, backend=backend.value,
                                     workers=workers, scheduler=scheduler, fresh=fresh, progress=None, echo=typer.echo,
                                     **overrides)
        except ExperimentFailed as exc:
            typer.echo(f"genlab: {exc}", err=True)
            raise typer.Exit(1) from None
        summary = json.loads((run_dir / "summary.json").read_text())
        typer.echo(f"{name} ({scale}) done in {summary['wall_time_s']:.1f} s -> {run_dir}")
        echo_claims(summary)

    @app.command("plot")
    def plot_command(run_dir: Path = typer.Argument(..., help="A run directory written by genlab run.")) -> None:
        """Redraw a run's figures from its stored metrics (no training)."""
        from genlab.experiments import plot_run

        for name in plot_run(run_dir):
            typer.echo(str(run_dir / name))
