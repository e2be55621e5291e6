"""One BMAD step file read into the parts of a Cairn step: id, phase, skip rule, persona,
title, outputs, menu, knowledge calls and the guidance-derived form. Graph-wide work (next
rules, reachability, the sidecar fields) happens in `loader`."""

from __future__ import annotations

import posixpath
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from workflow import phases
from workflow.bmad.config import BmadConfig, TableEntry, condition_text, folder_key, normalize_id
from workflow.bmad.gates import Gates
from workflow.bmad.guidance import Guidance, read_guidance
from workflow.bmad.markdown import Line, key, scan
from workflow.bmad.menus import ParsedMenu, parse_menu
from workflow.bmad.outputs import find_outputs
from workflow.bmad.queries import parse_queries
from workflow.bmad.report import Report
from workflow.bmad.routes import expression_error, quote_bare
from workflow.frontmatter import split_frontmatter
from workflow.pack_model import KnowledgeQuery, MenuItem
from workflow.yamlerrors import yaml_problem
from workflow.yamlload import load_yaml

FLAT_PHASE = "phase-0-workflow"  # output folder of steps that are not in a phase folder
_ID_KEYS = ("id", "stepId", "step_id", "stepNumber", "step_number")
_SKIP_KEYS = ("skip_when", "skipWhen", "skip_if", "skipIf")
_FILE_ID = re.compile(r"^step[-_]?(\d+[a-z]?)(?:[-_.]|$)", re.IGNORECASE)
_AGENT_REF = re.compile(r"agents/([\w.-]+?)(?:\.md)?[`'\")\s]")
_DEFAULT_MENU = (MenuItem(key="A", label="Revise this step's answers", action="revise"),
                 MenuItem(key="P", label="View progress", action="progress"),
                 MenuItem(key="C", label="Continue", action="continue"))


@dataclass(kw_only=True)
class StepFile:
    """A step file and what was derived from it."""

    file: Path
    rel: str  # relative to steps/
    meta: dict[str, Any]
    body: str
    has_frontmatter: bool
    id: str = ""
    phase: str = FLAT_PHASE
    skip_when: str | None = None
    agent: str = "facilitator"
    title: str = ""
    outputs: list[str] = field(default_factory=list)
    guidance: Guidance | None = None
    menu: list[MenuItem] = field(default_factory=list)
    skippable: bool = False
    knowledge: list[KnowledgeQuery] = field(default_factory=list)
    lines: list[Line] = field(default_factory=list)
    values: dict[str, str] = field(default_factory=dict)  # placeholder values: config, then frontmatter
    template: Path | None = None  # the pack's own template of the first output
    skip_record: str | None = None  # where the pack's skip section writes its record
    skip_text: str | None = None  # and what that record says (the block the section shows)
    gates: Gates | None = None  # decisions, stories and conditions (set by the loader)


def read_step(file: Path, steps_dir: Path, report: Report) -> StepFile | None:
    """The file's frontmatter and body; None (with a problem) when the frontmatter is broken."""
    text = file.read_text(encoding="utf-8")
    rel = file.relative_to(steps_dir).as_posix()
    parts = split_frontmatter(text)
    if parts is None:
        return StepFile(file=file, rel=rel, meta={}, body=text, has_frontmatter=False)
    try:
        meta = load_yaml(parts[0]) or {}
    except yaml.YAMLError as exc:
        line, problem = yaml_problem(exc, first_line=2)
        report.error(file, f"line {line}" if line else "frontmatter",
                     f"frontmatter is not valid YAML ({problem}); fix the syntax")
        return None
    if not isinstance(meta, dict):
        report.error(file, "frontmatter", "expected a mapping of keys (name, description, nextStep, ...)")
        return None
    return StepFile(file=file, rel=rel, meta=meta, body=parts[1], has_frontmatter=True)


def assign_ids(steps: list[StepFile], table_ids: dict[str, str], report: Report) -> None:
    """Ids from the config's steps table, else the frontmatter, else the file name
    (`step-02a-x.md` -> "2a"), always strings; a clash keeps the first and renames the other."""
    used: dict[str, StepFile] = {}
    for step in steps:
        raw = table_ids.get(step.rel)
        if raw is None:
            raw = next((step.meta[k] for k in _ID_KEYS if step.meta.get(k) is not None), None)
        if raw is None:
            match = _FILE_ID.match(step.file.stem)
            raw = match.group(1) if match else step.file.stem
        step_id = normalize_id(raw)
        if step_id in used:
            report.warn(step.file, "id", f"'{step_id}' is also the id of {used[step_id].rel}; "
                        f"this step is called '{step.file.stem}' instead")
            step_id = step.file.stem
        used[step_id] = step
        step.id = step_id


SESSION_VALUES = frozenset({"output_folder", "planning_artifacts", "implementation_artifacts", "project_name",
                            "user_name"})


def derive(step: StepFile, config: BmadConfig, entry: TableEntry | None, personas: set[str],
           report: Report, template_dirs: list[Path] | None = None) -> None:
    """Fill in everything that depends on this file alone."""
    meta, file = step.meta, step.file
    values = dict(config.values)
    values.update({key(str(k)): str(v) for k, v in meta.items() if isinstance(v, str | int | float)})
    lines = scan(step.body)
    parsed = parse_menu(lines)
    step.knowledge, query_lines = parse_queries(lines, file, report)
    # Where documents go and whose project it is are the session's: those placeholders stay in the
    # guidance and are filled when it is shown (Engine.guidance_text).
    step.guidance = read_guidance(lines, parsed.lines | query_lines,
                                  {k: v for k, v in values.items() if k not in SESSION_VALUES})
    step.phase = _phase(step, config, report)
    step.skip_when = _skip(step, config, entry, report)
    step.agent = _agent(step, entry, personas, report)
    step.title = (_text(meta.get("title")) or step.guidance.title or (entry.title if entry else None)
                  or re.sub(r"^step[-_]?\d+[a-z]?[-_]", "", step.file.stem).replace("-", " ").capitalize())
    found = find_outputs(file=file, meta=meta, lines=lines, values=values, phase=step.phase,
                         template_dirs=template_dirs or [], report=report)
    step.outputs, step.template, step.skip_record = found.paths, found.template, found.skip_record
    step.skip_text = found.skip_text
    step.lines, step.values = lines, values
    step.menu, step.skippable = _menu(step, parsed, report)
    if "continueStepFile" in meta:
        report.warn(file, "continueStepFile", "continuation files are not used: Cairn resumes a project "
                    "from its sidecar at the step in progress")


def _phase(step: StepFile, config: BmadConfig, report: Report) -> str:
    top = step.rel.split("/")[0] if "/" in step.rel else ""
    declared = _text(step.meta.get("outputPhase") or step.meta.get("phase"))
    if declared:
        if phases.is_phase(declared.lower()):
            return phases.output_folder(declared.lower())
        report.warn(step.file, "outputPhase", f"'{declared}' is not a phase like 'phase-1-feature'; "
                    "the step's folder decides")
    rule = config.phase_rules.get(folder_key(top)) if top else None
    if rule is not None and rule.output:
        return rule.output
    if top and phases.is_phase(top.lower()):
        return phases.output_folder(top.lower())
    if top:
        report.warn(step.file, "phase", f"folder '{top}' is not a phase folder like '2-training'; "
                    f"documents go to {FLAT_PHASE}/")
    return FLAT_PHASE


def _skip(step: StepFile, config: BmadConfig, entry: TableEntry | None, report: Report) -> str | None:
    meta, where, source = step.meta, "skip_when", str(step.file)
    expression = condition_text(next((meta[k] for k in _SKIP_KEYS if k in meta), None), step.file, where, report)
    if expression is None and entry is not None and entry.skip_when:
        expression, where, source = entry.skip_when, f"steps.{entry.id}.skip_when", "config.yaml"
    if expression is None:
        top = step.rel.split("/")[0] if "/" in step.rel else ""
        for folder in (folder_key(top) if top else "", phases.pack_folder(step.phase)):
            rule = config.phase_rules.get(folder)
            if rule is not None and rule.skip_when:
                expression, where, source = rule.skip_when, f"phase_folders.{folder}.skip_when", "config.yaml"
                break
    if expression is None:
        if meta.get("conditional") is True:
            report.warn(step.file, "conditional", "the step is conditional but no skip rule was found (phase_folders "
                        "skip_when in config.yaml, or skip_when here); it always runs")
        return None
    expression = quote_bare(expression, config.options)
    error = expression_error(expression, config.options)
    if error is not None:
        report.warn(source, where, f"{error}; the skip rule is ignored and the step always runs")
        return None
    return expression


def _agent(step: StepFile, entry: TableEntry | None, personas: set[str], report: Report) -> str:
    named = (entry.agent if entry else None) or _text(step.meta.get("agent"))
    if named is None:
        match = _AGENT_REF.search(step.body + " ")
        named = match.group(1) if match else None
    if named is None:
        guess = re.sub(r"^step[-_]?\d+[a-z]?[-_]", "", step.file.stem)
        named = guess if guess in personas else None
    if named is None:
        report.warn(step.file, "agent", "no persona named (steps table in config.yaml, `agent:`, or an "
                    "agents/NAME.md mention); the step runs without one")
        return "facilitator"
    name = posixpath.basename(named.strip().replace("\\", "/")).removesuffix(".md")
    if name not in personas:
        report.warn(step.file, "agent", f"persona '{name}' not found in agents/; add agents/{name}.md")
    return name


def _menu(step: StepFile, parsed: ParsedMenu, report: Report) -> tuple[list[MenuItem], bool]:
    if not parsed.items:
        report.warn(step.file, "menu", "no MENU section with [A]/[P]/[C] items; using [A] Revise, "
                    "[P] Progress, [C] Continue")
        return list(_DEFAULT_MENU), False
    if not parsed.found_section:
        report.warn(step.file, "menu", "no section heading contains MENU; the menu line of the body is used")
    items = []
    for item in parsed.items:
        if item.needs_model:
            items.append(MenuItem(key=item.key, label=item.label, action="party"))
            continue
        if item.guessed:
            report.warn(step.file, "menu", f"[{item.key}] '{item.label}' has no Cairn action; it reopens the "
                        "step's questions (revise). Free text typed at the menu is kept as a note")
        items.append(MenuItem(key=item.key, label=item.label, action=item.action))
    if not any(item.action == "continue" for item in items):
        report.warn(step.file, "menu", "no [C] Continue item; one is added so the step can be completed")
        key_name = "C" if all(item.key.upper() != "C" for item in items) else ">"
        items.append(MenuItem(key=key_name, label="Continue", action="continue"))
    return items, any(item.action == "skip" for item in items)


def _text(value: Any) -> str | None:
    if value is None or isinstance(value, dict | list):
        return None
    text = str(value).strip()
    return text or None
