"""The pack-level files of a BMAD workflow: `config.yaml` (phase folders and their skip rules,
the steps table, `*_options` lists, `paths` with `{project-root}` placeholders) and
`workflow.md` / `workflow-*.md` / `SKILL.md` (name, description and which step starts the walk),
and a skill's `customize.toml` defaults."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from workflow import phases
from workflow.bmad.layout import customize_values, workflow_files
from workflow.bmad.markdown import key, scan, substitute
from workflow.bmad.report import Report
from workflow.frontmatter import split_frontmatter
from workflow.yamlerrors import yaml_problem
from workflow.yamlload import load_yaml

_SKIP_KEYS = ("skip_when", "skipWhen", "skip_if", "skipIf", "condition", "skip")
_FILE_KEYS = ("file", "path", "step", "stepFile", "step_file")
_AGENT_KEYS = ("agent", "persona", "agentFile", "agent_file")
_START_KEYS = ("start", "firstStep", "first_step", "startStep", "start_step", "firstStepFile", "nextStep",
               "nextStepFile")
_STEP_REF = re.compile(r"[\w./{}-]*step-[\w.-]+\.md")


@dataclass(frozen=True, kw_only=True)
class PhaseRule:
    output: str | None  # output folder, e.g. phase-2-training
    skip_when: str | None


@dataclass(frozen=True, kw_only=True)
class TableEntry:
    id: str
    file: str | None
    agent: str | None
    skip_when: str | None
    title: str | None


@dataclass(frozen=True, kw_only=True)
class BmadConfig:
    """What a BMAD `config.yaml` and `workflow.md` say about the whole pack."""

    name: str | None = None
    version: str | None = None
    title: str | None = None
    start_refs: tuple[str, ...] = ()  # the first step as named by a key (start, firstStep, ...)
    mentioned: tuple[str, ...] = ()  # step files mentioned in workflow.md's text, in order
    values: dict[str, str] = field(default_factory=dict)  # placeholder values, by key()
    phase_rules: dict[str, PhaseRule] = field(default_factory=dict)  # by pack folder, e.g. 2-training
    table: tuple[TableEntry, ...] = ()
    options: dict[str, tuple[str, ...]] = field(default_factory=dict)  # architecture -> choices
    story_prefixes: dict[str, str] = field(default_factory=dict)  # step id -> story id prefix (TRAIN)


def read_config(workflow_root: Path, report: Report) -> BmadConfig:
    """Read `config.yaml` and `workflow.md` under `workflow_root` (either may be absent).
    Unreadable YAML is a problem; anything that cannot be interpreted is a warning."""
    config_file = workflow_root / "config.yaml"
    raw: dict[str, Any] = {}
    if config_file.is_file():
        loaded = _yaml(config_file, config_file.read_text(encoding="utf-8"), report)
        if isinstance(loaded, dict):
            raw = loaded
        elif loaded is not None:
            report.error(config_file, "(top level)", "expected a mapping of settings; fix the file")
    name = version = title = None
    start_refs: list[str] = []
    mentioned: list[str] = []
    for file in workflow_files(workflow_root):  # workflow.md, workflow-*.md, SKILL.md: the first that says wins
        found = _workflow_md(file, report)
        name, version, title = name or found[0], version or found[1], title or found[2]
        start_refs += found[3]
        mentioned += found[4]
    values = {**{key(k): v for k, v in customize_values(workflow_root, report).items()},
              **_values(raw, _folders(workflow_root, raw))}
    start_refs += [str(raw[k]) for k in _START_KEYS if isinstance(raw.get(k), str)]
    return BmadConfig(
        name=name or _text(raw.get("name")),
        version=version or _text(raw.get("version")),
        title=title or _text(raw.get("title")) or _text(raw.get("description")),
        start_refs=tuple(start_refs),
        mentioned=tuple(mentioned),
        values=values,
        phase_rules=_phase_rules(raw.get("phase_folders"), config_file, report),
        table=_table(raw.get("steps"), config_file, report),
        options=_options(raw, config_file, report),
        story_prefixes=_story_prefixes(raw.get("story_prefixes")),
    )


def _yaml(file: Path, text: str, report: Report) -> Any:
    try:
        return load_yaml(text)
    except yaml.YAMLError as exc:
        line, problem = yaml_problem(exc)
        report.error(file, f"line {line}" if line else "(file)", f"not valid YAML ({problem}); fix the syntax")
        return None


def _workflow_md(file: Path, report: Report) -> tuple[str | None, str | None, str | None, list[str], list[str]]:
    if not file.is_file():
        return None, None, None, [], []
    text = file.read_text(encoding="utf-8")
    parts = split_frontmatter(text)
    meta: dict[str, Any] = {}
    body = text
    if parts is not None:
        loaded = _yaml(file, parts[0], report)
        meta = loaded if isinstance(loaded, dict) else {}
        body = parts[1]
    refs = [str(meta[k]) for k in _START_KEYS if isinstance(meta.get(k), str)]
    mentioned: list[str] = []
    title = None
    for line in scan(body):
        if line.fenced:
            continue
        if title is None and line.text.startswith("# "):
            title = line.text[2:].strip()
        mentioned += [m.group(0) for m in _STEP_REF.finditer(line.text)]
    return (_text(meta.get("name")), _text(meta.get("version")),
            _text(meta.get("title")) or title or _text(meta.get("description")), refs, mentioned)


def _folders(workflow_root: Path, raw: dict[str, Any]) -> dict[str, str]:
    """Where the pack is: `installed_path` is the workflow's own folder, and `project-root` the
    folder that an `installed_path`/`workflow_path` setting such as `{project-root}/workflows/x`
    leads from to it (unknown when the pack was copied elsewhere)."""
    root = workflow_root.resolve()
    folders = {"installed_path": str(root)}
    paths: dict[str, Any] = raw["paths"] if isinstance(raw.get("paths"), dict) else {}
    for name in ("installed_path", "workflow_path"):
        value = raw.get(name) or paths.get(name)
        if isinstance(value, str) and value.startswith("{project-root}/"):
            tail = Path(value.removeprefix("{project-root}/").strip("/")).parts
            if tail and ".." not in tail and root.parts[-len(tail):] == tail:
                folders["project_root"] = str(root.parents[len(tail) - 1])
                break
    return folders


def _values(raw: dict[str, Any], folders: dict[str, str] | None = None) -> dict[str, str]:
    """Scalar settings and `paths` entries (over `folders`), with placeholders between them resolved."""
    values: dict[str, str] = dict(folders or {})
    for name, value in raw.items():
        if isinstance(value, str | int | float | bool):
            values[key(str(name))] = str(value)
    paths = raw.get("paths")
    if isinstance(paths, dict):
        for name, value in paths.items():
            if isinstance(value, str | int | float):
                values[key(str(name))] = str(value)
    for _ in range(5):  # paths refer to each other ({output_folder}/{project_name}); a few rounds settle it
        values = {name: substitute(value, values) for name, value in values.items()}
    return values


def _phase_rules(raw: Any, file: Path, report: Report) -> dict[str, PhaseRule]:
    entries: list[tuple[str, Any]] = []
    if isinstance(raw, dict):
        entries = [(str(k), v) for k, v in raw.items()]
    elif isinstance(raw, list):
        for item in raw:
            name = next((item.get(k) for k in ("folder", "name", "key", "path") if isinstance(item, dict)
                         and item.get(k)), None)
            if name is None:
                report.warn(file, "phase_folders", f"entry {item!r} names no folder; add `folder:`")
                continue
            entries.append((str(name), item))
    elif raw is not None:
        report.warn(file, "phase_folders", "expected a mapping of folder -> settings; ignored")
    rules: dict[str, PhaseRule] = {}
    for name, value in entries:
        folder = folder_key(name)
        output: str | None = None
        skip: str | None = None
        if isinstance(value, str):
            output = value
        elif isinstance(value, dict):
            output = _text(next((value[k] for k in ("output", "output_folder", "outputFolder", "phase")
                                 if value.get(k)), None))
            skip = condition_text(next((value[k] for k in _SKIP_KEYS if k in value), None),
                                  file, f"phase_folders.{name}", report)
        if output is not None and not phases.is_phase(output.strip("/").split("/")[-1]):
            report.warn(file, f"phase_folders.{name}.output", f"'{output}' is not a phase folder like "
                        "'phase-2-training'; the step's own folder name is used")
            output = None
        rules[folder] = PhaseRule(output=output.strip("/").split("/")[-1] if output else None, skip_when=skip)
    return rules


def folder_key(name: str) -> str:
    """`2-training`, `phase-2-training` and `steps/2-training/` all name the same phase folder."""
    last = name.strip().strip("/").split("/")[-1].lower()
    return phases.pack_folder(last) if phases.is_phase(last) else last


def condition_text(value: Any, file: Path, where: str, report: Report) -> str | None:
    """A skip rule as an expression: a string as written, or `{architecture: rag-only}` /
    `{architecture: [rag-only, x]}` as the comparison it means."""
    if value is None or value is False:
        return None
    if isinstance(value, str):
        return value.strip() or None
    if isinstance(value, dict) and value:
        parts = []
        for name, wanted in value.items():
            if isinstance(wanted, list):
                parts.append(f"{name} in {[str(w) for w in wanted]!r}")
            else:
                parts.append(f"{name} == {str(wanted)!r}")
        return " and ".join(parts)
    report.warn(file, where, f"cannot read {value!r} as a condition; write an expression such as "
                "\"architecture == 'rag-only'\"")
    return None


def _table(raw: Any, file: Path, report: Report) -> tuple[TableEntry, ...]:
    items: list[tuple[Any, Any]] = []
    if isinstance(raw, dict):
        items = list(raw.items())
    elif isinstance(raw, list):
        for item in raw:
            if isinstance(item, dict) and item.get("id") is not None:
                items.append((item["id"], item))
            else:
                report.warn(file, "steps", f"entry {item!r} has no `id`; ignored")
    elif raw is not None:
        report.warn(file, "steps", "expected a mapping of step id -> file and agent; ignored")
    out = []
    for step_id, value in items:
        sid = normalize_id(step_id)
        if isinstance(value, str):
            out.append(TableEntry(id=sid, file=value, agent=None, skip_when=None, title=None))
        elif isinstance(value, dict):
            out.append(TableEntry(
                id=sid,
                file=_text(next((value[k] for k in _FILE_KEYS if value.get(k)), None)),
                agent=_text(next((value[k] for k in _AGENT_KEYS if value.get(k)), None)),
                skip_when=condition_text(next((value[k] for k in _SKIP_KEYS if k in value), None),
                                         file, f"steps.{sid}", report),
                title=_text(value.get("title") or value.get("name"))))
        else:
            report.warn(file, f"steps.{sid}", "expected a file name or a mapping with `file` and `agent`")
    return tuple(out)


def _options(raw: dict[str, Any], file: Path, report: Report) -> dict[str, tuple[str, ...]]:
    """`architecture_options: [rag-only, ...]` (strings, mappings with an id, or a mapping
    of option -> description) gives the choices of the `architecture` variable."""
    out: dict[str, tuple[str, ...]] = {}
    for name, value in raw.items():
        if not str(name).endswith("_options"):
            continue
        variable = str(name)[: -len("_options")]
        choices: list[str] = []
        if isinstance(value, dict):
            choices = [str(k) for k in value]
        elif isinstance(value, list):
            for item in value:
                if isinstance(item, dict):
                    picked = next((item[k] for k in ("id", "value", "key", "name") if item.get(k) is not None), None)
                    if picked is None and len(item) == 1:
                        picked = next(iter(item))
                    if picked is not None:
                        choices.append(str(picked))
                elif item is not None:
                    choices.append(str(item))
        if not choices:
            report.warn(file, str(name), "lists no options; write a list such as [rag-only, fine-tuning, hybrid]")
            continue
        out[variable] = tuple(dict.fromkeys(choices))
    return out


def _story_prefixes(raw: Any) -> dict[str, str]:
    """`story_prefixes: {"4": TRAIN}` (or the other way round, `{TRAIN: 4}`) by step id."""
    out: dict[str, str] = {}
    if isinstance(raw, dict):
        for name, value in raw.items():
            if isinstance(value, str) and re.fullmatch(r"[A-Z][A-Z0-9]{1,11}", value.strip()):
                out[normalize_id(name)] = value.strip()
            elif re.fullmatch(r"[A-Z][A-Z0-9]{1,11}", str(name)) and value is not None:
                out[normalize_id(value)] = str(name)
    return out


def normalize_id(value: Any) -> str:
    """Step ids are strings: 1, 1.0, "01" and "1" are all "1"; "02a" is "2a"."""
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    text = str(value).strip()
    match = re.fullmatch(r"0*(\d+)([a-z]?)", text, flags=re.IGNORECASE)
    if match:
        return f"{int(match.group(1))}{match.group(2).lower()}"
    return text


def _text(value: Any) -> str | None:
    if value is None:
        return None
    text = str(value).strip()
    return text or None
