"""Completing (or skipping) a step: documents first, then decisions, then the sidecar last,
so the sidecar is the commit marker (DESIGN 4). Safe to redo after a crash."""

from __future__ import annotations

import copy
import hashlib
from pathlib import Path
from typing import Any

from workflow import phases, summary
from workflow.drafts import flat_answers, variables
from workflow.expressions import evaluate, render_template
from workflow.fileio import write_project_file
from workflow.llm.usage import added
from workflow.pack_model import Pack, Step
from workflow.review import drafted_from, stale_steps
from workflow.store import PROJECT_SPEC, append_decision, now_iso, today, write_sidecar


def commit_step(*, pack: Pack, folder: Path, sidecar: dict[str, Any], step: Step,
                state: dict[str, Any]) -> str | None:
    """Write what the step visit produced and move the project on. Returns the next step id
    (None when the workflow is complete). A visit already committed is not written twice.
    `sidecar` is the project's current sidecar (not modified; the new one is written)."""
    old = sidecar
    visit = int(state.get("visit") or 1)
    if int((old.get("visits") or {}).get(step.id, 0)) >= visit:
        return old.get("currentStep")
    outcome = state.get("outcome") or {"kind": "complete"}
    sidecar = copy.deepcopy(old)
    skipped = outcome["kind"] in ("skip", "user_skip")
    draft = state.get("draft") or {}
    if skipped:
        _write_skip_record(pack, step, sidecar, outcome, folder)
    else:
        for rel, content in sorted((draft.get("documents") or {}).items()):
            write_project_file(folder, rel, content)  # never through a link planted in the project
        label = _step_label(pack, step)
        earlier = {d.get("id"): d for d in old.get("decisions") or []}
        for decision in draft.get("decisions") or []:
            before = earlier.get(decision["id"])
            if before and (before.get("choice"), before.get("rationale")) == (decision["choice"],
                                                                             decision["rationale"]):
                continue  # a revisit that changed nothing records no new log entry
            append_decision(folder, decision, step_label=label, visit=visit)
        _record(sidecar, step, state, draft)
        sidecar.setdefault("drafted_from", {})[step.id] = drafted_from(
            pack, step, flat_answers(sidecar, exclude_step=step.id))
    sidecar["steps"][step.id] = "skipped" if skipped else "complete"
    if step.id not in sidecar["stepsCompleted"]:
        sidecar["stepsCompleted"].append(step.id)
    sidecar["visits"][step.id] = visit
    if state.get("usage"):
        sidecar.setdefault("usage", {})[step.id] = added((sidecar.get("usage") or {}).get(step.id), state["usage"])
    sidecar["knowledge_log"].extend(
        {"step": step.id, "tool": k["tool"], "topic_or_query": k["topic_or_query"],
         "result_ids": k.get("result_ids", []), "ok": k.get("ok", False)}
        for k in state.get("knowledge") or [])
    if not skipped and any(o.schema_name == "TrainingSpec" for o in step.meta.outputs):
        _approve_training(sidecar, step, folder)
    requests = sidecar.setdefault("revision_requests", {})
    requests.pop(step.id, None)
    if outcome["kind"] == "revise" and step.meta.revise and step.meta.revise.reason_field:
        requests[str(outcome.get("target"))] = {
            "from": step.id, "reason": str((state.get("answers") or {}).get(step.meta.revise.reason_field) or "")}
    if outcome["kind"] != "revise":
        _queue_stale(pack, step, sidecar)
    next_step = _next_step(pack, step, sidecar, outcome)
    sidecar["currentStep"] = next_step
    sidecar["workflow_status"] = "in_progress" if next_step else "complete"
    if next_step:
        sidecar["steps"][next_step] = "in_progress"
    _update_phases(pack, sidecar)
    write_project_file(folder, PROJECT_SPEC, summary.project_markdown(pack, sidecar, folder))
    write_sidecar(folder, sidecar)
    return next_step


def _record(sidecar: dict[str, Any], step: Step, state: dict[str, Any], draft: dict[str, Any]) -> None:
    answers = dict(state.get("answers") or {})
    sidecar["answers"][step.id] = answers
    for name, spec in step.meta.form.items():
        if spec.sidecar and name in answers:
            sidecar[name] = answers[name]
    notes = state.get("notes") or []
    if notes:
        sidecar["notes"][step.id] = list(notes)
    decisions = draft.get("decisions") or []
    replaced = {d["id"] for d in decisions}
    sidecar["decisions"] = [d for d in sidecar["decisions"] if d.get("id") not in replaced] + decisions
    if step.meta.stories:
        sidecar["stories"][step.meta.stories.key] = list(draft.get("stories") or [])
    acknowledged = sidecar.setdefault("acknowledged", {})
    acknowledged.pop(step.id, None)
    if state.get("acknowledged"):
        acknowledged[step.id] = dict(state["acknowledged"])


def _queue_stale(pack: Pack, step: Step, sidecar: dict[str, Any]) -> None:
    """Steps whose documents were drafted from answers this visit changed are visited again (with
    their answers prefilled and their review shown) before the session goes back where it was."""
    returns = sidecar.setdefault("return_to", [])
    if not returns:
        return  # a first walk reaches every later step anyway
    order = list(pack.steps)
    stale = [s for s in stale_steps(pack, sidecar) if s != step.id and s not in returns]
    for step_id in sorted(stale, key=order.index, reverse=True):
        returns.append(step_id)


def _write_skip_record(pack: Pack, step: Step, sidecar: dict[str, Any], outcome: dict[str, Any],
                       folder: Path) -> None:
    if not step.meta.skip_record:
        return
    template = pack.templates_dir / "skip-record.md.j2"
    context = {"step": {"id": step.id, "title": step.title, "description": step.meta.description},
               "reason": outcome.get("reason", ""), "today": today(),
               "project": {"name": sidecar.get("project_name"), "user": sidecar.get("user_name")},
               "architecture": sidecar.get("architecture")}
    if step.skip_text:  # the pack's own record, as its skip section shows it (plain text, never a template)
        text = f"{step.skip_text}\n\nSkipped on {today()}. **Reason:** `{context['reason']}`\n"
    elif template.is_file():
        text = render_template(template, context)
    else:
        text = (f"# {step.title}: SKIPPED\n\nThis step was skipped on {today()}.\n\n"
                f"**Reason:** `{context['reason']}`\n")
    write_project_file(folder, step.meta.skip_record, text)


def _approve_training(sidecar: dict[str, Any], step: Step, folder: Path) -> None:
    """Continuing past the training step approves its spec for `cairn train` (DESIGN 8)."""
    for output in step.meta.outputs:
        if output.schema_name == "TrainingSpec" and (folder / output.path).is_file():
            digest = hashlib.sha256((folder / output.path).read_bytes()).hexdigest()
            training = sidecar.setdefault("training", {})
            training.update(approved=True, approved_by=sidecar.get("user_name"), approved_at=now_iso(),
                            spec_sha256=digest)
            training.setdefault("runs", [])


def _next_step(pack: Pack, step: Step, sidecar: dict[str, Any], outcome: dict[str, Any]) -> str | None:
    returns = sidecar.setdefault("return_to", [])
    if outcome["kind"] == "revise" and outcome.get("target") in pack.steps:
        returns.append(step.id)
        return str(outcome["target"])
    if returns:
        return str(returns.pop())
    env = variables(sidecar, step.id, sidecar["answers"].get(step.id) or {})
    for rule in step.next_rules:
        if rule.when is None or evaluate(rule.when, env):
            return rule.step
    return None


def _update_phases(pack: Pack, sidecar: dict[str, Any]) -> None:
    by_phase: dict[str, list[str]] = {}
    for step in pack.steps.values():
        by_phase.setdefault(phases.sidecar_key(step.meta.phase), []).append(sidecar["steps"].get(step.id, "pending"))
    for key, states in by_phase.items():
        if sidecar["phases"].get(key) == "trained":
            continue
        if all(s == "skipped" for s in states):
            sidecar["phases"][key] = "skipped"
        elif all(s in ("complete", "skipped") for s in states):
            sidecar["phases"][key] = "designed"
        elif any(s in ("complete", "skipped", "in_progress") for s in states):
            sidecar["phases"][key] = "in_progress"
        else:
            sidecar["phases"][key] = "pending"


def _step_label(pack: Pack, step: Step) -> str:
    persona = pack.personas.get(step.meta.agent)
    return f"{step.id} - {persona.title if persona else step.title}"
