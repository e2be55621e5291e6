"""What the session graph's nodes do, without LangGraph: read the project, ask, draft, gate,
and hand completion to `completion.commit_step`. Only `complete` writes files."""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any

from workflow import completion, summary
from workflow.checks import is_confirm_item, run_checks, unacknowledged
from workflow.config import Config
from workflow.contributions import brief
from workflow.drafts import Draft, draft_step, variables
from workflow.expressions import ExpressionError, evaluate, value_of
from workflow.facts import facts
from workflow.fileio import safe_to_read
from workflow.forms import FieldValueError, active, answer_value
from workflow.gating import missing_items
from workflow.i18n import t
from workflow.knowledge.protocol import KnowledgeClient, KnowledgeUnavailable
from workflow.pack_model import MenuItem, Pack, Step
from workflow.review import (
    acknowledgement_decisions,
    draft_digest,
    missing_headings,
    pushback_hits,
    review_message,
    stale_lines,
    stale_steps,
)
from workflow.store import read_sidecar, today
from workflow.tool_commands import ToolCommands

# A path written by a pack into one of its phase folders, with something before the folder.
_PACK_PATH = re.compile(r"[^\s`'\"()<>\[\]]+/(phase-\d[\w.-]*\w(?:/[^\s`'\"()<>\[\]]*\w)?)")


class Engine(ToolCommands):
    """The session's view of one project: its pack, files, config and knowledge client."""

    def __init__(self, *, pack: Pack, project_dir: Path, config: Config, knowledge: KnowledgeClient) -> None:
        self.pack = pack
        self.project_dir = project_dir
        self.config = config
        self.knowledge = knowledge
        self._sidecar: dict[str, Any] | None = None
        self._sidecar_stamp: tuple[int, int] | None = None
        self.language = config.communication_language
        self._backing: dict[str, dict[str, Any] | None] = {}  # knowledge entry behind each check query

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
            path = safe_to_read(self.project_dir, rel)  # a link planted in the project is not shown
            context.append({"path": rel, "exists": path is not None,
                            "summary": summary.document_summary(path) if path is not None else ""})
        if context:
            messages.append({"kind": "context", "documents": context})
        request = (self.sidecar().get("revision_requests") or {}).get(step_id)
        if request:
            messages.append({"kind": "revision", "text": t("revision_reason", self.language,
                                                           origin=request.get("from"), reason=request.get("reason"))})
        changed = stale_steps(self.pack, self.sidecar()).get(step_id)
        if changed:
            messages.append({"kind": "warning", "text": t("stale_step", self.language, fields=", ".join(changed))})
        linked = {spec.section for spec in step.meta.form.values() if spec.section}
        for section in step.sections:
            if section.heading not in linked and section.text:
                messages.append({"kind": "guidance", "heading": section.heading,
                                 "text": self.guidance_text(step_id, section.text)})
        return messages

    def guidance_text(self, step_id: str, text: str, answers: dict[str, Any] | None = None) -> str:
        """A guidance section with the `{name}` placeholders of BMAD packs filled in: the project's
        name and user, `output_folder` (the folder of the projects, so that
        `{output_folder}/{project_name}/...` names the real file), `planning_artifacts` and
        `implementation_artifacts` (the project folder, where Cairn writes every document), and the
        answers given so far; in a BMAD pack, a path into a phase folder is shown where Cairn writes it.
        Placeholders nothing fills stay as written."""
        bmad = self.pack.style == "bmad"
        if "{" not in text and not bmad:
            return text
        from workflow.bmad.markdown import key, substitute

        values = {key(name): ", ".join(map(str, value)) if isinstance(value, list) else str(value)
                  for name, value in self.env(step_id, answers or {}).items()
                  if value not in (None, "", []) and not isinstance(value, dict)}
        values.update(output_folder=str(self.project_dir.parent), planning_artifacts=str(self.project_dir),
                      implementation_artifacts=str(self.project_dir))
        text = substitute(text, values)
        # A BMAD path that its own settings resolved ({project-root}/_ai-output/NAME/phase-0-x/y.md)
        # names the file where Cairn writes it: the project folder.
        return _PACK_PATH.sub(lambda m: f"{self.project_dir}/{m.group(1)}", text) if bmad else text

    def consult_knowledge(self, step_id: str, answers: dict[str, Any] | None = None,
                          ) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
        step = self.pack.step(step_id)
        log: list[dict[str, Any]] = []
        shown: list[dict[str, Any]] = []
        failure: str | None = None
        for query in step.meta.knowledge:
            arguments = query.arguments()
            if "{" in query.text:  # BMAD topics carry {architecture}-style slots, filled from the project
                from workflow.bmad.queries import fill_arguments

                arguments = fill_arguments(arguments, self.env(step_id, answers or {}))  # re-query: answers so far
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
        pushback = state.get("pushback")
        if pushback and pushback.get("field") in step.meta.form and pushback["field"] in answers:
            # An answer just tripped a check: say so, and offer to change it (Enter keeps it).
            name = pushback["field"]
            spec = step.meta.form[name]
            persona = self.pack.personas.get(step.meta.agent)
            message = {"kind": "pushback", "persona": persona.name if persona else step.meta.agent,
                       "field": name, "value": answers.get(name), "checks": pushback.get("checks") or []}
            error = state.get("field_error")  # a new value that did not fit: say so, not the objection again
            return {
                "kind": "question", "step": self.step_info(step), "field": name, "type": spec.type,
                "ask": t("pushback_ask", self.language, field=name), "help": None, "choices": spec.choices,
                "default": answers.get(name), "required": spec.required, "error": error, "pushback": True,
                "messages": list(state.get("outbox") or []) + ([] if error else [message]), "skippable": False,
                "visit": state.get("visit", 1), "result": state.get("result"),
            }
        for name, spec in step.meta.form.items():
            if name in answers or not active(spec, env):
                continue
            messages = list(state.get("outbox") or [])
            if spec.section and not any(step.meta.form[n].section == spec.section for n in answers):
                text = next((s.text for s in step.sections if s.heading == spec.section), "")
                if text:
                    messages.append({"kind": "guidance", "heading": spec.section,
                                     "text": self.guidance_text(step.id, text, answers)})
            prefill = state.get("prefill") or {}
            default = self.with_defaults(step, answers).get(name) if spec.default_from else spec.default
            return {
                "kind": "question", "step": self.step_info(step), "field": name, "type": spec.type,
                "ask": spec.ask or name.replace("_", " ").capitalize() + "?", "help": spec.help,
                "choices": spec.choices, "default": prefill.get(name, default),
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
        update: dict[str, Any] = {"answers": answers, "field_error": None, "outbox": [], "pushback": None}
        pushed = list(state.get("pushed") or [])
        typed = reply is not None and not (isinstance(reply, str) and not reply.strip())
        hits = pushback_hits(step, name, answers, run_checks(step, self.check_env(step, answers)), pushed,
                             notes=typed)
        if hits:
            update["pushback"] = {"field": name, "checks": [self._backed(h) for h in hits]}
            update["pushed"] = pushed + [h["id"] for h in hits]
        return "ask", update

    # ---- checks (DESIGN 3.3) --------------------------------------------------------------------
    def check_env(self, step: Step, answers: dict[str, Any]) -> dict[str, Any]:
        """What a step's checks see: the project's answers (this step's with defaults filled in)
        and the facts measured from its files (workflow.facts)."""
        env = self.env(step.id, self.with_defaults(step, answers))
        env.update(facts(env))
        return env

    def verdicts(self, state: dict[str, Any]) -> list[dict[str, Any]]:
        """The current step's check verdicts, plus every completed step's when the step reviews
        the whole project (`project_checks`) and its condition holds."""
        step = self.pack.step(state["step"])
        answers = state.get("answers") or {}
        out = run_checks(step, self.check_env(step, answers))
        if step.meta.project_checks:
            try:
                wanted = evaluate(step.meta.project_checks, self.env(step.id, self.with_defaults(step, answers)))
            except ExpressionError:
                wanted = False
            if wanted:
                out += self.project_verdicts(exclude=step.id)
        return out

    def project_verdicts(self, exclude: str | None = None) -> list[dict[str, Any]]:
        """Every completed step's checks against the recorded answers, and one blocking verdict
        while documents drafted from since-changed answers remain."""
        sidecar = self.sidecar()
        out: list[dict[str, Any]] = []
        for step_id, other in self.pack.steps.items():
            if step_id == exclude or (sidecar.get("steps") or {}).get(step_id) != "complete":
                continue
            env = variables(sidecar, step_id, (sidecar.get("answers") or {}).get(step_id) or {})
            env.update(facts(env))
            out += run_checks(other, env)
        stale = stale_lines(self.pack, sidecar, exclude=exclude)
        if stale:
            out.append({"id": "STALE-DOCUMENTS", "step": exclude or "", "severity": "block", "tripped": True,
                        "message": t("stale_documents", self.language, items="; ".join(stale)),
                        "fix": t("stale_fix", self.language), "knowledge": None, "error": None})
        return out

    def acknowledged(self, state: dict[str, Any]) -> dict[str, Any]:
        """Reasons given for going on despite `confirm` checks: earlier steps' and this visit's."""
        out: dict[str, Any] = {}
        for step_id, acks in (self.sidecar().get("acknowledged") or {}).items():
            if step_id != state.get("step") and isinstance(acks, dict):
                out.update(acks)
        out.update(state.get("acknowledged") or {})
        return out

    def _backed(self, verdict: dict[str, Any]) -> dict[str, Any]:
        """A verdict with the knowledge entry its check names (the best hit of its query)."""
        query = verdict.get("knowledge")
        if not query:
            return verdict
        if query not in self._backing:
            try:
                response = self.knowledge.call("search_knowledge", {"query": query, "limit": 1})
                results = response.get("results") or []
                self._backing[query] = brief(results[0]) if results else None
            except KnowledgeUnavailable:
                return verdict
        entry = self._backing[query]
        return {**verdict, "entry": entry} if entry else verdict

    # ---- draft and menu ------------------------------------------------------------------------
    def draft(self, state: dict[str, Any]) -> dict[str, Any]:
        step = self.pack.step(state["step"])
        answers = self.with_defaults(step, state.get("answers") or {})
        acknowledged = self.acknowledged(state)
        verdicts = self.verdicts({**state, "answers": answers})  # once: the documents and the review use them
        result = draft_step(pack=self.pack, step=step, sidecar=self.sidecar(), answers=answers,
                            knowledge=state.get("knowledge") or [], notes=state.get("notes") or [],
                            project_dir=self.project_dir, config=self.config, visit=int(state.get("visit") or 1),
                            recorded=state.get("recorded"), added_stories=state.get("added_stories"),
                            checks=[dict(v, acknowledged=acknowledged.get(v["id"])) for v in verdicts])
        self._merge_saved(step, answers, state, result)
        drafted = {"documents": result.documents, "decisions": result.decisions, "stories": result.stories,
                   "errors": result.errors}
        stamp = draft_digest(drafted)
        message = self.review({**state, "draft": drafted}, full=stamp != state.get("reviewed"), verdicts=verdicts)
        return {"draft": drafted, "reviewed": stamp, "outbox": list(state.get("outbox") or []) + [message]}

    def review(self, state: dict[str, Any], *, full: bool = True,
               verdicts: list[dict[str, Any]] | None = None) -> dict[str, Any]:
        """What Continue would commit: the drafted documents (their text when `full`), decisions,
        stories and the verdicts of the checks that tripped (`verdicts` when already computed)."""
        step = self.pack.step(state["step"])
        shown = [self._backed(v) if v.get("tripped") and full else v
                 for v in (self.verdicts(state) if verdicts is None else verdicts)]
        return review_message(self.step_info(step), state.get("draft") or {}, shown,
                              self.acknowledged(state), full=full)

    def with_defaults(self, step: Step, answers: dict[str, Any]) -> dict[str, Any]:
        """Answers plus the defaults of active fields that were never asked (MCP clients may
        submit only what they change); a `default_from` field takes its computed value."""
        out = dict(answers)
        env = self.env(step.id, out)
        computed = []
        for name, spec in step.meta.form.items():
            if name not in out and active(spec, env):
                if spec.default is not None:
                    out[name] = spec.default
                if spec.default_from:
                    computed.append(name)
        if computed:
            env = self.env(step.id, out)
            env.update(facts(env))
            for name in computed:
                try:
                    value = value_of(step.meta.form[name].default_from or "", env)
                except ExpressionError:
                    value = None
                if value is not None:
                    out[name] = value
        return out

    def missing(self, state: dict[str, Any]) -> list[str]:
        step = self.pack.step(state["step"])
        answers = self.with_defaults(step, state.get("answers") or {})
        draft = state.get("draft") or {}
        return missing_items(step, self.env(step.id, answers), answers, draft.get("documents") or {},
                             draft.get("decisions") or [], draft.get("stories") or [], draft.get("errors") or [],
                             checks=self.verdicts(state), acknowledged=self.acknowledged(state))

    def menu_prompt(self, state: dict[str, Any]) -> dict[str, Any]:
        step = self.pack.step(state["step"])
        items = [{"key": m.key, "label": m.label, "action": m.action} for m in self.menu_items(state)]
        prompt = {"kind": "menu", "step": self.step_info(step), "menu": items,
                  "messages": list(state.get("outbox") or []), "missing": self.missing(state),
                  "visit": state.get("visit", 1), "notes": list(state.get("notes") or []),
                  "result": state.get("result")}
        if state.get("confirming"):
            prompt["confirm"] = next((v for v in self.verdicts(state) if v["id"] == state["confirming"]), None)
        return prompt

    def take_menu_choice(self, state: dict[str, Any], reply: Any, *,
                         ask_confirmation: bool = True) -> tuple[str, dict[str, Any]]:
        """Apply a menu reply (a key, or a note). With `ask_confirmation`, a Continue held back
        only by `confirm` checks asks for the reason to go on (the terminal); a tool front end
        passes its acknowledgements with the choice instead."""
        step = self.pack.step(state["step"])
        text = str(reply.get("value", "") if isinstance(reply, dict) else reply or "").strip()
        if state.get("confirming"):
            return self._take_confirmation(state, text)
        items = {m.key.upper(): m for m in self.menu_items(state)}
        item = items.get(text.upper().lstrip("[").rstrip("]"))
        if item is None:
            if not text:
                return "menu", {"outbox": [{"kind": "info",
                                            "text": t("choose_option", self.language, keys=", ".join(items))}]}
            why = self._why_not_offered(step, text)
            if why:
                return "menu", {"outbox": [{"kind": "error", "text": why}]}
            if len(text) <= 2 and text.replace("*", "").isalnum():
                return "menu", {"outbox": [{"kind": "error", "text": t("unknown_option", self.language, text=text,
                                                                       keys=", ".join(items))}]}
            notes = list(state.get("notes") or []) + [text]
            return "draft", {"notes": notes, "outbox": [{"kind": "info", "text": t("noted", self.language)}]}
        env = self.env(step.id, state.get("answers") or {})
        if item.action == "continue":
            missing = self.missing(state)
            if missing and ask_confirmation and all(is_confirm_item(m) for m in missing):
                first = unacknowledged(self.verdicts(state), self.acknowledged(state))[0]
                return "menu", {"confirming": first["id"], "outbox": []}
            if missing:
                return "menu", {"outbox": [{"kind": "refusal", "text": t("cannot_complete", self.language),
                                            "missing": missing}]}
            return "complete", {"outcome": self._continue_outcome(step, env), "outbox": []}
        if item.action == "review":
            return "menu", {"outbox": [self.review(state, full=True)]}
        if item.action == "revise":
            prefill = {**(state.get("prefill") or {}), **(state.get("answers") or {})}
            return "ask", {"answers": {}, "prefill": prefill, "draft": {}, "pushback": None, "outbox": [
                {"kind": "info", "text": t("revising", self.language)}]}
        if item.action == "requery":
            return "knowledge", {"outbox": []}
        if item.action == "skip":
            return "complete", {"outcome": {"kind": "user_skip", "reason": "skipped by the user"}, "outbox": []}
        if item.action == "party":  # a chat front end plays the guests itself; this is for the others
            guests = self.pack.guests(step)
            names = ", ".join(f"{p.name} ({p.title})" for p in guests) or "-"
            return "menu", {"outbox": [{"kind": "info", "text": t("party_needs_model", self.language, names=names),
                                        "personas": [{"name": p.name, "title": p.title, "style": p.style,
                                                      "principles": list(p.principles)} for p in guests]}]}
        return "menu", {"outbox": [{"kind": "progress", "rows": summary.progress_rows(self.pack, self.sidecar())}]}

    def _take_confirmation(self, state: dict[str, Any], text: str) -> tuple[str, dict[str, Any]]:
        """The reply to "go on despite check X?": a reason acknowledges it and presses Continue
        again (which may ask about the next check); an empty reply goes back to the menu."""
        check_id = state["confirming"]
        if not text:
            return "menu", {"confirming": None, "outbox": [
                {"kind": "info", "text": t("not_acknowledged", self.language, id=check_id)}]}
        acknowledged = {**(state.get("acknowledged") or {}), check_id: text}
        again = {**state, "acknowledged": acknowledged, "confirming": None}
        key = next(m.key for m in self.menu_items(again) if m.action == "continue")
        goto, update = self.take_menu_choice(again, key)
        return goto, {"acknowledged": acknowledged, "confirming": None, **update}

    def _why_not_offered(self, step: Step, text: str) -> str | None:
        """Why a key the pack knows, or S, is not on the menu now (instead of 'unknown option')."""
        key = text.upper().lstrip("[").rstrip("]")
        skip = step.menu_action("skip")
        if skip is not None and skip.key.upper() == key:
            return t("skip_unavailable_when", self.language, id=step.id, when=step.meta.skippable_when or "")
        if skip is None and key == "S":
            return t("skip_unavailable", self.language, id=step.id)
        return None

    def _continue_outcome(self, step: Step, env: dict[str, Any]) -> dict[str, Any]:
        revise = step.meta.revise
        if revise and evaluate(revise.when, env):
            target = revise.target or str(env.get(revise.target_field or "") or "")
            return {"kind": "revise", "target": target}
        return {"kind": "complete"}

    def _skippable(self, step: Step, env: dict[str, Any]) -> bool:
        return bool(step.meta.skippable_when and evaluate(step.meta.skippable_when, env))

    def menu_items(self, state: dict[str, Any]) -> list[MenuItem]:
        """The menu entries offered now: `skip` only while the step may be skipped, a `review`
        entry (D) when the pack has none, and Continue labelled with where it really goes when
        the session returns to an earlier place (after --goto or REVISE)."""
        step = self.pack.step(state["step"])
        env = self.env(step.id, state.get("answers") or {})
        items = [m for m in step.meta.menu if m.action != "skip" or self._skippable(step, env)]
        if not any(m.action == "review" for m in items):
            used = {m.key.upper() for m in step.meta.menu}
            key = next((k for k in ("D", "V", "W", "DR") if k not in used), "VIEW")
            at = next((i for i, m in enumerate(items) if m.action == "continue"), len(items))
            items.insert(at, MenuItem(key=key, label=t("view_drafts", self.language), action="review"))
        returns = self.sidecar().get("return_to") or []
        if returns and returns[-1] in self.pack.steps and step.meta.revise is None:
            back = self.pack.step(returns[-1])
            items = [MenuItem(key=m.key, label=t("continue_back", self.language, id=back.id, title=back.title),
                              action="continue") if m.action == "continue" else m for m in items]
        return items

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
                drafted = draft.documents.get(path)
                draft.documents[path] = content
                draft.errors = [e for e in draft.errors if not e.startswith(f"{path}: ")]
                lacking = missing_headings(drafted, content) if drafted else []
                if lacking:  # a throwaway text ("x") does not stand in for the step's document
                    draft.errors.append(f"{path}: the saved document lacks the template's sections "
                                        f"{', '.join(repr(h) for h in lacking)}; save it again with them")

    # ---- complete ------------------------------------------------------------------------------
    def complete(self, state: dict[str, Any]) -> dict[str, Any]:
        step = self.pack.step(state["step"])
        answers = self.with_defaults(step, state.get("answers") or {})
        draft = dict(state.get("draft") or {})
        # reasons for the confirm checks that stand now: this step's, or (at an integration review)
        # an earlier step's that tripped since
        standing = {v["id"] for v in self.verdicts(state) if v.get("tripped") and v["severity"] == "confirm"}
        acknowledged = {k: v for k, v in (state.get("acknowledged") or {}).items() if k in standing}
        if acknowledged and draft:
            extra = acknowledgement_decisions(self.verdicts(state), acknowledged, step_id=step.id, date=today())
            draft["decisions"] = list(draft.get("decisions") or []) + extra
        next_step = completion.commit_step(
            pack=self.pack, folder=self.project_dir, sidecar=self.sidecar(), step=step,
            state={**state, "answers": answers, "draft": draft, "acknowledged": acknowledged})
        self._sidecar = None
        return {"next": next_step}
