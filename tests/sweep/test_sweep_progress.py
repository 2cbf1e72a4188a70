"""Progress of a running sweep: work counted inside tasks reaches the driver, the estimate and its
time left come from that work, the output suits a terminal or a log, and results do not change."""

import io

import pytest
from sweep_training import idle_task, training_task

from genlab import _progress
from genlab.sweep import Sweep, Task, TaskSweep, open_store, run_sweep
from genlab.sweep._progress import ProgressDisplay, WorkEstimate, human_interval


class Clock:
    def __init__(self) -> None:
        self.t = 100.0

    def __call__(self) -> float:
        return self.t


def test_estimate_weighs_tasks_by_their_work_not_their_count():
    clock = Clock()
    e = WorkEstimate(["big", "small"], clock=clock)
    e.started("big"), e.started("small")
    e.report({"task": "big", "work": 0.0, "work_total": 90.0})
    e.report({"task": "small", "work": 0.0, "work_total": 10.0})
    e.finished("small", {"task": "small", "work": 10.0, "work_total": 10.0})
    assert e.counts() == (1, 1, 2)
    assert e.fraction() == pytest.approx(0.1)  # half the tasks, a tenth of the work
    e.report({"task": "big", "work": 45.0, "work_total": 90.0})
    assert e.fraction() == pytest.approx(0.55)
    e.report({"task": "elsewhere", "work": 1e9, "work_total": 1e9})  # another sweep's task: ignored
    assert e.fraction() == pytest.approx(0.55)


def test_estimate_weighs_tasks_not_started_by_the_declared_work_or_the_mean():
    declared = WorkEstimate(["a", "b", "c"], declared=400.0, clock=Clock())
    declared.started("a")
    declared.report({"task": "a", "work": 100.0, "work_total": 200.0})
    # b and c share what the declaration leaves: 100 each; a is half done -> 100 of 400.
    assert declared.fraction() == pytest.approx(0.25)
    undeclared = WorkEstimate(["a", "b", "c"], clock=Clock())
    undeclared.started("a")
    undeclared.report({"task": "a", "work": 100.0, "work_total": 200.0})
    assert undeclared.fraction() == pytest.approx(100 / 600)  # b and c weigh as much as a
    # Tasks that report no work (no training inside) count one each.
    plain = WorkEstimate(["a", "b", "c", "d"], clock=Clock())
    plain.started("a"), plain.finished("a")
    assert plain.fraction() == pytest.approx(0.25)


def test_eta_comes_from_the_rate_of_measured_work():
    clock = Clock()
    e = WorkEstimate(["a", "b"], declared=1000.0, window=60.0, clock=clock)
    assert e.eta() is None  # nothing measured yet
    e.started("a"), e.started("b")
    for second in range(1, 31):  # 10 units of work a second
        clock.t += 1
        e.report({"task": "a", "work": 10.0 * second, "work_total": 900.0})
        e.sample()
    assert e.fraction() == pytest.approx(0.3)
    assert e.eta() == pytest.approx(70.0)  # 700 left at 10 a second
    # Half as fast from now on (one worker left): after a full window the estimate follows.
    for second in range(1, 61):
        clock.t += 1
        e.report({"task": "a", "work": 300.0 + 5.0 * second, "work_total": 900.0})
        e.sample()
    assert e.fraction() == pytest.approx(0.6)
    assert e.eta() == pytest.approx(80.0, rel=0.05)  # 400 left at 5 a second
    # A stall longer than the window: the rate since the start, not "unknown".
    clock.t += 120
    e.sample()
    assert e.eta() == pytest.approx(0.4 * (clock.t - 100.0) / 0.6)
    # A retried task starts over.
    e.started("a")
    assert e.fraction() == 0.0


def test_task_progress_sends_a_few_messages_a_second_and_the_last_one():
    clock, sent = Clock(), []
    p = _progress.TaskProgress("t", sent.append, every=0.5, clock=clock)
    p.begin(1000, 6000.0)
    for _ in range(1000):  # 1000 steps in 2 s
        clock.t += 0.002
        p.advance(1, 6.0)
    p.flush()
    assert 4 <= len(sent) <= 7  # begin, one every 0.5 s, the flush
    assert sent[0] == {"task": "t", "steps": 0, "steps_total": 1000, "work": 0.0, "work_total": 6000.0}
    assert sent[-1]["steps"] == 1000 and sent[-1]["work"] == pytest.approx(6000.0)


def test_train_many_counts_its_steps_and_work_into_the_task():
    sent = []
    with _progress.sink(sent.append), _progress.task_progress("t") as p:
        out = training_task(n_steps=100, width=16, seeds=[0, 1], calls=2)
    assert (p.steps, p.steps_total) == (200, 200)
    # 6 x parameters x batch per step, plus one evaluation of 2 x parameters x rows every eval_every steps
    n_params = out.values["n_params"]  # both members of one call
    assert p.work_total == pytest.approx(2 * 100 * n_params * (6 * 32 + 2 * 356 / 100))
    assert p.work == pytest.approx(p.work_total)
    assert sent[-1] == p.message()
    assert _progress.current() is None


def _sweep(**kwargs) -> TaskSweep:
    return TaskSweep("progress", (Task(training_task, {"n_steps": 400, "width": 32, "seeds": [0, 1], **kwargs},
                                       label="train"),))


@pytest.mark.parametrize("backend", ["serial", "local"])
def test_in_task_progress_reaches_the_driver_before_the_task_ends(tmp_path, monkeypatch, backend):
    seen = []
    report = WorkEstimate.report

    def spy(self, message):
        seen.append((message["work"], message["work_total"], self.counts()[0]))
        report(self, message)

    monkeypatch.setattr(WorkEstimate, "report", spy)
    rep = run_sweep(_sweep(at_least_s=2.0), tmp_path, backend=backend, echo=None, progress=True)
    assert rep.n_done == 1
    during = [(w, total) for w, total, n_done in seen if n_done == 0 and 0 < w < total]
    assert len(during) >= 2, seen  # the work moved, twice at least, while the only task ran


def test_results_are_the_same_with_progress_on_and_off(tmp_path):
    mlp = Sweep(name="mlp", base={"n_steps": 30, "eval_every": 10, "n_train": 200},
                grid={"width": [8, 16], "seed": [0, 1]})
    stored = {}
    for backend, progress in (("serial", False), ("serial", True), ("local", True)):
        for name, sweep in (("tasks", _sweep(n_steps=50, calls=2)), ("mlp", mlp)):
            out = tmp_path / f"{name}-{backend}-{progress}"
            run_sweep(sweep, out, backend=backend, echo=None, progress=progress)
            with open_store(out) as s:
                runs = s.runs(flatten=False).set_index("id").sort_index()
                outputs = [s.task_output(i) for i in runs.index] if name == "tasks" else []
                metrics = s.metrics().sort_values(["run_id", "step", "split", "metric"]).reset_index(drop=True)
            weights = {p.name: p.read_bytes() for p in sorted((out / "weights").glob("*"))}
            stored[name, backend, progress] = (runs.final.tolist(), metrics, weights,
                                               [(o.records, o.values, o.blob) for o in outputs])
    for name in ("tasks", "mlp"):
        ref = stored[name, "serial", False]
        assert ref[2] or ref[3][0][2], "weights were saved"
        for key in [k for k in stored if k[0] == name]:
            got = stored[key]
            assert got[0] == ref[0] and got[2] == ref[2] and got[3] == ref[3], key
            assert got[1].equals(ref[1]), key


def test_display_on_a_terminal_off_and_in_a_log():
    class Tty(io.StringIO):
        def isatty(self):
            return True

    clock = Clock()
    e = WorkEstimate([f"t{i}" for i in range(3)], clock=clock)
    off = ProgressDisplay("dd", e, enabled=False, stream=io.StringIO())
    assert off.mode is None
    log = io.StringIO()
    lines = ProgressDisplay("dd", e, enabled=True, stream=log, line_every=30.0)
    tty = Tty()
    bar = ProgressDisplay("dd", e, enabled=True, stream=tty)
    assert (lines.mode, bar.mode) == ("lines", "bar")
    e.started("t0")
    for second in range(1, 91):
        clock.t += 1
        e.report({"task": "t0", "work": 10.0 * second, "work_total": 900.0})
        for d in (off, lines, bar):
            d.refresh()
    text = log.getvalue().splitlines()
    assert len(text) == 3, text  # one plain line every 30 s, not one per update
    assert text[0] == "dd: 11% of the work done, 0/3 tasks, 1 running · 0:30 elapsed, about 4:00 left"
    assert "33%" in tty.getvalue() and "about 3:00 left" in tty.getvalue()
    bar.close()


def test_human_interval():
    assert [human_interval(s) for s in (None, 0, 59.6, 61, 3725)] == ["?", "0:00", "1:00", "1:01", "1:02:05"]


def test_tasks_that_do_not_train_still_count(tmp_path):
    sweep = TaskSweep("idle", tuple(Task(idle_task, {"seconds": 0.01 * i}) for i in range(3)))
    rep = run_sweep(sweep, tmp_path, backend="serial", echo=None, progress=True)
    assert rep.n_done == 3


def test_reproduce_time_left_comes_from_recorded_times_scaled_to_this_machine():
    from genlab.report._reproduce import _time_left

    recorded = {"a": 10.0, "b": 100.0, "c": 20.0}
    # 'a' took twice its recorded time here: b and c should too; d has no record (the mean, 20 s).
    assert _time_left(["a", "b", "c", "d"], ["a"], [20.0], recorded) == pytest.approx(200 + 40 + 20)
