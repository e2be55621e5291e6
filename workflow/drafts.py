"""What a step produces, computed without touching disk: the variables its expressions and
templates see, its drafted documents, decisions and stories (DESIGN 3.3)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from workflow.checks import markdown as check_markdown
from workflow.config import Config
from workflow.errors import CairnError
from workflow.expressions import ExpressionError, evaluate, render_string, render_template
from workflow.pack_model import Pack, Step
from workflow.store import today

SIDECAR_VARIABLES = ("architecture", "build_vs_buy", "project_name", "user_name", "workflow_status")


def flat_answers(sidecar: Mapping[str, Any], current: Mapping[str, Any] | None = None,
                 exclude_step: str | None = None) -> dict[str, Any]:
    """Every completed step's answers in one namespace (a field name means the same thing
    wherever it appears), later steps winning, with `current` on top."""
    flat: dict[str, Any] = {}
    for step_id, answers in (sidecar.get("answers") or {}).items():
        if step_id != exclude_step and isinstance(answers, dict):
            flat.update(answers)
    flat.update(current or {})
    return flat


def variables(sidecar: Mapping[str, Any], step_id: str, current: Mapping[str, Any]) -> dict[str, Any]:
    """What conditions see: top-level sidecar keys, then all answers, current step last."""
    out: dict[str, Any] = {key: sidecar.get(key) for key in SIDECAR_VARIABLES}
    out.update(flat_answers(sidecar, current, exclude_step=step_id))
    return out


def knowledge_ref(knowledge: list[dict[str, Any]]) -> str | None:
    """The queries a decision rests on: the first query that returned results."""
    for entry in knowledge:
        ids = entry.get("result_ids") or []
        if entry.get("ok") and ids:
            return f"{entry['tool']}:{entry['topic_or_query']} (ids {', '.join(ids[:5])})"
    return None


@dataclass(kw_only=True)
class Draft:
    documents: dict[str, str] = field(default_factory=dict)
    decisions: list[dict[str, Any]] = field(default_factory=list)
    stories: list[dict[str, Any]] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)


def draft_step(*, pack: Pack, step: Step, sidecar: Mapping[str, Any], answers: Mapping[str, Any],
               knowledge: list[dict[str, Any]], notes: list[str], project_dir: Path,
               config: Config, visit: int = 1, recorded: list[dict[str, Any]] | None = None,
               added_stories: list[dict[str, Any]] | None = None,
               checks: list[dict[str, Any]] | None = None) -> Draft:
    """Render the step's decisions, stories and documents from its answers.
    Problems are collected in `Draft.errors` (the gate shows them), never raised.
    `visit` numbers the visits of this step (a decision id such as `ITER-{{ visit }}` uses it).
    `recorded` decisions (replacing a drafted one with the same id) and `added_stories` come from
    an assistant over MCP; they are merged before the documents render, so the documents show them."""
    draft = Draft()
    env = variables(sidecar, step.id, answers)
    persona = pack.personas.get(step.meta.agent)
    results = [r for entry in knowledge for r in entry.get("results", [])]
    context: dict[str, Any] = dict(env)
    context.update(
        answers={**(sidecar.get("answers") or {}), step.id: dict(answers)},
        project={"name": sidecar.get("project_name"), "user": sidecar.get("user_name"),
                 "created": sidecar.get("created")},
        today=today(),
        step={"id": step.id, "title": step.title, "description": step.meta.description,
              "phase": step.meta.phase, "sections": [s.heading for s in step.sections if s.heading],
              # what each answer was asked, so a generic template (BMAD packs) can lay out a document
              "form": {name: {"ask": spec.ask or name, "section": spec.section or ""}
                       for name, spec in step.meta.form.items()}},
        persona={"name": persona.name if persona else step.meta.agent,
                 "role": persona.title if persona else ""},
        knowledge=results,
        notes=list(notes),
        documents=_documents(project_dir),
        cost_estimate="",
        dataset_summary="",
        dataset_check="",
        visit=visit,
        checks=list(checks or []),  # verdicts (workflow.checks); templates print `checks_markdown`
        checks_markdown=check_markdown(checks or []),
    )
    draft.errors.extend(_extras(step, answers, env, context, config))
    ref = knowledge_ref(knowledge)
    for spec in step.meta.decisions:
        try:
            if spec.when and not evaluate(spec.when, env):
                continue
            decision_id = render_string(spec.id, context).strip() if "{{" in spec.id else spec.id
            choice = render_string(spec.choice, context).strip()
            rationale = render_string(spec.rationale, context).strip()
        except ExpressionError as exc:
            draft.errors.append(f"decision {spec.id}: {exc}")
            continue
        if not choice or not rationale:
            draft.errors.append(f"decision {spec.id}: needs a choice and a rationale")
            continue
        draft.decisions.append({"id": decision_id, "step": step.id, "title": spec.title, "choice": choice,
                                "rationale": rationale, "knowledge_ref": ref, "date": today()})
    for decision in recorded or []:
        ids = [d["id"] for d in draft.decisions]
        if decision["id"] in ids:
            draft.decisions[ids.index(decision["id"])] = dict(decision)
        else:
            draft.decisions.append(dict(decision))
        draft.errors = [e for e in draft.errors if not e.startswith(f"decision {decision['id']}: ")]
    earlier = [d for d in sidecar.get("decisions") or [] if d.get("id") not in {x["id"] for x in draft.decisions}]
    context["decisions"] = earlier + draft.decisions
    if step.meta.stories:
        number = 0
        for item in step.meta.stories.items:
            try:
                if item.when and not evaluate(item.when, env):
                    continue
                number += 1
                draft.stories.append({
                    "id": f"{step.meta.stories.prefix}-S{number:02d}",
                    "title": render_string(item.title, context).strip(),
                    "description": render_string(item.description, context).strip(),
                    "acceptance_criteria": [render_string(c, context).strip() for c in item.acceptance_criteria],
                })
            except ExpressionError as exc:
                draft.errors.append(f"stories: {exc}")
        for number, story in enumerate(added_stories or [], start=len(draft.stories) + 1):
            draft.stories.append({"id": f"{step.meta.stories.prefix}-S{number:02d}", **story})
    all_stories = dict(sidecar.get("stories") or {})
    if step.meta.stories:
        all_stories[step.meta.stories.key] = draft.stories
    context.update(stories=draft.stories, all_stories=all_stories)
    for output in step.meta.outputs:
        try:
            if output.when and not evaluate(output.when, env):
                continue
            if output.template:
                draft.documents[output.path] = render_template(pack.templates_dir / output.template, context)
            elif output.schema_name == "TrainingSpec":
                from workflow.training.spec import dump_spec_yaml, spec_from_answers

                draft.documents[output.path] = dump_spec_yaml(spec_from_answers(answers))
        except (ExpressionError, CairnError) as exc:
            draft.errors.append(f"{output.path}: {exc}")
    return draft


def _extras(step: Step, answers: Mapping[str, Any], env: Mapping[str, Any], context: dict[str, Any],
            config: Config) -> list[str]:
    """Numbers other parts of Cairn compute for a step's documents. Returns the problems that
    must block the step (a run folder that cannot be read)."""
    problems = _measurements(answers, env, context)
    if any(o.schema_name == "TrainingSpec" for o in step.meta.outputs):
        try:
            from workflow.training.estimate import estimate_markdown
            from workflow.training.spec import spec_from_answers

            requests = env.get("monthly_requests")
            context["cost_estimate"] = estimate_markdown(
                spec_from_answers(answers), costs=config.costs,
                monthly_requests=int(requests) if isinstance(requests, int | float) else None)
        except CairnError as exc:
            context["cost_estimate"] = f"_Cost estimate unavailable: {exc}_"
    dataset = answers.get("dataset_path")
    if dataset:
        try:
            from workflow.facts import dataset_summary

            result = dataset_summary(dataset)
            failed = [r["description"] for r in result.review.get("rules", []) if r.get("passed") is False]
            context["dataset_summary"] = result.markdown
            context["dataset_check"] = (
                f"{Path(str(dataset)).name} has {result.analysis.get('examples', 0)} examples; review "
                + ("passed" if result.passed else "failed (" + "; ".join(failed) + ")"))
        except (CairnError, OSError) as exc:
            context["dataset_summary"] = f"_Dataset analysis failed: {exc}_"
            context["dataset_check"] = f"analysis failed: {exc}"
    return problems


def _measurements(answers: Mapping[str, Any], env: Mapping[str, Any], context: dict[str, Any]) -> list[str]:
    """Prompt-tuning fields (packs/prompt-tuning): the goals file, an `eval inspect` listing,
    run summaries and the comparison of `candidate_run` against `reference_run` (default:
    the baseline run). Keyed on this step's own answers, like the other extras."""
    from workflow import measurements

    problems: list[str] = []
    context.update(goals_document="", inspection=[], baseline_summary={}, candidate_summary={}, comparison={})
    if answers.get("goals_file"):
        context["goals_document"], problem = measurements.goals_text(answers["goals_file"])
        problems += [f"goals_file: {problem}"] if problem else []
    if answers.get("inspect_json"):
        context["inspection"], problem = measurements.inspection(answers["inspect_json"])
        problems += [f"inspect_json: {problem}"] if problem else []
    for name in ("baseline_run", "candidate_run"):
        if answers.get(name):
            context[name.replace("_run", "_summary")], problem = measurements.run_summary(answers[name])
            problems += [f"{name}: {problem}"] if problem else []
    reference = answers.get("reference_run") or env.get("baseline_run")
    if answers.get("candidate_run") and reference:
        context["comparison"], problem = measurements.comparison(reference, answers["candidate_run"])
        problems += [f"comparison: {problem}"] if problem else []
    return problems


def _documents(project_dir: Path) -> list[str]:
    if not project_dir.is_dir():
        return []
    return sorted(p.relative_to(project_dir).as_posix() for p in project_dir.glob("phase-*/**/*")
                  if p.is_file() and "runs" not in p.parts)
