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
    # Same data, same bytes: SVG element ids are hashes salted by this (random otherwise)...
    "svg.hashsalt": "genlab",
})
# ... and no date in the SVG's metadata (PNGs from Agg hold none).
_METADATA = {"svg": {"Date": None}, "png": {}}


def save(fig, out_dir: Path, stem: str, *, tight_layout: bool = True) -> list[str]:
    """Save ``fig`` as STEM.png and STEM.svg in ``out_dir`` (atomically, byte-identical for the
    same data); return the file names. ``tight_layout=False`` for figures laid out otherwise
    (a colorbar shared by several axes)."""
    from genlab._io import atomic_path

    if tight_layout:
        fig.tight_layout()
    names = []
    for ext in ("png", "svg"):
        with atomic_path(Path(out_dir) / f"{stem}.{ext}") as tmp:
            fig.savefig(tmp, format=ext, bbox_inches="tight", metadata=_METADATA[ext])
        names.append(f"{stem}.{ext}")
    plt.close(fig)
    return names


def threshold_line(ax, x: float, label: str = "interpolation threshold") -> None:
    ax.axvline(x, color="0.3", ls="--", lw=1, label=label)
