"""Assertions shared by the fault-injection tests."""


def assert_refused(result, *needles):
    """Exit 2, one line on stderr (no traceback), holding every needle."""
    code, _out, err = result
    lines = err.strip().splitlines()
    assert code == 2, result
    assert len(lines) == 1 and lines[0].startswith("genlab: error: "), err
    assert "Traceback" not in err
    for needle in needles:
        assert needle in err, (needle, err)


# A small sweep (4 runs) for the toy group function of tests/sweep/sweep_faults.py.
TOY = {"name": "toy", "base": {"n_steps": 20, "eval_every": 5, "data": {"n_samples": 300}},
       "grid": {"width": [8, 16], "seed": [0, 1]}}
