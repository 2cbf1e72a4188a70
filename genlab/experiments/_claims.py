"""Claims: what a lecture says happens, checked on every seed of a run.

An experiment's ``summarize`` returns claims, each a small function of the stored metrics
evaluated per seed: a per-seed value and whether the claim holds for it. The verdict is the
fraction of seeds where it holds, never one seed's luck. Every claim says what its reference is:

- ``published``: a number printed in a publication (``source`` says where: figure, table,
  notebook output), with a band that a wrong implementation would miss;
- ``qualitative``: what the lecture says happens, without a number (a peak, an ordering);
- ``reference``: a number from one of genlab's own reference runs; never counted as published.

Descriptive numbers without a verdict stay :class:`~genlab.experiments.Comparison` rows.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

KINDS = ("published", "qualitative", "reference")
KIND_TEXT = {"published": "published number", "qualitative": "qualitative claim of the lecture",
             "reference": "genlab reference (its own run or theory; not published)"}


@dataclass(frozen=True)
class Claim:
    """One claim evaluated on each seed of a run.

    ``values[i]`` and ``holds[i]`` belong to ``seeds[i]``; ``band`` (when given) is the range
    of values for which the claim holds, ``published`` the publication's number or text.
    """

    name: str
    kind: str
    source: str
    seeds: tuple[int, ...]
    values: tuple[float, ...]
    holds: tuple[bool, ...]
    published: float | str | None = None
    band: tuple[float, float] | None = None
    note: str = ""

    def __post_init__(self):
        assert self.kind in KINDS, self.kind
        assert len(self.seeds) == len(self.values) == len(self.holds) > 0, (self.name, self.seeds, self.values)

    @property
    def n_holding(self) -> int:
        return int(sum(self.holds))

    @property
    def fraction(self) -> float:
        return self.n_holding / len(self.holds)

    @property
    def verdict(self) -> str:
        """'holds' (every seed), 'partly' (some seeds) or 'fails' (none)."""
        return "holds" if all(self.holds) else "partly" if any(self.holds) else "fails"

    def to_dict(self) -> dict:
        vals = np.asarray(self.values, dtype=float)
        finite = vals[np.isfinite(vals)]
        return {
            "name": self.name, "kind": self.kind, "source": self.source, "published": self.published,
            "band": list(self.band) if self.band is not None else None, "note": self.note,
            "seeds": list(self.seeds), "values": [_json_float(v) for v in self.values], "holds": list(self.holds),
            "n_holding": self.n_holding, "n_seeds": len(self.seeds), "fraction": self.fraction, "verdict": self.verdict,
            "mean": _json_float(finite.mean()) if finite.size else None,
            "std": _json_float(finite.std(ddof=1)) if finite.size > 1 else None,
        }


def _json_float(v) -> float | None:
    v = float(v)
    return v if math.isfinite(v) else (None if math.isnan(v) else v)


def _check_kind(kind: str, source: str) -> None:
    if kind not in KINDS:
        raise ValueError(f"claim kind must be one of {KINDS}, got {kind!r}")
    if not source:
        raise ValueError("a claim must say where its reference comes from (source)")


def in_band(name: str, seeds: Sequence[int], values: Sequence[float], band: tuple[float, float], *, kind: str,
            source: str, published: float | str | None = None, note: str = "") -> Claim:
    """The claim "the value lies in ``band``", evaluated on each seed's value (NaN never holds)."""
    _check_kind(kind, source)
    lo, hi = band
    vals = tuple(float(v) for v in values)
    holds = tuple(bool(lo <= v <= hi) for v in vals)  # NaN compares False
    return Claim(name, kind, source, tuple(int(s) for s in seeds), vals, holds, published, (float(lo), float(hi)), note)


def per_seed(name: str, seeds: Sequence[int], values: Sequence[float], holds: Sequence[bool], *, kind: str, source: str,
             published: float | str | None = None, band: tuple[float, float] | None = None, note: str = "") -> Claim:
    """A claim whose per-seed verdict is computed by the experiment (``holds[i]`` for ``seeds[i]``)."""
    _check_kind(kind, source)
    return Claim(name, kind, source, tuple(int(s) for s in seeds), tuple(float(v) for v in values),
                 tuple(bool(h) for h in holds), published, band, note)


def evaluate(name: str, seeds: Sequence[int], measure: Callable[[int], float], band: tuple[float, float], **kw) -> Claim:
    """:func:`in_band` of ``measure(seed)`` for each seed."""
    return in_band(name, seeds, [measure(s) for s in seeds], band, **kw)


def tally(claims: Sequence[dict]) -> dict:
    """Counts of claims (as dicts) holding in every seed, overall and per kind of reference."""
    out = {"n": len(claims), "all_seeds": sum(c["verdict"] == "holds" for c in claims),
           "partly": sum(c["verdict"] == "partly" for c in claims), "fails": sum(c["verdict"] == "fails" for c in claims)}
    for kind in KINDS:
        of_kind = [c for c in claims if c["kind"] == kind]
        out[kind] = {"n": len(of_kind), "all_seeds": sum(c["verdict"] == "holds" for c in of_kind)}
    return out


def format_values(claim: dict, digits: int = 4) -> str:
    """Per-seed values as ``s0: 0.41 ✔, s1: 0.39 ✘`` (what the README and the report print)."""
    parts = []
    for s, v, h in zip(claim["seeds"], claim["values"], claim["holds"]):
        text = "nan" if v is None else f"{v:.{digits}g}"
        parts.append(f"s{s}: {text} {'✔' if h else '✘'}")
    return ", ".join(parts)


# Shapes of curves that several experiments' claims read.

def rise_above_running_min(y: Sequence[float]) -> float:
    """The largest amount by which ``y`` climbs above its running minimum (0 for a non-increasing curve)."""
    y = np.asarray(y, dtype=float)
    return float(np.max(y - np.minimum.accumulate(y))) if y.size else 0.0


def peak_after_first_min(x: Sequence[float], y: Sequence[float], x_max_first_min: float) -> tuple[float, float, float]:
    """(x of the first minimum at or below ``x_max_first_min``, x of the highest point after it, rise).

    The double-descent peak: the curve falls to a first minimum, climbs to a peak, then (maybe) falls.
    """
    x, y = np.asarray(x, dtype=float), np.asarray(y, dtype=float)
    early = x <= x_max_first_min
    i_min = int(np.argmin(np.where(early, y, np.inf))) if early.any() else 0
    i_peak = i_min + int(np.argmax(y[i_min:]))
    return float(x[i_min]), float(x[i_peak]), float(y[i_peak] - y[i_min])
