"""What an assistant contributes to a step through the MCP tools (DESIGN 7): answers, documents,
decisions, stories and knowledge queries. Each command is checked against the current step and
becomes an update of the visit's state (what the terminal would have gathered by asking); nothing
here writes files. Continue and REVISE move the visit and stay in `engine`."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any, Protocol

from workflow.drafts import knowledge_ref
from workflow.expressions import ExpressionError, evaluate
from workflow.forms import FieldValueError, active, answer_value
from workflow.pack_model import Pack, Step
from workflow.store import today


class Engine(Protocol):
    """What a contribution reads of the session (the engine provides it; this module stays below it)."""

    pack: Pack

    def sidecar(self) -> dict[str, Any]: ...

    def env(self, step_id: str, answers: dict[str, Any]) -> dict[str, Any]: ...

    def with_defaults(self, step: Step, answers: dict[str, Any]) -> dict[str, Any]: ...

State = dict[str, Any]
# (what the tool returns, the update to the visit's state)
Outcome = tuple[dict[str, Any], dict[str, Any]]

_DECISION_ID = re.compile(r"^[A-Za-z][A-Za-z0-9_-]{0,39}$")
_STORY_KEYS = {"title", "description", "acceptance_criteria"}


class CommandRefused(Exception):
    """A command's arguments do not fit the step; the message names the argument and the fix."""


def take(engine: Engine, state: State, reply: State) -> Outcome:
    """Apply one contribution (`reply["command"]` in KINDS) to the visit's state.

    Raises:
        CommandRefused: the arguments do not fit the step.
    """
    return _HANDLERS[reply["command"]](engine, state, reply)


def base_answers(step: Step, state: State) -> dict[str, Any]:
    """A reopened step starts from its earlier answers, as the terminal offers them as defaults."""
    prefill = {k: v for k, v in (state.get("prefill") or {}).items() if k in step.meta.form}
    return {**prefill, **(state.get("answers") or {})}


def brief(result: dict[str, Any]) -> dict[str, Any]:
    """What a step keeps of a knowledge result: enough to show and cite, not the whole entry."""
    source = result.get("source") or {}
    text = str(result.get("summary") or result.get("description") or result.get("content") or "")
    return {"id": str(result.get("id")), "type": result.get("type"), "title": result.get("title"),
            "summary": text[:300], "source": {k: source.get(k) for k in ("id", "title", "url", "path")
                                               if source.get(k)}}


def _answers(engine: Engine, state: State, reply: State) -> Outcome:
    values = reply.get("values")
    if not isinstance(values, dict):
        raise CommandRefused("answers: expected a mapping of field names to values")
    step = engine.pack.step(state["step"])
    answers = base_answers(step, state)
    prefill = state.get("prefill") or {}
    accepted: dict[str, Any] = {}
    errors: dict[str, str] = {}
    for name, raw in values.items():
        spec = step.meta.form.get(str(name))
        if spec is None:
            errors[str(name)] = (f"{name}: step {step.id} has no such field; its fields are "
                                 f"{', '.join(step.meta.form) or 'none'}")
            continue
        try:
            accepted[name] = answer_value(name, spec, raw, prefill.get(name, spec.default))
        except FieldValueError as exc:
            errors[name] = str(exc)
    answers.update(accepted)
    env = engine.env(step.id, engine.with_defaults(step, answers))
    for name in list(accepted):
        spec = step.meta.form[name]
        if not active(spec, env):
            del accepted[name]
            answers.pop(name, None)
            errors[name] = f"{name}: not asked at this step while `{spec.when}` is false"
    return {"accepted": accepted, "errors": errors}, {"answers": answers}


def _document(engine: Engine, state: State, reply: State) -> Outcome:
    step = engine.pack.step(state["step"])
    path, content = reply.get("path"), reply.get("content")
    outputs = {o.path: o for o in step.meta.outputs}
    output = outputs.get(str(path))
    if output is None:
        raise CommandRefused(f"step {step.id} does not write '{path}'; "
                             f"it writes: {', '.join(outputs) or 'nothing'}")
    if output.schema_name:
        raise CommandRefused(f"{output.path} is built from the form answers ({output.schema_name}); "
                             "change the answers with submit_answers instead")
    if not isinstance(content, str) or not content.strip():
        raise CommandRefused(f"{output.path}: the content is empty")
    if output.when:
        env = engine.env(step.id, engine.with_defaults(step, base_answers(step, state)))
        try:
            wanted = evaluate(output.when, env)
        except ExpressionError:
            wanted = False
        if not wanted:
            raise CommandRefused(f"{output.path} is written only when `{output.when}`; "
                                 "submit the answers that make it so first")
    saved = {**(state.get("saved") or {}), output.path: content if content.endswith("\n") else content + "\n"}
    return {"saved": True, "path": output.path}, {"saved": saved}


def _decision(engine: Engine, state: State, reply: State) -> Outcome:
    step = engine.pack.step(state["step"])
    decision_id = str(reply.get("id") or "").strip()
    if not _DECISION_ID.match(decision_id):
        raise CommandRefused(f"decision id '{decision_id}': use letters, digits, '-' or '_' (e.g. TRAIN-004)")
    if decision_id not in {d.id for d in step.meta.decisions}:
        owner = next((s.id for s in engine.pack.steps.values() if s.id != step.id
                      and any(d.id == decision_id for d in s.meta.decisions)), None)
        owner = owner or next((str(d.get("step")) for d in engine.sidecar().get("decisions") or []
                               if d.get("id") == decision_id and str(d.get("step")) != step.id), None)
        if owner is not None:
            raise CommandRefused(f"decision {decision_id} belongs to step {owner}; reopen that step to change it")
    texts: dict[str, str] = {}
    for key in ("title", "choice", "rationale"):
        value = reply.get(key)
        if not isinstance(value, str) or not value.strip():
            raise CommandRefused(f"decision {decision_id}: {key} is required")
        if not re.search(r"\w", value):
            raise CommandRefused(f"decision {decision_id}: {key} '{value.strip()}' says nothing; write it in words")
        texts[key] = value.strip()
    if len(texts["rationale"].split()) < 3:
        raise CommandRefused(f"decision {decision_id}: the rationale needs a reason in a few words "
                             f"(why {texts['choice']!r}), not '{texts['rationale']}'")
    ref = reply.get("knowledge_ref")
    entry = {"id": decision_id, "step": step.id, **texts,
             "knowledge_ref": str(ref).strip() if ref else knowledge_ref(state.get("knowledge") or []),
             "date": today()}
    recorded = [d for d in state.get("recorded") or [] if d.get("id") != decision_id] + [entry]
    return {"recorded": True, "id": decision_id}, {"recorded": recorded}


def _knowledge(engine: Engine, state: State, reply: State) -> Outcome:
    tool, query, found = reply.get("tool"), reply.get("topic_or_query"), reply.get("results")
    if not isinstance(tool, str) or not isinstance(query, str) or not isinstance(found, list):
        raise CommandRefused("knowledge: expected tool, topic_or_query and a list of results")
    results = [brief(r) for r in found if isinstance(r, dict)]
    entry = {"tool": tool, "topic_or_query": query, "ok": bool(reply.get("ok")),
             "result_ids": [r["id"] for r in results], "results": results}
    return {"logged": True}, {"knowledge": [*(state.get("knowledge") or []), entry]}


def _stories(engine: Engine, state: State, reply: State) -> Outcome:
    step = engine.pack.step(state["step"])
    if step.meta.stories is None:
        raise CommandRefused(f"step {step.id} declares no stories")
    items = reply.get("stories")
    if not isinstance(items, list) or not items:
        raise CommandRefused("stories: give a non-empty list of {title, description, acceptance_criteria}")
    clean = []
    for number, item in enumerate(items, start=1):
        if not isinstance(item, dict) or set(item) - _STORY_KEYS:
            raise CommandRefused(f"stories[{number}]: expected only the keys {', '.join(sorted(_STORY_KEYS))}")
        title = str(item.get("title") or "").strip()
        criteria = item.get("acceptance_criteria")
        if not title:
            raise CommandRefused(f"stories[{number}]: title is required")
        if not isinstance(criteria, list) or not any(str(c).strip() for c in criteria):
            raise CommandRefused(f"stories[{number}]: acceptance_criteria needs at least one item")
        clean.append({"title": title, "description": str(item.get("description") or "").strip(),
                      "acceptance_criteria": [str(c).strip() for c in criteria if str(c).strip()]})
    # A retried call (a timeout on the client's side) must not add the same stories twice.
    earlier = list(state.get("added_stories") or [])
    new = [story for i, story in enumerate(clean) if story not in earlier and story not in clean[:i]]
    return {"added": len(new)}, {"added_stories": earlier + new}


def _note(engine: Engine, state: State, reply: State) -> Outcome:
    text = reply.get("text")
    if not isinstance(text, str) or not text.strip():
        raise CommandRefused("note: give the note's text")
    notes = list(state.get("notes") or [])
    if text.strip() not in notes:  # idempotent on retry, like the terminal's notes typed at a menu
        notes.append(text.strip())
    return {"noted": True, "notes": len(notes)}, {"notes": notes}


_HANDLERS: dict[str, Callable[[Engine, State, State], Outcome]] = {
    "answers": _answers, "document": _document, "decision": _decision, "stories": _stories,
    "knowledge": _knowledge, "note": _note}
KINDS = frozenset(_HANDLERS)
