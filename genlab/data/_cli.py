"""``genlab data``: list, generate (--out FILE.npz) and draw (--plot FILE.png) the datasets.

Each dataset's options come from its generator's signature, turned into Typer options.
"""

from __future__ import annotations

import inspect
import json
from pathlib import Path

import numpy as np
import typer
from typer.core import TyperGroup

from genlab._checks import check_float, fail
from genlab._io import atomic_path, check_writable_file
from genlab.data._base import ClassificationData
from genlab.data._registry import DATASETS, DatasetEntry, get_dataset_entry

_SKIP = {"templates", "num_samples"}  # not CLI material: a dict, and an alias of n_samples


class _DataGroup(TyperGroup):
    """Unknown dataset names get the one-line error with the closest valid name."""

    def resolve_command(self, ctx, args):
        if args and args[0] not in self.commands and not args[0].startswith("-"):
            get_dataset_entry(args[0])  # raises ParameterError with a suggestion
        return super().resolve_command(ctx, args)


def _option_type(default):
    if isinstance(default, bool):
        return bool
    if isinstance(default, (tuple, list)):
        return tuple[tuple(type(v) for v in default)]
    return type(default)


def _check_plot_suffix(path: Path, owner: str) -> None:
    """``--plot`` must end in a format matplotlib writes (checked before any data is generated)."""
    from matplotlib.backend_bases import FigureCanvasBase

    formats = sorted(FigureCanvasBase.get_supported_filetypes())
    if path.suffix.lower().lstrip(".") not in formats:
        raise fail("--plot", owner, "a file name ending in ." + ", .".join(formats), str(path))


def _save_npz(data, path: Path) -> None:
    arrays = data.arrays()
    for key in ("t",):
        if getattr(data, key, None) is not None:
            arrays[key] = np.asarray(getattr(data, key))
    arrays["meta"] = np.array(json.dumps({"name": data.name, **data.meta}, default=str))
    with atomic_path(path) as tmp, open(tmp, "wb") as f:
        np.savez(f, **arrays)


def _make_command(entry: DatasetEntry):
    gen_sig = inspect.signature(entry.make)
    params = []
    for p in gen_sig.parameters.values():
        if p.name in _SKIP or p.name in entry.defaults:
            continue
        params.append(
            inspect.Parameter(
                p.name,
                inspect.Parameter.KEYWORD_ONLY,
                default=typer.Option(p.default),
                annotation=_option_type(p.default),
            )
        )
    extra = [
        inspect.Parameter("out", inspect.Parameter.KEYWORD_ONLY, default=typer.Option(None, help="Write the arrays to this .npz file."), annotation=Path | None),
        inspect.Parameter("plot", inspect.Parameter.KEYWORD_ONLY, default=typer.Option(None, help="Draw the dataset to this .png/.svg file."), annotation=Path | None),
    ]
    is_classification = entry.name.startswith("mnist1d") or entry.name == "modular"
    if is_classification:
        extra.append(
            inspect.Parameter("label_noise", inspect.Parameter.KEYWORD_ONLY, default=typer.Option(0.0, help="Fraction of training labels redrawn uniformly (0..1)."), annotation=float)
        )

    def command(**kwargs):
        out, plot = kwargs.pop("out"), kwargs.pop("plot")
        noise = kwargs.pop("label_noise", 0.0)
        if out is not None:
            check_writable_file(out, "--out", f"genlab data {entry.name}")
        if plot is not None:
            _check_plot_suffix(plot, f"genlab data {entry.name}")
            check_writable_file(plot, "--plot", f"genlab data {entry.name}")
        kwargs = {k: (list(v) if isinstance(v, tuple) else v) for k, v in kwargs.items()}
        if "padding" in kwargs:
            kwargs["padding"] = tuple(kwargs["padding"])
        if is_classification:
            check_float(noise, "--label-noise", f"genlab data {entry.name}", low=0.0, high=1.0)
        data = entry.make(**{**entry.defaults, **kwargs})
        if noise:
            from genlab.data._transforms import with_label_noise

            data = with_label_noise(data, noise, seed=kwargs.get("seed", 0))
        typer.echo(_describe(data))
        if out is not None:
            _save_npz(data, out)
            typer.echo(f"wrote {out}")
        if plot is not None:
            from genlab.data._plot import plot_dataset

            with atomic_path(plot) as tmp:
                plot_dataset(data, tmp)
            typer.echo(f"wrote {plot}")

    command.__signature__ = inspect.Signature(params + extra)
    command.__doc__ = entry.description
    return command


def _describe(data) -> str:
    parts = [f"{data.name}: train {tuple(np.shape(data.x_train))}, test {tuple(np.shape(data.x_test))}"]
    if getattr(data, "x_val", None) is not None:
        parts.append(f"validation {tuple(np.shape(data.x_val))}")
    if isinstance(data, ClassificationData):
        parts.append(f"{data.n_classes} classes")
        if data.noise_mask is not None:
            changed = int(np.sum(data.y_train != data.y_train_clean))
            parts.append(f"{changed} training labels changed")
    return ", ".join(parts)


def register(app: typer.Typer) -> None:
    data_app = typer.Typer(
        cls=_DataGroup,
        help="Generate (--out FILE.npz) or draw (--plot FILE.png) the lectures' datasets.",
        no_args_is_help=True,
    )

    @data_app.command("list")
    def list_datasets() -> None:
        """List the datasets with one line each."""
        width = max(map(len, DATASETS))
        for name, entry in DATASETS.items():
            typer.echo(f"{name:<{width}}  {entry.description}")

    for entry in DATASETS.values():
        data_app.command(entry.name, help=entry.description)(_make_command(entry))
    app.add_typer(data_app, name="data")
