"""BMAD's Party Mode: the pack's other personas give their view of the step in turn. A chat
model plays them in `cairn chat`; without one the key says so; over MCP the assistant is told
whom to speak as. Nothing is recorded by it."""

from __future__ import annotations

from pathlib import Path

from tests.bmad.conftest import AI_BODY, project_at
from tests.conftest import open_session
from tests.llm.helpers import FakeChatModel, run_llm
from workflow.store import read_sidecar

GUESTS = ["Tomas", "Ada", "Lin"]  # the architect, the lead and the trainer of the ai-body fixture


def _at_step_one_menu(out: Path) -> None:
    project_at(out, "party", AI_BODY, "1", answers={"primary_use_case": "Refund triage"})


def test_the_guests_match_the_fixture() -> None:
    from workflow.packs import load_pack

    pack = load_pack(str(AI_BODY))
    assert [p.name for p in pack.guests(pack.step("1"))] == GUESTS


def test_party_mode_brings_each_other_persona_in_turn_and_records_nothing(out: Path) -> None:
    _at_step_one_menu(out)
    before = read_sidecar(out / "party")
    views = [f"As {name} I would question the refund window; the risk is stale policy text." for name in GUESTS]
    model = FakeChatModel(replies=["# Business requirements\n\nRefund triage.", *views])
    code, text, facilitator = run_llm(out, "party", model, "/template\nP\n")
    assert code == 0
    shown = " ".join(text.split())
    for name, view in zip(GUESTS, views, strict=True):
        assert f"{name}: {view}" in shown, name
    assert "Party Mode is over" in shown and shown.count("[C] Continue") >= 2, "back at the menu"
    party_prompts = [str(p[-1].content) for p in model.prompts[1:]]
    assert [f"Speak now as {name}," in prompt for name, prompt in zip(GUESTS, party_prompts, strict=True)] == [
        True, True, True]
    assert [turn for _, turn in facilitator.history][-3:] == [
        f"{name} ({title}): {view}" for name, title, view in
        zip(GUESTS, ["FTI Architect", "Tech Lead", "Fine-Tuning Specialist"], views, strict=True)]
    after = read_sidecar(out / "party")
    assert after["currentStep"] == "1" and after.get("notes") == before.get("notes")
    assert facilitator.usage.take() is not None


def test_without_a_model_the_key_names_the_guests_and_how_to_bring_them_in(out: Path) -> None:
    _at_step_one_menu(out)
    session = open_session(out, "party")
    try:
        prompt = session.send("P")
        assert prompt["kind"] == "menu" and prompt["step"]["id"] == "1"
        (message,) = [m for m in prompt["messages"] if m.get("personas")]
        assert [p["name"] for p in message["personas"]] == GUESTS
        assert "add `llm:` to config.yaml" in message["text"] and "Tomas (FTI Architect)" in message["text"]
        result = session.send({"command": "choose", "key": "P"})["result"]
        assert [p["name"] for p in result["personas"]] == GUESTS and "speak as each persona" in result["message"]
    finally:
        session.close()
