"""The documents a BMAD step writes, found where BMAD names them: frontmatter (`outputFile`),
or the body ("Save output to `…`", "Append the final content to `{planning_artifacts}/…`",
"Populate …", `**File:**` under an output heading), the pack template it fills ("Use Template:
Load `…/templates/x.template.md`", `templateFile`), and the skip record its skip section
creates ("Create `{trainingFolder}/training-spec.md`")."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from workflow.bmad.markdown import Line, heading, substitute
from workflow.bmad.report import Report

_OUTPUT_KEYS = ("outputFile", "outputFiles", "output_file", "outputs", "outputDocument")
_TEMPLATE_KEYS = ("templateFile", "template", "outputTemplate", "template_file", "documentTemplate")
_PATH = r"`([^`\n]+\.(?:md|ya?ml|json))`|(\{?[\w{}./-]+\.(?:md|ya?ml|json))\b"
_SAVE = re.compile(r"\b(?:save(?:\s+(?:the\s+)?(?:output|content|document|it|final\s+\w+))?\s+(?:to|as|in)|"
                   r"copy\s+`[^`\n]+`\s+to|"
                   r"append(?:\s+[\w ]{0,30}?)?\s+to|populate|write\s+(?:it|the\s+document|output)\s+to|"
                   r"output\s+(?:file|to)\s*:?)\s*:?\s*[*_]*\s*(?:" + _PATH + ")", re.IGNORECASE)
_FILE = re.compile(r"^[\s>*_-]*file[*_\s]*:[*_\s]*(?:" + _PATH + ")", re.IGNORECASE)
_CREATE = re.compile(r"\bcreate\s+[*_]*(?:" + _PATH + ")", re.IGNORECASE)
_TEMPLATE_REF = re.compile(r"`?([\w{}./-]*template[\w.-]*\.md)`?", re.IGNORECASE)
_OUTPUT_HEADING = re.compile(r"output|document|save|deliverable|generate|create|write|record", re.IGNORECASE)
_INPUT_HEADING = re.compile(r"\bload|\binputs?\b|prerequisite|previous|sidecar|\bskip", re.IGNORECASE)
_ENGINE_FILES = ("sidecar.yaml", "decision-log.md", "project-spec.md")
_PHASE_SEGMENT = re.compile(r"^phase-\d+-[a-z0-9-]+$")
# Run-time values a file name may carry (`product-brief-{{project_name}}-{{date}}.md`): the project
# folder already names the project and the frontmatter carries the date, so they are dropped.
_RUNTIME = re.compile(r"[-_]?\{\{?\s*(?:project[_-]name|date|user[_-]name|timestamp|time)\s*\}?\}", re.IGNORECASE)


@dataclass(frozen=True, kw_only=True)
class Outputs:
    paths: list[str]
    template: Path | None  # the pack's own template for the first document
    skip_record: str | None  # where the skip section writes its record
    skip_text: str | None = None  # the record as the skip section shows it (its fenced block)


def find_outputs(*, file: Path, meta: Mapping[str, Any], lines: list[Line], values: Mapping[str, str],
                 phase: str, template_dirs: list[Path], report: Report) -> Outputs:
    """Outputs in frontmatter win; else every document the body says it saves. Each path lands
    in the project folder: from its `phase-N-name/` segment on, else in the step's phase."""
    raw = next((meta[k] for k in _OUTPUT_KEYS if meta.get(k)), None)
    refs = [r for r in (raw if isinstance(raw, list) else [raw] if raw else [])]
    where = "outputFile"
    skip_ref, skip_text = _skip_ref(lines)
    if not refs:
        refs, where = _body_refs(lines), "body"
    paths: list[str] = []
    for ref in refs:
        if not isinstance(ref, str):
            report.warn(file, where, f"{ref!r} is not a file path; ignored")
            continue
        path = project_path(ref, values, phase, file, where, report)
        if path is not None and path not in paths:
            paths.append(path)
    skip = project_path(skip_ref, values, phase, file, "skip", report) if skip_ref else None
    return Outputs(paths=paths, template=_template(file, meta, lines, values, template_dirs, report), skip_record=skip,
                   skip_text=substitute(skip_text, values) if skip and skip_text else None)


def project_path(ref: str, values: Mapping[str, str], phase: str, file: Path, where: str,
                 report: Report) -> str | None:
    """A path as written in the pack (`{output_folder}/{project_name}/phase-0-scoping/x.md`,
    `{planning_artifacts}/architecture.md`) as a path inside the project folder."""
    text = _RUNTIME.sub("", substitute(ref.strip().strip("`'\""), values))
    parts = [p for p in text.replace("\\", "/").split("/") if p not in ("", ".")]
    start = next((i for i, p in enumerate(parts) if _PHASE_SEGMENT.match(p)), None)
    path = "/".join(parts[start:]) if start is not None else f"{phase}/{parts[-1] if parts else 'notes.md'}"
    if ".." in path.split("/"):
        report.warn(file, where, f"'{ref}' leaves the project folder; ignored")
        return None
    if "{" in path:
        cleaned = re.sub(r"\{+([^}]*)\}+", r"\1", path)
        report.warn(file, where, f"'{ref}' keeps placeholders no setting fills; written as {cleaned}")
        path = cleaned
    return path


def _trail(lines: list[Line]) -> list[tuple[Line, str]]:
    """Each line with the headings above it (`LOAD CONTEXT / 2. Previous Step Output`), so a
    subsection is read in its parent's sense."""
    out: list[tuple[Line, str]] = []
    stack: list[tuple[int, str]] = []
    for line in lines:
        found = heading(line)
        if found is not None:
            stack = [h for h in stack if h[0] < found[0]] + [found]
            continue
        out.append((line, " / ".join(h[1] for h in stack)))
    return out


def _body_refs(lines: list[Line]) -> list[str]:
    refs: list[str] = []
    for line, current in _trail(lines):
        if line.fenced or _INPUT_HEADING.search(current) and not _OUTPUT_HEADING.search(current):
            continue
        matches = [m for m in _SAVE.finditer(line.text)]
        if not matches and _OUTPUT_HEADING.search(current) and not _INPUT_HEADING.search(current):
            file_match = _FILE.match(line.text)
            matches = [file_match] if file_match else []
        for match in matches:
            ref = (match.group(1) or match.group(2) or "").strip()
            name = ref.rsplit("/", 1)[-1]
            if ref and name not in _ENGINE_FILES and "template" not in name.lower() and ref not in refs:
                refs.append(ref)
    return refs


def _skip_ref(lines: list[Line]) -> tuple[str | None, str | None]:
    """`Create `…`` in a section whose heading mentions skipping: the pack's own skip record, and
    the fenced block that follows it in that section (what the record says), if any."""
    trail = _trail(lines)
    for index, (line, current) in enumerate(trail):
        if line.fenced or "skip" not in current.lower():
            continue
        match = _CREATE.search(line.text) or _SAVE.search(line.text)
        if match:
            return (match.group(1) or match.group(2) or "").strip() or None, _fenced_after(trail[index + 1:], current)
    return None, None


def _fenced_after(trail: list[tuple[Line, str]], section: str) -> str | None:
    """The first fenced block among the next lines of the same section."""
    block: list[str] = []
    for line, current in trail:
        if not current.startswith(section.split(" / ")[0]):
            break
        if line.fenced:
            block.append(line.text)
        elif block:
            break
    inside = block[1:-1] if len(block) >= 2 else []
    return "\n".join(inside).strip() or None


def _template(file: Path, meta: Mapping[str, Any], lines: list[Line], values: Mapping[str, str],
              dirs: list[Path], report: Report) -> Path | None:
    named = next((str(meta[k]) for k in _TEMPLATE_KEYS if isinstance(meta.get(k), str)), None)
    if named is None:
        for line in lines:
            match = _TEMPLATE_REF.search(line.text) if not line.fenced else None
            if match:
                named = match.group(1)
                break
    if named is None:
        return None
    name = substitute(named, values).replace("\\", "/").rsplit("/", 1)[-1]
    for folder in dirs:
        if (folder / name).is_file():
            return (folder / name).resolve()
    report.warn(file, "template", f"template '{named}' not found in {', '.join(d.name for d in dirs) or 'the pack'}; "
                "the document follows the step's questions instead")
    return None
