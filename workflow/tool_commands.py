"""Commands from tool front ends (DESIGN 7), as the engine applies them.

An IDE assistant drives the same visit as the terminal: each command is a reply at a question or
the menu, applied to the state only, after which the visit settles at the menu (when every
required answer is present) or at the next question. Nothing here writes files.
"""

from __future__ import annotations

from typing import Any

from workflow import contributions
from workflow.contributions import CommandRefused, base_answers
from workflow.expressions import evaluate
from workflow.forms import FieldValueError, active, coerce, empty_value
from workflow.pack_model import MenuItem, Pack, Step

# Replies a tool front end (the MCP server) may send at any question or menu, besides plain answers.
COMMANDS = frozenset({*contributions.KINDS, "choose"})


class ToolCommands:
    """The engine's handling of tool commands; `Engine` provides the visit's reading methods."""

    pack: Pack

    def sidecar(self) -> dict[str, Any]:
        raise NotImplementedError

    def env(self, step_id: str, answers: dict[str, Any]) -> dict[str, Any]:
        raise NotImplementedError

    def with_defaults(self, step: Step, answers: dict[str, Any]) -> dict[str, Any]:
        raise NotImplementedError

    def missing(self, state: dict[str, Any]) -> list[str]:
        raise NotImplementedError

    def menu_items(self, state: dict[str, Any]) -> list[MenuItem]:
        raise NotImplementedError

    def verdicts(self, state: dict[str, Any]) -> list[dict[str, Any]]:
        raise NotImplementedError

    def take_menu_choice(self, state: dict[str, Any], reply: Any, *,
                         ask_confirmation: bool = True) -> tuple[str, dict[str, Any]]:
        raise NotImplementedError

    @staticmethod
    def is_command(reply: Any) -> bool:
        return isinstance(reply, dict) and reply.get("command") in COMMANDS

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
        # a tool front end answers by command: an objection the terminal was about to repeat is moot
        return goto, {**update, **settled, "result": result, "field_error": None, "pushback": None, "outbox": []}

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
        acknowledged = self._acknowledgements(state, reply.get("acknowledge"))
        if acknowledged is not None:
            if item.action != "continue":
                raise CommandRefused(f"acknowledge goes with the Continue option, not [{item.key}] {item.label}")
            state = {**state, "acknowledged": acknowledged}
            goto, update = self._choose_continue(state, reply, item, at)
            return goto, {"acknowledged": acknowledged, **update}
        return self._choose_continue(state, reply, item, at)

    def _acknowledgements(self, state: dict[str, Any], given: Any) -> dict[str, Any] | None:
        """Check acknowledgements sent with `choose` ({check id: reason}), merged over the visit's."""
        if given is None:
            return None
        if not isinstance(given, dict) or not given:
            raise CommandRefused("acknowledge: expected a mapping of check ids to reasons")
        step = self.pack.step(state["step"])
        known = {c.id for c in step.meta.checks} | {v["id"] for v in self.verdicts(state) if v["severity"] == "confirm"}
        for check_id, reason in given.items():
            if check_id not in known:
                raise CommandRefused(f"acknowledge: step {step.id} has no check '{check_id}'; "
                                     f"its checks are {', '.join(sorted(known)) or 'none'}")
            if not isinstance(reason, str) or len(reason.strip()) < 3:
                raise CommandRefused(f"acknowledge.{check_id}: give the reason to go on anyway (a sentence)")
        return {**(state.get("acknowledged") or {}), **{k: v.strip() for k, v in given.items()}}

    def _choose_continue(self, state: dict[str, Any], reply: dict[str, Any], item: MenuItem,
                         at: str) -> tuple[str, dict[str, Any]]:
        step = self.pack.step(state["step"])
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
        goto, update = self.take_menu_choice(state, item.key, ask_confirmation=False)
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


_CHOICE_MESSAGES = {"revise": "Reopened this step's questions; earlier answers are kept unless changed.",
                    "requery": "Re-queried the knowledge base.", "progress": "Progress of every step.",
                    "skip": "", "continue": "", "review": "The drafts are in current_step's `drafts`.",
                    "party": "Party Mode: speak as each persona in `personas` in turn, in their own voice, about "
                             "this step's answers and drafts (what they would question or add, one risk each); "
                             "change no value yourself: the user decides, and a point they keep goes in as a note."}


def _choice_result(item: MenuItem, goto: str, update: dict[str, Any]) -> dict[str, Any]:
    """A menu choice's outcome for a tool front end (the terminal reads the outbox instead)."""
    outbox = update.get("outbox") or []
    refusal = next((m for m in outbox if m.get("kind") == "refusal"), None)
    result: dict[str, Any] = {"advanced": goto == "complete", "missing": list(refusal["missing"]) if refusal else [],
                              "message": refusal["text"] if refusal else _CHOICE_MESSAGES[item.action]}
    guests = next((m["personas"] for m in outbox if "personas" in m), None)
    if guests is not None:
        result["personas"] = guests
    rows = next((m["rows"] for m in outbox if m.get("kind") == "progress"), None)
    if rows is not None:
        result["progress"] = [{"id": r["id"], "title": r["title"], "status": r["status"]} for r in rows]
    return result
