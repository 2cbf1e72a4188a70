"""``genlab reproduce`` and ``genlab report``."""

from __future__ import annotations

from pathlib import Path

import typer

from genlab.sweep._cli import BackendName


def register(app: typer.Typer) -> None:
    @app.command("reproduce")
    def reproduce_command(
        scale: str = typer.Option("quick", help="smoke (seconds), quick (the default) or paper."),
        only: str = typer.Option(None, help="Comma-separated experiment names; default: all."),
        out: Path = typer.Option(Path("genlab-report"), help="Directory for the runs and report.html."),
        jobs: int = typer.Option(1, help="Experiments run at once, each in one local process (default 1: one after "
                                 "another, each spreading its tasks over --backend)."),
        seed: int = typer.Option(0, help="First seed of every experiment."),
        seeds: str = typer.Option(None, help="Seeds of every experiment: a count N (from --seed) or a list 0,3,7; "
                                  "default: each scale's number (3 or more at quick)."),
        device: str = typer.Option("cpu", help="cpu or cuda."),
        backend: BackendName = typer.Option(BackendName.local, help="Where each experiment's tasks run: local process pool, "
                                            "dask (one cluster for all), or serial (in-process). The numbers do not depend on it."),
        scheduler: str = typer.Option(None, help="Dask scheduler address tcp://HOST:PORT (default: a LocalCluster on 127.0.0.1)."),
        workers: int = typer.Option(None, min=1, help="Worker processes (default: one per core, at most one per task)."),
    ) -> None:
        """Run the whole lecture's experiments (reusing finished runs, resuming an interrupted one) and write report.html."""
        from genlab.experiments._cli import parse_seeds
        from genlab.report._reproduce import reproduce

        names = None if only is None else [n.strip() for n in only.split(",") if n.strip()]
        result = reproduce(scale=scale, only=names, out=out, jobs=jobs, seed=seed, seeds=parse_seeds(seeds, "genlab reproduce"), device=device, backend=backend.value,
                           workers=workers, scheduler=scheduler, echo=typer.echo)
        typer.echo(
            f"done: {len(result.ran)} run, {len(result.reused)} reused, "
            f"{result.wall_time_s:.0f} s; open {result.report}"
        )

    @app.command("report")
    def report_command(
        runs_dir: Path = typer.Argument(..., help="A directory of stored runs (from reproduce or run)."),
        out: Path = typer.Option(None, help="Where to write the HTML (default RUNS_DIR/report.html)."),
    ) -> None:
        """Rebuild the self-contained HTML report from stored runs, without training."""
        from genlab._io import check_writable_file
        from genlab.report._html import build_report

        if out is not None:
            check_writable_file(out, "--out", "report")
        def warn(path: Path, message: str) -> None:
            typer.echo(f"genlab: warning: skipping damaged run {str(path)!r}: {message}", err=True)

        typer.echo(str(build_report(runs_dir, out, on_damaged=warn)))
