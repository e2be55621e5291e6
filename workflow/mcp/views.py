"""What the tools return, shaped from a session's prompt and its visit state (DESIGN 7).
Reading only: the engine decides what is missing; these functions lay it out."""

from __future__ import annotations

from typing import Any

from workflow import summary
from workflow.fileio import safe_to_read
from workflow.forms import active
from workflow.session import Session


def current_step(session: Session, prompt: dict[str, Any], state: dict[str, Any]) -> dict[str, Any]:
    """The `current_step` result for the prompt the session is waiting on."""
    if prompt["kind"] == "done" or not state.get("step"):
        return _done(session.name)
    engine = session.engine
    step = session.pack.step(state["step"])
    persona = session.pack.personas.get(step.meta.agent)
    answers = dict(state.get("answers") or {})
    env = engine.env(step.id, engine.with_defaults(step, answers))
    schema = {
        name: {"type": spec.type, "ask": spec.ask or name.replace("_", " ").capitalize() + "?", "help": spec.help,
               "default": spec.default, "required": spec.required and spec.default is None,
               "choices": spec.choices, "min": spec.min, "max": spec.max, "when": spec.when,
               "active": active(spec, env), "section": spec.section}
        for name, spec in step.meta.form.items()
    }
    context = []
    for rel in step.meta.context:
        path = safe_to_read(session.folder, rel)  # a link planted in the project is not shown
        context.append({"path": rel, "exists": path is not None,
                        "summary": summary.document_summary(path) if path is not None else ""})
    knowledge, warning = _knowledge(state.get("knowledge") or [])
    draft = state.get("draft") or {}
    question = None
    if prompt["kind"] == "question":
        question = {key: prompt.get(key) for key in ("field", "ask", "help", "type", "choices", "default",
                                                     "required", "error")}
    return {
        "project": session.name,
        "kind": prompt["kind"],
        "step": {"id": step.id, "title": step.title, "phase": step.meta.phase},
        "persona": {"name": persona.name if persona else step.meta.agent, "role": persona.title if persona else "",
                    "style": persona.style if persona else ""},
        "description": step.meta.description,
        "guidance": [{"heading": s.heading, "text": engine.guidance_text(step.id, s.text, answers)}
                     for s in step.sections if s.text],
        "form": {"schema": schema, "answers": answers, "previous": dict(state.get("prefill") or {})},
        "context": context,
        "knowledge": knowledge,
        "knowledge_warning": warning,
        "menu": [{"key": m.key, "label": m.label, "action": m.action} for m in engine.menu_items(state)],
        "missing": engine.missing(state),
        "question": question,
        "drafts": {
            "documents": sorted(draft.get("documents") or {}),
            "saved": sorted(state.get("saved") or {}),
            "decisions": [{k: d.get(k) for k in ("id", "title", "choice", "rationale")}
                          for d in draft.get("decisions") or []],
            "stories": [{"id": s["id"], "title": s["title"]} for s in draft.get("stories") or []],
            "problems": list(draft.get("errors") or []),
            "texts": dict(draft.get("documents") or {}),
            "checks": engine.review(state, full=False)["checks"] if draft else [],
        },
        "visit": int(state.get("visit") or 1),
    }


def _done(project: str) -> dict[str, Any]:
    return {"project": project, "kind": "done", "step": None, "persona": None,
            "description": "The workflow is complete; every document is in the project folder.",
            "guidance": [], "form": {"schema": {}, "answers": {}, "previous": {}}, "context": [], "knowledge": [],
            "knowledge_warning": None, "menu": [], "missing": [], "question": None,
            "drafts": {"documents": [], "saved": [], "decisions": [], "stories": [], "problems": []}, "visit": 0}


def _knowledge(log: list[dict[str, Any]]) -> tuple[list[dict[str, Any]], str | None]:
    """The step's knowledge results, each once, and one line when the server was unavailable."""
    seen: set[str] = set()
    results = []
    for entry in log:
        for result in entry.get("results") or []:
            if result["id"] not in seen:
                seen.add(result["id"])
                results.append({**result, "query": f"{entry['tool']}:{entry['topic_or_query']}"})
    failed = [e for e in log if not e.get("ok")]
    warning = None
    if failed:
        warning = (f"{len(failed)} of {len(log)} knowledge queries got no answer (the Knowledge server is "
                   "unavailable or disabled); query_knowledge may work later")
    return results, warning


def next_label(prompt: dict[str, Any]) -> str:
    """Where the visit rests now: 'menu', 'question: FIELD' or 'done'."""
    if prompt["kind"] == "question":
        return f"question: {prompt['field']}"
    return str(prompt["kind"])


def finished_message(prompt: dict[str, Any]) -> str:
    """The steps a choice completed or skipped, as the terminal prints them."""
    texts = [m["text"] for m in prompt.get("messages") or [] if m.get("kind") == "done_step"]
    if prompt["kind"] == "done":
        texts.append("The workflow is complete.")
    return " ".join(texts)
