"""The generic task kind: importable functions and their arguments, run and committed as groups."""

import math
import os

import pytest
from sweep_faults import power_task, wrong_type_task

from genlab._checks import ParameterError
from genlab.sweep import Task, TaskSweep, open_store, run_sweep, start_forkserver

TASKS = TaskSweep("powers", tuple(Task(power_task, {"x": x, "p": 3}, label=f"x={x}") for x in (0.5, 1.5, 2.0, 3.0)))


def _outputs(path, sweep):
    with open_store(path) as s:
        assert s.integrity() == "ok"
        return [s.task_output(t.id) for t in sweep.tasks], s.records(), s.runs()


def test_tasks_are_committed_read_back_and_resumed(tmp_path, monkeypatch):
    monkeypatch.setenv("SWEEP_MARKERS", str(tmp_path))
    rep = run_sweep(TASKS, tmp_path / "s", backend="serial", echo=None, progress=False)
    assert (rep.n_runs, rep.n_groups, rep.n_done, rep.n_failed) == (4, 4, 4, 0)
    assert (tmp_path / "calls").read_text() == "0.5,1.5,2.0,3.0,"
    monkeypatch.delenv("SWEEP_MARKERS")
    outs, records, runs = _outputs(tmp_path / "s", TASKS)
    for task, out in zip(TASKS.tasks, outs):
        direct = power_task(**task.kwargs)  # what the function returns, read back unchanged
        assert out.records == direct.records and out.blob == direct.blob
        assert out.values["power"] == direct.values["power"] and math.isnan(out.values["nan"])
    assert len(records) == 16 and list(records.columns) == ["run_id", "seq", "x", "k", "value"]
    assert set(runs.label) == {"x=0.5", "x=1.5", "x=2.0", "x=3.0"}
    # Ids come from the function and its arguments: the same tasks again run nothing; one more runs once.
    more = TaskSweep("powers", TASKS.tasks + (Task(power_task, {"x": 4.0, "p": 3}, label="new"),
                                              Task(power_task, {"p": 3, "x": 0.5}, label="same as the first")))
    monkeypatch.setenv("SWEEP_MARKERS", str(tmp_path))
    rep = run_sweep(more, tmp_path / "s", backend="serial", echo=None, progress=False)
    assert (rep.n_runs, rep.n_skipped, rep.n_done) == (5, 4, 1)
    assert (tmp_path / "calls").read_text() == "0.5,1.5,2.0,3.0,4.0,"  # only the new one ran


def test_local_backend_runs_tasks_like_serial(tmp_path, monkeypatch):
    run_sweep(TASKS, tmp_path / "serial", backend="serial", echo=None, progress=False)
    start_forkserver()  # started before the variable is set: workers still see the driver's environment
    monkeypatch.setenv("SWEEP_MARKERS", str(tmp_path))
    rep = run_sweep(TASKS, tmp_path / "local", backend="local", workers=2, echo=None, progress=False)
    assert rep.n_done == 4 and rep.backend == "local"
    assert sorted((tmp_path / "calls").read_text().split(",")) == ["", "0.5", "1.5", "2.0", "3.0"]
    a, ra, runs = _outputs(tmp_path / "local", TASKS)
    b, rb, _ = _outputs(tmp_path / "serial", TASKS)
    assert [o.records for o in a] == [o.records for o in b] and [o.blob for o in a] == [o.blob for o in b]
    assert not runs.worker.str.endswith(f":{os.getpid()}").any()  # worker processes, not the driver


def test_a_task_returning_the_wrong_type_fails_with_its_reason(tmp_path):
    sweep = TaskSweep("bad", (Task(wrong_type_task, {"x": 1}), Task(power_task, {"x": 2.0})))
    rep = run_sweep(sweep, tmp_path, backend="serial", retries=0, echo=None, progress=False)
    assert (rep.n_done, rep.n_failed) == (1, 1)
    with open_store(tmp_path) as s:
        runs = s.runs(flatten=False).set_index("id")
        assert "returned dict, not TaskOutput" in runs.loc[sweep.tasks[0].id, "error"]


def test_bad_tasks_are_refused_before_any_work(tmp_path):
    with pytest.raises(ParameterError, match="top-level function of an importable module"):
        TaskSweep("x", (Task(lambda: None),))
    with pytest.raises(ParameterError, match="JSON values only"):
        TaskSweep("x", (Task(power_task, {"x": object()}),))
    with pytest.raises(ParameterError, match="non-empty list of Task"):
        TaskSweep("x", ())
    assert not (tmp_path / "x").exists()


def test_runs_ls_and_show_a_task_store(tmp_path, capsys):
    from genlab.cli import main

    run_sweep(TASKS, tmp_path, backend="serial", echo=None, progress=False)
    for args in (["runs", "ls", str(tmp_path)], ["runs", "show", str(tmp_path), TASKS.tasks[1].id[:8]]):
        with pytest.raises(SystemExit) as exc:
            main(args)
        assert exc.value.code == 0
    ls, show = capsys.readouterr().out.split("4 done, 0 failed")
    assert "label" in ls and "x=1.5" in ls
    assert "power        3.375" in show and "records: 4" in show and '"fn": "sweep_faults:power_task"' in show
