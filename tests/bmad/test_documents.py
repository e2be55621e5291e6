"""The documents a BMAD step writes: named in its body, filled from the pack's own template,
built by appending step after step with `stepsCompleted` in the frontmatter, and the skip
record the pack specifies."""

from __future__ import annotations

from pathlib import Path

from tests.bmad.conftest import AI_BODY, V62, walk_to
from tests.conftest import open_session
from workflow.packs import load_pack
from workflow.session import create_project
from workflow.store import read_sidecar

ANSWERS = {
    "primary_use_case_q1": "Refund requests, answered with the policy paragraph",
    "success_metrics_q1": "95", "tpl_primary_use_case": "Refund triage", "tpl_accuracy_target": "95% correct",
    "tpl_latency_target": "1200 ms", "req_001_choice": "Refund triage first",
    "req_001_rationale": "40% of tickets are refunds", "gate_1_1": "yes",
    "build_001_choice": "Build", "build_001_rationale": "Tickets may not leave the EU",
    "arch_001_choice": "hybrid", "arch_001_rationale": "Fresh policies and a fixed tone", "gate_2_1": "yes",
}


def _walk(out: Path, pack: Path, answers: dict[str, str], until: str = "done") -> Path:
    create_project(out, "p", user="tester", pack_ref=str(pack))
    session = open_session(out, "p")
    try:
        prompt = session.current()
        for _ in range(200):
            if prompt["kind"] == "done" or (prompt["kind"] == "menu" and prompt["step"]["id"] == until):
                break
            if prompt["kind"] == "question":
                prompt = session.send(answers.get(prompt["field"], ""))
            else:
                assert not prompt["missing"], prompt["missing"]
                prompt = session.send("C")
    finally:
        session.close()
    return out / "p"


def test_outputs_named_only_in_the_body_are_derived_and_context_files_are_not() -> None:
    pack = load_pack(AI_BODY)
    outputs = {sid: [o.path for o in s.meta.outputs] for sid, s in pack.steps.items()}
    assert outputs == {"1": ["phase-0-scoping/business-requirements.md"],
                       "2": ["phase-0-scoping/architecture-decision.md"],
                       "3": ["phase-2-training/training-spec.md"],
                       "4": ["phase-6-integration/integration-review.md"]}, "no sidecar.yaml or decision-log.md"
    form = pack.step("1").meta.form
    assert [n for n in form if n.startswith("tpl_")] == ["tpl_primary_use_case", "tpl_accuracy_target",
                                                         "tpl_latency_target", "tpl_data_sources"]


def test_the_pack_template_is_filled_from_the_project_and_the_answers(out: Path) -> None:
    project = _walk(out, AI_BODY, ANSWERS, until="2")
    document = (project / "phase-0-scoping" / "business-requirements.md").read_text(encoding="utf-8")
    assert document.startswith('---\nproject_name: "p"\nuser_name: "tester"\n')
    assert 'stepsCompleted: ["1"]' in document
    assert "# Business Requirements: p\n\n**Prepared by:** tester · **Date:** " in document
    assert "## Primary Use Case\n\nRefund triage\n" in document
    assert "| Resolution accuracy | 95% correct |" in document and "| Answer latency (p95) | 1200 ms |" in document
    assert "## Data Sources\n\n_Not answered._" in document, "a placeholder left blank says so"
    assert "**Accuracy: What share of answers must be correct (in %)?**\n\n95" in document
    assert "- **REQ-001: Primary use case and success metrics**: Refund triage first" in document
    assert "{{" not in document and "{%" not in document


def test_decisions_and_stories_from_the_step_text_are_recorded(out: Path) -> None:
    project = _walk(out, AI_BODY, {**ANSWERS, "architecture": "hybrid"}, until="3")
    sidecar = read_sidecar(project)
    assert [(d["id"], d["step"], d["choice"]) for d in sidecar["decisions"]] == [
        ("REQ-001", "1", "Refund triage first"), ("BUILD-001", "2", "Build"), ("ARCH-001", "2", "hybrid")]
    log = (project / "decision-log.md").read_text(encoding="utf-8")
    assert "## ARCH-001: Architecture direction" in log and "**Rationale:** Fresh policies and a fixed tone" in log
    story = sidecar["stories"]["step_2_stories"][0]
    assert (story["id"], story["title"]) == ("ARCH-S01", "Retrieval skeleton"), "the story the body spells out"
    assert story["acceptance_criteria"] == ["a question returns cited help-article passages"]
    document = (project / "phase-0-scoping" / "architecture-decision.md").read_text(encoding="utf-8")
    assert "- **ARCH-S01: Retrieval skeleton** (acceptance: a question returns cited help-article passages)" \
        in document


def test_rag_only_writes_the_skip_record_where_the_pack_says(out: Path) -> None:
    project = _walk(out, AI_BODY, {**ANSWERS, "architecture": "rag-only"}, until="4")
    sidecar = read_sidecar(project)
    assert sidecar["steps"]["3"] == "skipped"
    record = (project / "phase-2-training" / "SKIPPED.md").read_text(encoding="utf-8")
    assert "SKIPPED" in record and "architecture == 'rag-only'" in record
    assert record.startswith("# Step 3: Training Plan\n**Status:** SKIPPED\n"), "the record the pack's block shows"
    assert not (project / "phase-2-training" / "training-spec.md").exists()


def test_steps_sharing_a_document_append_to_it_and_keep_steps_completed_in_its_frontmatter(out: Path) -> None:
    answers = {"input_documents_q1": "prd.md", "requirements_review_q1": "p95 under 300 ms",
               "data_architecture_q1": "PostgreSQL 16", "api_style_q1": "REST", "gate_3_1": "yes",
               "validation_q1": "yes, all pinned"}
    project = _walk(out, V62, answers)
    document = (project / "phase-0-workflow" / "architecture.md").read_text(encoding="utf-8")
    assert 'stepsCompleted: ["1", "2", "3", "4"]' in document
    assert document.index("# Architecture Decision Document") < document.index("## Workflow Initialization") \
        < document.index("## Project Context Analysis") < document.index("## Core Architectural Decisions") \
        < document.index("## Architecture Complete"), "each step appends its part, in walk order"
    for answer in answers.values():
        if answer != "yes":
            assert answer in document
    assert read_sidecar(project)["stepsCompleted"] == ["1", "2", "3", "4"]


def test_a_step_in_the_middle_shows_the_document_as_far_as_it_got(out: Path) -> None:
    project = _walk(out, V62, {"gate_3_1": "yes"}, until="4")
    document = (project / "phase-0-workflow" / "architecture.md").read_text(encoding="utf-8")
    assert 'stepsCompleted: ["1", "2", "3"]' in document and "## Architecture Complete" not in document


def test_answering_every_gate_item_leaves_nothing_missing_at_the_review(out: Path) -> None:
    create_project(out, "w", user="tester", pack_ref=str(AI_BODY))
    session = open_session(out, "w")
    try:
        prompt = walk_to(session, "4")
        assert prompt["step"]["id"] == "4" and prompt["missing"] == []
    finally:
        session.close()
