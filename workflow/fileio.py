"""Durable file writes: temp file in the same folder, flush, fsync, rename (DESIGN 4).

Project files (documents, the sidecar, the decision log, the lock) go through `write_project_file`
and `append_project_file`, which never follow a symbolic link below the project folder: a link
planted in a project (a phase folder, decision-log.md, .cairn/lock.holder pointing elsewhere) is
refused instead of written through. On POSIX every folder is opened relative to the one above it
with O_NOFOLLOW, so the check and the write cannot be separated by a swap. Out-of-space, read-only
and permission failures become one-line `DiskError`s; nothing is half-written."""

from __future__ import annotations

import errno
import os
import re
import secrets
import stat
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from workflow.errors import DiskError, UnreadableFileError, UnsafePathError

_NOFOLLOW = getattr(os, "O_NOFOLLOW", 0)
_DIRECTORY = getattr(os, "O_DIRECTORY", 0)
_NONBLOCK = getattr(os, "O_NONBLOCK", 0)
# dir_fd-relative calls exist on Linux and macOS, not on Windows (which falls back to lstat checks).
_AT = os.open in os.supports_dir_fd and os.replace in os.supports_dir_fd and os.mkdir in os.supports_dir_fd
# `.NAME.XXXXXXXX.tmp`: what the writers below leave behind when killed between create and rename.
TEMP_FILE = re.compile(r"^\..+\.[A-Za-z0-9_]{8}\.tmp$")
# A path that cannot hold the file: too long, a folder in the way, a missing or non-folder parent.
_PATH_ERRNOS = {errno.ENAMETOOLONG, errno.EISDIR, errno.ENOTDIR, errno.EBUSY, errno.EEXIST, errno.ENOENT,
                errno.EINVAL, errno.ELOOP, errno.ENOTEMPTY}
_DISK_ERRNOS = {errno.ENOSPC: "no space left on the device", errno.EROFS: "the file system is read-only",
                errno.EACCES: "permission denied", errno.EPERM: "permission denied",
                getattr(errno, "EDQUOT", -1): "the disk quota is exceeded"}


def atomic_write_text(path: Path, text: str) -> None:
    """Replace `path` with `text` so readers see the old file or the new one, never half of it.
    Raises DiskError when the disk is full, read-only or not writable."""
    with disk_errors(path):
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
        try:
            with os.fdopen(fd, "w", encoding="utf-8", newline="\n") as handle:
                handle.write(text)
                handle.flush()
                os.fsync(handle.fileno())
            os.replace(tmp, path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
        _fsync_dir(path.parent)


def append_durable(path: Path, text: str) -> None:
    """Append and fsync (outside projects; project files use `append_project_file`)."""
    with disk_errors(path):
        path.parent.mkdir(parents=True, exist_ok=True)
        with path.open("a", encoding="utf-8", newline="\n") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())


def write_project_file(root: Path, rel: str | Path, text: str, *, durable: bool = True) -> Path:
    """Atomically replace the file `rel` (relative to the project folder `root`), creating its
    folders, without following a symlink on any part of `rel`.

    Raises UnsafePathError (a link, or a folder where the file should be) and DiskError."""
    parts = _parts(rel)
    target = root.joinpath(*parts)
    data = text.encode("utf-8")
    with disk_errors(target), _folder(root, parts[:-1]) as folder:
        name = parts[-1]
        _refuse_special(folder, name, root, parts)
        tmp = f".{name}.{secrets.token_hex(4)}.tmp"
        fd = _open_in(folder, tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | _NOFOLLOW)
        try:
            try:
                _write_all(fd, data)
                if durable:
                    os.fsync(fd)
            finally:
                os.close(fd)
            _replace_in(folder, tmp, name)
        except BaseException:
            _unlink_in(folder, tmp)
            raise
        if durable:
            _fsync_fd_or_path(folder)
    return target


def append_project_file(root: Path, rel: str | Path, text: str) -> None:
    """Append `text` to the project file `rel` and fsync it, refusing symlinks as
    `write_project_file` does. Raises UnsafePathError and DiskError."""
    parts = _parts(rel)
    target = root.joinpath(*parts)
    with disk_errors(target), _folder(root, parts[:-1]) as folder:
        try:
            fd = _open_in(folder, parts[-1], os.O_WRONLY | os.O_APPEND | os.O_CREAT | _NOFOLLOW | _NONBLOCK)
        except OSError as exc:
            if exc.errno in (errno.ELOOP, errno.EISDIR, errno.ENXIO):
                raise _unsafe(root, parts) from None
            raise
        try:
            if not stat.S_ISREG(os.fstat(fd).st_mode):
                raise _unsafe(root, parts)
            _write_all(fd, text.encode("utf-8"))
            os.fsync(fd)
        finally:
            os.close(fd)


def open_project_file(root: Path, rel: str | Path) -> int:
    """An fd (read-write, created when missing) on the regular file `rel` below `root`, reached
    without following a link; the caller closes it. Raises UnsafePathError and DiskError."""
    parts = _parts(rel)
    with disk_errors(root.joinpath(*parts)), _folder(root, parts[:-1]) as folder:
        try:
            fd = _open_in(folder, parts[-1], os.O_RDWR | os.O_CREAT | _NOFOLLOW | _NONBLOCK)
        except OSError as exc:
            if exc.errno in (errno.ELOOP, errno.EISDIR, errno.ENXIO):
                raise _unsafe(root, parts) from None
            raise
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            os.close(fd)
            raise _unsafe(root, parts)
        return fd


def project_folder(root: Path, rel: str | Path) -> Path:
    """Create the folder `rel` below `root` (no symlinked part) and return its path.
    Raises UnsafePathError and DiskError."""
    parts = _parts(rel)
    with disk_errors(root.joinpath(*parts)), _folder(root, parts):
        pass
    return root.joinpath(*parts)


def safe_to_read(root: Path, rel: str | Path) -> Path | None:
    """`root/rel` when it is a regular file reached without a symlink, else None (also for a
    path that is not a plain relative one)."""
    try:
        parts = _parts(rel)
    except UnsafePathError:
        return None
    current = root
    for part in parts:
        current = current / part
        try:
            mode = os.lstat(current).st_mode
        except OSError:
            return None
        if stat.S_ISLNK(mode):
            return None
    return current if stat.S_ISREG(os.lstat(current).st_mode) else None


def process_alive(pid: int) -> bool:
    """Whether process `pid` of this machine still exists; True when it cannot be told (another
    user's process, an odd number), so that nothing of a live writer is ever removed."""
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except (PermissionError, OverflowError, ValueError):
        return True
    return True


def remove_stray_temp_files(root: Path) -> list[Path]:
    """Delete the temp files a killed writer left in the project folder and its phase folders
    (never following links). Call it with the project lock held. Returns what it removed."""
    removed: list[Path] = []
    folders = [root]
    while folders:
        folder = folders.pop()
        try:
            entries = list(os.scandir(folder))
        except OSError:
            continue
        for entry in entries:
            if entry.is_dir(follow_symlinks=False):
                if entry.name not in (".cairn", "runs"):
                    folders.append(Path(entry.path))
            elif TEMP_FILE.match(entry.name) and entry.is_file(follow_symlinks=False):
                try:
                    os.unlink(entry.path)
                    removed.append(Path(entry.path))
                except OSError:
                    pass
    return removed


def read_text_checked(path: Path, *, max_bytes: int = 2_000_000) -> str:
    """The UTF-8 text of `path`, refusing binary files, other encodings and files over
    `max_bytes`. Raises UnreadableFileError (naming the file and the fix)."""
    try:
        with path.open("rb") as handle:
            data = handle.read(max_bytes + 1)
    except OSError as exc:
        raise UnreadableFileError(f"{path}: cannot be read ({exc.strerror or exc})") from None
    if len(data) > max_bytes:
        raise UnreadableFileError(f"{path}: larger than {max_bytes:,} bytes; split it into smaller files")
    if b"\x00" in data:
        raise UnreadableFileError(f"{path}: a binary file (it contains NUL bytes); give a UTF-8 text file")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise UnreadableFileError(f"{path} line {line}: not UTF-8 text (byte 0x{data[exc.start]:02x}); "
                                  "save the file as UTF-8") from None


def disk_problem(exc: BaseException) -> str | None:
    """One line for an out-of-space, read-only or permission failure that escaped as a raw
    OSError or SQLite error (None for anything else): what the CLI and the MCP servers show."""
    if isinstance(exc, OSError) and not isinstance(exc, DiskError | UnsafePathError):
        reason = _DISK_ERRNOS.get(exc.errno or 0)
        if reason is not None:
            where = f"cannot write {exc.filename}: " if exc.filename else "cannot write: "
            return f"{where}{reason}; free some space or fix the permissions and retry"
    if type(exc).__name__ == "OperationalError" and type(exc).__module__ == "sqlite3":
        text = str(exc).lower()
        for needle, reason in (("full", "no space left on the device"), ("readonly", "the file system is read-only"),
                               ("read-only", "the file system is read-only"), ("unable to open", "permission denied")):
            if needle in text:
                return (f"cannot write the session checkpoint (.cairn/session.sqlite): {reason}; free some space "
                        "or fix the permissions and retry (answers already saved are kept)")
    return None


@contextmanager
def disk_errors(path: Path) -> Iterator[None]:
    """Turn out-of-space, read-only and permission errors into one-line DiskErrors naming `path`."""
    try:
        yield
    except OSError as exc:
        if isinstance(exc, DiskError | UnsafePathError):
            raise
        reason = _DISK_ERRNOS.get(exc.errno or 0)
        shown = str(path) if len(str(path)) <= 200 else str(path)[:197] + "..."
        if reason is not None:
            raise DiskError(f"cannot write {shown}: {reason}; free some space or fix the permissions and retry "
                            "(nothing was changed)") from None
        if exc.errno in _PATH_ERRNOS:
            raise DiskError(f"cannot write {shown}: {exc.strerror or exc}; choose another path "
                            "(nothing was changed)") from None
        raise


# ---- helpers ------------------------------------------------------------------------------------

def _parts(rel: str | Path) -> tuple[str, ...]:
    parts = tuple(Path(rel).parts)
    if not parts or Path(rel).is_absolute() or any(p in ("", ".", "..") for p in parts):
        raise UnsafePathError(f"'{rel}' is not a plain path inside the project")
    return parts


def _unsafe(root: Path, parts: tuple[str, ...], *, folder: bool = False) -> UnsafePathError:
    """Name the first part of `parts` that is a symlink or not what it should be (the last part
    is a file, or a folder when `folder`)."""
    current = root
    for i, part in enumerate(parts):
        current = current / part
        try:
            mode = os.lstat(current).st_mode
        except OSError:
            break
        if stat.S_ISLNK(mode):
            return UnsafePathError(f"{current} is a symbolic link; Cairn does not write through links inside a "
                                   "project: replace it with a real file or folder")
        last = i == len(parts) - 1 and not folder
        if last and not stat.S_ISREG(mode):
            return UnsafePathError(f"{current} is not a regular file (a folder or a device); move it away")
        if not last and not stat.S_ISDIR(mode):
            return UnsafePathError(f"{current} is a file where a folder is expected; move it away")
    return UnsafePathError(f"{root.joinpath(*parts)} cannot be written safely; check the project folder")


@contextmanager
def _folder(root: Path, parts: tuple[str, ...]) -> Iterator[int | Path]:
    """The folder root/parts, created as needed: an fd opened without following links (POSIX),
    else a path checked part by part with lstat."""
    if not _AT:
        current = root
        for i in range(len(parts)):
            current = current / parts[i]
            if current.is_symlink() or (current.exists() and not current.is_dir()):
                raise _unsafe(root, parts[: i + 1], folder=True)
            current.mkdir(exist_ok=True)
        yield current
        return
    fd = os.open(root, os.O_RDONLY | _DIRECTORY)  # the project folder itself may be a link (output/ elsewhere)
    try:
        for i, part in enumerate(parts):
            try:
                child = os.open(part, os.O_RDONLY | _DIRECTORY | _NOFOLLOW, dir_fd=fd)
            except FileNotFoundError:
                try:
                    os.mkdir(part, dir_fd=fd)
                except FileExistsError:
                    pass
                child = _open_child_dir(fd, part, root, parts[: i + 1])
            except OSError as exc:
                if exc.errno in (errno.ELOOP, errno.ENOTDIR):
                    raise _unsafe(root, parts[: i + 1], folder=True) from None
                raise
            os.close(fd)
            fd = child
        yield fd
    finally:
        os.close(fd)


def _open_child_dir(fd: int, part: str, root: Path, parts: tuple[str, ...]) -> int:
    try:
        return os.open(part, os.O_RDONLY | _DIRECTORY | _NOFOLLOW, dir_fd=fd)
    except OSError as exc:
        if exc.errno in (errno.ELOOP, errno.ENOTDIR):
            raise _unsafe(root, parts, folder=True) from None
        raise


def _refuse_special(folder: int | Path, name: str, root: Path, parts: tuple[str, ...]) -> None:
    try:
        mode = (os.stat(name, dir_fd=folder, follow_symlinks=False).st_mode if isinstance(folder, int)
                else os.lstat(folder / name).st_mode)
    except FileNotFoundError:
        return
    if not stat.S_ISREG(mode):
        raise _unsafe(root, parts)


def _open_in(folder: int | Path, name: str, flags: int) -> int:
    if isinstance(folder, int):
        return os.open(name, flags, 0o666, dir_fd=folder)
    return os.open(folder / name, flags, 0o666)


def _replace_in(folder: int | Path, src: str, dst: str) -> None:
    if isinstance(folder, int):
        os.replace(src, dst, src_dir_fd=folder, dst_dir_fd=folder)
    else:
        os.replace(folder / src, folder / dst)


def _unlink_in(folder: int | Path, name: str) -> None:
    try:
        if isinstance(folder, int):
            os.unlink(name, dir_fd=folder)
        else:
            (folder / name).unlink()
    except OSError:
        pass


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        written = os.write(fd, view)
        view = view[written:]


def _fsync_fd_or_path(folder: int | Path) -> None:
    if isinstance(folder, int):
        try:
            os.fsync(folder)
        except OSError:
            pass
    else:
        _fsync_dir(folder)


def _fsync_dir(folder: Path) -> None:
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)
