"""``genlab sweep FILE_OR_NAME`` and ``genlab runs ls|show|export DIR``."""

from __future__ import annotations

import json
from enum import Enum
from pathlib import Path

import typer

from genlab._checks import DamagedFileError, UserError


class BackendName(str, Enum):
    local = "local"
    dask = "dask"
    serial = "serial"


class ExportFormat(str, Enum):
    csv = "csv"
    parquet = "parquet"


def sweep_command(
    file_or_name: str = typer.Argument(..., help="A sweep file (.toml or .json) or a built-in sweep name (e.g. 'demo')."),
    backend: BackendName = typer.Option(BackendName.local, help="local: process pool on this machine; dask: Dask tasks; serial: in-process."),
    scheduler: str = typer.Option(None, help="Dask scheduler address tcp://HOST:PORT (default: a LocalCluster on 127.0.0.1)."),
    workers: int = typer.Option(None, min=1, help="Worker processes (default: one per core, at most one per group)."),
    out: Path = typer.Option(None, help="Sweep directory (default: sweeps/<name>); rerunning resumes it."),
    tensorboard: bool = typer.Option(False, "--tensorboard", help="Also write TensorBoard event files per run (DIR/tensorboard)."),
    retries: int = typer.Option(2, min=0, help="Extra attempts for a failing group before its runs are recorded failed."),
    save_weights: bool = typer.Option(True, "--weights/--no-weights", help="Save each run's final weights to DIR/weights/."),
) -> None:
    """Run a sweep (resuming from DIR), committing each group's results as it ends."""
    from genlab.sweep._runner import run_sweep
    from genlab.sweep._spec import load_sweep

    sweep = load_sweep(file_or_name)  # every bad input fails here, before any work
    out = check_sweep_out(out if out is not None else Path("sweeps") / sweep.name, "genlab sweep")
    report = run_sweep(sweep, out, backend=backend.value, workers=workers, scheduler=scheduler,
                       retries=retries, tensorboard=tensorboard, save_weights=save_weights,
                       echo=typer.echo)
    typer.echo(f"{report.n_done} run(s) done, {report.n_failed} failed, {report.n_skipped} skipped "
               f"(already done) in {report.wall_s:.1f} s; see `genlab runs ls {report.out}`")
    if report.n_failed:
        raise typer.Exit(1)


def check_sweep_out(out: Path, owner: str) -> Path:
    """``out`` if a sweep may write there: new, empty, or a sweep directory already (to resume);
    not a `genlab run` directory, nor a folder of other things (the working directory...)."""
    from genlab._io import check_output_dir
    from genlab.experiments._framework import _is_run_dir
    from genlab.sweep._store import DB_NAME, LOCK_NAME

    out = Path(out)
    if out.is_dir() and _is_run_dir(out):
        raise UserError(
            f"The '--out' parameter of {owner} must not be a `genlab run` directory. Got {str(out)!r} instead "
            f"(its config.json names an experiment); choose another --out (nothing was written)."
        )
    return check_output_dir(out, owner, kind=f"a sweep directory (with {DB_NAME}) to resume",
                            own=lambda p: (p / DB_NAME).exists() or (p / LOCK_NAME).exists())


def _warn_damaged(directory: Path):
    def warn(run_id: str, problem: str) -> None:
        typer.echo(f"genlab: warning: skipping damaged run {run_id} in {str(directory)!r}: {problem}", err=True)
    return warn


def runs_ls(directory: Path = typer.Argument(..., help="A sweep directory.")) -> None:
    """List the runs of a sweep directory: id, status, the swept values and final metrics."""
    from genlab.sweep._spec import DEFAULTS
    from genlab.sweep._store import open_store

    with open_store(directory) as store:
        df = store.runs(on_damaged=_warn_damaged(directory))
        if df.empty:
            typer.echo("no runs")
            return
        # Show only the configuration keys that vary across runs (the swept axes).
        varying = [c for c in DEFAULTS if c in df.columns and df[c].astype(str).nunique() > 1]
        finals = [c for c in df.columns if "/" in c]
        labels = ["label"] if "label" in df.columns else []  # generic tasks (an experiment's tasks/)
        cols = ["id", "status", *labels, *varying, *finals, "wall_s"]
        typer.echo(df[cols].to_string(index=False, float_format=lambda v: f"{v:.4g}"))
        typer.echo(f"{(df.status == 'done').sum()} done, {(df.status == 'failed').sum()} failed")


def runs_show(directory: Path = typer.Argument(..., help="A sweep directory."),
              run_id: str = typer.Argument(..., help="A run id (or a unique prefix of one).")) -> None:
    """Show one run: configuration, status, timings, error and final metrics."""
    from genlab.sweep._store import open_store

    with open_store(directory) as store:
        rid = store.find(run_id)
        damaged: dict[str, str] = {}
        runs = store.runs(flatten=False, on_damaged=damaged.__setitem__)  # other runs' damage does not matter here
        if rid in damaged:
            raise DamagedFileError(store.db_path, damaged[rid])
        row = runs.set_index("id").loc[rid]
        typer.echo(f"run {rid} ({row.sweep}): {row.status}, {row.attempts} attempt(s), "
                   f"{row.wall_s or 0:.2f} s on {row.worker}")
        if row.error:
            typer.echo(f"error: {row.error}")
        typer.echo("config: " + json.dumps(json.loads(row.config), sort_keys=True))
        if row.final:
            for key, value in sorted(json.loads(row.final).items()):
                typer.echo(f"  {key:12s} {value:.6g}" if isinstance(value, float) else f"  {key:12s} {value}")
        if row.weights:
            typer.echo(f"weights: {Path(directory) / row.weights}")
        typer.echo(f"metric rows: {len(store.metrics(rid))}")
        n_records = len(store.records(rid))
        if n_records:
            typer.echo(f"records: {n_records}")


def runs_export(
    directory: Path = typer.Argument(..., help="A sweep directory."),
    format: ExportFormat = typer.Option(ExportFormat.csv, "--format", help="csv or parquet (needs pyarrow)."),
    out: Path = typer.Option(None, help="Output folder (default: DIR/export)."),
) -> None:
    """Export runs (one row per run) and metrics (tidy, one row per step/split/metric)."""
    from genlab._io import atomic_path
    from genlab.sweep._store import open_store

    target = out or Path(directory) / "export"
    if target.exists() and not target.is_dir():
        raise UserError(f"The '--out' parameter of genlab runs export must be a folder. Got {str(target)!r} instead (a file).")
    with open_store(directory) as store:
        runs, metrics = store.runs(on_damaged=_warn_damaged(directory)), store.metrics()
        metrics = metrics[metrics.run_id.isin(runs.id)]
    if format is ExportFormat.parquet:
        try:
            import pyarrow  # noqa: F401
        except ImportError:
            raise UserError("--format parquet needs pyarrow: pip install pyarrow.") from None
    target.mkdir(parents=True, exist_ok=True)
    for name, df in (("runs", runs), ("metrics", metrics)):
        path = target / f"{name}.{format.value}"
        with atomic_path(path) as tmp:
            if format is ExportFormat.csv:
                df.to_csv(tmp, index=False)
            else:
                df.to_parquet(tmp, index=False)
        typer.echo(f"wrote {path} ({len(df)} rows)")


def register(app: typer.Typer) -> None:
    app.command("sweep")(sweep_command)
    runs = typer.Typer(help="Inspect and export the results of a sweep directory.", no_args_is_help=True)
    runs.command("ls")(runs_ls)
    runs.command("show")(runs_show)
    runs.command("export")(runs_export)
    app.add_typer(runs, name="runs")
