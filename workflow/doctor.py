"""`cairn doctor NAME`: check a project folder (sidecar, decision log, checkpoint, documents,
links, stray files) and say what it would repair; `--fix` copies the whole folder to a backup
beside it first, then repairs what can be repaired safely. What only its owner can decide (a
sidecar that does not parse, a currentStep the pack lacks) is reported with the fix, never
rewritten: the sidecar is the project's commit marker."""

from __future__ import annotations

import json
import os
import shutil
import sqlite3
import stat
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any, Literal

import typer

Repair = Literal["remove", "move_aside", "make_folder", "new_log"]


@dataclass(frozen=True, kw_only=True)
class Finding:
    path: str  # project-relative
    problem: str
    repair: Repair | None = None  # None: only the owner can fix it (the message says how)

    def describe(self) -> str:
        action = {"remove": "would remove it", "move_aside": "would move it into the backup",
                  "make_folder": "would move it into the backup and create the folder",
                  "new_log": "would start a new decision log (the decisions stay in sidecar.yaml)",
                  None: "not repaired automatically"}[self.repair]
        return f"{self.path}: {self.problem} ({action})"


def examine(folder: Path) -> list[Finding]:
    """Every problem found in the project folder, without changing anything."""
    from workflow.errors import CairnError
    from workflow.fileio import TEMP_FILE
    from workflow.store import DECISION_LOG, SIDECAR, logged_decisions, read_sidecar

    found: list[Finding] = []
    for path in _walk(folder):
        rel = path.relative_to(folder).as_posix()
        mode = os.lstat(path).st_mode
        if stat.S_ISLNK(mode):
            special: dict[str, Repair | None] = {DECISION_LOG: "new_log", SIDECAR: None}
            repair = special.get(rel, "remove")
            hint = "; replace it by hand with the file it points to" if repair is None else ""
            found.append(Finding(path=rel, problem=f"a symbolic link to {os.readlink(path)}; Cairn never writes "
                                 f"through links in a project{hint}", repair=repair))
        elif TEMP_FILE.match(path.name) and stat.S_ISREG(mode):
            found.append(Finding(path=rel, problem="a temporary file left by an interrupted write", repair="remove"))
    cairn = folder / ".cairn"
    if cairn.exists() and not cairn.is_symlink() and not cairn.is_dir():
        found.append(Finding(path=".cairn", problem="a file where Cairn keeps its session folder",
                             repair="make_folder"))
    log = folder / DECISION_LOG
    if not log.exists() and not log.is_symlink():
        found.append(Finding(path=DECISION_LOG, problem="missing", repair="new_log"))
    elif log.is_dir() and not log.is_symlink():
        found.append(Finding(path=DECISION_LOG, problem="a folder, not the log", repair="new_log"))
    elif log.is_file() and not log.is_symlink():
        text = log.read_bytes().decode("utf-8", errors="replace")
        if "\ufffd" in text:
            found.append(Finding(path=DECISION_LOG, problem="not UTF-8 text in places; re-save it as UTF-8"))
        markers = [line for line in text.splitlines() if line.startswith("<!-- cairn:decision ")]
        if len(markers) != len(logged_decisions(text)):
            found.append(Finding(path=DECISION_LOG, problem="a decision is logged twice for one step visit; "
                                 "delete the repeated entry by hand"))
    found += _checkpoint(folder)
    try:
        sidecar = read_sidecar(folder)
    except CairnError as exc:
        found.append(Finding(path=SIDECAR, problem=_relative(str(exc), folder)))
        return found
    found += _against_pack(folder, sidecar)
    return found


def repair(folder: Path, findings: list[Finding]) -> Path:
    """Copy the project to a backup folder beside it, then repair every finding that can be
    repaired. Returns the backup folder."""
    stamp = datetime.now(UTC).strftime("%Y%m%d-%H%M%S")
    backup = folder.parent / f".{folder.name}.backup-{stamp}"
    shutil.copytree(folder, backup, symlinks=True)  # links copied as links, never followed
    for finding in findings:
        if finding.repair is None:
            continue
        target = folder / finding.path
        # The backup holds everything, so "into the backup" is: out of the project.
        extra = [target.with_name(target.name + s) for s in ("-wal", "-shm", "-journal")] \
            if target.name == "session.sqlite" else []
        for path in [target, *extra]:
            if path.is_dir() and not path.is_symlink():
                shutil.rmtree(path)
            else:
                path.unlink(missing_ok=True)
        if finding.repair == "make_folder":
            target.mkdir()
        elif finding.repair == "new_log":
            from workflow.fileio import write_project_file

            write_project_file(folder, finding.path, f"# Decision log: {folder.name}\n\n")
    return backup


def _walk(folder: Path) -> list[Path]:
    """Every entry below `folder`, never following links (training runs are not walked)."""
    out: list[Path] = []
    stack = [folder]
    while stack:
        current = stack.pop()
        try:
            entries = sorted(os.scandir(current), key=lambda e: e.name)
        except OSError:
            continue
        for entry in entries:
            out.append(Path(entry.path))
            if entry.is_dir(follow_symlinks=False) and entry.name != "runs":
                stack.append(Path(entry.path))
    return out


def _checkpoint(folder: Path) -> list[Finding]:
    db = folder / ".cairn" / "session.sqlite"
    if not db.is_file() or db.is_symlink():
        return []
    try:
        with sqlite3.connect(f"file:{db}?mode=ro", uri=True) as conn:
            result = conn.execute("PRAGMA integrity_check").fetchone()
        if result and result[0] == "ok":
            return []
        problem = f"the checkpoint database is damaged ({result[0] if result else 'no answer'})"
    except sqlite3.DatabaseError as exc:
        problem = f"the checkpoint is not a database Cairn can read ({exc})"
    return [Finding(path=".cairn/session.sqlite", problem=problem + "; the step in flight will restart from "
                    "sidecar.yaml (answers given in it since it began are lost)", repair="move_aside")]


def _against_pack(folder: Path, sidecar: dict[str, Any]) -> list[Finding]:
    from workflow.errors import CairnError
    from workflow.session import pack_for

    try:
        pack = pack_for(sidecar)
    except CairnError as exc:
        return [Finding(path="sidecar.yaml", problem=f"its pack cannot be loaded: {_relative(str(exc), folder)}")]
    found: list[Finding] = []
    step = sidecar.get("currentStep")
    if step is not None and str(step) not in pack.steps and sidecar.get("workflow_status") != "complete":
        found.append(Finding(path="sidecar.yaml", problem=f"currentStep '{step}' is not a step of pack {pack.name} "
                             f"(steps: {', '.join(pack.steps)}); set it by hand to the step to resume"))
    statuses: dict[str, Any] = sidecar["steps"] if isinstance(sidecar.get("steps"), dict) else {}
    for sid, pack_step in pack.steps.items():
        if statuses.get(sid) != "complete":
            continue
        for output in pack_step.meta.outputs:
            target = folder / output.path
            if target.is_dir() and not target.is_symlink():
                found.append(Finding(path=output.path, problem="a folder where the step's document belongs",
                                     repair="move_aside"))
            elif target.is_file() and not target.is_symlink():
                try:
                    target.read_bytes().decode("utf-8")
                except UnicodeDecodeError:
                    found.append(Finding(path=output.path, problem="not UTF-8 text; re-save it as UTF-8"))
    return found


def _relative(message: str, folder: Path) -> str:
    return message.replace(str(folder) + os.sep, "").replace(str(folder), folder.name)


def doctor(
    name: Annotated[str, typer.Argument(help="Project name.")],
    fix: Annotated[bool, typer.Option("--fix", help="Back the folder up, then repair what can be repaired.")] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print the findings as JSON.")] = False,
) -> None:
    """Check a project (sidecar, decision log, checkpoint, documents, links, stray files) and say
    what would be repaired; --fix repairs it after copying the folder to a backup."""
    from workflow.context import current_settings
    from workflow.errors import ProjectError
    from workflow.store import SIDECAR, project_dir

    folder = project_dir(current_settings().output_dir, name)
    if not folder.is_dir() or folder.is_symlink():
        raise ProjectError(f"no project folder '{name}' in {current_settings().output_dir}")
    if not (folder / SIDECAR).exists() and not (folder / SIDECAR).is_symlink():
        raise ProjectError(f"{folder} has no {SIDECAR}: it is not a Cairn project (or `cairn new {name}` "
                           "was interrupted: run it again)")
    findings = examine(folder)
    backup = None
    if fix and any(f.repair for f in findings):
        if any(f.path == ".cairn" or f.path.startswith(".cairn/lock") for f in findings):
            backup = repair(folder, findings)  # no usable lock: the damage itself keeps sessions out
        else:
            from workflow.store import project_lock

            with project_lock(folder, purpose="doctor --fix"):  # LockedError while a session is open
                backup = repair(folder, findings)
        findings = examine(folder)
    if as_json:
        typer.echo(json.dumps({"project": name, "backup": str(backup) if backup else None,
                               "findings": [{"path": f.path, "problem": f.problem, "repair": f.repair}
                                            for f in findings]}, ensure_ascii=False))
    else:
        if backup is not None:
            typer.echo(f"Backed up the project to {backup} and repaired it.")
        for finding in findings:
            typer.echo(f"  {finding.describe()}", err=True)
        if not findings:
            typer.echo(f"{name}: no problems found")
        elif any(f.repair for f in findings):
            typer.echo("Run `cairn doctor --fix " + name + "` to repair (the folder is backed up first).", err=True)
    if findings:
        raise typer.Exit(1)


__all__ = ["Finding", "doctor", "examine", "repair"]
