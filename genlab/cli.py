"""The ``genlab`` command line.

Each subpackage that offers commands has a ``_cli.py`` with ``register(app)``; this module only
collects them and turns user errors into one line and exit code 2 (never a traceback).
"""

from __future__ import annotations

import importlib
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


def main(argv: list[str] | None = None) -> None:
    """Entry point of the ``genlab`` console script."""
    command = typer.main.get_command(build_app())
    try:
        # Standalone mode: usage errors print one line and exit 2; Ctrl-C prints "Aborted!".
        command.main(args=argv, prog_name="genlab")
    except UserError as exc:
        typer.echo(f"genlab: error: {exc}", err=True)
        sys.exit(2)


if __name__ == "__main__":
    main()
