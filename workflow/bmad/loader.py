"""Load a BMAD-style pack (DESIGN 3.4) into the same `Pack` the engine runs for Cairn packs.

What cannot be derived becomes a warning in `Pack.warnings` (the pack still runs); input the
walk cannot start from (no steps folder, no start step, broken frontmatter, an endless
nextStep loop) is a problem, returned like the Cairn loader's problems."""

from __future__ import annotations

import re
from pathlib import Path

from pydantic import ValidationError

from workflow.bmad.config import BmadConfig, read_config
from workflow.bmad.documents import Part, cached_template, document_source, template_fields
from workflow.bmad.gates import decision_ids, find_gates
from workflow.bmad.layout import steps_folder, templates_folder
from workflow.bmad.personas import load_personas
from workflow.bmad.report import Report
from workflow.bmad.routes import (
    StepIndex,
    best_default,
    body_next,
    branch_condition,
    endless_loop,
    expression_error,
    natural,
    quote_bare,
    reachable,
    redirect_through_skips,
    variables_of,
)
from workflow.bmad.steps import StepFile, assign_ids, derive, read_step
from workflow.pack_model import FormField, NextRule, Pack, Step, StepFrontmatter

TEMPLATES = Path(__file__).resolve().parent / "templates"  # the skip record
_NOT_SIDECAR = frozenset({"project_name", "user_name", "workflow_status", "true", "false", "none"})
_PHASE_DOCUMENT = re.compile(r"phase-\d+-[a-z0-9-]+/[\w./-]+\.\w+")


def check_bmad_pack(root: Path, *, name: str | None = None, version: str | None = None, title: str | None = None,
                    start: str | None = None, steps: str | None = None, agents: str = "agents",
                    ) -> tuple[Pack | None, list[str]]:
    """Load the BMAD pack at `root` (the keyword arguments come from a `style: bmad` pack.yaml;
    without `steps`, the steps folder is found: `steps/`, `steps-c/`, the one workflow.md names).
    Returns the pack (None when it cannot run) and the problems found; never raises for bad input."""
    root = root.resolve()
    report = Report(root)
    named_steps = steps if steps and (steps != "steps" or (root / steps).is_dir()) else None
    steps_dir = steps_folder(root, named_steps)
    workflow_root = steps_dir.parent  # where workflow.md and config.yaml sit beside steps/
    template_dirs = [d for d in (templates_folder(workflow_root), workflow_root, steps_dir) if d is not None]
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
        derive(step, config, entries.get(step.id), set(personas), reports[step.id], template_dirs)
    by_rel = {s.rel: s for s in step_files}
    first = _start(start, config, index, by_rel, report, root)
    if first is None:
        return None, report.problems
    rules = {s.id: _rules(s, config, index, by_rel, reports[s.id]) for s in step_files}
    skips = {s.id: s.skip_when for s in step_files}
    redirect_through_skips(rules, skips)
    walk = reachable(first.id, rules)
    continuations = _continuations(step_files, index)
    for step in step_files:
        report.merge(reports[step.id], warnings=step.id in walk)
        if step.id in walk:
            continue
        if step.rel in continuations:
            report.warn(step.file, "", f"no nextStep chain from the first step ({first.rel}) leads here; "
                        "the step is left out (a continuation file: Cairn resumes from the sidecar instead)")
        else:
            report.error(step.file, "", f"unreachable: no step from the first one ({first.rel}) names this file as "
                         "its next step (frontmatter nextStep or a 'load `./step-…md`' line in the body); "
                         "link it from the step before it or remove it")
    if report.problems:
        return None, report.problems
    for step in step_files:
        if step.id in walk and not rules[step.id] and step is not _last(step_files, walk):
            report.warn(step.file, "nextStep", "nothing names the step that follows (nextStep or a 'load "
                        "`./step-…md`' line), so the workflow ends here")
    kept = _ordered([s for s in step_files if s.id in walk], config)
    loop = endless_loop({sid: r for sid, r in rules.items() if sid in walk})
    if loop:
        report.error(first.file, "nextStep", f"steps {' -> '.join(loop)} form a loop with no condition to leave "
                     "it; point the last nextStep at a later step")
        return None, report.problems
    _add_sidecar_fields(first, kept, rules, skips, config)
    _add_gates(kept, config, report)
    documents = _document_templates(kept, report)
    built = {s.id: _build(s, rules[s.id], kept, documents, report) for s in kept}
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
    if plain is None and not rules and not undecided:
        named = body_next(step.rel, step.lines, index)  # "load `./step-02-context.md`" (BMAD v6.7+)
        plain = by_rel[named] if named else None
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


def _continuations(steps: list[StepFile], index: StepIndex) -> set[str]:
    """Continuation files (`continueStepFile`, `step-01b-continue.md`): BMAD loads them to resume
    a half-done document; Cairn resumes from the sidecar, so they are not part of the walk."""
    out = {s.rel for s in steps if "continue" in s.file.stem.lower()}
    for step in steps:
        ref = step.meta.get("continueStepFile")
        rel = index.resolve(ref, step.rel)[0] if isinstance(ref, str) else None
        if rel:
            out.add(rel)
    return out


def _last(steps: list[StepFile], walk: set[str]) -> StepFile | None:
    walked = sorted((s for s in steps if s.id in walk), key=lambda s: natural(s.rel))
    return walked[-1] if walked else None


def _add_gates(steps: list[StepFile], config: BmadConfig, report: Report) -> None:
    """Decision ids belong to the first step that records them (else the first that names
    them); each step then gets its decisions, stories and explicit conditions."""
    found = [(s, *decision_ids(s.lines)) for s in steps]
    owner: dict[str, str] = {}
    titles: dict[str, str] = {}
    for step, recorded, _ in found:
        for decision, title in recorded.items():
            owner.setdefault(decision, step.id)
            titles[decision] = titles.get(decision) or title
    for step, _, mentioned in found:
        for decision in mentioned:
            owner.setdefault(decision, step.id)
    for step, _, _ in found:
        mine = {d: titles.get(d, "") for d, sid in owner.items() if sid == step.id}
        step.gates = find_gates(step_id=step.id, title=step.title, lines=step.lines, decisions=mine,
                                story_prefix=config.story_prefixes.get(step.id))
        assert step.guidance is not None
        step.guidance.form.update(step.gates.form)
        gated = (step.gates.decisions or step.gates.stories or step.gates.guards
                 or any(f.required and f.default is None for f in step.guidance.form.values()))
        if not gated:
            report.warn(step.file, "gate", "nothing to gate: the text names no decision id to log, no story "
                        "section and no 'Continue only when …' condition, so Continue is always accepted")


def _document_templates(steps: list[StepFile], report: Report) -> dict[tuple[str, str], Path]:
    """One generated template per (step, document): a document several steps write is built by
    appending, each step rendering the parts of the steps before it and its own."""
    sharing: dict[str, list[StepFile]] = {}
    for step in steps:
        for path in step.outputs:
            sharing.setdefault(path, []).append(step)
    owners: dict[str, tuple[StepFile, str]] = {}
    for path, writers in sharing.items():
        owner = next((s for s in writers if s.template is not None and s.outputs[0] == path), None)
        if owner is not None and owner.template is not None:
            text = owner.template.read_text(encoding="utf-8")
            owners[path] = (owner, text)
            assert owner.guidance is not None
            for name, spec in template_fields(text, owner.values).items():
                owner.guidance.form.setdefault(name, spec)
        if len(writers) > 1:
            report.warn(writers[0].file, "outputFile", f"{path} is built by steps {', '.join(s.id for s in writers)} "
                        "in turn, each appending its part (stepsCompleted in its frontmatter says how far it got)")
    out: dict[tuple[str, str], Path] = {}
    for path, writers in sharing.items():
        owner_text = owners.get(path)
        for i, step in enumerate(writers):
            parts = [Part(step_id=s.id, title=s.title, form=dict(s.guidance.form) if s.guidance else {},
                          stories_key=(s.gates.stories or {}).get("key") if s.gates else None)
                     for s in writers[: i + 1]]
            source = document_source(parts=parts, pack_template=owner_text[1] if owner_text else None,
                                     owner=owner_text[0].id if owner_text else step.id,
                                     values=owner_text[0].values if owner_text else step.values)
            out[(step.id, path)] = cached_template(source)
    return out


def _add_sidecar_fields(first: StepFile, steps: list[StepFile], rules: dict[str, list[NextRule]],
                        skips: dict[str, str | None], config: BmadConfig) -> None:
    """The values the pack's conditions read (e.g. `architecture`) become `sidecar: true` fields,
    so `--set architecture=rag-only` drives the skips and branches. A value with options is asked
    where the pack asks it (the first step with a question naming its options, in place of that
    question) when no earlier step's skip rule reads it; otherwise, and for free values, in the
    first step."""
    kept = {s.id for s in steps}
    expressions = [s.skip_when for s in steps if s.skip_when]
    expressions += [r.when for sid in kept for r in rules[sid] if r.when]
    names: list[str] = []
    for expression in expressions:
        names += [n for n in sorted(variables_of(expression)) if n not in _NOT_SIDECAR and n not in names]
    for variable in names:
        if any(variable in s.guidance.form for s in steps if s.guidance):
            continue
        readers = "; ".join(sorted({e for e in expressions if variable in variables_of(e)}))
        label = variable.replace("_", " ")
        choices = config.options.get(variable)
        if not choices:
            assert first.guidance is not None
            first.guidance.form[variable] = FormField(type="str", required=False, sidecar=True,
                                                      ask=f"{label.capitalize()}?",
                                                      help=f"The workflow's conditions read it: {readers}")
            continue
        host, question = _asking_step(variable, choices, steps, first)
        assert host.guidance is not None
        default = best_default(variable, choices, first.id, rules, skips)
        spec = FormField(type="choice", choices=list(choices), default=default, sidecar=True,
                         ask=host.guidance.form[question].ask if question else f"Which {label}?",
                         section=host.guidance.form[question].section if question else None,
                         help=f"The workflow's conditions read it: {readers}")
        form = dict(host.guidance.form)
        if question:  # the choice takes the place of the free-text question that asked it
            host.guidance.form.clear()
            host.guidance.form.update({(variable if n == question else n): (spec if n == question else f)
                                       for n, f in form.items()})
        else:
            host.guidance.form[variable] = spec


def _asking_step(variable: str, choices: tuple[str, ...], steps: list[StepFile],
                 first: StepFile) -> tuple[StepFile, str | None]:
    """The step (and its question field) that asks for `variable`: a question naming two of its
    options, in a step no earlier skip rule needs the value before."""
    for index, step in enumerate(steps):
        if any(s.skip_when and variable in variables_of(s.skip_when) for s in steps[:index + 1]):
            break  # a step up to here is skipped by the value: it must be known before
        for name, spec in (step.guidance.form.items() if step.guidance else []):
            ask = (spec.ask or "").lower()
            if not spec.sidecar and sum(c.lower() in ask for c in choices) >= 2:
                return step, name
    return first, None


def _build(step: StepFile, rules: list[NextRule], steps: list[StepFile],
           documents: dict[tuple[str, str], Path], report: Report) -> Step | None:
    guidance = step.guidance
    assert guidance is not None and step.gates is not None
    others = {path for s in steps if s is not step for path in s.outputs}
    context = [m for m in dict.fromkeys(_PHASE_DOCUMENT.findall(step.body)) if m in others]
    record = step.skip_record or (step.outputs[0] if step.outputs else None)
    data = {
        "id": step.id, "name": str(step.meta.get("name") or step.file.stem), "title": step.title,
        "description": str(step.meta.get("description") or ""), "agent": step.agent, "phase": step.phase,
        "skip_when": step.skip_when, "skip_record": record if step.skip_when else None,
        "skippable_when": "true" if step.skippable else None, "context": context, "knowledge": step.knowledge,
        "form": guidance.form, "menu": step.menu,
        "outputs": [{"path": p, "template": str(documents[(step.id, p)])} for p in step.outputs],
        "decisions": step.gates.decisions, "stories": step.gates.stories, "guards": step.gates.guards,
    }
    try:
        meta = StepFrontmatter.model_validate(data)
    except ValidationError as exc:
        for err in exc.errors():
            report.error(step.file, ".".join(str(p) for p in err["loc"]), f"cannot be derived: {err['msg']}")
        return None
    return Step(meta=meta, file=step.file, rel=step.rel, sections=guidance.sections, next_rules=tuple(rules),
                skip_text=step.skip_text if step.skip_when and record == step.skip_record else None)
