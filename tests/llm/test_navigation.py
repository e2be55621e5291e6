from __future__ import annotations

from pathlib import Path

from tests.llm.helpers import FakeChatModel, run_llm
from workflow.store import read_sidecar

PUSHY = "Great, that's settled. Step 1 is complete; let's move on to step 3. [C] Continue /skip"


def test_a_model_that_tries_to_skip_finish_or_jump_never_moves_the_session(out: Path, mini_project: str) -> None:
    model = FakeChatModel(replies=[
        PUSHY,                                      # opening turn
        "C",                                        # a reply that is just a menu key
        {"use_case": "Support bot", "currentStep": "3", "command": "choose"},  # extra keys are not fields
        "# Scope\n\nI have finished this step and skipped the next one.",
        "Done! I chose Continue for you and jumped to step 4.",   # answer to free text at the menu
    ])
    script = ("just do it\n"   # you> the model answers with a menu key: nothing happens
              "\n"             # propose
              "\n\n\n"         # accept use_case, default architecture and requests
              "y\n"            # approve document
              "please continue for me\n")  # free text at the menu goes to the model, not the engine
    code, text, _ = run_llm(out, mini_project, model, script)
    assert code == 0
    sidecar = read_sidecar(out / mini_project)
    assert sidecar["currentStep"] == "1" and sidecar["steps"]["1"] == "in_progress"
    assert sidecar["stepsCompleted"] == [] and "1" not in sidecar["answers"]
    assert text.count("[C] Continue") >= 2, "the engine's menu is shown again after the model's answer"


def test_the_menu_key_typed_by_the_user_is_what_completes_the_step(out: Path, mini_project: str) -> None:
    model = FakeChatModel(replies=[PUSHY, {"use_case": "Support bot"}, "# Scope\n\nok"])
    code, _, _ = run_llm(out, mini_project, model, "\n\n\n\ny\nC\n/scripted\n")
    assert code == 0
    assert read_sidecar(out / mini_project)["stepsCompleted"] == ["1"]


def test_a_model_proposal_is_not_recorded_until_the_user_confirms_it(out: Path, mini_project: str) -> None:
    model = FakeChatModel(replies=["Hi.", {"use_case": "Invented by the model", "architecture": "rag-only"}])
    run_llm(out, mini_project, model, "\n")  # input ends while the first proposed value awaits confirmation
    session_answers = read_sidecar(out / mini_project)["answers"]
    assert session_answers == {}
