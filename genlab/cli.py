"""The ``genlab`` command line.

Each subpackage that offers commands has a ``_cli.py`` with ``register(app)``; this module only
collects them and turns user errors into one line and exit code 2 (never a traceback).
"""

from __future__ import annotations

import importlib
import signal
import sys
from pathlib import Path

import typer

from genlab._checks import UserError

_PACKAGE_DIR = Path(__file__).resolve().parent

# Subpackages whose ``_cli.register(app)`` adds commands, in help order.
_COMMAND_PACKAGES = [
    "data",
    "experiments",
    "train",
    "measure",
    "sweep",
    "report",
    "web",
    "bench",
]


def build_app() -> typer.Typer:
    app = typer.Typer(
        name="genlab",
        help="genlab: measure performance and generalization of neural networks.",
        no_args_is_help=True,
        pretty_exceptions_enable=False,
        add_completion=False,
    )
    for pkg in _COMMAND_PACKAGES:
        if not (_PACKAGE_DIR / pkg / "_cli.py").is_file():
            continue
        importlib.import_module(f"genlab.{pkg}._cli").register(app)
    return app


def _option(args: list[str], name: str) -> str | None:
    for i, arg in enumerate(args):
        if arg == name and i + 1 < len(args):
            return args[i + 1]
        if arg.startswith(name + "="):
            return arg.split("=", 1)[1]
    return None


def _start_workers_early(args: list[str]) -> None:
    """Start the local backend's forkserver before this process imports torch (building the
    app does), so both import side by side: ``genlab run``, ``reproduce`` and ``sweep`` on the
    local backend then fork their first workers at once instead of ~1.5 s later."""
    from genlab import _forkserver

    preload = {"run": _forkserver.EXPERIMENT_PRELOAD, "reproduce": _forkserver.EXPERIMENT_PRELOAD, "sweep": ()}
    if not args or args[0] not in preload or "--help" in args:
        return
    if (_option(args, "--backend") or "local") != "local" or (_option(args, "--jobs") or "1") != "1":
        return
    _forkserver.start(preload[args[0]])


def _terminate(signum, frame) -> None:
    raise KeyboardInterrupt  # SIGTERM (kill, timeout, a batch scheduler) ends the run as Ctrl-C does


def main(argv: list[str] | None = None) -> None:
    """Entry point of the ``genlab`` console script."""
    # Without this a SIGTERM kills the driver on the spot: its worker pool is never shut down
    # and the resource tracker warns of leaked semaphores. As a KeyboardInterrupt the runner
    # keeps what is committed, stops its workers and says how to resume.
    if signal.getsignal(signal.SIGTERM) is signal.SIG_DFL:
        signal.signal(signal.SIGTERM, _terminate)
    _start_workers_early(sys.argv[1:] if argv is None else list(argv))
    command = typer.main.get_command(build_app())
    try:
        # Standalone mode: usage errors print one line and exit 2; Ctrl-C prints "Aborted!".
        command.main(args=argv, prog_name="genlab")
    except UserError as exc:
        typer.echo(f"genlab: error: {exc}", err=True)
        sys.exit(2)
    except OSError as exc:  # a path the user gave that cannot be used (a file for a folder, ...)
        if exc.filename is None:
            raise
        typer.echo(f"genlab: error: cannot use {str(exc.filename)!r}: {exc.strerror or exc}", err=True)
        sys.exit(2)


if __name__ == "__main__":
    main()
