"""Small file helpers shared by the CLI and the library: atomic writes, checked reads, checked
output paths.

Reading: every file genlab reads back (a run's ``summary.json``, ``config.json``,
``metrics.csv``, a model index, a sweep file) goes through :func:`read_json`, :func:`read_text`
or :func:`read_csv`, which turn any damage (not UTF-8, not JSON, the wrong shape, missing
columns) into one :class:`~genlab._checks.DamagedFileError` naming the file and the problem.

Writing: :func:`atomic_path` writes beside the target and renames, so a reader never sees half
a file; a temporary file left by a killed writer is removed by the next write of the same
target (or by :func:`remove_stale_temps` on its folder).
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import secrets
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Any

from genlab._checks import DamagedFileError, ParameterError

# Temporary files are named ".<target name>.<pid>-<random>.genlab-tmp<suffix>": the PID tells a
# leftover of a dead writer (removable) from the file of a writer still at work (kept).
_TMP_MARK = ".genlab-tmp"
_TMP_RE = re.compile(r"^\.(?P<target>.+)\.(?P<pid>\d+)-[0-9a-f]+" + re.escape(_TMP_MARK) + r"(\.[^/]*)?$")


def check_writable_file(path: str | os.PathLike, name: str = "--out", owner: str = "genlab") -> Path:
    """Return ``path`` as a Path if a file can be created there, else raise ParameterError."""
    p = Path(path)
    parent = p.parent if str(p.parent) else Path(".")
    if p.is_dir():
        raise ParameterError(
            f"The {name!r} parameter of {owner} must be a writable file path. "
            f"Got {str(path)!r} instead (it is a directory)."
        )
    if not parent.is_dir() or not os.access(parent, os.W_OK):
        raise ParameterError(
            f"The {name!r} parameter of {owner} must be a writable file path. "
            f"Got {str(path)!r} instead (directory {str(parent)!r} does not exist or is not writable)."
        )
    return p


def _pid_alive(pid: int) -> bool:
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # alive, another user's
        return True
    return True


def remove_stale_temps(folder: str | os.PathLike, target: str | None = None) -> list[Path]:
    """Remove the temporary files in ``folder`` that a killed :func:`atomic_path` left behind
    (those whose writer's PID is gone), only those for ``target`` (a file name) if given."""
    removed = []
    try:
        entries = list(os.scandir(folder))
    except OSError:
        return removed
    for entry in entries:
        m = _TMP_RE.match(entry.name)
        if m is None or (target is not None and m["target"] != target) or _pid_alive(int(m["pid"])):
            continue
        with contextlib.suppress(OSError):
            os.unlink(entry.path)
            removed.append(Path(entry.path))
    return removed


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike) -> Iterator[Path]:
    """Yield a temporary path beside ``path``; move it into place only if the block succeeds.

    A crash or Ctrl-C inside the block leaves no partial file behind (a SIGKILL leaves the
    temporary file, which the next write of the same target removes). The file gets the usual
    mode (0666 less the umask, 0644 mostly), not ``mkstemp``'s 0600.
    """
    target = Path(path)
    folder = target.parent if str(target.parent) else Path(".")
    remove_stale_temps(folder, target.name)
    # The real suffix last: matplotlib and pandas pick the format from it.
    tmp_path = folder / f".{target.name}.{os.getpid()}-{secrets.token_hex(4)}{_TMP_MARK}{target.suffix}"
    os.close(os.open(tmp_path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666))  # the umask applies
    try:
        yield tmp_path
        os.replace(tmp_path, target)
    finally:
        with contextlib.suppress(FileNotFoundError):
            tmp_path.unlink()


def write_text(path: str | os.PathLike, text: str) -> None:
    """Write ``text`` (UTF-8) to ``path`` atomically."""
    with atomic_path(path) as tmp:
        tmp.write_text(text, encoding="utf-8")


def read_text(path: str | os.PathLike) -> str:
    """The UTF-8 text of ``path``; a DamagedFileError if it is not UTF-8 or cannot be read."""
    try:
        data = Path(path).read_bytes()
    except IsADirectoryError:
        raise DamagedFileError(path, "it is a directory, not a file") from None
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise DamagedFileError(path, f"it is not UTF-8 text (byte {exc.start} is {data[exc.start]:#04x})") from None


_KINDS = {dict: "a JSON object", list: "a JSON list"}


def read_json(path: str | os.PathLike, *, kind: type = dict, keys: Iterable[str] = ()) -> Any:
    """The JSON document in ``path``, checked to be a ``kind`` (an object holding ``keys``).

    Raises a :class:`DamagedFileError` naming the file for text that is not UTF-8 or not JSON,
    for a document of another type, or for an object missing one of ``keys``.
    """
    text = read_text(path)
    if not text.strip():
        raise DamagedFileError(path, "it is empty")
    try:
        doc = json.loads(text)
    except json.JSONDecodeError as exc:
        raise DamagedFileError(path, f"it is not valid JSON ({exc.msg} at line {exc.lineno} column {exc.colno})") from None
    if not isinstance(doc, kind):
        raise DamagedFileError(path, f"it must hold {_KINDS.get(kind, kind.__name__)}, not {_json_type(doc)}")
    missing = [k for k in keys if k not in doc]
    if missing:
        raise DamagedFileError(path, f"it lacks the key {missing[0]!r}")
    return doc


def _json_type(doc: Any) -> str:
    names = {dict: "an object", list: "a list", str: "a string", int: "a number", float: "a number",
             bool: "a boolean", type(None): "null"}
    return names.get(type(doc), type(doc).__name__)


def read_csv(path: str | os.PathLike, *, columns: Iterable[str] = ()):
    """``pandas.read_csv(path)``, checked: UTF-8, parseable, not empty, holding ``columns``."""
    import pandas as pd

    read_text(path)  # UTF-8 (pandas would raise a UnicodeDecodeError deep inside)
    try:
        df = pd.read_csv(path)
    except pd.errors.EmptyDataError:
        raise DamagedFileError(path, "it is empty (no header row)") from None
    except (pd.errors.ParserError, ValueError) as exc:
        raise DamagedFileError(path, f"it is not a valid CSV table ({str(exc).strip().splitlines()[0]})") from None
    missing = [c for c in columns if c not in df.columns]
    if missing:
        raise DamagedFileError(path, f"it lacks the column {missing[0]!r} (its columns: {', '.join(map(str, df.columns))})")
    return df


def check_output_dir(out: str | os.PathLike, owner: str, *, own: Callable[[Path], bool], kind: str) -> Path:
    """``out`` as a Path if it is new, empty, or already one of ours (``own(out)``); else a
    ParameterError, so that a command never scatters its files into a folder holding other things
    (the working directory, a run directory of another kind). ``kind`` names what ours is."""
    p = Path(out)
    if p.is_dir():
        entries = sorted(e.name for e in os.scandir(p))
        if entries and not own(p):
            shown = ", ".join(entries[:3]) + (", ..." if len(entries) > 3 else "")
            raise ParameterError(
                f"The '--out' parameter of {owner} must be a new or empty directory, or {kind}. "
                f"Got {str(out)!r} instead, which holds {len(entries)} other entr{'y' if len(entries) == 1 else 'ies'} "
                f"({shown}); nothing was written."
            )
    return p
