"""Small file helpers shared by the CLI and the library: atomic writes, checked output paths."""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path

from genlab._checks import ParameterError


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


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike) -> Iterator[Path]:
    """Yield a temporary path beside ``path``; move it into place only if the block succeeds.

    A crash or Ctrl-C inside the block leaves no partial file behind.
    """
    target = Path(path)
    suffix = "".join(target.suffixes) or ".tmp"
    fd, tmp = tempfile.mkstemp(prefix=f".{target.stem}-", suffix=suffix, dir=target.parent or ".")
    os.close(fd)
    tmp_path = Path(tmp)
    try:
        yield tmp_path
        os.replace(tmp_path, target)
    finally:
        if tmp_path.exists():
            tmp_path.unlink()
