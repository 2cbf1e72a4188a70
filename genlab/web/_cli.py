"""``genlab serve``: the web explorer on 127.0.0.1."""

from __future__ import annotations

import os
import socket
from pathlib import Path

import typer

from genlab._checks import ParameterError, check_int


def serve(
    port: int = typer.Option(8000, "--port", help="TCP port to listen on."),
    runs: Path = typer.Option(Path("runs"), "--runs", help="Directory of run directories to browse (read only)."),
    host: str = typer.Option("127.0.0.1", "--host", help="Interface to bind; the default serves this machine only."),
    cache: Path | None = typer.Option(None, "--cache", help="Where precomputed curves are stored (default ~/.cache/genlab/web)."),
) -> None:
    """Serve the interactive demos and the runs browser (every asset is local: works offline)."""
    check_int(port, "port", "genlab serve", low=1, high=65535)
    if not runs.exists() and runs != Path("runs"):  # the default may not exist yet (demos only)
        raise ParameterError(f"The '--runs' parameter of genlab serve must be an existing directory. Got {str(runs)!r} instead (it does not exist).")
    if runs.exists() and not runs.is_dir():
        raise ParameterError(f"The '--runs' parameter of genlab serve must be a directory. Got {str(runs)!r} instead (a file).")
    if cache is not None:
        try:
            cache.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise ParameterError(
                f"The '--cache' parameter of genlab serve must be a folder that can be created or written. "
                f"Got {str(cache)!r} instead ({exc.strerror or exc})."
            ) from None
        if not os.access(cache, os.W_OK):
            raise ParameterError(f"The '--cache' parameter of genlab serve must be a writable folder. Got {str(cache)!r} instead.")
    with socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET) as probe:
        try:  # refuse a bad address or a taken port before anything starts (as uvicorn binds)
            probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            probe.bind((host, port))
        except (OSError, OverflowError) as exc:
            raise ParameterError(
                f"The '--host'/'--port' parameters of genlab serve must name a free port on an interface of this "
                f"machine. Got {host}:{port} instead ({getattr(exc, 'strerror', None) or exc})."
            ) from None
    try:
        import uvicorn

        from genlab.web._app import create_app
    except ImportError as exc:  # the optional extra is missing
        raise ParameterError(f"genlab serve needs the web extra: pip install 'genlab[web]' ({exc}).") from None
    if not runs.is_dir():
        raise ParameterError(f"The '--runs' parameter of genlab serve must be an existing directory. Got {str(runs)!r} instead (it does not exist).")
    app = create_app(runs, cache_dir=cache)
    typer.echo(f"genlab explorer on http://{host}:{port}/  (runs: {runs.resolve()})")
    # No request computes for more than a few seconds, so a short grace period lets SIGTERM
    # and Ctrl-C stop the server promptly even with a browser tab still connected.
    uvicorn.run(app, host=host, port=port, log_level="warning", timeout_graceful_shutdown=2)


def web_data(
    out: Path = typer.Option(None, "--out", help="Folder to write to (default: the package's genlab/web/data)."),
    scale: str = typer.Option("quick", "--scale", help="quick (what is shipped) or smoke (tests)."),
) -> None:
    """Recompute the double-descent and bias-variance curves the explorer ships (minutes at quick scale)."""
    from genlab._checks import check_choice
    from genlab.web import _curves

    check_choice(scale, "--scale", "genlab web-data", ("quick", "smoke"))
    for kind in _curves.KINDS:
        path = _curves.build(kind, out or _curves.SHIPPED, scale=scale)
        typer.echo(f"wrote {path}")


def register(app: typer.Typer) -> None:
    app.command("serve")(serve)
    app.command("web-data")(web_data)
