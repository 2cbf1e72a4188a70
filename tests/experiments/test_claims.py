"""Claims and declared config constraints: verdicts that can fail, one error template."""

import math
from dataclasses import dataclass
from typing import ClassVar

import pytest

from genlab._checks import ParameterError
from genlab.experiments._claims import (
    in_band,
    peak_after_first_min,
    per_seed,
    rise_above_running_min,
    tally,
)
from genlab.experiments._params import ExperimentConfig, field_docs, param


def test_a_claim_is_a_fraction_of_seeds():
    c = in_band("x in [0, 1]", [0, 1, 2], [0.5, 1.5, math.nan], (0.0, 1.0), kind="qualitative", source="lecture")
    assert c.holds == (True, False, False)  # NaN never holds
    assert (c.n_holding, c.fraction, c.verdict) == (1, 1 / 3, "partly")
    d = c.to_dict()
    assert d["values"][2] is None and d["mean"] == 1.0 and d["n_seeds"] == 3
    assert in_band("all", [0, 1], [0.1, 0.2], (0, 1), kind="published", source="Fig 1", published=0.15).verdict == "holds"
    assert per_seed("none", [0, 1], [1, 2], [False, False], kind="reference", source="genlab run").verdict == "fails"


def test_claims_say_what_their_reference_is():
    with pytest.raises(ValueError, match="kind"):
        in_band("x", [0], [1], (0, 2), kind="folklore", source="x")
    with pytest.raises(ValueError, match="source"):
        in_band("x", [0], [1], (0, 2), kind="published", source="")


def test_tally_counts_kinds_separately():
    claims = [in_band("a", [0, 1], [1, 1], (0, 2), kind="published", source="T1").to_dict(),
              in_band("b", [0, 1], [1, 3], (0, 2), kind="qualitative", source="lecture").to_dict(),
              in_band("c", [0, 1], [1, 1], (0, 2), kind="reference", source="genlab").to_dict()]
    t = tally(claims)
    assert (t["n"], t["all_seeds"], t["partly"], t["fails"]) == (3, 2, 1, 0)
    assert t["published"] == {"n": 1, "all_seeds": 1} and t["qualitative"] == {"n": 1, "all_seeds": 0}
    assert t["reference"] == {"n": 1, "all_seeds": 1}


def test_curve_shapes():
    assert rise_above_running_min([5, 4, 3, 2]) == 0.0
    assert rise_above_running_min([5, 3, 4, 2, 2.5]) == 1.0
    x = [1, 2, 3, 4, 5, 6]
    assert peak_after_first_min(x, [9, 5, 8, 7, 4, 3], 3) == (2.0, 3.0, 3.0)
    assert peak_after_first_min(x, [9, 8, 7, 6, 5, 4], 3)[2] == 0.0  # no peak: no rise


@dataclass(frozen=True)
class Toy(ExperimentConfig):
    owner: ClassVar[str] = "toy"
    n: int = param(3, "a count", low=1)
    rate: float = param(0.5, "a rate", kind=float, low=0.0, high=1.0, low_open=True)
    names: tuple = param(("a",), "names", kind=str, many=True, choices=("a", "b"))
    ks: tuple = param((4, 5), "values of K", many=True, low=0, includes=4)
    batch: int | None = param(None, "batch size", low=1, optional=True)

    def check(self):
        if self.n > 10 and self.rate > 0.9:
            raise ParameterError("The 'rate' parameter of toy must be at most 0.9 when n > 10.")


@pytest.mark.parametrize(("kwargs", "message"), [
    ({"n": 0}, "The 'n' parameter of toy must be an int in the range [1, inf). Got 0 instead."),
    ({"n": True}, "The 'n' parameter of toy must be an int in the range [1, inf). Got True instead."),
    ({"rate": 0.0}, "The 'rate' parameter of toy must be a float in the range (0.0, 1.0]. Got 0.0 instead."),
    ({"rate": "x"}, "'rate' parameter of toy must be a float"),
    ({"names": ("c",)}, "The 'names' parameter of toy must be a non-empty list of distinct names among {'a', 'b'}. Got ['c'] instead."),
    ({"names": "a"}, "Got 'a' instead."),
    ({"ks": (5, 6)}, "a non-empty list of distinct ints in the range [0, inf) that includes 4. Got [5, 6] instead."),
    ({"ks": (4, 4)}, "Got [4, 4] instead."),
    ({"batch": 0}, "The 'batch' parameter of toy must be an int in the range [1, inf) or null. Got 0 instead."),
    ({"seeds": ()}, "The 'seeds' parameter of toy must be a non-empty list of distinct ints in the range [0, 40000]."),
    ({"seeds": (40001,)}, "'seeds' parameter of toy"),
    ({"n": 11, "rate": 0.95}, "at most 0.9 when n > 10"),
])
def test_declared_constraints_give_one_error_template(kwargs, message):
    with pytest.raises(ParameterError) as exc:
        Toy(**kwargs)
    assert message in str(exc.value)


def test_declared_constraints_normalize_and_document():
    t = Toy(names=["b", "a"], ks=[4], seeds=[3, 1], batch=8)
    assert t.names == ("b", "a") and t.ks == (4,) and t.seeds == (3, 1) and t.batch == 8
    docs = field_docs(Toy)
    assert docs["n"] == "a count (an int in the range [1, inf))" and "seeds" in docs
