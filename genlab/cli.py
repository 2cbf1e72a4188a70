"""The ``genlab`` command line.

Each subpackage that offers commands has a ``_cli.py`` with ``register(app)``; this module only
collects them and turns user errors into one line and exit code 2 (never a traceback).
"""

from __future__ import annotations

import importlib
import importlib.util
import sys

import click
import typer

from genlab._checks import UserError

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
        modname = f"genlab.{pkg}._cli"
        if importlib.util.find_spec(modname) is None:
            continue
        importlib.import_module(modname).register(app)
    return app


def main(argv: list[str] | None = None) -> None:
    """Entry point of the ``genlab`` console script."""
    command = typer.main.get_command(build_app())
    try:
        rv = command.main(args=argv, prog_name="genlab", standalone_mode=False)
    except click.exceptions.Exit as exc:
        sys.exit(exc.exit_code)
    except click.ClickException as exc:
        exc.show()
        sys.exit(exc.exit_code)
    except (click.exceptions.Abort, KeyboardInterrupt):
        click.echo("genlab: interrupted; finished results are kept.", err=True)
        sys.exit(130)
    except UserError as exc:
        click.echo(f"genlab: error: {exc}", err=True)
        sys.exit(2)
    sys.exit(rv if isinstance(rv, int) else 0)


if __name__ == "__main__":
    main()
