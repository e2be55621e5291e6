"""Load a step pack (DESIGN 3.2, 3.3) and check it before any session starts.

`load_pack` returns a validated Pack or raises PackError listing every problem at once,
each naming the file, the key and the fix.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, cast

import yaml
from pydantic import BaseModel, ConfigDict, ValidationError

from workflow import phases
from workflow.containment import is_inside, step_path_problems, template_problem
from workflow.errors import PackError, UnreadableFileError
from workflow.expressions import ExpressionError, check_expression, check_template_source
from workflow.fileio import read_text_checked
from workflow.frontmatter import split_frontmatter
from workflow.pack_graph import endless_loops
from workflow.pack_model import (
    OUTPUT_SCHEMAS,
    NextRule,
    Pack,
    Persona,
    PersonaFrontmatter,
    Section,
    Step,
    StepFrontmatter,
)
from workflow.resources import default_pack_dir, packs_dir
from workflow.yamlerrors import yaml_problem
from workflow.yamlload import load_yaml


class Manifest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str
    version: str = "0.0.0"
    style: str = "cairn"
    title: str | None = None
    start: str
    steps: str = "steps"
    agents: str = "agents"
    templates: str = "templates"
    language: str = "en"


def resolve_pack_path(pack: str | Path | None) -> Path:
    """None -> the shipped pack; a name -> a shipped extra pack; else a folder path."""
    if pack is None or str(pack) in ("", "default", "ai-engineering"):
        return default_pack_dir()
    candidate = Path(pack)
    try:
        if candidate.exists():
            return candidate.resolve()
        named = packs_dir() / str(pack)
        if named.is_dir():
            return named
    except (OSError, ValueError) as exc:  # a name too long for the file system, a NUL byte
        shown = str(pack) if len(str(pack)) <= 80 else str(pack)[:77] + "..."
        raise PackError(f"pack '{shown}' cannot be looked up ({getattr(exc, 'strerror', None) or exc}); "
                        "give a folder with a pack.yaml or a shipped pack name") from None
    raise PackError(f"pack '{pack}' not found: give a folder with a pack.yaml or a shipped pack name")


def language_variant(root: Path, language: str | None) -> Path:
    """The pack's translation in `root/<language>/` when it ships one (DESIGN 10), else `root`."""
    if language and language != "en" and (root / language / "pack.yaml").is_file():
        return root / language
    return root


def split_sections(body: str) -> tuple[Section, ...]:
    sections: list[Section] = []
    heading, lines = "", cast(list[str], [])
    for line in body.splitlines():
        if line.startswith("## "):
            if heading or "".join(lines).strip():
                sections.append(Section(heading=heading, text="\n".join(lines).strip()))
            heading, lines = line[3:].strip(), []
        else:
            lines.append(line)
    if heading or "".join(lines).strip():
        sections.append(Section(heading=heading, text="\n".join(lines).strip()))
    return tuple(sections)


def _describe(exc: ValidationError) -> list[tuple[str, str]]:
    out = []
    for err in exc.errors():
        key = ".".join(str(p) for p in err["loc"]) or "(top level)"
        msg = err["msg"]
        if err["type"] == "extra_forbidden":
            msg = "unknown key; remove it or check its spelling (see DESIGN 3.3)"
        elif err["type"] == "missing":
            msg = "required key is missing; add it"
        out.append((key, msg))
    return out


def load_pack(path: str | Path | None = None) -> Pack:
    """Load and validate a pack. Raises PackError whose `problems` lists every problem."""
    pack, problems = check_pack(path)
    if pack is None or problems:
        summary = f"pack at {resolve_pack_path(path)} has {len(problems)} problem(s)"
        raise PackError(summary + ":\n  " + "\n  ".join(problems), problems)
    return pack


def check_pack(path: str | Path | None = None) -> tuple[Pack | None, list[str]]:
    """Load what can be loaded and return it with every problem found (empty when valid)."""
    root = resolve_pack_path(path)
    manifest_file = root / "pack.yaml"
    if not manifest_file.is_file():
        from workflow.bmad import check_bmad_pack, is_bmad_folder

        if is_bmad_folder(root):
            return check_bmad_pack(root)
        raise PackError(f"{root}: no pack.yaml here, and no BMAD workflow.md, workflow-*.md, SKILL.md or "
                        "config.yaml; is this a pack folder?")
    problems: list[str] = []
    manifest = _load_manifest(manifest_file, problems)
    if manifest is None:
        return None, problems
    if manifest.style == "bmad":
        from workflow.bmad import check_bmad_pack

        return check_bmad_pack(root, name=manifest.name, version=manifest.version, title=manifest.title,
                               start=manifest.start, steps=manifest.steps, agents=manifest.agents)
    steps_dir = (root / manifest.steps).resolve()
    agents_dir = (root / manifest.agents).resolve()
    templates_dir = (root / manifest.templates).resolve()
    for key, folder in (("steps", steps_dir), ("agents", agents_dir), ("templates", templates_dir)):
        if not is_inside(folder, root):
            problems.append(f"{manifest_file}: {key}: '{getattr(manifest, key)}' is outside the pack folder; "
                            "keep the pack's folders inside it")
            return None, problems
    personas = _load_personas(agents_dir, problems)
    steps = _load_steps(steps_dir, problems)
    by_rel = {s.rel: s for s in steps}
    by_id: dict[str, Step] = {}
    for step in steps:
        if step.id in by_id:
            problems.append(f"{step.file}: id: '{step.id}' is also used by {by_id[step.id].file}; "
                            "give each step a unique id")
        by_id[step.id] = step
    resolved: dict[str, Step] = {}
    for step in steps:
        resolved[step.id] = _resolve_next(step, by_rel, by_id, problems)
    start = by_rel.get(manifest.start)
    if start is None:
        problems.append(f"{manifest_file}: start: '{manifest.start}' is not a step file under "
                        f"{steps_dir}; name the first step's file relative to steps/")
    for step in resolved.values():
        _check_step(step, personas, templates_dir, by_id, problems)
    ordered = _order(resolved, start.id if start else None)
    for loop in endless_loops(resolved, start.id if start else None):
        problems.append(f"{resolved[loop[0]].file}: next: steps {' -> '.join(loop)} form a loop the walk can never "
                        "leave; give one of them a `next` rule with a `when` that leads out of the loop")
    if start is not None:
        for step_id in resolved:
            if step_id not in ordered:
                problems.append(f"{resolved[step_id].file}: step '{step_id}' is unreachable from the "
                                f"start step; link it with `next` from an earlier step or remove it")
    pack = Pack(
        name=manifest.name, version=manifest.version, style="cairn", title=manifest.title or manifest.name,
        root=root, steps_dir=steps_dir, templates_dir=templates_dir, start=start.id if start else "",
        steps={sid: resolved[sid] for sid in ordered + [s for s in resolved if s not in ordered]},
        personas=personas,
    )
    return pack, problems


def _load_manifest(path: Path, problems: list[str]) -> Manifest | None:
    try:
        raw = load_yaml(read_text_checked(path, max_bytes=100_000))
        manifest = Manifest.model_validate(raw)
    except UnreadableFileError as exc:
        problems.append(str(exc))
        return None
    except yaml.YAMLError as exc:
        problems.append(f"{path}: not valid YAML ({exc})")
        return None
    except ValidationError as exc:
        problems.extend(f"{path}: {key}: {msg}" for key, msg in _describe(exc))
        return None
    if manifest.style not in ("cairn", "bmad"):
        problems.append(f"{path}: style: '{manifest.style}' is not supported; use 'cairn' or 'bmad'")
    return manifest


def _load_personas(folder: Path, problems: list[str]) -> dict[str, Persona]:
    personas: dict[str, Persona] = {}
    if not folder.is_dir():
        problems.append(f"{folder}: agents folder is missing; create it or set `agents` in pack.yaml")
        return personas
    for file in sorted(folder.glob("*.md")):
        text = _read_pack_file(file, folder, problems)
        if text is None:
            continue
        parts = split_frontmatter(text)
        if parts is None:
            problems.append(f"{file}: no YAML frontmatter; start the file with a --- block (name, title)")
            continue
        try:
            meta = PersonaFrontmatter.model_validate(load_yaml(parts[0]) or {})
        except yaml.YAMLError as exc:
            problems.append(f"{file}: frontmatter is not valid YAML ({exc})")
            continue
        except ValidationError as exc:
            problems.extend(f"{file}: {key}: {msg}" for key, msg in _describe(exc))
            continue
        personas[file.stem] = Persona(key=file.stem, name=meta.name, title=meta.title, icon=meta.icon,
                                      style=meta.style, principles=tuple(meta.principles),
                                      body=parts[1].strip())
    return personas


def _load_steps(folder: Path, problems: list[str]) -> list[Step]:
    steps: list[Step] = []
    if not folder.is_dir():
        problems.append(f"{folder}: steps folder is missing; create it or set `steps` in pack.yaml")
        return steps
    for file in sorted(folder.rglob("*.md")):
        rel = file.relative_to(folder).as_posix()
        if file.name.lower() == "readme.md":
            continue
        text = _read_pack_file(file, folder, problems)
        if text is None:
            continue
        parts = split_frontmatter(text)
        if parts is None:
            problems.append(f"{file}: no YAML frontmatter; start the step with a --- block (DESIGN 3.3)")
            continue
        try:
            raw: Any = load_yaml(parts[0]) or {}
        except yaml.YAMLError as exc:
            line, problem = yaml_problem(exc, first_line=2)
            where = f" line {line}" if line else ""
            problems.append(f"{file}{where}: frontmatter is not valid YAML ({problem})")
            continue
        try:
            meta = StepFrontmatter.model_validate(raw)
        except ValidationError as exc:
            problems.extend(f"{file}: {key}: {msg}" for key, msg in _describe(exc))
            continue
        steps.append(Step(meta=meta, file=file, rel=rel, sections=split_sections(parts[1]), next_rules=()))
    return steps


# A step file is guidance for one step: far below this; a bigger one is a mistake or an attack.
MAX_STEP_FILE = 1_000_000


def _read_pack_file(file: Path, folder: Path, problems: list[str]) -> str | None:
    """The text of a step or persona file, or None with a problem when it is a link out of the
    pack, not UTF-8 text, or too large."""
    if not is_inside(file, folder):
        problems.append(f"{file}: a symbolic link out of {folder.name}/; copy the file into the pack instead")
        return None
    try:
        return read_text_checked(file, max_bytes=MAX_STEP_FILE)
    except UnreadableFileError as exc:
        problems.append(str(exc))
        return None


def _resolve_next(step: Step, by_rel: dict[str, Step], by_id: dict[str, Step],
                  problems: list[str]) -> Step:
    raw = step.meta.next
    rules = [NextRule(step=raw)] if isinstance(raw, str) else list(raw or [])
    resolved = []
    for rule in rules:
        target = by_rel.get(rule.step) or (by_id.get(rule.step))
        if target is None:
            problems.append(f"{step.file}: next: '{rule.step}' does not exist; name a step file relative "
                            "to steps/ (e.g. 2-training/step-05-....md)")
            continue
        resolved.append(NextRule(when=rule.when, step=target.id))
    return Step(meta=step.meta, file=step.file, rel=step.rel, sections=step.sections, skip_text=step.skip_text,
                next_rules=tuple(resolved))


def _check_step(step: Step, personas: dict[str, Persona], templates_dir: Path,
                by_id: dict[str, Step], problems: list[str]) -> None:
    meta, file = step.meta, step.file

    def problem(key: str, msg: str) -> None:
        problems.append(f"{file}: {key}: {msg}")

    if meta.agent not in personas:
        problem("agent", f"persona '{meta.agent}' not found; add agents/{meta.agent}.md or fix the name")
    try:
        phases.output_folder(meta.phase)
    except ValueError as exc:
        problem("phase", str(exc))
    expressions: list[tuple[str, str | None]] = [("skip_when", meta.skip_when),
                                                 ("skippable_when", meta.skippable_when)]
    expressions += [(f"next[{i}].when", r.when) for i, r in enumerate(step.next_rules)]
    expressions += [(f"outputs[{i}].when", o.when) for i, o in enumerate(meta.outputs)]
    expressions += [(f"decisions[{i}].when", d.when) for i, d in enumerate(meta.decisions)]
    expressions += [(f"guards[{i}].when", g.when) for i, g in enumerate(meta.guards)]
    expressions += [(f"checks[{i}].when", c.when) for i, c in enumerate(meta.checks)]
    expressions.append(("project_checks", meta.project_checks))
    expressions += [(f"form.{name}.when", f.when) for name, f in meta.form.items()]
    expressions += [(f"form.{name}.default_from", f.default_from) for name, f in meta.form.items()]
    if meta.revise:
        expressions.append(("revise.when", meta.revise.when))
    if meta.stories:
        expressions += [(f"stories.items[{i}].when", s.when) for i, s in enumerate(meta.stories.items)]
    for key, expr in expressions:
        if expr is None:
            continue
        try:
            check_expression(expr)
        except ExpressionError as exc:
            problem(key, f"{exc}; write a jinja2 expression such as \"architecture == 'rag-only'\"")
    for name, spec in meta.form.items():
        if spec.type in ("choice", "multi") and not spec.choices:
            problem(f"form.{name}.choices", f"a {spec.type} field needs `choices`; list them")
        if spec.type == "choice" and spec.default is not None and spec.choices \
                and str(spec.default) not in spec.choices:
            problem(f"form.{name}.default", f"'{spec.default}' is not one of {spec.choices}")
    for i, output in enumerate(meta.outputs):
        if (output.template is None) == (output.schema_name is None):
            problem(f"outputs[{i}]", "give exactly one of `template` or `schema`")
        if output.template is not None and template_problem(templates_dir, output.template) is None:
            _check_template(templates_dir / output.template, f"outputs[{i}].template", problem)
        if output.schema_name is not None and output.schema_name not in OUTPUT_SCHEMAS:
            problem(f"outputs[{i}].schema", f"unknown schema '{output.schema_name}'; use one of {OUTPUT_SCHEMAS}")
    for key, msg in step_path_problems(meta, templates_dir):
        problem(key, msg)
    if meta.skip_when and meta.skip_record:
        _check_template(templates_dir / "skip-record.md.j2", "skip_record", problem)
    actions = {m.action for m in meta.menu}
    if "continue" not in actions:
        problem("menu", "no item with action `continue`; every step needs a way forward")
    keys = [m.key.upper() for m in meta.menu]
    if len(set(keys)) != len(keys):
        problem("menu", "menu keys must be unique")
    if "skip" in actions and not meta.skippable_when:
        problem("menu", "a `skip` item needs `skippable_when` on the step")
    if meta.revise:
        if (meta.revise.target is None) == (meta.revise.target_field is None):
            problem("revise", "give exactly one of `target` or `target_field`")
        if meta.revise.target and meta.revise.target not in by_id:
            problem("revise.target", f"step '{meta.revise.target}' does not exist")
        if meta.revise.target_field and meta.revise.target_field not in meta.form:
            problem("revise.target_field", f"'{meta.revise.target_field}' is not a form field of this step")
        if meta.revise.reason_field and meta.revise.reason_field not in meta.form:
            problem("revise.reason_field", f"'{meta.revise.reason_field}' is not a form field of this step")
    ids = [c.id for c in meta.checks]
    for i, check in enumerate(meta.checks):
        if ids.count(check.id) > 1:
            problem(f"checks[{i}].id", f"'{check.id}' is used twice; give each check its own id")
        for key, text in (("message", check.message), ("fix", check.fix)):
            if text and "{" in text:
                try:
                    check_template_source(text, f"checks[{i}].{key}")
                except ExpressionError as exc:
                    problem(f"checks[{i}].{key}", f"does not parse: {exc}")


def _check_template(path: Path, key: str, problem: Any) -> None:
    if not path.is_file():
        problem(key, f"template {path.name} not found in {path.parent}; create it or fix the name")
        return
    try:
        check_template_source(read_text_checked(path, max_bytes=1_000_000), path.name)
    except UnreadableFileError as exc:
        problem(key, str(exc))
    except ExpressionError as exc:
        problem(key, f"template does not parse: {exc}")


def _order(steps: dict[str, Step], start: str | None) -> list[str]:
    """Steps in walk order from `start` (depth-first over next rules, revise targets last)."""
    if start is None:
        return []
    order: list[str] = []
    stack = [start]
    while stack:
        current = stack.pop(0)
        if current in order or current not in steps:
            continue
        order.append(current)
        step = steps[current]
        targets = [r.step for r in step.next_rules]
        if step.meta.revise and step.meta.revise.target:
            targets.append(step.meta.revise.target)
        stack = [t for t in targets if t not in order] + stack
    return order
