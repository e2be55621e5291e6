"""What an IDE assistant sees before Continue and how checks gate it over MCP (in memory, the
fixture `checked` pack): draft texts in current_step, each check kind, acknowledgements."""

from __future__ import annotations

import pytest
from mcp.client import Client

from tests.conftest import FIXTURES
from tests.mcp.mcp_support import ok, refused

pytestmark = pytest.mark.anyio
CHECKED = FIXTURES / "packs" / "checked"


async def at_step_2(client: Client) -> str:
    await ok(client, "create_project", {"name": "c", "user_name": "tester", "pack": str(CHECKED)})
    await ok(client, "submit_answers", {"project": "c", "answers": {"use_case": "bot"}})
    assert (await ok(client, "choose", {"project": "c", "option": "C"}))["advanced"]
    return "c"


async def test_current_step_returns_each_draft_text_and_the_tripped_checks(client: Client) -> None:
    project = await at_step_2(client)
    submitted = await ok(client, "submit_answers", {"project": project, "answers": {"lora_r": 200}})
    assert submitted["next"] == "menu"
    assert any(m.startswith("check RANK-HUGE: LoRA rank 200 is far above") for m in submitted["missing"])
    view = await ok(client, "current_step", {"project": project})
    text = view["drafts"]["texts"]["phase-2-training/train.md"]
    assert "Model tiny r=200" in text and "⛔ **RANK-HUGE** (block)" in text
    checks = {c["id"]: c for c in view["drafts"]["checks"]}
    assert checks["RANK-HUGE"]["severity"] == "block" and checks["RANK-HUGE"]["fix"] == "Use r = 8 to 64."
    assert checks["TINY-BASE"]["severity"] == "note"
    chosen = await ok(client, "choose", {"project": project, "option": "C"})
    assert not chosen["advanced"] and any("RANK-HUGE" in m for m in chosen["missing"])
    # a block cannot be acknowledged away: only a changed answer clears it
    await ok(client, "submit_answers", {"project": project, "answers": {"lora_r": 16}})
    assert (await ok(client, "choose", {"project": project, "option": "C"}))["advanced"], "a note does not gate"


async def test_a_confirm_check_passes_only_with_a_reason_sent_with_choose(client: Client) -> None:
    project = await at_step_2(client)
    # step 1's volume was the default 1000; the cross-step check reads it, so revise it first
    await ok(client, "submit_answers", {"project": project, "answers": {"lora_r": 2}})
    view = await ok(client, "current_step", {"project": project})
    assert not any(c["id"] == "RANK-VS-VOLUME" for c in view["drafts"]["checks"]), "1,000 requests: fine"

    await ok(client, "create_project", {"name": "big", "user_name": "tester", "pack": str(CHECKED)})
    await ok(client, "submit_answers", {"project": "big", "answers": {"use_case": "bot", "monthly_requests": 2000000}})
    assert (await ok(client, "choose", {"project": "big", "option": "C"}))["advanced"]
    await ok(client, "submit_answers", {"project": "big", "answers": {"lora_r": 2}})
    chosen = await ok(client, "choose", {"project": "big", "option": "C"})
    assert not chosen["advanced"]
    assert chosen["missing"] == ["confirm RANK-VS-VOLUME: 2000000 requests a month on a rank-2 adapter. "
                                 "Or acknowledge it with a reason to go on anyway."]
    error = await refused(client, "choose", {"project": "big", "option": "C", "acknowledge": {"NOPE": "why not"}})
    assert "step 2 has no check 'NOPE'" in error
    error = await refused(client, "choose", {"project": "big", "option": "C", "acknowledge": {"RANK-VS-VOLUME": ""}})
    assert "give the reason" in error
    chosen = await ok(client, "choose", {"project": "big", "option": "C",
                                         "acknowledge": {"RANK-VS-VOLUME": "Rank 2 is the measured sweet spot"}})
    assert chosen["advanced"], chosen
    decisions = await ok(client, "progress", {"project": "big"})
    assert decisions["currentStep"] == "3"


async def test_a_throwaway_document_or_decision_does_not_pass_the_gate(client: Client) -> None:
    await ok(client, "create_project", {"name": "x", "user_name": "tester", "pack": str(CHECKED)})
    await ok(client, "submit_answers", {"project": "x", "answers": {"use_case": "bot"}})
    await ok(client, "save_document", {"project": "x", "path": "phase-0-scoping/scope.md", "content": "x"})
    chosen = await ok(client, "choose", {"project": "x", "option": "C"})
    assert not chosen["advanced"]
    assert "problem: phase-0-scoping/scope.md: the saved document lacks the template's sections 'scope'; " \
           "save it again with them" in chosen["missing"]
    error = await refused(client, "record_decision", {"project": "x", "id": "ARCH-001", "title": "Architecture",
                                                      "choice": ".", "rationale": "because the user said so"})
    assert "choice '.' says nothing" in error
    error = await refused(client, "record_decision", {"project": "x", "id": "ARCH-001", "title": "Architecture",
                                                      "choice": "hybrid", "rationale": "ok"})
    assert "the rationale needs a reason in a few words" in error
    view = await ok(client, "current_step", {"project": "x"})
    assert view["drafts"]["texts"]["phase-0-scoping/scope.md"] == "x\n", "the text C would commit"
    await ok(client, "save_document", {"project": "x", "path": "phase-0-scoping/scope.md",
                                       "content": "# Scope agreed with the user\n\nA support bot, hybrid.\n"})
    final = await ok(client, "choose", {"project": "x", "option": "C"})
    assert final["advanced"], final
