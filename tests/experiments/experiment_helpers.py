"""Helpers of the experiment tests (importable: conftest puts this folder on sys.path)."""

import json


def summary_of(run_dir) -> dict:
    return json.loads((run_dir / "summary.json").read_text())


def claim(run_dir, prefix: str) -> dict:
    """The claim of a stored run whose name starts with ``prefix`` (exactly one)."""
    found = [c for c in summary_of(run_dir)["claims"] if c["name"].startswith(prefix)]
    assert len(found) == 1, (prefix, [c["name"] for c in summary_of(run_dir)["claims"]])
    return found[0]


def check_claims_fail(claims, prefix: str) -> None:
    """Assert the claim named ``prefix...`` among ``claims`` (Claim objects) fails in every seed."""
    found = [c for c in claims if c.name.startswith(prefix)]
    assert len(found) == 1, (prefix, [c.name for c in claims])
    assert not any(found[0].holds), (found[0].name, found[0].values)
