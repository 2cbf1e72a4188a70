"""Lecture-style figures: labelled axes with units, legends, PNG and SVG."""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

plt.rcParams.update({
    "figure.dpi": 110,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "axes.grid": True,
    "grid.alpha": 0.25,
    "legend.frameon": False,
    "font.size": 10,
})


def save(fig, out_dir: Path, stem: str) -> list[str]:
    """Save ``fig`` as STEM.png and STEM.svg in ``out_dir``; return the file names."""
    fig.tight_layout()
    names = []
    for ext in ("png", "svg"):
        fig.savefig(Path(out_dir) / f"{stem}.{ext}", bbox_inches="tight")
        names.append(f"{stem}.{ext}")
    plt.close(fig)
    return names


def threshold_line(ax, x: float, label: str = "interpolation threshold") -> None:
    ax.axvline(x, color="0.3", ls="--", lw=1, label=label)
