"""The results store of a sweep directory: one SQLite database in WAL mode, weights beside it.

Layout of ``DIR``::

    runs.sqlite        runs (id, config, status, timings, error, final metrics) + tidy metrics;
                       generic tasks' tidy rows in ``records`` (one JSON object per row)
    weights/<id>.pt    state dicts (a task's bytes), written atomically before the run's row
    sweep.lock         held (flock) by the one driver that writes; holds its PID
    tensorboard/<id>/  optional event files

Only the driver writes, one ``BEGIN IMMEDIATE ... COMMIT`` per finished group, so a crash leaves
every group either fully committed or absent (measured in shared/reference/distributed.md §3:
5 SIGKILLs mid-write, 0 partial runs). ``synchronous=FULL`` also survives power loss.
WAL needs a local disk: keep ``DIR`` off NFS/Lustre (workers never touch it).
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import sqlite3
import time
from collections.abc import Callable
from pathlib import Path

import pandas as pd

from genlab._checks import DamagedFileError, UserError
from genlab._io import atomic_path, remove_stale_temps

DB_NAME = "runs.sqlite"
LOCK_NAME = "sweep.lock"

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS runs (
    id TEXT PRIMARY KEY,
    sweep TEXT NOT NULL,
    grp TEXT NOT NULL,
    config TEXT NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('done', 'failed')),
    attempts INTEGER NOT NULL,
    started REAL,
    finished REAL,
    wall_s REAL,
    worker TEXT,
    error TEXT,
    diverged INTEGER,
    final TEXT,
    weights TEXT
);
CREATE TABLE IF NOT EXISTS metrics (
    run_id TEXT NOT NULL REFERENCES runs(id),
    step INTEGER NOT NULL,
    split TEXT NOT NULL,
    metric TEXT NOT NULL,
    value REAL,
    PRIMARY KEY (run_id, step, split, metric)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS records (
    run_id TEXT NOT NULL REFERENCES runs(id),
    seq INTEGER NOT NULL,
    data TEXT NOT NULL,
    PRIMARY KEY (run_id, seq)
) WITHOUT ROWID;
"""


# The tables and columns a store must have (``records`` came later: an older store may lack it).
_REQUIRED = {
    "runs": {"id", "sweep", "grp", "config", "status", "attempts", "started", "finished", "wall_s",
             "worker", "error", "diverged", "final", "weights"},
    "metrics": {"run_id", "step", "split", "metric", "value"},
}


def _check_schema(con: sqlite3.Connection, db_path: Path, *, empty_ok: bool) -> None:
    """Refuse (DamagedFileError) a file that is not an SQLite database or lacks the store's tables.

    ``empty_ok``: a database with no table at all (a new or zero-byte file) is fine; the driver
    creates the schema in it."""
    try:
        tables = {name for (name,) in con.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
        if not tables and empty_ok:
            return
        for table, columns in _REQUIRED.items():
            if table not in tables:
                what = "it holds no table" if not tables else f"it has no {table!r} table"
                raise DamagedFileError(db_path, f"{what}; it is not a genlab sweep store")
            have = {row[1] for row in con.execute(f"PRAGMA table_info({table})")}
            if not columns <= have:
                raise DamagedFileError(db_path, f"its {table!r} table lacks the column {sorted(columns - have)[0]!r}")
    except sqlite3.DatabaseError as exc:
        raise DamagedFileError(db_path, f"it is not a readable SQLite database ({exc})") from None


def _connect(path: Path, readonly: bool = False) -> sqlite3.Connection:
    if readonly:
        con = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=30, isolation_level=None)
    else:
        con = sqlite3.connect(path, timeout=30, isolation_level=None)  # explicit transactions
        con.execute("PRAGMA journal_mode=WAL")
        con.execute("PRAGMA synchronous=FULL")
    con.execute("PRAGMA busy_timeout=30000")
    return con


class SweepLock:
    """An exclusive ``flock`` on ``DIR/sweep.lock``; the kernel drops it when the holder dies,
    so a stale lock from a killed driver never blocks (the PID in the file is only for the
    message)."""

    def __init__(self, directory: Path) -> None:
        self.path = Path(directory) / LOCK_NAME
        self._fd: int | None = None

    def acquire(self) -> None:
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.pread(fd, 64, 0).decode(errors="replace").strip() or "unknown"
            os.close(fd)
            raise UserError(
                f"Another genlab process (pid {holder}) is writing to {str(self.path.parent)!r}; "
                "wait for it to finish (it resumes the same runs) or choose another --out."
            ) from None
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)
        self._fd = fd

    def release(self) -> None:
        if self._fd is not None:
            os.ftruncate(self._fd, 0)
            fcntl.flock(self._fd, fcntl.LOCK_UN)
            os.close(self._fd)
            self._fd = None

    def __enter__(self) -> SweepLock:
        self.acquire()
        return self

    def __exit__(self, *exc) -> None:
        self.release()


class Store:
    """Read and (from the one driver holding the lock) write a sweep directory's results.

    Parameters
    ----------
    directory : path
        The sweep directory; created when ``create`` is true.
    create : bool
        Create the directory and the database if missing (the driver); readers pass False.
    """

    def __init__(self, directory: str | os.PathLike, *, create: bool = False) -> None:
        self.dir = Path(directory)
        self.db_path = self.dir / DB_NAME
        if create:
            self.dir.mkdir(parents=True, exist_ok=True)
            (self.dir / "weights").mkdir(exist_ok=True)
            remove_stale_temps(self.dir / "weights")  # weights of a killed driver (this one holds the lock)
            try:
                self.con = _connect(self.db_path)
                _check_schema(self.con, self.db_path, empty_ok=True)
                self.con.executescript(_SCHEMA)
            except sqlite3.DatabaseError as exc:
                raise DamagedFileError(self.db_path, f"it is not a readable SQLite database ({exc})") from None
        else:
            if not self.db_path.is_file():
                raise UserError(f"No sweep results in {str(self.dir)!r} (no {DB_NAME}); run `genlab sweep ... --out {self.dir}` first.")
            self.con = _connect(self.db_path, readonly=True)
            _check_schema(self.con, self.db_path, empty_ok=False)
        self.commit_s = 0.0  # time spent committing, for the store-overhead figure

    def close(self) -> None:
        self.con.close()

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    # -- writing (driver only) ------------------------------------------------------------------
    def set_meta(self, **items) -> None:
        with self._transaction():
            self.con.executemany("INSERT OR REPLACE INTO meta VALUES (?, ?)",
                                 [(k, json.dumps(v)) for k, v in items.items()])

    @contextlib.contextmanager
    def _transaction(self):
        self.con.execute("BEGIN IMMEDIATE")
        try:
            yield
        except BaseException:
            self.con.execute("ROLLBACK")
            raise
        self.con.execute("COMMIT")

    def commit_group(self, sweep: str, runs: list, result=None, *, attempts: int, error: str | None = None) -> None:
        """Commit one finished group: ``runs`` are :class:`Run`; ``result`` a GroupResult or None
        with ``error`` for a group that failed for good. Replaces earlier rows of the same runs."""
        t0 = time.perf_counter()
        outputs = {o.id: o for o in result.runs} if result is not None else {}
        weight_paths = {}
        for rid, out in outputs.items():
            if out.weights is not None:
                target = self.dir / "weights" / f"{rid}.pt"
                with atomic_path(target) as tmp:
                    with open(tmp, "wb") as f:
                        f.write(out.weights)
                        f.flush()
                        os.fsync(f.fileno())
                weight_paths[rid] = f"weights/{rid}.pt"
        finished = time.time()
        with self._transaction():
            for run in runs:
                self.con.execute("DELETE FROM metrics WHERE run_id = ?", (run.id,))
                self.con.execute("DELETE FROM records WHERE run_id = ?", (run.id,))
                out = outputs.get(run.id)
                ok = out is not None
                status = "done" if ok else "failed"
                err = None if ok else (error or "the group returned no result for this run")
                self.con.execute(
                    "INSERT OR REPLACE INTO runs VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
                    (run.id, sweep, run.group, json.dumps(run.config, sort_keys=True), status, attempts,
                     result.started if result else None, finished, result.wall_s if result else None,
                     result.worker if result else None, err, int(out.diverged) if ok else None,
                     json.dumps(out.final) if ok else None, weight_paths.get(run.id)),
                )
                if ok:
                    self.con.executemany("INSERT INTO metrics VALUES (?,?,?,?,?)",
                                         [(run.id, *row) for row in out.metrics])
                    self.con.executemany("INSERT INTO records VALUES (?,?,?)",
                                         [(run.id, k, json.dumps(row)) for k, row in enumerate(getattr(out, "records", None) or [])])
        self.commit_s += time.perf_counter() - t0

    # -- reading --------------------------------------------------------------------------------
    @contextlib.contextmanager
    def _reading(self):
        """Turn a database error while reading (a page damaged since it was opened) into one line."""
        try:
            yield
        except sqlite3.DatabaseError as exc:
            raise DamagedFileError(self.db_path, f"reading it failed ({exc})") from None

    def _json(self, text, what: str, kind: type = dict):
        """A stored JSON value (``what`` names it), or a DamagedFileError naming it."""
        try:
            value = json.loads(text)
        except (TypeError, json.JSONDecodeError):
            raise DamagedFileError(self.db_path, f"{what} is not JSON") from None
        if not isinstance(value, kind):
            raise DamagedFileError(self.db_path, f"{what} is not a JSON {'object' if kind is dict else kind.__name__}")
        return value

    def done_ids(self) -> set[str]:
        with self._reading():
            return {r[0] for r in self.con.execute("SELECT id FROM runs WHERE status = 'done'")}

    def meta(self) -> dict:
        with self._reading():
            rows = self.con.execute("SELECT key, value FROM meta").fetchall()
        return {k: self._json(v, f"meta value {k!r}", object) for k, v in rows}

    def runs(self, *, flatten: bool = True, on_damaged: Callable[[str, str], None] | None = None) -> pd.DataFrame:
        """One row per run: id, status, timings, error, final metrics (``test/error`` ...) and,
        with ``flatten``, one column per configuration key (``data`` stays JSON).

        A run whose stored configuration or final metrics are not JSON objects is damaged: it
        raises a DamagedFileError, or, with ``on_damaged(run_id, problem)``, is reported there and
        left out (commands over many runs go on)."""
        with self._reading():
            df = pd.read_sql_query("SELECT * FROM runs ORDER BY sweep, grp, id", self.con)
        bad = []
        for i, rid, config, final in zip(df.index, df.id, df.config, df.final):
            try:
                self._json(config, f"run {rid}'s config")
                if isinstance(final, str) or not pd.isna(final):  # NULL (None, or NaN) for a failed run
                    self._json(final, f"run {rid}'s final metrics")
            except DamagedFileError as exc:
                if on_damaged is None:
                    raise
                on_damaged(rid, exc.problem)
                bad.append(i)
        df = df.drop(index=bad).reset_index(drop=True)
        if df.empty or not flatten:
            return df
        finals = pd.DataFrame([json.loads(f) if isinstance(f, str) else {} for f in df.final], index=df.index)
        configs = pd.DataFrame([json.loads(c) for c in df.config], index=df.index)
        for col in configs.columns:  # nested values (data options, betas, a task's kwargs) stay JSON
            if any(isinstance(v, (dict, list)) for v in configs[col]):
                configs[col] = [json.dumps(v, sort_keys=True) for v in configs[col]]
        return pd.concat([df.drop(columns=["config", "final"]), finals, configs], axis=1)

    def metrics(self, run_id: str | None = None) -> pd.DataFrame:
        """The tidy per-step table ``run_id, step, split, metric, value``."""
        q, args = "SELECT * FROM metrics", ()
        if run_id is not None:
            q, args = q + " WHERE run_id = ?", (run_id,)
        with self._reading():
            return pd.read_sql_query(q + " ORDER BY run_id, step, split, metric", self.con, params=args)

    def records(self, run_id: str | None = None) -> pd.DataFrame:
        """Generic tasks' tidy rows: ``run_id``, ``seq`` and one column per record key."""
        q, args = "SELECT run_id, seq, data FROM records", ()
        if run_id is not None:
            q, args = q + " WHERE run_id = ?", (run_id,)
        if not self._has_records():
            return pd.DataFrame()
        with self._reading():
            rows = self.con.execute(q + " ORDER BY run_id, seq", args).fetchall()
        return pd.DataFrame([{"run_id": r, "seq": k, **self._json(d, f"run {r}'s record {k}")} for r, k, d in rows])

    def _has_records(self) -> bool:
        with self._reading():
            return self.con.execute("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'records'").fetchone() is not None

    def task_output(self, run_id: str):
        """The :class:`genlab.sweep.TaskOutput` a finished task committed (records, values, bytes)."""
        from genlab.sweep._tasks import TaskOutput

        with self._reading():
            row = self.con.execute("SELECT status, final, weights FROM runs WHERE id = ?", (run_id,)).fetchone()
            if row is None or row[0] != "done":
                raise KeyError(f"task {run_id} is not done in {str(self.dir)!r}")
            data = self.con.execute("SELECT seq, data FROM records WHERE run_id = ? ORDER BY seq", (run_id,)).fetchall()
        records = [self._json(d, f"task {run_id}'s record {k}") for k, d in data]
        blob = None
        if row[2]:
            try:
                blob = (self.dir / row[2]).read_bytes()
            except OSError as exc:
                raise DamagedFileError(self.dir / row[2], f"task {run_id}'s stored bytes cannot be read ({exc.strerror or exc})") from None
        return TaskOutput(records, self._json(row[1], f"task {run_id}'s values") if row[1] else {}, blob)

    def to_arrow(self):
        """``(runs, metrics)`` as Arrow tables (needs pyarrow)."""
        import pyarrow as pa

        return pa.Table.from_pandas(self.runs(), preserve_index=False), pa.Table.from_pandas(self.metrics(), preserve_index=False)

    def find(self, prefix: str) -> str:
        """The run id starting with ``prefix`` (unique), else a UserError. A plain prefix compare:
        ``%`` and ``_`` are characters here, not ``LIKE`` wildcards."""
        with self._reading():
            ids = [r[0] for r in self.con.execute("SELECT id FROM runs WHERE substr(id, 1, ?) = ?", (len(prefix), prefix))]
        if len(ids) != 1:
            what = "no run" if not ids else f"{len(ids)} runs"
            raise UserError(f"{what} in {str(self.dir)!r} with an id starting with {prefix!r}; see `genlab runs ls {self.dir}`.")
        return ids[0]

    def integrity(self) -> str:
        with self._reading():
            return self.con.execute("PRAGMA integrity_check").fetchone()[0]


def open_store(directory: str | os.PathLike) -> Store:
    """Open a sweep directory's results for reading (safe while a sweep is writing)."""
    return Store(directory)
