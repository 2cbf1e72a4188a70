"""Training-curve diagnosis with the seed-001 lecture's cases C1..C8.

The verdict comes from a few numbers computed on the train and validation loss curves (all
reported as evidence), checked in a fixed order: instability first (C7 train, C8 validation),
then no progress (C4), training loss at zero (C5), validation rising after its minimum (C2),
both curves still falling (C3), a high plateau (C6), else the good fit C1.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from genlab._checks import fail

CASES = {
    "C1": ("good fit, near the overfitting threshold",
           "Keep these settings; to gain more, add data or try a slightly larger model with early stopping."),
    "C2": ("past the overfitting threshold (validation loss rises while training loss falls)",
           "Regularize (weight decay, dropout, data augmentation), stop early at the validation minimum, or reduce capacity."),
    "C3": ("far below the overfitting threshold (both losses still falling together)",
           "Train longer (or with a larger learning rate), then increase capacity until the validation loss turns up."),
    "C4": ("convergence problem: the training loss barely moves",
           "Check the learning rate (run an LR range test), the initialization and the data pipeline."),
    "C5": ("training loss at zero: capacity large (too large?)",
           "The model memorizes the training set: check the validation loss, add regularization or data, or shrink the model."),
    "C6": ("large training loss: capacity too small",
           "Increase capacity (width, depth, better features) or reduce regularization; the model underfits."),
    "C7": ("unstable training loss",
           "Reduce the learning rate (or add warmup / gradient clipping); check for bad batches."),
    "C8": ("unstable validation loss",
           "Average the validation loss over the whole (larger) validation set, not over a few samples or one batch."),
}


@dataclass(frozen=True)
class CurveDiagnosis:
    """The case (``'C1'`` .. ``'C8'``), its description, the evidence and a suggested next step."""

    case: str
    description: str
    next_step: str
    evidence: dict = field(default_factory=dict)
    reasons: tuple[str, ...] = ()


def oscillation(curve: np.ndarray, scale: float) -> float:
    """Size of the zig-zags of a curve relative to ``scale``.

    Sum over turning points of the smaller of the two adjacent moves: 0 for any monotone or
    single-turn (U-shaped) smooth curve, large for noise.
    """
    d = np.diff(curve)
    turn = np.sign(d[1:]) * np.sign(d[:-1]) < 0
    return float(np.minimum(np.abs(d[1:]), np.abs(d[:-1]))[turn].sum() / scale)


def diagnose_curves(train_loss, val_loss, steps=None, *, unstable_train: float = 0.08, unstable_val: float = 0.1,
                    min_progress: float = 0.1, zero_loss: float = 0.01, rise: float = 0.05,
                    still_falling: float = 0.01, small_gap: float = 0.1, high_loss: float = 0.5) -> CurveDiagnosis:
    """Name the situation of a pair of train / validation loss curves (seed 001's C1..C8).

    Parameters
    ----------
    train_loss, val_loss : array (T,)
        Losses at the same ``T`` evaluation points (the training loss averaged over the whole
        training set, or at least over many batches; the first point should be at or near
        initialization).
    steps : array (T,), optional
        Steps of the evaluations (for the evidence only).
    unstable_train, unstable_val : float
        Thresholds on :func:`oscillation`: the zig-zags' total size relative to the curve's
        initial value.
    min_progress : float
        C4 when the training loss fell by less than this fraction of its initial value.
    zero_loss : float
        C5 when the final training loss is below this fraction of the initial one (0.023 nats
        for 10 classes).
    rise : float
        C2 when the final validation loss exceeds its minimum by this fraction.
    still_falling, small_gap : float
        C3 when, over the last quarter, the validation loss still fell by this fraction of its
        final value and the train/validation gap is below ``small_gap`` times it.
    high_loss : float
        C6 when the final training loss is above this fraction of the initial one on a plateau
        with a small gap (``small_gap``).

    Returns
    -------
    CurveDiagnosis
    """
    tr = np.asarray(train_loss, dtype=np.float64).reshape(-1)
    va = np.asarray(val_loss, dtype=np.float64).reshape(-1)
    if tr.shape != va.shape or tr.size < 8:
        raise fail("train_loss", "diagnose_curves", "two curves of equal length >= 8", f"lengths {tr.size}, {va.size}")
    steps = np.arange(tr.size) if steps is None else np.asarray(steps)
    t = tr.size
    q = max(2, t // 4)
    l0 = tr[0]
    ev: dict = {"n_points": int(t), "train_initial": float(l0)}
    if not np.all(np.isfinite(tr)) or not np.all(np.isfinite(va)):
        ev["non_finite"] = True
        return _verdict("C7", ev, ["the training or validation loss became NaN/inf (diverged)"])
    tail = slice(t - max(1, t // 10), t)
    l_end = float(np.median(tr[tail]))
    v_end = float(np.median(va[tail]))
    v_min_i = int(np.argmin(va))
    v_min = float(va[v_min_i])
    osc_tr = oscillation(tr[1:], l0)  # skip the first move: the initial drop is no zig-zag
    osc_va = oscillation(va[1:], max(abs(va[0]), 1e-12))
    ev.update(train_final=l_end, val_final=v_end, val_min=v_min, val_min_step=int(steps[v_min_i]),
              train_oscillation=osc_tr, val_oscillation=osc_va, progress=float((l0 - l_end) / l0),
              train_final_over_initial=float(l_end / l0), val_rise=float((v_end - v_min) / v_min),
              gap=float(v_end - l_end), diverged=bool(l_end > 1.5 * l0))
    ev["val_last_quarter_drop"] = float((va[t - q - 1] - v_end) / v_end)
    ev["train_last_quarter_drop"] = float((tr[t - q - 1] - l_end) / l_end) if l_end > 0 else 0.0
    if ev["diverged"]:
        return _verdict("C7", ev, [f"final training loss {l_end:.3g} is above 1.5x its initial value {l0:.3g}"])
    if osc_tr > unstable_train:
        return _verdict("C7", ev, [f"training-loss zig-zags sum to {osc_tr:.3f} of the initial loss (> {unstable_train})"])
    if osc_va > unstable_val:
        return _verdict("C8", ev, [f"validation-loss zig-zags sum to {osc_va:.3f} of its initial value (> {unstable_val}) "
                                   f"while the training loss is smooth ({osc_tr:.3f})"])
    if ev["progress"] < min_progress:
        return _verdict("C4", ev, [f"training loss fell by only {100 * ev['progress']:.1f}% of its initial value"])
    if l_end < zero_loss * l0:
        return _verdict("C5", ev, [f"final training loss {l_end:.2g} < {zero_loss} x initial ({l0:.3g})"])
    if ev["val_rise"] > rise and v_min_i < t - max(2, t // 10):
        return _verdict("C2", ev, [f"validation loss rose {100 * ev['val_rise']:.1f}% above its minimum at step "
                                   f"{int(steps[v_min_i])} while the training loss kept falling"])
    if ev["val_last_quarter_drop"] > still_falling and ev["gap"] < small_gap * v_end:
        return _verdict("C3", ev, [f"validation loss still fell {100 * ev['val_last_quarter_drop']:.1f}% in the last "
                                   f"quarter and the train/validation gap is small ({ev['gap']:.3g})"])
    if ev["train_final_over_initial"] > high_loss and ev["gap"] < small_gap * v_end:
        return _verdict("C6", ev, [f"training loss plateaued at {ev['train_final_over_initial']:.2f} x its initial value "
                                   f"with validation close to it (gap {ev['gap']:.3g}): the model underfits"])
    return _verdict("C1", ev, ["validation loss flattened near its minimum without rising; training loss is "
                               f"well below initial ({ev['train_final_over_initial']:.2f}x) but not zero"])


def _verdict(case: str, ev: dict, reasons: list[str]) -> CurveDiagnosis:
    desc, nxt = CASES[case]
    ev = {k: (float(v) if isinstance(v, (float, np.floating)) and math.isfinite(v) else v) for k, v in ev.items()}
    return CurveDiagnosis(case, desc, nxt, ev, tuple(reasons))
