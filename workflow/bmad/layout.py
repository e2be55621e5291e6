"""Where a BMAD workflow keeps its parts, in every layout BMAD has shipped: a `workflow.md` (or
`workflow-*.md`, one per mode) beside `steps/` (or `steps-c/` and the like), or a skill: a
`SKILL.md` with `steps/`, `templates/` or assets, and `customize.toml` defaults."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path
from typing import Any

from workflow.bmad.report import Report

_STEP_FOLDER = re.compile(r"(?:^|[`'\"(\s/])\.?/?((?:[\w-]*steps[\w-]*))/step-[\w.-]+\.md", re.IGNORECASE)


def workflow_files(root: Path) -> list[Path]:
    """The files that describe the whole workflow, most specific first: `workflow.md`, then
    `workflow-*.md` (the create mode first), then `SKILL.md`."""
    found = [root / "workflow.md"] if (root / "workflow.md").is_file() else []
    modes = sorted(root.glob("workflow-*.md"), key=lambda p: (not p.stem.startswith("workflow-create"), p.name))
    found += modes
    if (root / "SKILL.md").is_file():
        found.append(root / "SKILL.md")
    return found


def is_bmad_folder(root: Path) -> bool:
    """A folder without pack.yaml is read as BMAD only when it has BMAD's own files."""
    return bool(workflow_files(root)) or (root / "config.yaml").is_file()


def steps_folder(root: Path, named: str | None) -> Path:
    """`named` when given (pack.yaml); else the folder the workflow files point at
    (`./steps-c/step-01-init.md`), else `steps/`, else the only `*steps*` folder."""
    if named:
        return (root / named).resolve()
    for file in workflow_files(root):
        for match in _STEP_FOLDER.finditer(file.read_text(encoding="utf-8")):
            if (root / match.group(1)).is_dir():
                return (root / match.group(1)).resolve()
    if (root / "steps").is_dir():
        return (root / "steps").resolve()
    candidates = sorted(p for p in root.iterdir() if p.is_dir() and "steps" in p.name.lower()) if root.is_dir() else []
    return candidates[0].resolve() if len(candidates) == 1 else (root / "steps").resolve()


def templates_folder(root: Path) -> Path | None:
    """The pack's own document templates: `templates/` or `assets/` beside the steps."""
    for name in ("templates", "assets"):
        if (root / name).is_dir():
            return (root / name).resolve()
    return None


def customize_values(root: Path, report: Report) -> dict[str, str]:
    """Scalar defaults from a skill's `customize.toml` (`[workflow]`-style tables flattened to
    their keys), used like config.yaml settings to fill `{placeholders}`."""
    file = root / "customize.toml"
    if not file.is_file():
        return {}
    try:
        data = tomllib.loads(file.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as exc:
        report.warn(file, "(file)", f"not valid TOML ({exc}); its defaults are not used")
        return {}
    values: dict[str, str] = {}

    def walk(table: dict[str, Any]) -> None:
        for name, value in table.items():
            if isinstance(value, dict):
                walk(value)
            elif isinstance(value, str | int | float | bool) and str(value).strip():
                values.setdefault(str(name), str(value))

    walk(data)
    return values
