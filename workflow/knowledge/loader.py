"""Reading knowledge entries from YAML files, with every problem reported as
`file line N: entry 'id': key 'k': what is wrong; fix: what to do`."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError
from pydantic_core import ErrorDetails

from workflow.errors import CairnError
from workflow.knowledge.entry import COMMON_FIELDS, CONTENT_FIELDS, ENTRY_ADAPTER, ENTRY_TYPES, Entry
from workflow.yamlerrors import yaml_problem

MAX_REPORTED = 25
# libyaml's parser when PyYAML was built with it: ten times faster on the shipped base.
_Loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class KnowledgeError(CairnError):
    """The knowledge base cannot be loaded; `problems` lists every problem found."""

    def __init__(self, problems: list[str]) -> None:
        self.problems = problems
        if len(problems) == 1:
            message = problems[0]
        else:
            shown = "\n  ".join(problems[:MAX_REPORTED])
            more = f"\n  ... and {len(problems) - MAX_REPORTED} more" if len(problems) > MAX_REPORTED else ""
            message = f"{len(problems)} problems in the knowledge entries:\n  {shown}{more}"
        super().__init__(message)


def entry_files(folder: Path) -> list[Path]:
    """Every *.yaml / *.yml file under `folder`, sorted, skipping hidden folders."""
    files = [
        path
        for pattern in ("*.yaml", "*.yml")
        for path in folder.rglob(pattern)
        if not any(part.startswith(".") for part in path.relative_to(folder).parts)
    ]
    return sorted(files)


def load_entries(folder: Path) -> list[Entry]:
    """Load and validate every entry under `folder`.

    Raises KnowledgeError listing each problem (file, line, entry id, key, fix) when any
    file is unreadable, any entry is invalid, or two entries share an id.
    """
    if not folder.is_dir():
        raise KnowledgeError([f"{folder}: knowledge folder not found; fix: pass a folder of *.yaml entries"])
    problems: list[str] = []
    entries: list[Entry] = []
    seen: dict[str, str] = {}
    for path in entry_files(folder):
        for where, raw in _raw_entries(path, problems):
            entry = _validate(where, raw, problems)
            if entry is None:
                continue
            if entry.id in seen:
                problems.append(
                    f"{where}: entry '{entry.id}': id already used in {seen[entry.id]}; fix: give one a new id"
                )
                continue
            seen[entry.id] = where
            entries.append(entry)
    if problems:
        raise KnowledgeError(problems)
    return entries


def _raw_entries(path: Path, problems: list[str]) -> Iterator[tuple[str, Any]]:
    """Yield (location, raw mapping) for each entry in one file; unreadable files add a problem."""
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        problems.append(f"{path}: cannot read ({exc}); fix: save it as UTF-8 text")
        return
    try:
        loader = _Loader(text)
        try:
            node = loader.get_single_node()
            data = loader.construct_document(node) if node is not None else None
        finally:
            loader.dispose()
    except yaml.YAMLError as exc:
        line, problem = yaml_problem(exc)
        where = f" line {line}" if line else ""
        problems.append(f"{path}{where}: not valid YAML ({problem}); fix the syntax there")
        return
    if node is None or data is None:
        problems.append(f"{path}: file is empty; fix: add an entry or delete the file")
        return
    if isinstance(data, dict):
        yield f"{path} line {node.start_mark.line + 1}", data
    elif isinstance(data, list):
        for item, item_node in zip(data, node.value, strict=True):
            yield f"{path} line {item_node.start_mark.line + 1}", item
    else:
        problems.append(f"{path}: expected one entry (a mapping) or a list of entries; fix the top level")


def _validate(where: str, raw: Any, problems: list[str]) -> Entry | None:
    if not isinstance(raw, dict):
        problems.append(f"{where}: expected an entry (a mapping with id, type, title, ...); fix the list item")
        return None
    name = raw.get("id", "?")
    try:
        return ENTRY_ADAPTER.validate_python(raw)
    except ValidationError as exc:
        for err in exc.errors():
            problems.append(f"{where}: entry '{name}': {_describe(err, raw)}")
        return None


def _describe(err: ErrorDetails, raw: dict[str, Any]) -> str:
    """One validation error as "key 'k': problem; fix: ..."."""
    kind = str(raw.get("type", ""))
    loc = [str(part) for part in err["loc"]]
    if loc and loc[0] == kind:  # the discriminated union puts the tag first
        loc = loc[1:]
    key = ".".join(loc)
    label = f"key '{key}': " if key else ""
    etype = err["type"]
    msg = err["msg"].removeprefix("Value error, ")
    if etype in ("union_tag_invalid", "union_tag_not_found"):
        return f"key 'type': must be one of {', '.join(ENTRY_TYPES)}; fix: set type to one of them"
    if etype == "missing":
        return f"{label}missing; fix: add '{key}' (a {kind or 'entry'} needs {_allowed(kind)})"
    if etype == "extra_forbidden":
        return f"{label}not part of a {kind}; fix: remove it (a {kind} takes {_allowed(kind)})"
    if etype == "too_short":
        return f"{label}{msg}; fix: give at least {err.get('ctx', {}).get('min_length', 1)} items"
    if etype == "string_pattern_mismatch":
        return f"{label}'{err['input']}' is not kebab-case; fix: use lowercase words joined by '-'"
    if etype == "string_too_short":
        return f"{label}is empty; fix: write the text"
    return f"{label}{msg}; fix: correct the value (knowledge/README.md shows the schema)"


def _allowed(kind: str) -> str:
    fields = COMMON_FIELDS + CONTENT_FIELDS.get(kind, ())
    return ", ".join(fields)
