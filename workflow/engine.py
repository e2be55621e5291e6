"""What the session graph's nodes do, without LangGraph: read the project, ask, draft, gate,
and hand completion to `completion.commit_step`. Only `complete` writes files."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from workflow import completion, contributions, summary
from workflow.config import Config
from workflow.contributions import CommandRefused, base_answers, brief
from workflow.drafts import Draft, draft_step, variables
from workflow.expressions import ExpressionError, evaluate
from workflow.forms import FieldValueError, active, answer_value, coerce, empty_value
from workflow.gating import missing_items
from workflow.i18n import t
from workflow.knowledge.protocol import KnowledgeClient, KnowledgeUnavailable
from workflow.pack_model import MenuItem, Pack, Step
from workflow.store import read_sidecar

# Replies a tool front end (the MCP server) may send at any question or menu, besides plain answers.
COMMANDS = frozenset({*contributions.KINDS, "choose"})


class Engine:
    """The session's view of one project: its pack, files, config and knowledge client."""

    def __init__(self, *, pack: Pack, project_dir: Path, config: Config, knowledge: KnowledgeClient) -> None:
        self.pack = pack
        self.project_dir = project_dir
        self.config = config
        self.knowledge = knowledge
        self._sidecar: dict[str, Any] | None = None
        self._sidecar_stamp: tuple[int, int] | None = None
        self.language = config.communication_language

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
            arguments = query.arguments()
            if "{" in query.text:  # BMAD topics carry {architecture}-style slots, filled from the project
                from workflow.bmad.queries import fill_arguments

                arguments = fill_arguments(arguments, self.env(step_id, {}))
            entry: dict[str, Any] = {"tool": query.tool, "ok": False, "result_ids": [], "results": [],
                                     "topic_or_query": arguments.get("query") or arguments.get("topic") or query.text}
            if failure is None:
                try:
                    response = self.knowledge.call(query.tool, arguments)
                    results = [brief(r) for r in response.get("results", [])]
                    entry.update(ok=True, results=results, result_ids=[r["id"] for r in results])
                    shown.extend(r for r in results if r["id"] not in {s["id"] for s in shown})
                except KnowledgeUnavailable as exc:
                    failure = str(exc) or "no response"
            log.append(entry)
        messages: list[dict[str, Any]] = []
        if failure is not None:
            messages.append({"kind": "warning", "text": t("knowledge_unavailable", self.language, reason=failure)})
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
                "result": state.get("result"),
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
            return "ask", {"field_error": t("cannot_skip", self.language), "outbox": []}
        if isinstance(reply, dict):
            reply = reply.get("value")
        try:
            value = answer_value(name, spec, reply, question.get("default"))
        except FieldValueError as exc:
            return "ask", {"field_error": str(exc), "outbox": []}
        answers = dict(state.get("answers") or {})
        answers[name] = value
        return "ask", {"answers": answers, "field_error": None, "outbox": []}

    # ---- draft and menu ------------------------------------------------------------------------
    def draft(self, state: dict[str, Any]) -> dict[str, Any]:
        step = self.pack.step(state["step"])
        answers = self.with_defaults(step, state.get("answers") or {})
        result = draft_step(pack=self.pack, step=step, sidecar=self.sidecar(), answers=answers,
                            knowledge=state.get("knowledge") or [], notes=state.get("notes") or [],
                            project_dir=self.project_dir, config=self.config, visit=int(state.get("visit") or 1),
                            recorded=state.get("recorded"), added_stories=state.get("added_stories"))
        self._merge_saved(step, answers, state, result)
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
                "visit": state.get("visit", 1), "notes": list(state.get("notes") or []),
                "result": state.get("result")}

    def take_menu_choice(self, state: dict[str, Any], reply: Any) -> tuple[str, dict[str, Any]]:
        step = self.pack.step(state["step"])
        text = str(reply.get("value", "") if isinstance(reply, dict) else reply or "").strip()
        env = self.env(step.id, state.get("answers") or {})
        items = {m.key.upper(): m for m in step.meta.menu if m.action != "skip" or self._skippable(step, env)}
        item = items.get(text.upper().lstrip("[").rstrip("]"))
        if item is None:
            if not text:
                return "menu", {"outbox": [{"kind": "info",
                                            "text": t("choose_option", self.language, keys=", ".join(items))}]}
            if len(text) <= 2 and text.replace("*", "").isalnum():
                return "menu", {"outbox": [{"kind": "error", "text": t("unknown_option", self.language, text=text,
                                                                       keys=", ".join(items))}]}
            notes = list(state.get("notes") or []) + [text]
            return "draft", {"notes": notes, "outbox": [{"kind": "info", "text": t("noted", self.language)}]}
        if item.action == "continue":
            missing = self.missing(state)
            if missing:
                return "menu", {"outbox": [{"kind": "refusal", "text": t("cannot_complete", self.language),
                                            "missing": missing}]}
            return "complete", {"outcome": self._continue_outcome(step, env), "outbox": []}
        if item.action == "revise":
            prefill = {**(state.get("prefill") or {}), **(state.get("answers") or {})}
            return "ask", {"answers": {}, "prefill": prefill, "draft": {}, "outbox": [
                {"kind": "info", "text": t("revising", self.language)}]}
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

    # ---- commands from tool front ends (DESIGN 7) ------------------------------------------------
    # An IDE assistant drives the same visit as the terminal: each command is a reply at a question
    # or the menu, applied to the state only, after which the visit settles at the menu (when every
    # required answer is present) or at the next question. Nothing here writes files.
    @staticmethod
    def is_command(reply: Any) -> bool:
        return isinstance(reply, dict) and reply.get("command") in COMMANDS

    def menu_items(self, state: dict[str, Any]) -> list[MenuItem]:
        """The menu entries offered now (`skip` only while the step may be skipped)."""
        step = self.pack.step(state["step"])
        env = self.env(step.id, state.get("answers") or {})
        return [m for m in step.meta.menu if m.action != "skip" or self._skippable(step, env)]

    def take_command(self, state: dict[str, Any], reply: dict[str, Any], *, at: str) -> tuple[str, dict[str, Any]]:
        """Apply one command received at node `at` ("ask" or "menu"). Returns (goto, update);
        `update["result"]` is what the caller gets back (`{"error": ...}` for a bad argument)."""
        try:
            if reply["command"] == "choose":
                return self._choose(state, reply, at)
            result, update = contributions.take(self, state, reply)
        except CommandRefused as exc:
            return at, {"result": {"error": str(exc)}, "outbox": []}
        if reply["command"] == "knowledge":
            # A query the assistant made: kept with the visit (and so in the sidecar's
            # knowledge_log at completion), without moving the visit.
            return at, {**update, "result": result, "outbox": []}
        goto, settled = self._settle({**state, **update})
        return goto, {**update, **settled, "result": result, "field_error": None, "outbox": []}

    def _settle(self, state: dict[str, Any]) -> tuple[str, dict[str, Any]]:
        step = self.pack.step(state["step"])
        if self._answers_missing({**state, "draft": {}}):
            return "ask", {"draft": {}}
        return "draft", {"answers": self._complete_answers(step, state.get("answers") or {})}

    def _answers_missing(self, state: dict[str, Any]) -> list[str]:
        return [item for item in self.missing(state) if item.startswith("answer: ")]

    def _complete_answers(self, step: Step, answers: dict[str, Any]) -> dict[str, Any]:
        """What the terminal would hold after Enter on every remaining question: defaults for
        fields never asked, empty values for optional ones, and no answers to inactive fields."""
        out = self.with_defaults(step, answers)
        env = self.env(step.id, out)
        for name, spec in step.meta.form.items():
            if name not in out and not spec.required and active(spec, env):
                out[name] = empty_value(spec)
        return {name: value for name, value in out.items()
                if name not in step.meta.form or active(step.meta.form[name], env)}

    def _choose(self, state: dict[str, Any], reply: dict[str, Any], at: str) -> tuple[str, dict[str, Any]]:
        step = self.pack.step(state["step"])
        key = str(reply.get("key") or "").strip().lstrip("[").rstrip("]").upper()
        items = {m.key.upper(): m for m in self.menu_items(state)}
        item = items.get(key)
        if item is None:
            raise CommandRefused(f"'{reply.get('key')}' is not an option at step {step.id}; "
                                 f"choose one of: {', '.join(items)}")
        target = reply.get("target")
        if target is not None and item.action != "continue":
            raise CommandRefused(f"target goes with the Continue option, not [{item.key}] {item.label}")
        if item.action == "continue" and (at == "ask" or target is not None):
            # The documents, decisions and stories are drafted from complete answers first; the
            # menu then takes the same key as if it had been pressed there.
            answers = base_answers(step, state) if at == "ask" else dict(state.get("answers") or {})
            if target is not None:
                answers = self._with_target(step, answers, target)
            missing = self._answers_missing({**state, "answers": answers, "draft": {}})
            if missing:
                full = self.missing({**state, "answers": answers, "draft": {}})
                return "ask", {"answers": answers, "draft": {}, "outbox": [], "result": {
                    "advanced": False, "missing": full, "message": "This step cannot be completed yet."}}
            return "draft", {"answers": self._complete_answers(step, answers), "outbox": [], "result": None,
                             "queued": {"command": "choose", "key": item.key}}
        goto, update = self.take_menu_choice(state, item.key)
        if at == "ask" and goto == "menu":
            goto = "ask"  # the menu is only reached through a draft of complete answers
        return goto, {**update, "result": _choice_result(item, goto, update)}

    def _with_target(self, step: Step, answers: dict[str, Any], target: Any) -> dict[str, Any]:
        revise = step.meta.revise
        if revise is None:
            raise CommandRefused(f"step {step.id} cannot send the project back to another step; drop target")
        target = str(target).strip()
        if target not in self.pack.steps:
            raise CommandRefused(f"target '{target}' is not a step of this pack; steps: {', '.join(self.pack.steps)}")
        out = dict(answers)
        if revise.target is not None and target != revise.target:
            raise CommandRefused(f"step {step.id} can only send the project back to step {revise.target}")
        if revise.target_field:
            try:
                out[revise.target_field] = coerce(revise.target_field, step.meta.form[revise.target_field], target)
            except FieldValueError as exc:
                raise CommandRefused(f"target: {exc}") from None
        if not evaluate(revise.when, self.env(step.id, self.with_defaults(step, out))):
            raise CommandRefused(f"target is used only when `{revise.when}`; submit the answers that make it "
                                 "so first (for example the decision and its reason)")
        return out

    def _merge_saved(self, step: Step, answers: dict[str, Any], state: dict[str, Any], draft: Draft) -> None:
        """Put the documents the assistant saved over the engine's drafts, while the step still
        writes them (its decisions and stories went into the draft before the documents rendered)."""
        env = self.env(step.id, answers)
        for path, content in (state.get("saved") or {}).items():
            output = next((o for o in step.meta.outputs if o.path == path), None)
            try:
                wanted = output is not None and (output.when is None or evaluate(output.when, env))
            except ExpressionError:
                wanted = False
            if wanted:
                draft.documents[path] = content
                draft.errors = [e for e in draft.errors if not e.startswith(f"{path}: ")]

    # ---- complete ------------------------------------------------------------------------------
    def complete(self, state: dict[str, Any]) -> dict[str, Any]:
        step = self.pack.step(state["step"])
        answers = self.with_defaults(step, state.get("answers") or {})
        next_step = completion.commit_step(engine=self, step=step, state={**state, "answers": answers})
        self._sidecar = None
        return {"next": next_step}


_CHOICE_MESSAGES = {"revise": "Reopened this step's questions; earlier answers are kept unless changed.",
                    "requery": "Re-queried the knowledge base.", "progress": "Progress of every step.",
                    "skip": "", "continue": ""}


def _choice_result(item: MenuItem, goto: str, update: dict[str, Any]) -> dict[str, Any]:
    """A menu choice's outcome for a tool front end (the terminal reads the outbox instead)."""
    outbox = update.get("outbox") or []
    refusal = next((m for m in outbox if m.get("kind") == "refusal"), None)
    result: dict[str, Any] = {"advanced": goto == "complete", "missing": list(refusal["missing"]) if refusal else [],
                              "message": refusal["text"] if refusal else _CHOICE_MESSAGES[item.action]}
    rows = next((m["rows"] for m in outbox if m.get("kind") == "progress"), None)
    if rows is not None:
        result["progress"] = [{"id": r["id"], "title": r["title"], "status": r["status"]} for r in rows]
    return result
