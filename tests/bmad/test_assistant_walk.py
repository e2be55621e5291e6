"""A model-executed walk: an assistant (as over MCP) gets one step's instructions at a time,
does what they say with the engine's tools, and the engine refuses Continue until the outputs,
decisions, stories and conditions the step text names exist."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from tests.bmad.conftest import AI_BODY
from tests.conftest import open_session
from tests.llm.helpers import FakeChatModel, run_llm
from workflow.pack_model import Step
from workflow.packs import load_pack
from workflow.session import Session, create_project
from workflow.store import read_sidecar

_DOCUMENT = re.compile(r"(?:save output to|file:\*\*)[^\n]*?(phase-\d+-[\w-]+/[\w.-]+\.md)", re.IGNORECASE)
_DECISION = re.compile(r"\b([A-Z]{2,}-\d{3})\b")
_STORY = re.compile(r"^- ([A-Z]+)-S\d+: ([^:\[\n]+): (.+)$", re.MULTILINE)
_CONDITION = re.compile(r"Continue only when (.+?)\.", re.IGNORECASE)
_CONFIRM = re.compile(r"\(confirm it: (\w+)\)")


class FollowingAssistant:
    """Stands in for the chat model: it reads only the current step's guidance (what the MCP
    server hands an assistant for this step) and acts on what it says."""

    def __init__(self) -> None:
        self.refusals: list[list[str]] = []

    def run_step(self, session: Session, step: Step) -> dict[str, Any]:
        first = session.send({"command": "choose", "key": "C"})  # trying to move on before doing the work
        self.refusals.append(list(first["result"]["missing"]))
        text = step.guidance()
        for decision in dict.fromkeys(_DECISION.findall(text)):
            session.send({"command": "decision", "id": decision, "title": f"{decision} as discussed",
                          "choice": "hybrid" if decision == "ARCH-001" else "agreed",
                          "rationale": f"the user confirmed {decision} in step {step.id}"})
        stories = [{"title": title.strip(), "description": title.strip(), "acceptance_criteria": [done.strip()]}
                   for _, title, done in _STORY.findall(text)]
        if stories and any(item.startswith("stories:") for item in self.refusals[-1]):
            session.send({"command": "stories", "stories": stories})
        # Conditions: those the text states, and those the engine's refusal names (with the field to confirm).
        confirmations = {name: True for name, spec in step.meta.form.items()
                         for condition in _CONDITION.findall(text) if spec.ask == f"Confirm: {condition}?"}
        confirmations.update({name: True for item in self.refusals[-1] for name in _CONFIRM.findall(item)})
        if confirmations:
            session.send({"command": "answers", "values": confirmations})
        # The document: the engine's draft (as current_step's drafts.texts shows it) with the
        # assistant's own text added; a throwaway text without the template's sections is refused.
        drafted = (session.visit_state().get("draft") or {}).get("documents") or {}
        for path in dict.fromkeys(_DOCUMENT.findall(text)):
            base = drafted.get(path, f"# {step.title}\n")
            session.send({"command": "document", "path": path,
                          "content": f"{base.rstrip()}\n\nWritten by the assistant for step {step.id}.\n"})
        return session.send({"command": "choose", "key": "C"})


def test_an_assistant_following_the_step_text_completes_every_step_and_only_then(out: Path) -> None:
    pack = load_pack(AI_BODY)
    create_project(out, "m", user="tester", pack_ref=str(AI_BODY))
    session = open_session(out, "m")
    assistant = FollowingAssistant()
    walked = []
    try:
        prompt = session.current()
        while prompt["kind"] != "done" and len(walked) < 8:
            walked.append(prompt["step"]["id"])
            prompt = assistant.run_step(session, pack.step(prompt["step"]["id"]))
    finally:
        session.close()
    assert walked == ["1", "2", "3", "4"]
    assert "decision: REQ-001 (Primary use case and success metrics)" in assistant.refusals[0]
    assert any(m.startswith("Continue only when the primary use case") for m in assistant.refusals[0])
    assert not any(m.startswith("stories:") for m in assistant.refusals[1]), "the story the body spells out counts"
    assert "decision: TRAIN-001 (base model)" in assistant.refusals[2]
    sidecar = read_sidecar(out / "m")
    assert [d["id"] for d in sidecar["decisions"]] == ["REQ-001", "BUILD-001", "ARCH-001", "TRAIN-001",
                                                       "INTEG-001"]
    assert sidecar["workflow_status"] == "complete" and sidecar["steps"]["3"] == "complete"
    assert sidecar["stories"]["step_2_stories"][0]["title"] == "Retrieval skeleton"
    review = (out / "m" / "phase-6-integration" / "integration-review.md").read_text(encoding="utf-8")
    assert review.endswith("\n\nWritten by the assistant for step 4.\n"), "the assistant's document"


def test_the_assistant_gets_the_step_instructions_with_the_rules_in_their_own_section() -> None:
    pack = load_pack(AI_BODY)
    guidance = pack.step("1").guidance()
    assert "Save output to" in guidance and "REQ-001" in guidance and "Continue only when" in guidance
    assert guidance.index("## 4. Document the Requirements") < guidance.index("## Facilitator rules")
    assert "have been saved" not in guidance, "a claim the engine has not made yet is never passed on"
    assert "FORBIDDEN to proceed without clear architecture decision" in pack.step("2").guidance(), \
        "a rule the gate enforces stays in view"


class FollowingModel(FakeChatModel):
    """A chat model for LLM mode that does what the step asks: its proposal fills every field
    the engine's schema names (decision choices and rationales, the confirmations the step's
    conditions ask for), or, when `lazy`, only the first question."""

    lazy: bool = False

    def with_structured_output(self, schema: Any, *, include_raw: bool = False, **kwargs: Any) -> Any:
        fields = list((schema.get("properties") if isinstance(schema, dict) else schema.model_fields) or {})
        values: dict[str, Any] = {}
        for name in fields[:1] if self.lazy else fields:
            if name.startswith("gate_"):
                values[name] = True
            elif name.startswith("stories_"):
                values[name] = ["Refund lookup: the order id returns its refund state"]
            elif name != "architecture":
                values[name] = f"{name.replace('_', ' ')} as the user said"
        self.queue(values)
        return super().with_structured_output(schema, include_raw=include_raw, **kwargs)

    def _next(self, messages: list[Any]) -> Any:
        if not self._queue:
            self.queue("Noted. What else should we settle in this step?")
        return super()._next(messages)


def test_in_llm_mode_the_model_fills_the_step_and_the_engine_still_owns_continue(out: Path) -> None:
    for name, lazy in (("lazy", True), ("diligent", False)):
        create_project(out, name, user="tester", pack_ref=str(AI_BODY))
        # /template keeps the engine's draft: this fake model's prose has none of the template's sections
        code, text, _ = run_llm(out, name, FollowingModel(lazy=lazy), "\n" * 30 + "/template\nC\n")
        assert code == 0, text
        sidecar = read_sidecar(out / name)
        if lazy:
            assert sidecar["stepsCompleted"] == [] and "decision: REQ-001" in text, "C refused without the decision"
        else:
            assert sidecar["stepsCompleted"] == ["1"]
            decision = next(d for d in sidecar["decisions"] if d["id"] == "REQ-001")
            assert decision["rationale"] == "req 001 rationale as the user said"
