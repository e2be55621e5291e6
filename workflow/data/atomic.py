"""Output files appear whole or not at all: write a temp file in the same folder, fsync, rename."""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO

from workflow.errors import DataError


@contextlib.contextmanager
def atomic_files(paths: list[Path]) -> Iterator[list[BinaryIO]]:
    """Binary handles for several outputs; all are renamed into place only if the block succeeds,
    and the temp files are removed if it raises.

    Raises:
        DataError: an output folder cannot be created or written.
    """
    handles: list[BinaryIO] = []
    temps: list[str] = []
    for path in paths:
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            fd, temp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
        except OSError as exc:
            _discard(handles, temps)
            raise DataError(f"cannot write {path}: {exc.strerror or exc}") from None
        temps.append(temp)
        # mkstemp makes the file private (0600); outputs get the usual permissions instead.
        os.fchmod(fd, 0o666 & ~_umask())
        handles.append(os.fdopen(fd, "wb"))
    try:
        yield handles
        for handle in handles:
            handle.flush()
            os.fsync(handle.fileno())
            handle.close()
        for temp, path in zip(temps, paths, strict=True):
            os.replace(temp, path)
    except OSError as exc:
        _discard(handles, temps)
        raise DataError(f"cannot write {exc.filename or paths[0]}: {exc.strerror or exc}") from None
    except BaseException:
        _discard(handles, temps)
        raise


@contextlib.contextmanager
def atomic_file(path: Path) -> Iterator[BinaryIO]:
    """`atomic_files` for one output."""
    with atomic_files([path]) as handles:
        yield handles[0]


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def _discard(handles: list[BinaryIO], temps: list[str]) -> None:
    for handle in handles:
        with contextlib.suppress(OSError):
            handle.close()
    for temp in temps:
        with contextlib.suppress(OSError):
            os.unlink(temp)


def write_text(path: Path, text: str) -> None:
    """Write a small text file atomically (UTF-8)."""
    with atomic_file(path) as handle:
        handle.write(text.encode("utf-8"))
