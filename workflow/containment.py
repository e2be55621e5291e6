"""Packs are untrusted input (people download them): every path a pack names must stay where it
belongs. Sources (steps, personas, templates) stay inside the pack, symlinks included; the files a
step writes or reads in a project (outputs, skip records, context) are plain project-relative file
paths that cannot name Cairn's own files. The loaders call these checks and report each problem
with the file, the key and the fix."""

from __future__ import annotations

import re
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from workflow.pack_model import StepFrontmatter

# Files and folders of a project that only Cairn writes: a pack naming one as an output would
# overwrite the commit marker, the decision log or the checkpoint.
RESERVED_FILES = ("sidecar.yaml", "decision-log.md", "project-spec.md", "export.md", "export.html")
RESERVED_FOLDERS = (".cairn",)
_PART = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9._-]*$")
_MAX_PATH = 240


def step_path_problems(meta: StepFrontmatter, templates_dir: Path) -> list[tuple[str, str]]:
    """(key, problem) for every path a step names that leaves the project or the pack: outputs,
    skip_record and context must be plain project files (outputs and skip records not Cairn's
    own), templates must be files inside the pack's templates folder, symlinks included."""
    found: list[tuple[str, str]] = []
    outputs = [o.path for o in meta.outputs]
    for i, output in enumerate(meta.outputs):
        problem = project_path_problem(output.path)
        if problem is None and any(other.startswith(output.path + "/") for other in outputs):
            problem = f"'{output.path}' is a folder of another output; give this output its own file name"
        if problem is not None:
            found.append((f"outputs[{i}].path", problem))
        if output.template is not None:
            problem = template_problem(templates_dir, output.template)
            if problem is not None:
                found.append((f"outputs[{i}].template", problem))
    if meta.skip_record is not None:
        problem = project_path_problem(meta.skip_record, kind="skip_record")
        if problem is not None:
            found.append(("skip_record", problem))
    for i, rel in enumerate(meta.context):
        problem = project_path_problem(rel, kind="context", reserved_ok=True)
        if problem is not None:
            found.append((f"context[{i}]", problem))
    return found


def template_problem(templates_dir: Path, name: str) -> str | None:
    """Why the template `name` leaves `templates_dir` (None when it stays inside). A missing
    template is not reported here: the template check names it."""
    if not name or Path(name).is_absolute() or "\\" in name or ".." in Path(name).parts:
        return f"template '{name}' must be a file name inside {templates_dir.name}/ (no absolute path or '..')"
    target = templates_dir / name
    if (target.exists() or target.is_symlink()) and not is_inside(target, templates_dir):
        return f"template '{name}' is a symbolic link out of {templates_dir.name}/; copy the file into the pack"
    return None


def project_path_problem(path: str, *, kind: str = "output", reserved_ok: bool = False) -> str | None:
    """Why `path` cannot be a project file a pack writes or reads (None when it can).

    A project file is a '/'-separated relative path of plain names (letters, digits, '.', '_',
    '-'; no '..', '.', empty or hidden parts), ending in a file name with an extension, and not
    one of Cairn's own files."""
    example = "phase-0-scoping/notes.md"
    if not isinstance(path, str) or not path.strip():
        return f"the {kind} path is empty; name a file such as {example}"
    if len(path) > _MAX_PATH:
        return f"the {kind} path is longer than {_MAX_PATH} characters; use a shorter name"
    if path.startswith("/") or "\\" in path or ":" in path:
        return (f"'{path}' is absolute or has a drive letter or backslash; "
                f"name a file inside the project such as {example}")
    parts = path.split("/")
    if any(part in ("", ".", "..") for part in parts):
        return f"'{path}' has a '..', '.' or empty part; name a file inside the project such as {example}"
    bad = next((part for part in parts if not _PART.match(part)), None)
    if bad is not None:
        return f"'{path}': '{bad}' may use letters, digits, '.', '_' and '-' only (and not start with '.')"
    if parts[0] in RESERVED_FOLDERS:
        return f"'{path}' is inside Cairn's own {parts[0]}/ folder; write documents in a phase folder"
    if path in RESERVED_FILES and not reserved_ok:
        return f"'{path}' is a file Cairn itself writes; give the document another name such as {example}"
    if "." not in parts[-1].strip("."):
        return f"'{path}' names a folder, not a file; add a file name with an extension such as {example}"
    return None


def source_problem(root: Path, rel: str, *, what: str) -> str | None:
    """Why the pack file `rel` (relative to the pack folder `root`) cannot be read: it leaves the
    pack (absolute, '..', or a symlink pointing outside), or it is missing. None when it is fine."""
    if not rel or Path(rel).is_absolute() or "\\" in rel:
        return f"{what} '{rel}' must be a path relative to {root.name}/ inside the pack"
    target = root / rel
    if ".." in Path(rel).parts or not is_inside(target, root):
        return f"{what} '{rel}' points outside the pack folder {root.name}/; keep pack files inside the pack"
    if not target.is_file():
        return f"{what} '{rel}' not found in {root}; create it or fix the name"
    return None


def is_inside(path: Path, root: Path) -> bool:
    """True when `path`, with every symlink resolved, lies in `root` (also resolved)."""
    try:
        return path.resolve().is_relative_to(root.resolve())
    except (OSError, RuntimeError):  # a symlink loop
        return False


def escaping_files(root: Path, pattern: str) -> list[Path]:
    """Files under `root` matching `pattern` that are symlinks resolving outside `root`."""
    return [file for file in sorted(root.rglob(pattern)) if file.is_symlink() and not is_inside(file, root)]


__all__ = ["RESERVED_FILES", "RESERVED_FOLDERS", "escaping_files", "is_inside", "project_path_problem",
           "source_problem", "step_path_problems", "template_problem"]
