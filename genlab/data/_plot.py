"""Draw a dataset: MNIST-1D as in the paper's figure, the toy sets as scatter and curve."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from genlab.data._base import ClassificationData, RegressionData
from genlab.data._mnist1d import MNIST1D


def plot_dataset(data, path: str | Path, *, per_class: int = 4) -> None:
    """Write a PNG (or SVG, by the file's suffix) that shows ``data``."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    if isinstance(data, MNIST1D):
        fig = _plot_mnist1d(plt, data, per_class)
    elif isinstance(data, ClassificationData):
        fig = _plot_tokens(plt, data)
    elif isinstance(data, RegressionData):
        fig = _plot_regression(plt, data)
    else:  # pragma: no cover - every generator returns one of the above
        raise TypeError(f"cannot plot {type(data).__name__}")
    svg = str(path).endswith(".svg")
    with matplotlib.rc_context({"svg.hashsalt": "genlab"}):  # same data, same bytes: fixed ids, no date
        fig.savefig(path, dpi=120, bbox_inches="tight", metadata={"Date": None} if svg else None)
    plt.close(fig)


def _plot_mnist1d(plt, data: MNIST1D, per_class: int):
    # As in Greydanus' figure: each signal is drawn as value (horizontal) against t (vertical).
    fig, axes = plt.subplots(1, data.n_classes, figsize=(1.3 * data.n_classes, 3.2), sharey=True)
    colors = plt.cm.viridis(np.linspace(0.1, 0.85, per_class))
    for label, ax in enumerate(axes):
        rows = np.flatnonzero(data.y_train == label)[:per_class]
        for k, row in enumerate(rows):
            ax.plot(data.x_train[row] + 2.5 * k, data.t, color=colors[k], lw=1.2)
        ax.set_title(str(label))
        ax.set_xticks([])
        ax.invert_yaxis()
        for side in ("top", "right", "bottom"):
            ax.spines[side].set_visible(False)
    axes[0].set_ylabel("t (position along the signal)")
    name = "MNIST-1D (shuffled)" if data.args.get("shuffle_seq") else "MNIST-1D"
    fig.suptitle(f"{name}: {per_class} training examples per digit (signal value drawn horizontally)")
    fig.tight_layout()
    return fig


def _plot_regression(plt, data: RegressionData):
    fig, ax = plt.subplots(figsize=(6, 3.6))
    x_train = np.asarray(data.x_train)
    if x_train.ndim > 1:  # multivariate (diabetes): target against the first feature
        ax.scatter(x_train[:, 0], data.y_train, s=18, label="train")
        ax.scatter(np.asarray(data.x_test)[:, 0], data.y_test, s=6, alpha=0.4, label="test")
        ax.set_xlabel("feature 0")
    else:
        if data.x_grid is not None:
            ax.plot(data.x_grid, data.y_grid, color="k", lw=1.5, label="true function")
        ax.scatter(data.x_test, data.y_test, s=6, alpha=0.35, color="gray", label="test")
        ax.scatter(x_train, data.y_train, s=22, color="C1", zorder=3, label="train")
        if data.x_val is not None:
            ax.scatter(data.x_val, data.y_val, s=14, marker="x", color="C2", label="validation")
        ax.set_xlabel("x")
    ax.set_ylabel("y")
    ax.set_title(f"{data.name}: {data.n_train} training points")
    ax.legend(frameon=False, fontsize=8)
    fig.tight_layout()
    return fig


def _plot_tokens(plt, data: ClassificationData):
    # Modular arithmetic: the label table over (a, b), training pairs marked.
    x = np.concatenate([data.x_train, data.x_test])
    y = np.concatenate([data.y_train, data.y_test])
    p = data.n_classes
    table = np.full((p, p), np.nan)
    table[x[:, 0], x[:, 1]] = y
    fig, ax = plt.subplots(figsize=(4.6, 4))
    im = ax.imshow(table, cmap="twilight", origin="lower")
    ax.scatter(data.x_train[:, 1], data.x_train[:, 0], s=1.5, color="k", alpha=0.5, label="training pair")
    ax.set_xlabel("b")
    ax.set_ylabel("a")
    ax.set_title(f"{data.name}: label of (a, b), p = {p}")
    fig.colorbar(im, ax=ax, label="a op b mod p")
    fig.tight_layout()
    return fig
