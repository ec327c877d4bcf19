"""Writes that never leave a half-written file: a temporary file in the target directory, then a rename."""
from __future__ import annotations

import contextlib
import json
import os
import tempfile
from pathlib import Path

import numpy as np

try:
    import fcntl
except ImportError:  # not POSIX: no concurrent writers are started there (see exclusive)
    fcntl = None


@contextlib.contextmanager
def atomic_path(final: str | os.PathLike, suffix: str = ""):
    """Yield a temporary path next to `final`; rename it to `final` only if the block succeeds."""
    final = Path(final)
    final.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{final.name}.", suffix=f".part{suffix}", dir=final.parent)
    os.close(fd)
    try:
        yield Path(tmp)
        os.replace(tmp, final)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise


@contextlib.contextmanager
def exclusive(path: str | os.PathLike):
    """Hold an exclusive lock tied to `path` (a `.lock` file beside it) for the block: a read-modify-write of a
    table that processes running seeds side by side all append to (results.csv, predictions.csv)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    if fcntl is None:
        yield
        return
    with open(path.with_name(f".{path.name}.lock"), "a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def write_text_atomic(path, text: str) -> Path:
    with atomic_path(path) as tmp:
        tmp.write_text(text)
    return Path(path)


def write_json_atomic(path, obj) -> Path:
    return write_text_atomic(path, json.dumps(obj, indent=2, sort_keys=True))


def save_npy_atomic(path, array: np.ndarray) -> Path:
    """np.save through a temporary file and a rename."""
    with atomic_path(path, suffix=".npy") as tmp:
        np.save(tmp, array)
    return Path(path)
