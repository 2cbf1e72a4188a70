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


class UserError(Exception):
    """An error caused by the user's input; the CLI prints it as one line and exits with 2."""


class ParameterError(UserError, ValueError):
    """A user-supplied parameter is outside its allowed values."""


def _fmt_bound(value: float | None, low: bool) -> str:
    if value is None:
        return "-inf" if low else "inf"
    return repr(value)


def _range_text(low, high, low_open: bool, high_open: bool) -> str:
    left = "(" if (low_open or low is None) else "["
    right = ")" if (high_open or high is None) else "]"
    return f"{left}{_fmt_bound(low, True)}, {_fmt_bound(high, False)}{right}"


def fail(name: str, owner: str, allowed: str, value: Any) -> ParameterError:
    """Build the standard error (raise the result)."""
    return ParameterError(
        f"The {name!r} parameter of {owner} must be {allowed}. Got {value!r} instead."
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
    """Return ``value`` as a float if it is a finite real in the given interval."""
    allowed = f"a float in the range {_range_text(low, high, low_open, high_open)}"
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise fail(name, owner, allowed, value)
    v = float(value)
    if math.isnan(v):
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
