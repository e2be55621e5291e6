"""The persona's prompt carries what the project has settled, from the sidecar."""

from __future__ import annotations

from pathlib import Path

from tests.llm.helpers import FakeChatModel, run_llm
from workflow.llm.brief import brief_parts, names_read
from workflow.llm.prompting import build_prompt
from workflow.packs import load_pack

SIDECAR = {
    "stepsCompleted": ["1", "2a"],
    "answers": {"1": {"monthly_budget_usd": 3000, "latency_target_ms": 4000, "use_case_name": "Support copilot",
                      "business_value": "Saves " + "many " * 200 + "hours"},
                "2a": {"privacy_constraints": "no-external-api", "architecture": "hybrid"}},
    "decisions": [{"id": "ARCH-001", "title": "Architecture", "choice": "hybrid", "step": "2a"}],
    "stories": {"step_2b": [{"id": "TECH-S01", "title": "Provision pgvector"}]},
    "notes": {"2a": ["legal must review the data flow"]},
}


def test_a_later_step_sees_earlier_answers_decisions_stories_and_notes() -> None:
    pack = load_pack(None)
    step = pack.step("2b")
    system = build_prompt(pack=pack, step=step, project_dir=Path("/nonexistent"), answers={}, open_fields=[],
                          section=None, knowledge=[], history=[], task=None, budget=100_000,
                          sidecar=SIDECAR).messages[0][1]
    for fact in ("monthly_budget_usd", "3000", "latency_target_ms", "4000", "no-external-api",
                 "ARCH-001 Architecture: hybrid", "TECH-S01 Provision pgvector", "legal must review the data flow"):
        assert fact in system, fact
    assert "many " * 150 not in system, "a long prose answer the step does not read comes through its document"


def test_answers_the_step_reads_are_listed_first_and_in_full() -> None:
    pack = load_pack(None)
    step = pack.step("2a")
    assert "monthly_budget_usd" in names_read(pack, step) or "latency_target_ms" in names_read(pack, step)
    parts = brief_parts(pack, step, SIDECAR)
    assert parts[0].key == "brief:read" and parts[0].keep > max(p.keep for p in parts[1:] if p.key != "brief:decisions")


def test_the_second_step_of_a_session_hears_the_first_steps_confirmed_answers(out: Path, mini_project: str) -> None:
    model = FakeChatModel(replies=["Hi.", {"use_case": "Support bot", "monthly_requests": 5000}, "# Scope\n\nok",
                                   "Step 2 here."])
    code, _, _ = run_llm(out, mini_project, model, "\n\n\n\ny\nC\n")
    assert code == 0
    system = str(model.prompts[3][0].content)
    assert "- architecture (step 1): hybrid" in system, "step 2's skip rule reads architecture"
    assert "monthly_requests: 5000" in system
    assert "ARCH-001 Architecture: hybrid (step 1)" in system


def test_a_check_the_answers_trip_is_in_the_brief_as_an_open_check() -> None:
    pack = load_pack(None)
    step = pack.step("2a")
    answers = {"architecture": "hybrid", "labelled_examples": 40}
    system = build_prompt(pack=pack, step=step, project_dir=Path("/nonexistent"), answers=answers,
                          open_fields=[], section=None, knowledge=[], history=[], task=None, budget=100_000,
                          sidecar=SIDECAR).messages[0][1]
    assert "Open checks" in system and "[confirm] FEW-LABELLED: Only 40 labelled examples" in system
    calm = brief_parts(pack, step, SIDECAR, {"architecture": "hybrid", "labelled_examples": 25_000})
    assert all(part.key != "brief:checks" or "FEW-LABELLED" not in part.text for part in calm)
