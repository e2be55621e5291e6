"""What the session graph's nodes do, without LangGraph: read the project, ask, draft, gate,
and hand completion to `completion.commit_step`. Only `complete` writes files."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from workflow import completion, summary
from workflow.config import Config
from workflow.drafts import draft_step, variables
from workflow.expressions import evaluate
from workflow.forms import FieldValueError, active, coerce
from workflow.gating import missing_items
from workflow.knowledge.protocol import KnowledgeClient, KnowledgeUnavailable
from workflow.pack_model import FormField, Pack, Step
from workflow.store import read_sidecar

_EMPTY: dict[str, Any] = {"str": "", "text": "", "path": "", "choice": "", "list": [], "multi": []}


class Engine:
    """The session's view of one project: its pack, files, config and knowledge client."""

    def __init__(self, *, pack: Pack, project_dir: Path, config: Config, knowledge: KnowledgeClient) -> None:
        self.pack = pack
        self.project_dir = project_dir
        self.config = config
        self.knowledge = knowledge
        self._sidecar: dict[str, Any] | None = None
        self._sidecar_stamp: tuple[int, int] | None = None

    # ---- reading -------------------------------------------------------------------------------
    def sidecar(self) -> dict[str, Any]:
        """The sidecar, re-read only when the file changed (it is read on every question)."""
        stat = os.stat(self.project_dir / "sidecar.yaml")
        stamp = (stat.st_mtime_ns, stat.st_size)
        if self._sidecar is None or stamp != self._sidecar_stamp:
            self._sidecar = read_sidecar(self.project_dir)
            self._sidecar_stamp = stamp
        return self._sidecar

    def env(self, step_id: str, answers: dict[str, Any]) -> dict[str, Any]:
        return variables(self.sidecar(), step_id, answers)

    def step_info(self, step: Step) -> dict[str, Any]:
        persona = self.pack.personas.get(step.meta.agent)
        return {"id": step.id, "title": step.title, "phase": step.meta.phase,
                "persona": persona.name if persona else step.meta.agent,
                "role": persona.title if persona else "", "icon": persona.icon if persona else ""}

    # ---- enter ---------------------------------------------------------------------------------
    def skip_reason(self, step_id: str) -> str | None:
        step = self.pack.step(step_id)
        if step.meta.skip_when and evaluate(step.meta.skip_when, self.env(step_id, {})):
            return step.meta.skip_when
        return None

    def entry_messages(self, step_id: str) -> list[dict[str, Any]]:
        step = self.pack.step(step_id)
        persona = self.pack.personas.get(step.meta.agent)
        messages: list[dict[str, Any]] = [{
            "kind": "header", "step": self.step_info(step), "description": step.meta.description,
            "style": persona.style if persona else "",
        }]
        context = []
        for rel in step.meta.context:
            path = self.project_dir / rel
            context.append({"path": rel, "exists": path.is_file(),
                            "summary": summary.document_summary(path) if path.is_file() else ""})
        if context:
            messages.append({"kind": "context", "documents": context})
        linked = {spec.section for spec in step.meta.form.values() if spec.section}
        for section in step.sections:
            if section.heading not in linked and section.text:
                messages.append({"kind": "guidance", "heading": section.heading, "text": section.text})
        return messages

    def consult_knowledge(self, step_id: str) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
        step = self.pack.step(step_id)
        log: list[dict[str, Any]] = []
        shown: list[dict[str, Any]] = []
        failure: str | None = None
        for query in step.meta.knowledge:
            entry: dict[str, Any] = {"tool": query.tool, "topic_or_query": query.text, "ok": False,
                                     "result_ids": [], "results": []}
            if failure is None:
                try:
                    response = self.knowledge.call(query.tool, query.arguments())
                    results = [_brief(r) for r in response.get("results", [])]
                    entry.update(ok=True, results=results, result_ids=[r["id"] for r in results])
                    shown.extend(r for r in results if r["id"] not in {s["id"] for s in shown})
                except KnowledgeUnavailable as exc:
                    failure = str(exc) or "no response"
            log.append(entry)
        messages: list[dict[str, Any]] = []
        if failure is not None:
            messages.append({"kind": "warning",
                             "text": f"Knowledge base unavailable ({failure}); continuing without it."})
        elif shown:
            messages.append({"kind": "knowledge", "results": shown[:8]})
        return log, messages

    # ---- questions -----------------------------------------------------------------------------
    def next_question(self, state: dict[str, Any]) -> dict[str, Any] | None:
        step = self.pack.step(state["step"])
        answers = state.get("answers") or {}
        env = self.env(step.id, answers)
        for name, spec in step.meta.form.items():
            if name in answers or not active(spec, env):
                continue
            messages = list(state.get("outbox") or [])
            if spec.section and not any(step.meta.form[n].section == spec.section for n in answers):
                text = next((s.text for s in step.sections if s.heading == spec.section), "")
                if text:
                    messages.append({"kind": "guidance", "heading": spec.section, "text": text})
            prefill = state.get("prefill") or {}
            return {
                "kind": "question", "step": self.step_info(step), "field": name, "type": spec.type,
                "ask": spec.ask or name.replace("_", " ").capitalize() + "?", "help": spec.help,
                "choices": spec.choices, "default": prefill.get(name, spec.default),
                "required": spec.required, "error": state.get("field_error"), "messages": messages,
                "skippable": self._skippable(step, env), "visit": state.get("visit", 1),
            }
        return None

    def take_answer(self, state: dict[str, Any], question: dict[str, Any], reply: Any) -> tuple[str, dict[str, Any]]:
        step = self.pack.step(state["step"])
        name = question["field"]
        spec = step.meta.form[name]
        if isinstance(reply, dict) and reply.get("command") == "skip":
            if question.get("skippable"):
                return "complete", {"outcome": {"kind": "user_skip", "reason": "skipped by the user"},
                                    "outbox": []}
            return "ask", {"field_error": "This step cannot be skipped.", "outbox": []}
        if isinstance(reply, dict):
            reply = reply.get("value")
        try:
            value = self._value(name, spec, reply, question.get("default"))
        except FieldValueError as exc:
            return "ask", {"field_error": str(exc), "outbox": []}
        answers = dict(state.get("answers") or {})
        answers[name] = value
        return "ask", {"answers": answers, "field_error": None, "outbox": []}

    @staticmethod
    def _value(name: str, spec: FormField, reply: Any, default: Any) -> Any:
        blank = reply is None or (isinstance(reply, str) and not reply.strip())
        if blank and default is not None:
            return coerce(name, spec, default)
        if blank and not spec.required:
            return _EMPTY.get(spec.type)
        return coerce(name, spec, reply)

    # ---- draft and menu ------------------------------------------------------------------------
    def draft(self, state: dict[str, Any]) -> dict[str, Any]:
        step = self.pack.step(state["step"])
        answers = self.with_defaults(step, state.get("answers") or {})
        result = draft_step(pack=self.pack, step=step, sidecar=self.sidecar(), answers=answers,
                            knowledge=state.get("knowledge") or [], notes=state.get("notes") or [],
                            project_dir=self.project_dir, config=self.config)
        drafted = {"documents": result.documents, "decisions": result.decisions, "stories": result.stories,
                   "errors": result.errors}
        message = {"kind": "drafts", "documents": sorted(result.documents),
                   "decisions": [f"{d['id']}: {d['choice']}" for d in result.decisions],
                   "stories": [f"{s['id']}: {s['title']}" for s in result.stories], "errors": result.errors}
        return {"draft": drafted, "outbox": list(state.get("outbox") or []) + [message]}

    def with_defaults(self, step: Step, answers: dict[str, Any]) -> dict[str, Any]:
        """Answers plus the defaults of active fields that were never asked (MCP clients may
        submit only what they change)."""
        out = dict(answers)
        env = self.env(step.id, out)
        for name, spec in step.meta.form.items():
            if name not in out and spec.default is not None and active(spec, env):
                out[name] = spec.default
        return out

    def missing(self, state: dict[str, Any]) -> list[str]:
        step = self.pack.step(state["step"])
        answers = self.with_defaults(step, state.get("answers") or {})
        draft = state.get("draft") or {}
        return missing_items(step, self.env(step.id, answers), answers, draft.get("documents") or {},
                             draft.get("decisions") or [], draft.get("stories") or [], draft.get("errors") or [])

    def menu_prompt(self, state: dict[str, Any]) -> dict[str, Any]:
        step = self.pack.step(state["step"])
        env = self.env(step.id, state.get("answers") or {})
        items = [{"key": m.key, "label": m.label, "action": m.action} for m in step.meta.menu
                 if m.action != "skip" or self._skippable(step, env)]
        return {"kind": "menu", "step": self.step_info(step), "menu": items,
                "messages": list(state.get("outbox") or []), "missing": self.missing(state),
                "visit": state.get("visit", 1), "notes": list(state.get("notes") or [])}

    def take_menu_choice(self, state: dict[str, Any], reply: Any) -> tuple[str, dict[str, Any]]:
        step = self.pack.step(state["step"])
        text = str(reply.get("value", "") if isinstance(reply, dict) else reply or "").strip()
        env = self.env(step.id, state.get("answers") or {})
        items = {m.key.upper(): m for m in step.meta.menu if m.action != "skip" or self._skippable(step, env)}
        item = items.get(text.upper().lstrip("[").rstrip("]"))
        if item is None:
            if not text:
                return "menu", {"outbox": [{"kind": "info", "text": "Choose an option: " + ", ".join(items)}]}
            if len(text) <= 2 and text.replace("*", "").isalnum():
                return "menu", {"outbox": [{"kind": "error", "text": f"Unknown option '{text}'. "
                                            f"Choose one of: {', '.join(items)}."}]}
            notes = list(state.get("notes") or []) + [text]
            return "draft", {"notes": notes, "outbox": [{"kind": "info", "text": "Noted on this step."}]}
        if item.action == "continue":
            missing = self.missing(state)
            if missing:
                return "menu", {"outbox": [{"kind": "refusal", "text": "This step cannot be completed yet.",
                                            "missing": missing}]}
            return "complete", {"outcome": self._continue_outcome(step, env), "outbox": []}
        if item.action == "revise":
            prefill = {**(state.get("prefill") or {}), **(state.get("answers") or {})}
            return "ask", {"answers": {}, "prefill": prefill, "draft": {}, "outbox": [
                {"kind": "info", "text": "Revising this step: press Enter to keep an earlier answer."}]}
        if item.action == "requery":
            return "knowledge", {"outbox": []}
        if item.action == "skip":
            return "complete", {"outcome": {"kind": "user_skip", "reason": "skipped by the user"}, "outbox": []}
        return "menu", {"outbox": [{"kind": "progress", "rows": summary.progress_rows(self.pack, self.sidecar())}]}

    def _continue_outcome(self, step: Step, env: dict[str, Any]) -> dict[str, Any]:
        revise = step.meta.revise
        if revise and evaluate(revise.when, env):
            target = revise.target or str(env.get(revise.target_field or "") or "")
            return {"kind": "revise", "target": target}
        return {"kind": "complete"}

    def _skippable(self, step: Step, env: dict[str, Any]) -> bool:
        return bool(step.meta.skippable_when and evaluate(step.meta.skippable_when, env))

    # ---- complete ------------------------------------------------------------------------------
    def complete(self, state: dict[str, Any]) -> dict[str, Any]:
        step = self.pack.step(state["step"])
        answers = self.with_defaults(step, state.get("answers") or {})
        next_step = completion.commit_step(engine=self, step=step, state={**state, "answers": answers})
        self._sidecar = None
        return {"next": next_step}


def _brief(result: dict[str, Any]) -> dict[str, Any]:
    """What a step keeps of a knowledge result: enough to show and cite, not the whole entry."""
    source = result.get("source") or {}
    text = str(result.get("summary") or result.get("description") or result.get("content") or "")
    return {"id": str(result.get("id")), "type": result.get("type"), "title": result.get("title"),
            "summary": text[:300], "source": {k: source.get(k) for k in ("id", "title", "url", "path")
                                               if source.get(k)}}
