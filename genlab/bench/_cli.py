"""``genlab bench NAME``: discovered from the ``genlab/bench/_<name>.py`` modules."""

from __future__ import annotations

import importlib
import pkgutil

import typer

import genlab.bench


def register(app: typer.Typer) -> None:
    bench = typer.Typer(
        help="Speed comparisons against a reference, side by side in one run (--json for JSON).",
        no_args_is_help=True,
    )
    for info in sorted(pkgutil.iter_modules(genlab.bench.__path__), key=lambda m: m.name):
        if not info.name.startswith("_") or info.name in ("_cli", "_common"):
            continue
        module = importlib.import_module(f"genlab.bench.{info.name}")
        bench.command(info.name[1:], help=(module.__doc__ or "").strip().splitlines()[0])(
            module.command
        )
    app.add_typer(bench, name="bench")
