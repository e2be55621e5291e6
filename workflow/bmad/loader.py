"""Load a BMAD-style pack (DESIGN 3.4) into the same `Pack` the engine runs for Cairn packs.

What cannot be derived becomes a warning in `Pack.warnings` (the pack still runs); input the
walk cannot start from (no steps folder, no start step, broken frontmatter, an endless
nextStep loop) is a problem, returned like the Cairn loader's problems."""

from __future__ import annotations

import re
from pathlib import Path

from pydantic import ValidationError

from workflow.bmad.config import BmadConfig, read_config
from workflow.bmad.personas import load_personas
from workflow.bmad.report import Report
from workflow.bmad.routes import (
    StepIndex,
    best_default,
    branch_condition,
    endless_loop,
    expression_error,
    quote_bare,
    reachable,
    redirect_through_skips,
    variables_of,
)
from workflow.bmad.steps import StepFile, assign_ids, derive, read_step
from workflow.pack_model import FormField, NextRule, Pack, Step, StepFrontmatter

TEMPLATES = Path(__file__).resolve().parent / "templates"
STEP_TEMPLATE = "step.md.j2"
_NOT_SIDECAR = frozenset({"project_name", "user_name", "workflow_status", "true", "false", "none"})
_PHASE_DOCUMENT = re.compile(r"phase-\d+-[a-z0-9-]+/[\w./-]+\.\w+")


def check_bmad_pack(root: Path, *, name: str | None = None, version: str | None = None, title: str | None = None,
                    start: str | None = None, steps: str = "steps", agents: str = "agents",
                    ) -> tuple[Pack | None, list[str]]:
    """Load the BMAD pack at `root` (the keyword arguments come from a `style: bmad` pack.yaml).
    Returns the pack (None when it cannot run) and the problems found; never raises for bad input."""
    root = root.resolve()
    report = Report(root)
    steps_dir = (root / steps).resolve()
    workflow_root = steps_dir.parent  # where workflow.md and config.yaml sit beside steps/
    config = read_config(workflow_root, report)
    if not steps_dir.is_dir():
        report.error(steps_dir, "steps", "the steps folder is missing; a BMAD pack keeps its step files in steps/ "
                     "beside workflow.md and config.yaml")
        return None, report.problems
    files = [f for f in sorted(steps_dir.rglob("*.md")) if f.name.lower() != "readme.md"]
    loaded = [read_step(f, steps_dir, report) for f in files]
    step_files = [s for s in loaded if s is not None]
    if not files:
        report.error(steps_dir, "steps", "no step files (*.md) here; add the workflow's step files")
    if report.problems:
        return None, report.problems
    personas = load_personas((root / agents).resolve(), report)
    index = StepIndex(rels=[s.rel for s in step_files])
    table_ids: dict[str, str] = {}
    for entry in config.table:
        if entry.file:
            rel, _ = index.resolve(entry.file)
            if rel is None:
                report.warn(workflow_root / "config.yaml", f"steps.{entry.id}.file",
                            f"'{entry.file}' is not a file under steps/; the entry is ignored")
            else:
                table_ids[rel] = entry.id
    assign_ids(step_files, table_ids, report)
    index.ids = {s.id: s.rel for s in step_files}
    entries = {e.id: e for e in config.table}
    reports = {s.id: report.child() for s in step_files}  # a step left out of the walk keeps quiet
    for step in step_files:
        derive(step, config, entries.get(step.id), set(personas), reports[step.id])
    by_rel = {s.rel: s for s in step_files}
    first = _start(start, config, index, by_rel, report, root)
    if first is None:
        return None, report.problems
    rules = {s.id: _rules(s, config, index, by_rel, reports[s.id]) for s in step_files}
    skips = {s.id: s.skip_when for s in step_files}
    redirect_through_skips(rules, skips)
    walk = reachable(first.id, rules)
    for step in step_files:
        report.merge(reports[step.id], warnings=step.id in walk)
        if step.id not in walk:
            report.warn(step.file, "", f"no nextStep chain from the first step ({first.rel}) leads here; "
                        "the step is left out")
        elif not step.has_frontmatter:
            report.warn(step.file, "frontmatter", "none; nothing says which step follows, so the workflow ends here")
    kept = _ordered([s for s in step_files if s.id in walk], config)
    loop = endless_loop({sid: r for sid, r in rules.items() if sid in walk})
    if loop:
        report.error(first.file, "nextStep", f"steps {' -> '.join(loop)} form a loop with no condition to leave "
                     "it; point the last nextStep at a later step")
        return None, report.problems
    _unique_outputs(kept, report)
    _add_sidecar_fields(first, kept, rules, skips, config)
    built = {s.id: _build(s, rules[s.id], kept, report) for s in kept}
    if report.problems:
        return None, report.problems
    return Pack(
        name=name or config.name or root.name, version=version or config.version or "0.0.0", style="bmad",
        title=title or config.title or name or config.name or root.name, root=root, steps_dir=steps_dir,
        templates_dir=TEMPLATES, start=first.id, steps={sid: s for sid, s in built.items() if s is not None},
        personas=personas, warnings=tuple(report.warnings),
    ), report.problems


def _ordered(steps: list[StepFile], config: BmadConfig) -> list[StepFile]:
    """The steps table's order when it lists every step, else the files' natural order
    (`step-2` before `step-10`)."""
    table = [entry.id for entry in config.table]
    if all(s.id in table for s in steps):
        return sorted(steps, key=lambda s: table.index(s.id))
    return sorted(steps, key=lambda s: [int(t) if t.isdigit() else t for t in re.split(r"(\d+)", s.rel)])


def _start(start: str | None, config: BmadConfig, index: StepIndex, by_rel: dict[str, StepFile],
           report: Report, root: Path) -> StepFile | None:
    named = [start] if start else list(config.start_refs)
    for ref in named:
        rel, _ = index.resolve(ref)
        if rel is not None:
            return by_rel[rel]
    if named:
        source = "pack.yaml" if start else "workflow.md / config.yaml"
        report.error(root / (source if start else "workflow.md"), "start",
                     f"the first step '{named[0]}' ({source}) is not a file under steps/; name it relative to steps/")
        return None
    for ref in [*config.mentioned, *(e.file for e in config.table if e.file)]:
        rel, _ = index.resolve(ref)
        if rel is not None:
            return by_rel[rel]
    first = sorted(by_rel)[0]
    report.warn(root / "workflow.md", "start", f"nothing names the first step; starting at {first}")
    return by_rel[first]


def _rules(step: StepFile, config: BmadConfig, index: StepIndex, by_rel: dict[str, StepFile],
           report: Report) -> list[NextRule]:
    """`nextStepIf…` branches in the order written, then `nextStep` (or `nextStepFile`)."""
    rules: list[NextRule] = []
    undecided: list[tuple[str, str]] = []

    def target(name: str, value: object) -> StepFile | None:
        if not isinstance(value, str) or not value.strip():
            report.warn(step.file, name, f"{value!r} is not a step file name; ignored")
            return None
        rel, how = index.resolve(value, step.rel)
        if rel is None:
            why = "matches several step files" if how == "ambiguous" else "does not exist under steps/"
            report.warn(step.file, name, f"'{value}' {why}; write its path relative to steps/")
            return None
        if how == "name":
            report.warn(step.file, name, f"'{value}' has no folder; found {rel} by its file name")
        return by_rel[rel]

    for name, value in step.meta.items():
        if not str(name).lower().startswith("nextstepif"):
            continue
        found = target(str(name), value)
        if found is None:
            continue
        condition = branch_condition(str(name)[len("nextStepIf"):], config.options, found.skip_when)
        if condition is not None:
            condition = quote_bare(condition, config.options)
            error = expression_error(condition, config.options)
            if error is None:
                rules.append(NextRule(when=condition, step=found.id))
                continue
        undecided.append((str(name), found.id))
    plain_key = "nextStep" if "nextStep" in step.meta else "nextStepFile" if "nextStepFile" in step.meta else None
    plain = target(plain_key, step.meta[plain_key]) if plain_key else None
    if plain is not None:
        rules.append(NextRule(step=plain.id))
    for i, (name, step_id) in enumerate(undecided):
        if plain is None and i == 0:
            report.warn(step.file, name, "no *_options entry in config.yaml or skip rule on the target says when "
                        "this branch applies; with no nextStep it is taken as the next step")
            rules.append(NextRule(step=step_id))
        else:
            report.warn(step.file, name, "no *_options entry in config.yaml or skip rule on the target says when "
                        "this branch applies; it is ignored")
    return rules


def _unique_outputs(steps: list[StepFile], report: Report) -> None:
    """BMAD steps often append to one shared document; Cairn writes whole documents, so each
    later step sharing a path writes its own file beside the first (`prd-step-3.md`)."""
    owner: dict[str, StepFile] = {}
    for step in steps:
        for i, path in enumerate(step.outputs):
            if path not in owner:
                owner[path] = step
                continue
            stem, dot, ext = path.rpartition(".")
            renamed = f"{stem}-step-{step.id}.{ext}" if dot else f"{path}-step-{step.id}"
            report.warn(step.file, "outputFile", f"{path} is also written by step {owner[path].id}; this step "
                        f"writes {renamed}")
            step.outputs[i] = renamed


def _add_sidecar_fields(first: StepFile, steps: list[StepFile], rules: dict[str, list[NextRule]],
                        skips: dict[str, str | None], config: BmadConfig) -> None:
    """The values the pack's conditions read (e.g. `architecture`) are asked in the first step
    as `sidecar: true` fields, so `--set architecture=rag-only` drives the skips and branches."""
    kept = {s.id for s in steps}
    expressions = [s.skip_when for s in steps if s.skip_when]
    expressions += [r.when for sid in kept for r in rules[sid] if r.when]
    names: list[str] = []
    for expression in expressions:
        names += [n for n in sorted(variables_of(expression)) if n not in _NOT_SIDECAR and n not in names]
    assert first.guidance is not None
    form = first.guidance.form
    for variable in names:
        if variable in form:
            continue
        readers = "; ".join(sorted({e for e in expressions if variable in variables_of(e)}))
        label = variable.replace("_", " ")
        choices = config.options.get(variable)
        if choices:
            default = best_default(variable, choices, first.id, rules, skips)
            form[variable] = FormField(type="choice", choices=list(choices), default=default, sidecar=True,
                                       ask=f"Which {label}?", help=f"The workflow's conditions read it: {readers}")
        else:
            form[variable] = FormField(type="str", required=False, sidecar=True, ask=f"{label.capitalize()}?",
                                       help=f"The workflow's conditions read it: {readers}")


def _build(step: StepFile, rules: list[NextRule], steps: list[StepFile], report: Report) -> Step | None:
    guidance = step.guidance
    assert guidance is not None
    others = {path for s in steps if s is not step for path in s.outputs}
    context = [m for m in dict.fromkeys(_PHASE_DOCUMENT.findall(step.body)) if m in others]
    data = {
        "id": step.id, "name": str(step.meta.get("name") or step.file.stem), "title": step.title,
        "description": str(step.meta.get("description") or ""), "agent": step.agent, "phase": step.phase,
        "skip_when": step.skip_when, "skip_record": step.outputs[0] if step.skip_when and step.outputs else None,
        "skippable_when": "true" if step.skippable else None, "context": context, "knowledge": step.knowledge,
        "form": guidance.form, "outputs": [{"path": p, "template": STEP_TEMPLATE} for p in step.outputs],
        "menu": step.menu,
    }
    try:
        meta = StepFrontmatter.model_validate(data)
    except ValidationError as exc:
        for err in exc.errors():
            report.error(step.file, ".".join(str(p) for p in err["loc"]), f"cannot be derived: {err['msg']}")
        return None
    return Step(meta=meta, file=step.file, rel=step.rel, sections=guidance.sections, next_rules=tuple(rules))
