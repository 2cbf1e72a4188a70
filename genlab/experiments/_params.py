"""Declared constraints for experiment configs (as scikit-learn's ``_parameter_constraints``).

A config field says its allowed values once, where it is declared::

    @dataclass(frozen=True)
    class DoubleDescentConfig(ExperimentConfig):
        owner: ClassVar[str] = "double-descent"
        n_train: int = param(2000, "training examples", low=10)
        widths: tuple = param((4, 8, 16), "hidden units per layer", many=True, low=1)
        label_noise: float = param(0.15, "fraction of labels redrawn", kind=float, low=0.0, high=1.0)

and :class:`ExperimentConfig` validates every declared field on creation with the project's
one error template ("The 'n_train' parameter of double-descent must be an int in the range
[10, inf). Got 3 instead."). A config adds cross-field checks in ``check()``.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any, ClassVar

from genlab._checks import ParameterError, check_bool, check_choice, check_float, check_int, fail

#: Experiments derive member seeds from the run's seeds (up to seed * 100_000 + 99_999): above
#: this a derived seed would pass 2**32 - 1, which generators take modulo 2**32.
SEED_MAX = 40_000


@dataclass(frozen=True)
class Constraint:
    """The allowed values of one config field."""

    kind: type = int  #: int, float, str or bool (of each element when ``many``)
    low: float | None = None
    high: float | None = None
    low_open: bool = False
    high_open: bool = False
    choices: tuple | None = None
    many: bool = False  #: a non-empty list of distinct values (stored as a tuple)
    includes: Any = None  #: a value the list must hold (the summary compares it)
    optional: bool = False  #: None is allowed too

    def allowed(self) -> str:
        if self.choices is not None:
            one = "one of {" + ", ".join(map(repr, self.choices)) + "}"
            text = ("a non-empty list of distinct names among {" + ", ".join(map(repr, self.choices)) + "}") if self.many else one
        elif self.kind in (int, float):
            left = "(" if self.low_open or self.low is None else "["
            right = ")" if self.high_open or self.high is None else "]"
            bounds = f"{left}{'-inf' if self.low is None else self.low}, {'inf' if self.high is None else self.high}{right}"
            name = self.kind.__name__
            text = f"a non-empty list of distinct {name}s in the range {bounds}" if self.many else f"an {name} in the range {bounds}" if name == "int" else f"a {name} in the range {bounds}"
        elif self.kind is bool:
            text = "a bool (true or false)"
        else:
            text = f"a {self.kind.__name__}"
        if self.includes is not None:
            text += f" that includes {self.includes!r}"
        if self.optional:
            text += " or null"
        return text

    def check_one(self, value, name: str, owner: str):
        if self.choices is not None:
            return check_choice(value, name, owner, self.choices)
        if self.kind is int:
            return check_int(value, name, owner, low=self.low, high=self.high)
        if self.kind is float:
            return check_float(value, name, owner, low=self.low, high=self.high, low_open=self.low_open,
                               high_open=self.high_open)
        if self.kind is bool:
            return check_bool(value, name, owner)
        if not isinstance(value, self.kind):
            raise fail(name, owner, self.allowed(), value)
        return value

    def check(self, value, name: str, owner: str):
        """``value`` validated (a tuple for ``many``); ParameterError with the template otherwise."""
        if value is None and self.optional:
            return None
        if not self.many:
            try:
                return self.check_one(value, name, owner)
            except ParameterError:
                raise fail(name, owner, self.allowed(), value) from None
        shown = list(value) if isinstance(value, tuple) else value  # as given to --set (JSON)
        if not isinstance(value, (list, tuple)) or not value:
            raise fail(name, owner, self.allowed(), shown)
        try:
            out = tuple(self.check_one(v, name, owner) for v in value)
        except ParameterError:
            raise fail(name, owner, self.allowed(), shown) from None
        if len(set(out)) != len(out) or (self.includes is not None and self.includes not in out):
            raise fail(name, owner, self.allowed(), shown)
        return out


def param(default, doc: str, *, kind: type = int, low=None, high=None, low_open: bool = False, high_open: bool = False,
          choices=None, many: bool = False, includes=None, optional: bool = False):
    """A config field with its documentation and allowed values (see the module docstring)."""
    if choices is not None:
        choices = tuple(choices)
    constraint = Constraint(kind, low, high, low_open, high_open, choices, many, includes, optional)
    return dataclasses.field(default=default, metadata={"doc": doc, "constraint": constraint})


@dataclass(frozen=True)
class ExperimentConfig:
    """Base of every experiment config: declared fields validated on creation, then ``check()``.

    ``seeds`` are the run's seeds: each is an independent replicate of the whole experiment
    (data draw, initialization, batch order), trained side by side as population members, and
    every claim is evaluated on each of them.
    """

    owner: ClassVar[str] = "experiment"
    seeds: tuple = param((0, 1, 2), "the run's seeds (independent replicates; claims are checked on each)",
                         many=True, low=0, high=SEED_MAX)

    def __post_init__(self):
        for f in dataclasses.fields(self):
            constraint = f.metadata.get("constraint")
            if constraint is not None:
                object.__setattr__(self, f.name, constraint.check(getattr(self, f.name), f.name, self.owner))
        self.check()

    def check(self) -> None:
        """Cross-field checks of a config (override; raise ParameterError)."""


def field_docs(config_cls) -> dict[str, str]:
    """Each declared field's documentation and allowed values, for ``genlab list`` and READMEs."""
    out = {}
    for f in dataclasses.fields(config_cls):
        if "doc" in f.metadata:
            out[f.name] = f"{f.metadata['doc']} ({f.metadata['constraint'].allowed()})"
    return out
