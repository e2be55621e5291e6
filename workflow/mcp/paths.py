"""Project-relative paths that arrive from a client: checked before anything touches the disk,
so a tool or resource can never name a file outside the project folder (DESIGN 7)."""

from __future__ import annotations

import re
from pathlib import Path

from workflow.errors import ProjectError

_PART = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9._-]*$")
# Top-level files of a project a client may read; documents live in the phase folders.
PROJECT_FILES = ("sidecar.yaml", "decision-log.md", "project-spec.md")
_PHASE = re.compile(r"^phase-\d+-[a-z0-9-]+$")


def check_relative(path: str) -> str:
    """`path` as given when it is a plain relative path ('/'-separated names, no '..', no
    backslash, not absolute). Raises ProjectError naming the rule it breaks."""
    if not path or path.startswith("/") or "\\" in path or ":" in path:
        raise ProjectError(f"path '{path}': give a project-relative path such as phase-0-scoping/x.md "
                           "(no absolute paths, drive letters or backslashes)")
    parts = path.split("/")
    if any(part in ("", ".", "..") for part in parts):
        raise ProjectError(f"path '{path}': no '..', '.' or empty parts")
    bad = next((part for part in parts if not _PART.match(part)), None)
    if bad is not None:
        raise ProjectError(f"path '{path}': '{bad}' may use letters, digits, '.', '_' and '-' only")
    return path


def readable_file(folder: Path, path: str) -> Path:
    """The file a resource URI names: a top-level project file or a file in a phase folder.
    Raises ProjectError when the path is not one of those or does not exist."""
    check_relative(path)
    parts = path.split("/")
    if not (path in PROJECT_FILES or (len(parts) > 1 and _PHASE.match(parts[0]))):
        raise ProjectError(f"path '{path}': readable files are {', '.join(PROJECT_FILES)} and documents "
                           "under the phase-N-name folders")
    target = folder / path
    # Symlinks inside the project could point anywhere; resolve and check containment.
    if not target.resolve().is_relative_to(folder.resolve()) or not target.is_file():
        raise ProjectError(f"no file '{path}' in project '{folder.name}'")
    return target


def project_files(folder: Path) -> list[str]:
    """Every readable file of a project, project-relative, sorted."""
    files = [name for name in PROJECT_FILES if (folder / name).is_file()]
    for phase in sorted(p for p in folder.iterdir() if p.is_dir() and not p.is_symlink() and _PHASE.match(p.name)):
        files += sorted(f.relative_to(folder).as_posix() for f in phase.rglob("*")
                        if f.is_file() and "runs" not in f.relative_to(folder).parts
                        and not any(part.startswith(".") for part in f.relative_to(folder).parts))
    return files
