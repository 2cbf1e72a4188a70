"""Argument validation with one error template.

Every user-facing check raises :class:`ParameterError` (a ``ValueError``) whose
message names the parameter, the allowed values and the value given, e.g.::

    The 'width' parameter of MLP must be an int in the range [1, inf). Got 0 instead.

The CLI turns a ``ParameterError`` into that one line and exit code 2.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Iterable
from typing import Any

import numpy as np


class UserError(Exception):
    """An error caused by the user's input; the CLI prints it as one line and exits with 2."""


class ParameterError(UserError, ValueError):
    """A user-supplied parameter is outside its allowed values."""


class ParameterTypeError(UserError, TypeError):
    """A user-supplied parameter has the wrong type (same message template as ParameterError)."""


class DamagedFileError(UserError):
    """A file genlab reads is damaged (not parseable, or without what it must hold).

    The message names the file and what is wrong with it; ``path`` is the file. Commands over
    many runs catch it to skip the damaged run with a warning and go on.
    """

    def __init__(self, path, problem: str) -> None:
        self.path = str(path)
        self.problem = problem
        super().__init__(f"The file {self.path!r} is damaged: {problem}.")


SEED_MAX = 2**32 - 1  # NumPy's and torch's generators take seeds modulo 2**32: larger ones alias


def _fmt_bound(value: float | None, low: bool) -> str:
    if value is None:
        return "-inf" if low else "inf"
    return repr(value)


def _range_text(low, high, low_open: bool, high_open: bool) -> str:
    left = "(" if (low_open or low is None) else "["
    right = ")" if (high_open or high is None) else "]"
    return f"{left}{_fmt_bound(low, True)}, {_fmt_bound(high, False)}{right}"


def describe(value: Any) -> str:
    """A short text for ``value`` in an error: ``repr`` of small values, type and shape otherwise."""
    shape = getattr(value, "shape", None)
    if shape is not None and not isinstance(value, (int, float, complex, str)):
        return f"a {type(value).__name__} of shape {tuple(shape)}"
    if hasattr(value, "named_parameters"):  # an nn.Module: its repr spans many lines
        return f"a {type(value).__name__} instance"
    text = repr(value)
    return text if len(text) <= 80 else f"a {type(value).__name__} ({text[:60]}...)"


def fail(name: str, owner: str, allowed: str, value: Any, *, got: str | None = None) -> ParameterError:
    """Build the standard error (raise the result); ``got`` replaces ``repr(value)`` in the text."""
    shown = repr(value) if got is None else got
    return ParameterError(f"The {name!r} parameter of {owner} must be {allowed}. Got {shown} instead.")


def fail_type(name: str, owner: str, allowed: str, value: Any) -> ParameterTypeError:
    """The standard error for a value of the wrong type (a ``TypeError``; raise the result)."""
    return ParameterTypeError(
        f"The {name!r} parameter of {owner} must be {allowed}. Got {describe(value)} instead."
    )


def check_int(
    value: Any,
    name: str,
    owner: str,
    *,
    low: int | None = None,
    high: int | None = None,
) -> int:
    """Return ``value`` as an int if it is an integer in ``[low, high]``."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise fail(name, owner, f"an int in the range {_range_text(low, high, False, False)}", value)
    if (low is not None and value < low) or (high is not None and value > high):
        raise fail(name, owner, f"an int in the range {_range_text(low, high, False, False)}", value)
    return int(value)


def check_float(
    value: Any,
    name: str,
    owner: str,
    *,
    low: float | None = None,
    high: float | None = None,
    low_open: bool = False,
    high_open: bool = False,
) -> float:
    """Return ``value`` as a float if it is a finite real in the given interval.

    ``inf`` is refused even where the interval is unbounded (``[0, inf)`` excludes it).
    """
    allowed = f"a float in the range {_range_text(low, high, low_open, high_open)}"
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise fail(name, owner, allowed, value)
    v = float(value)
    if not math.isfinite(v):
        raise fail(name, owner, allowed, value)
    if low is not None and (v < low or (low_open and v == low)):
        raise fail(name, owner, allowed, value)
    if high is not None and (v > high or (high_open and v == high)):
        raise fail(name, owner, allowed, value)
    return v


def check_choice(value: Any, name: str, owner: str, choices: Iterable[Any]) -> Any:
    """Return ``value`` if it is one of ``choices``."""
    choices = list(choices)
    if value not in choices:
        allowed = "one of {" + ", ".join(repr(c) for c in choices) + "}"
        raise fail(name, owner, allowed, value)
    return value


def check_bool(value: Any, name: str, owner: str) -> bool:
    """Return ``value`` as a bool if it is a ``bool`` or NumPy bool (not ``'no'``, ``0`` or ``None``)."""
    if not isinstance(value, (bool, np.bool_)):
        raise fail_type(name, owner, "a bool (True or False)", value)
    return bool(value)


def check_seed(value: Any, name: str, owner: str) -> int:
    """Return ``value`` as an int if it is a seed in ``[0, 2**32 - 1]``.

    NumPy's legacy ``RandomState`` refuses larger seeds and ``torch.Generator.manual_seed`` uses
    them modulo 2**32 in places, so 2**32 would silently give the same stream as 0.
    """
    return check_int(value, name, owner, low=0, high=SEED_MAX)
