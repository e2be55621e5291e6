"""A project's files on disk: sidecar.yaml (the commit marker), decision-log.md, documents,
and the lock that keeps a second session out (DESIGN 4)."""

from __future__ import annotations

import copy
import errno
import os
import re
import shutil
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import yaml

from workflow.data.atomic import temp_folder
from workflow.errors import LockedError, ProjectError, SidecarError, UnreadableFileError, UnsafePathError
from workflow.fileio import (
    append_project_file,
    disk_errors,
    open_project_file,
    project_folder,
    read_text_checked,
    safe_to_read,
    write_project_file,
)
from workflow.yamlerrors import yaml_problem
from workflow.yamlload import load_yaml

SCHEMA_VERSION = 1
SIDECAR = "sidecar.yaml"
DECISION_LOG = "decision-log.md"
PROJECT_SPEC = "project-spec.md"
# libyaml (bundled with PyYAML's wheels) when present: the sidecar is read after every completion
# and the pure-Python parser dominated the time per answered question.
_Dumper = getattr(yaml, "CSafeDumper", yaml.SafeDumper)
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")


def now_iso() -> str:
    return datetime.now(UTC).replace(microsecond=0).isoformat().replace("+00:00", "Z")


def today() -> str:
    return datetime.now(UTC).date().isoformat()


def check_project_name(name: str) -> str:
    """Refuse names that could escape the output folder. Raises ProjectError."""
    if "/" in name or "\\" in name or ".." in name or not _NAME.match(name):
        raise ProjectError(
            f"invalid project name '{name}': use letters, digits, '.', '_' or '-' "
            "(no path separators, no '..', at most 64 characters)"
        )
    return name


def project_dir(output_dir: Path, name: str) -> Path:
    return output_dir / check_project_name(name)


def require_project(output_dir: Path, name: str) -> Path:
    folder = project_dir(output_dir, name)
    if not (folder / SIDECAR).is_file():
        raise ProjectError(f"no project '{name}' in {output_dir}: create it with `cairn new {name}`")
    return folder


def create_project_folder(output_dir: Path, name: str, build: Callable[[Path], None]) -> Path:
    """Create output/NAME atomically: `build(folder)` fills a hidden temporary folder beside it,
    which is then renamed into place, so a concurrent `cairn new NAME` or a kill never leaves a
    half-made project (the hidden folder of a killed build goes at the next `cairn new NAME`).
    An empty folder, or the leftovers of a project created half by an older Cairn (no sidecar, no
    decisions), is replaced. Raises ProjectError (it exists; a folder that is not a project) and
    DiskError."""
    folder = project_dir(output_dir, name)
    _refuse_existing(folder, name, output_dir)
    with disk_errors(output_dir):
        output_dir.mkdir(parents=True, exist_ok=True)
        tmp = temp_folder(folder)  # first removing the hidden builds of killed `cairn new NAME` runs
    try:
        with disk_errors(folder):
            build(tmp)
            if folder.is_dir() and not folder.is_symlink() and _half_created(folder):
                shutil.rmtree(folder)
            try:
                os.rename(tmp, folder)
            except OSError as exc:
                if exc.errno in (errno.EEXIST, errno.ENOTEMPTY, errno.EISDIR, errno.ENOTDIR):
                    raise ProjectError(f"project '{name}' was created by another `cairn new` at the same time; "
                                       f"open it with `cairn chat {name}` or choose another name") from None
                raise
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return folder


def _refuse_existing(folder: Path, name: str, output_dir: Path) -> None:
    if not folder.exists() and not folder.is_symlink():
        return
    if (folder / SIDECAR).exists():
        raise ProjectError(f"project '{name}' already exists in {output_dir}; choose another name "
                           f"or open it with `cairn chat {name}`")
    if folder.is_dir() and not folder.is_symlink() and _half_created(folder):
        return
    raise ProjectError(f"{folder} exists but is not a Cairn project (no {SIDECAR}); move it away or "
                       "choose another name")


def _half_created(folder: Path) -> bool:
    """True for an empty folder or what an interrupted `cairn new` of an older Cairn left: the
    empty log, the project spec and empty phase folders, and no sidecar."""
    if (folder / SIDECAR).exists() or (folder / SIDECAR).is_symlink():
        return False
    for entry in folder.iterdir():
        if entry.is_symlink():
            return False
        if entry.is_dir():
            if not entry.name.startswith("phase-") or any(entry.iterdir()):
                return False
        elif entry.name == DECISION_LOG:
            if "<!-- cairn:decision" in entry.read_text(encoding="utf-8", errors="replace"):
                return False
        elif entry.name != PROJECT_SPEC:
            return False
    return True


def new_sidecar(*, name: str, user: str, workflow: dict[str, Any], start: str,
                steps: list[str], phases: list[str]) -> dict[str, Any]:
    created = now_iso()
    return {
        "schema_version": SCHEMA_VERSION,
        "project_name": name,
        "user_name": user,
        "created": created,
        "workflow": workflow,
        "workflow_status": "in_progress",
        "architecture": None,
        "build_vs_buy": None,
        "currentStep": start,
        "stepsCompleted": [],
        "steps": {step: "pending" for step in steps},
        "phases": {phase: "pending" for phase in phases},
        "answers": {},
        "notes": {},
        "decisions": [],
        "stories": {},
        "knowledge_log": [],
        "usage": {},
        "training": {"approved": False, "approved_by": None, "approved_at": None,
                     "spec_sha256": None, "runs": []},
        "lastContinued": created,
        "visits": {},
        "return_to": [],
    }


def read_sidecar(folder: Path) -> dict[str, Any]:
    """Load and migrate sidecar.yaml. Raises SidecarError (with the line) for a broken file,
    ProjectError when it does not exist."""
    path = folder / SIDECAR
    if not path.exists() and not path.is_symlink():
        raise ProjectError(f"{path} does not exist: is '{folder.name}' a Cairn project?")
    if safe_to_read(folder, SIDECAR) is None:
        raise SidecarError(f"{path} is a symbolic link or not a regular file; replace it with the project's "
                           "own sidecar.yaml (Cairn will not read or write through it)")
    try:
        text = read_text_checked(path, max_bytes=50_000_000)
    except UnreadableFileError as exc:
        raise SidecarError(f"{exc} (Cairn will not overwrite it)") from None
    try:
        data = load_yaml(text, fast=True, max_chars=50_000_000)  # a safe loader (C or Python)
    except yaml.YAMLError as exc:
        line, problem = yaml_problem(exc)
        where = f" line {line}" if line else ""
        raise SidecarError(
            f"{path}{where}: not valid YAML ({problem}); "
            "fix it by hand (Cairn will not overwrite it)"
        ) from None
    if not isinstance(data, dict):
        raise SidecarError(f"{path}: expected a mapping at the top level; fix it by hand")
    return migrate(data, path)


def migrate(data: dict[str, Any], path: Path) -> dict[str, Any]:
    """Bring older sidecars forward; refuse ones written by a newer Cairn."""
    version = data.get("schema_version", 0)
    if not isinstance(version, int) or version > SCHEMA_VERSION:
        raise SidecarError(f"{path}: schema_version {version!r} is not one this Cairn reads "
                           f"(up to {SCHEMA_VERSION}); upgrade Cairn")
    for key in ("stepsCompleted", "steps", "answers", "phases"):
        if key in data and not isinstance(data[key], list if key == "stepsCompleted" else dict):
            raise SidecarError(f"{path}: key '{key}' has the wrong type; fix it by hand")
    if version == 0:  # BMAD-written sidecars: ids may be ints, Cairn keys missing
        data["stepsCompleted"] = [str(s) for s in data.get("stepsCompleted") or []]
        if data.get("currentStep") is not None:
            data["currentStep"] = str(data["currentStep"])
    defaults = new_sidecar(name=str(data.get("project_name", path.parent.name)),
                           user=str(data.get("user_name", "")), workflow={}, start="",
                           steps=[], phases=[])
    for key, value in defaults.items():
        data.setdefault(key, value)
    data["schema_version"] = SCHEMA_VERSION
    return data


def write_sidecar(folder: Path, data: dict[str, Any]) -> None:
    """Raises UnsafePathError (a planted symlink) and DiskError (full or read-only disk)."""
    write_project_file(folder, SIDECAR, yaml.dump(data, Dumper=_Dumper, sort_keys=False, allow_unicode=True))


def update_sidecar(folder: Path, mutate: Callable[[dict[str, Any]], None]) -> dict[str, Any]:
    """Read, change and atomically write the sidecar under the project lock.
    Raises SidecarError, ProjectError or LockedError."""
    with project_lock(folder, purpose="update"):
        data = read_sidecar(folder)
        updated = copy.deepcopy(data)
        mutate(updated)
        write_sidecar(folder, updated)
        return updated


# ---- decision log -------------------------------------------------------------------------------

_MARKER = re.compile(r"^<!-- cairn:decision id=(\S+) step=(\S+) visit=(\d+) -->$", re.MULTILINE)
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u2028\u2029]")
_ID_CHARS = re.compile(r"[^A-Za-z0-9._-]")


def decision_marker(decision_id: str, step: str, visit: int) -> str:
    return f"<!-- cairn:decision id={_token(decision_id)} step={_token(step)} visit={int(visit)} -->"


def logged_decisions(text: str) -> set[tuple[str, str, int]]:
    """The (id, step, visit) of every entry in a decision log, read from the markers Cairn writes
    on their own line (text inside an entry can never form one: see `_escape`)."""
    return {(m.group(1), m.group(2), int(m.group(3))) for m in _MARKER.finditer(text)}


def append_decision(folder: Path, decision: dict[str, Any], *, step_label: str, visit: int) -> bool:
    """Append one decision record unless this (id, step visit) is already logged.
    Returns True when it wrote. A decision id seen before is marked as a revision.
    Raises UnsafePathError (decision-log.md is a link) and DiskError."""
    path = folder / DECISION_LOG
    existing = path.read_text(encoding="utf-8", errors="replace") if safe_to_read(folder, DECISION_LOG) else ""
    logged = logged_decisions(existing)
    decision_id, step = _token(str(decision["id"])), _token(str(decision["step"]))
    if (decision_id, step, int(visit)) in logged:
        return False
    revision = any(entry[0] == decision_id for entry in logged)
    title = _escape(str(decision["title"]), inline=True) + (" (revision)" if revision else "")
    lines = [
        f"## {decision_id}: {title}",
        decision_marker(decision_id, step, visit),
        "",
        f"**Decision:** {_escape(str(decision['choice']))}",
        f"**Date:** {_escape(str(decision['date']), inline=True)}",
        f"**Step:** {_escape(step_label, inline=True)}",
        f"**Rationale:** {_escape(str(decision['rationale']))}",
    ]
    if decision.get("knowledge_ref"):
        lines.append(f"**Knowledge:** {_escape(str(decision['knowledge_ref']))}")
    if revision:
        lines.append("**Revision:** replaces the earlier entry for this id")
    append_project_file(folder, DECISION_LOG, "\n".join(lines) + "\n\n---\n\n")
    return True


def _token(value: str) -> str:
    """An id or step as it appears in a marker: no spaces or characters that could end the comment."""
    return _ID_CHARS.sub("_", value)[:80] or "_"


def _escape(value: str, *, inline: bool = False) -> str:
    """Text from a user or a model as it goes into the log: no control characters, no HTML
    comment that could pass for a marker, and no line that could start a heading, a marker or
    an entry separator. Continuation lines are indented; `inline` keeps it on one line."""
    value = _CONTROL.sub(" ", value.replace("\r\n", "\n")).replace("<!--", "&lt;!--").replace("-->", "--&gt;")
    lines = value.split("\n")
    if inline:
        return " ".join(line.strip() for line in lines if line.strip())
    out = [lines[0]]
    for line in lines[1:]:
        stripped = line.lstrip()
        if stripped.startswith(("#", "---", "***", "___", "<")):
            stripped = "\\" + stripped
        out.append(f"  {stripped}" if stripped else "")
    return "\n".join(out)


# ---- lock ---------------------------------------------------------------------------------------

_CAIRN_FILES = ("lock", "lock.holder", "session.sqlite", "session.sqlite-journal", "session.sqlite-wal",
                "session.sqlite-shm")


@contextmanager
def project_lock(folder: Path, *, purpose: str = "session") -> Iterator[None]:
    """Hold `.cairn/lock` for the block. An OS file lock, so a killed holder releases it
    and the next session takes over. Raises LockedError naming the holder, UnsafePathError when
    `.cairn` or a file in it is a symlink (or `.cairn` is not a folder)."""
    cairn_dir = project_folder(folder, ".cairn")
    for name in _CAIRN_FILES:
        if (cairn_dir / name).is_symlink():
            raise UnsafePathError(f"{cairn_dir / name} is a symbolic link; Cairn does not write through links "
                                  "inside a project: delete it (it is recreated)")
    holder_file = cairn_dir / "lock.holder"
    release = _acquire(folder, cairn_dir, holder_file)
    try:
        # Only error messages read this file, so it is not fsynced (it sat on every MCP call's path).
        write_project_file(folder, ".cairn/lock.holder",
                           f"pid: {os.getpid()}\nstarted: {now_iso()}\npurpose: {purpose}\n", durable=False)
        yield
    finally:
        release()


def _acquire(folder: Path, cairn_dir: Path, holder_file: Path) -> Callable[[], None]:
    """Take the OS lock; return the function that releases it."""
    def locked() -> LockedError:
        return LockedError(f"project '{folder.name}' is locked by another session "
                           f"({_describe_holder(holder_file)}); close it first")

    try:
        import fcntl
    except ImportError:  # Windows: filelock's msvcrt lock (the lstat checks above guard the links)
        from filelock import FileLock, Timeout

        lock = FileLock(str(cairn_dir / "lock"), timeout=0, is_singleton=False, thread_local=False)
        try:
            lock.acquire()
        except Timeout:
            raise locked() from None
        return lambda: lock.release()
    fd = open_project_file(folder, ".cairn/lock")
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        os.close(fd)
        raise locked() from None

    def release() -> None:
        try:
            fcntl.flock(fd, fcntl.LOCK_UN)
        finally:
            os.close(fd)

    return release


def _describe_holder(holder_file: Path) -> str:
    try:
        info = yaml.safe_load(read_text_checked(holder_file, max_bytes=4096)) or {}
    except (UnreadableFileError, yaml.YAMLError):
        return "holder unknown"
    if not isinstance(info, dict):
        return "holder unknown"
    return f"pid {info.get('pid')}, {info.get('purpose', 'session')} started {info.get('started')}"


def list_projects(output_dir: Path) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    if not output_dir.is_dir():
        return rows
    for child in sorted(output_dir.iterdir()):
        if child.name.startswith(".") or not (child / SIDECAR).is_file():  # `.NAME.PID.XXXXXXXX.tmp`: being created
            continue
        try:
            data = read_sidecar(child)
        except ProjectError as exc:
            rows.append({"name": child.name, "workflow_status": "unreadable", "currentStep": None,
                         "error": str(exc)})
            continue
        rows.append({"name": child.name, "workflow_status": data.get("workflow_status"),
                     "currentStep": data.get("currentStep")})
    return rows
