"""A project's files on disk: sidecar.yaml (the commit marker), decision-log.md, documents,
and the lock that keeps a second session out (DESIGN 4)."""

from __future__ import annotations

import copy
import os
import re
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import yaml

from workflow.errors import LockedError, ProjectError, SidecarError
from workflow.fileio import append_durable, atomic_write_text
from workflow.yamlerrors import yaml_problem

SCHEMA_VERSION = 1
SIDECAR = "sidecar.yaml"
DECISION_LOG = "decision-log.md"
PROJECT_SPEC = "project-spec.md"
# libyaml (bundled with PyYAML's wheels) when present: the sidecar is read after every completion
# and the pure-Python parser dominated the time per answered question.
_Loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
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
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ProjectError(f"{path} does not exist: is '{folder.name}' a Cairn project?") from None
    try:
        data = yaml.load(text, Loader=_Loader)  # a safe loader (C or Python)
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
    atomic_write_text(folder / SIDECAR, yaml.dump(data, Dumper=_Dumper, sort_keys=False, allow_unicode=True))


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

def decision_marker(decision_id: str, step: str, visit: int) -> str:
    return f"<!-- cairn:decision id={decision_id} step={step} visit={visit} -->"


def append_decision(folder: Path, decision: dict[str, Any], *, step_label: str, visit: int) -> bool:
    """Append one decision record unless this (id, step visit) is already logged.
    Returns True when it wrote. A decision id seen before is marked as a revision."""
    path = folder / DECISION_LOG
    existing = path.read_text(encoding="utf-8") if path.exists() else ""
    marker = decision_marker(decision["id"], decision["step"], visit)
    if marker in existing:
        return False
    revision = f"<!-- cairn:decision id={decision['id']} " in existing
    title = decision["title"] + (" (revision)" if revision else "")
    lines = [
        f"## {decision['id']}: {title}",
        marker,
        "",
        f"**Decision:** {decision['choice']}",
        f"**Date:** {decision['date']}",
        f"**Step:** {step_label}",
        f"**Rationale:** {decision['rationale']}",
    ]
    if decision.get("knowledge_ref"):
        lines.append(f"**Knowledge:** {decision['knowledge_ref']}")
    if revision:
        lines.append("**Revision:** replaces the earlier entry for this id")
    append_durable(path, "\n".join(lines) + "\n\n---\n\n")
    return True


# ---- lock ---------------------------------------------------------------------------------------

@contextmanager
def project_lock(folder: Path, *, purpose: str = "session") -> Iterator[None]:
    """Hold `.cairn/lock` for the block. An OS file lock, so a killed holder releases it
    and the next session takes over. Raises LockedError naming the holder."""
    from filelock import FileLock, Timeout

    cairn_dir = folder / ".cairn"
    cairn_dir.mkdir(parents=True, exist_ok=True)
    holder_file = cairn_dir / "lock.holder"
    lock = FileLock(str(cairn_dir / "lock"), timeout=0, is_singleton=False, thread_local=False)
    try:
        lock.acquire()
    except Timeout:
        raise LockedError(
            f"project '{folder.name}' is locked by another session ({_describe_holder(holder_file)}); "
            "close it first"
        ) from None
    try:
        # Only error messages read this file, so it is not fsynced (it sat on every MCP call's path).
        holder_file.write_text(f"pid: {os.getpid()}\nstarted: {now_iso()}\npurpose: {purpose}\n",
                               encoding="utf-8")
        yield
    finally:
        lock.release()


def _describe_holder(holder_file: Path) -> str:
    try:
        info = yaml.safe_load(holder_file.read_text(encoding="utf-8")) or {}
    except (OSError, yaml.YAMLError):
        return "holder unknown"
    return f"pid {info.get('pid')}, {info.get('purpose', 'session')} started {info.get('started')}"


def list_projects(output_dir: Path) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    if not output_dir.is_dir():
        return rows
    for child in sorted(output_dir.iterdir()):
        if not (child / SIDECAR).is_file():
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
