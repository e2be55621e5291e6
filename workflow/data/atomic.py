"""Output files and folders appear whole or not at all: write temp files (or a temp folder) in the
same folder, fsync, rename.

Temp names are `.NAME.PID.XXXXXXXX.tmp`; a writer killed before its rename leaves one behind, and
the next write of the same output removes those whose process is gone. Ctrl-C during the final
renames is held back until they are done, so a set of outputs (train/val/test and the report) is
renamed together."""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import signal
import tempfile
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, BinaryIO

from workflow.errors import CairnError, DataError
from workflow.fileio import process_alive

_FIX = "free some space, fix the permissions or choose another path (nothing was written)"
_NAME_CHARS = 100  # of the output's name kept in its temp names, so a long name still fits NAME_MAX


@contextlib.contextmanager
def atomic_files(paths: list[Path]) -> Iterator[list[BinaryIO]]:
    """Binary handles for several outputs; all are renamed into place only if the block succeeds,
    and the temp files are removed if it raises.

    Raises:
        DataError: an output folder cannot be created or written.
    """
    handles: list[BinaryIO] = []
    temps: list[str] = []
    created: list[Path] = []
    for path in paths:
        try:
            created += _make_parents(path)
            remove_stale_temps(path)
            fd, temp = tempfile.mkstemp(prefix=_prefix(path), suffix=".tmp", dir=path.parent)
        except OSError as exc:
            _discard(handles, temps, created)
            raise DataError(f"cannot write {_shown(path)}: {exc.strerror or exc}; {_FIX}") from None
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
        with _interrupts_held():
            for temp, path in zip(temps, paths, strict=True):
                os.replace(temp, path)
    except OSError as exc:
        _discard(handles, temps, created)
        where = _shown(Path(exc.filename or paths[0]))
        raise DataError(f"cannot write {where}: {exc.strerror or exc}; {_FIX}") from None
    except BaseException:
        _discard(handles, temps, created)
        raise


@contextlib.contextmanager
def atomic_file(path: Path) -> Iterator[BinaryIO]:
    """`atomic_files` for one output."""
    with atomic_files([path]) as handles:
        yield handles[0]


@contextlib.contextmanager
def atomic_folder(path: Path, *, error: type[CairnError] = DataError, also: tuple[str, ...] = ()) -> Iterator[Path]:
    """A temp folder beside `path` to fill; renamed to `path` only if the block succeeds, removed
    if it raises (Ctrl-C included). An existing `path` is replaced only when it is empty or holds
    nothing but files of the names the new folder has (an earlier output of the same command) or
    names in `also`, so a folder of other files is never deleted.

    Raises:
        `error`: the folder cannot be created or written, or `path` holds other files.
    """
    path = Path(path)
    created: list[Path] = []
    try:
        created = _make_parents(path)
        temp = temp_folder(path)
    except OSError as exc:
        raise error(f"cannot write {_shown(path)}: {exc.strerror or exc}; {_FIX}") from None
    try:
        yield temp
        _replace_folder(temp, path, error, also)
    except OSError as exc:
        shutil.rmtree(temp, ignore_errors=True)
        _remove_folders(created)
        raise error(f"cannot write {_shown(Path(exc.filename or path))}: {exc.strerror or exc}; {_FIX}") from None
    except BaseException:
        shutil.rmtree(temp, ignore_errors=True)
        _remove_folders(created)
        raise


def _replace_folder(temp: Path, path: Path, error: type[CairnError], also: tuple[str, ...]) -> None:
    if path.is_symlink() or (path.exists() and not path.is_dir()):
        raise error(f"{_shown(path)} exists and is not a folder; fix: choose a new folder")
    if path.is_dir():
        new = {entry.name for entry in temp.iterdir()} | set(also)
        old = list(path.iterdir())
        others = sorted(p.name for p in old if p.name not in new or p.is_symlink() or not p.is_file())
        if others:
            raise error(f"{_shown(path)} already holds other files ({', '.join(others[:3])}); fix: choose a new "
                        "or empty folder (only an earlier output of this command is replaced)")
        if old:
            backup = Path(tempfile.mkdtemp(prefix=_prefix(path), suffix=".tmp", dir=path.parent))
            with _interrupts_held():
                os.replace(path, backup)  # onto the empty backup folder
                os.replace(temp, path)
            shutil.rmtree(backup, ignore_errors=True)
            _fsync_dir(path.parent)
            return
    with _interrupts_held():
        os.replace(temp, path)  # a missing or empty folder is replaced in one rename
    _fsync_dir(path.parent)


def temp_folder(path: Path) -> Path:
    """A new hidden folder beside `path` to build it in, with the usual permissions (not mkdtemp's
    private ones), after removing what killed builders of `path` left there.

    Raises:
        OSError: the folder cannot be made.
    """
    remove_stale_temps(path)
    temp = Path(tempfile.mkdtemp(prefix=_prefix(path), suffix=".tmp", dir=path.parent))
    os.chmod(temp, 0o777 & ~_umask())
    return temp


def remove_stale_temps(path: Path) -> list[Path]:
    """Delete the temp files and folders that killed writers of `path` left beside it (those whose
    process is gone); return what was removed."""
    pattern = re.compile(re.escape(f".{path.name[:_NAME_CHARS]}.") + r"(\d+)\.[A-Za-z0-9_]{8}\.tmp")
    removed: list[Path] = []
    try:
        entries = list(os.scandir(path.parent))
    except OSError:
        return removed
    for entry in entries:
        match = pattern.fullmatch(entry.name)
        if match is None or process_alive(int(match.group(1))):
            continue
        stale = Path(entry.path)
        if entry.is_dir(follow_symlinks=False):
            shutil.rmtree(stale, ignore_errors=True)
        else:
            with contextlib.suppress(OSError):
                stale.unlink()
        removed.append(stale)
    return removed


def _prefix(path: Path) -> str:
    return f".{path.name[:_NAME_CHARS]}.{os.getpid()}."


@contextlib.contextmanager
def _interrupts_held() -> Iterator[None]:
    """Hold Ctrl-C back while a few renames run, then raise it; no-op outside the main thread."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    caught: list[Any] = []
    previous: Callable[..., Any] | int | None = signal.signal(signal.SIGINT, lambda *args: caught.append(args))
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, signal.SIG_DFL if previous is None else previous)
    if caught:
        raise KeyboardInterrupt


def _shown(path: Path) -> str:
    text = str(path)
    return text if len(text) <= 200 else text[:197] + "..."


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def _fsync_dir(folder: Path) -> None:
    with contextlib.suppress(OSError):
        fd = os.open(folder, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def _discard(handles: list[BinaryIO], temps: list[str], created: list[Path]) -> None:
    for handle in handles:
        with contextlib.suppress(OSError):
            handle.close()
    for temp in temps:
        with contextlib.suppress(OSError):
            os.unlink(temp)
    _remove_folders(created)


def _make_parents(path: Path) -> list[Path]:
    """Create the missing folders above `path`; return them, deepest first, for `_remove_folders`."""
    missing = []
    folder = path.parent
    while not folder.exists() and folder != folder.parent:
        missing.append(folder)
        folder = folder.parent
    path.parent.mkdir(parents=True, exist_ok=True)
    return missing


def _remove_folders(created: list[Path]) -> None:
    """Remove the folders a failed write created (only those still empty)."""
    for folder in created:
        with contextlib.suppress(OSError):
            folder.rmdir()


def write_text(path: Path, text: str) -> None:
    """Write a small text file atomically (UTF-8)."""
    with atomic_file(path) as handle:
        handle.write(text.encode("utf-8"))
