"""What a BMAD step's text becomes: the questions a user is asked, the guidance they see (and the
facilitator rules they do not), the gate items, knowledge calls with their placeholders filled,
menus that keep BMAD's meaning, and personas from XML agent configs."""

from __future__ import annotations

import io
from pathlib import Path

import pytest

from tests.bmad.conftest import AI_BODY, walk_to
from tests.conftest import FakeKnowledge, open_session, quiet_console
from workflow.bmad.guidance import FACILITATOR_RULES
from workflow.chat import StreamReader, run_chat
from workflow.packs import load_pack
from workflow.session import create_project


def test_questions_come_from_ask_lines_table_rows_numbered_prompts_and_question_trees() -> None:
    pack = load_pack(AI_BODY)
    asks = {name: f.ask for name, f in pack.step("1").meta.form.items()}
    assert asks["primary_use_case_q1"] == ("Which support request should the assistant handle first, and what "
                                           "does a good answer contain?"), "Ask user: \"…\""
    assert asks["success_metrics_q1"] == "Accuracy: What share of answers must be correct (in %)?"
    assert asks["success_metrics_q2"] == "Latency: How fast must an answer arrive (p95, in ms)?"
    assert asks["data_sources_q1"] == ("Which systems hold past tickets and help articles? "
                                       "(e.g. Zendesk, Confluence)"), "a numbered prompt keeps its examples"
    assert not any("sidecar" in (a or "") for a in asks.values()), "'Check whether …?' is the facilitator's job"
    tree = [f.ask for n, f in pack.step("2").meta.form.items() if n.startswith("build_or_buy")]
    assert tree == ["Is the assistant critical to the support business?",
                    "Does it need data that may not leave your infrastructure?"], "Q1:/Q2: of a fenced tree"


def test_facilitator_rules_and_false_saved_claims_are_not_shown_to_the_user(out: Path) -> None:
    create_project(out, "r", user="tester", pack_ref=str(AI_BODY))
    console, buffer = quiet_console()
    session = open_session(out, "r")
    try:
        run_chat(session, console, StreamReader(io.StringIO("Refunds\n95\n1200\nZendesk\n"), console))
    finally:
        session.close()
    shown = buffer.getvalue()
    assert "Which support request should the assistant handle first" in shown and "Zendesk" in shown
    for hidden in ("NEVER generate content", "YOU ARE A FACILITATOR", "have been saved", "decision-log.md (REQ-001)",
                   "SUCCESS METRICS", "Project Sidecar", "Facilitator rules"):
        assert hidden not in shown, hidden
    assert "Scope of this step" in shown and "Focus only on the business problem, not on technology" in shown


def test_an_assistant_reads_the_rules_apart_from_the_user_facing_sections_and_never_the_saved_claim() -> None:
    step = load_pack(AI_BODY).step("1")
    headings = [s.heading for s in step.sections]
    assert headings[0] == "Scope of this step" and headings[-1] == FACILITATOR_RULES
    rules = step.sections[-1].text
    assert "### Universal Rules\n- 🛑 NEVER generate content without user input" in rules
    assert "- FORBIDDEN to discuss model choices (that is Step 2)" in step.sections[0].text
    assert not any("NEVER generate" in s.text for s in step.sections[:-1]), "the user-facing sections stay clean"
    assert "have been saved" not in step.guidance() and "(REQ-001)\n" not in step.guidance()
    assert step.meta.form["facilitator_rules"].when == "false", "it is never asked"


def test_decision_ids_story_sections_and_continue_conditions_become_gate_items() -> None:
    pack = load_pack(AI_BODY)
    one, two = pack.step("1").meta, pack.step("2").meta
    assert [(d.id, d.title) for d in one.decisions] == [("REQ-001", "Primary use case and success metrics")]
    assert [(d.id, d.title) for d in two.decisions] == [("BUILD-001", "Build vs buy"),
                                                        ("ARCH-001", "Architecture direction")]
    assert [d.id for d in pack.step("3").meta.decisions] == ["TRAIN-001"], "'log TRAIN-001 (base model)'"
    assert two.stories is not None and two.stories.prefix == "ARCH"
    assert [g.message.split(" (")[0] for g in one.guards] == [
        "Continue only when the primary use case has a measurable success metric"]
    assert not any("select" in g.message.lower() for s in pack.steps.values() for g in s.meta.guards), \
        "'ONLY proceed when user selects C' is the menu's rule, which the engine enforces anyway"


def test_continue_is_refused_until_the_decision_and_the_condition_exist(out: Path) -> None:
    create_project(out, "g", user="tester", pack_ref=str(AI_BODY))
    session = open_session(out, "g")
    try:
        prompt = session.current()
        while prompt["kind"] == "question":
            prompt = session.send("")
        assert prompt["kind"] == "menu"
        refused = session.send("C")
        assert refused["step"]["id"] == "1"
        missing = next(m for m in refused["messages"] if m["kind"] == "refusal")["missing"]
        assert "decision: REQ-001 (Primary use case and success metrics)" in missing
        assert any(m.startswith("Continue only when the primary use case has a measurable success metric")
                   for m in missing)
        prompt = session.send("A")  # [A] Advanced Elicitation reopens the questions in scripted mode
        answers = {"req_001_choice": "Refunds first", "req_001_rationale": "most tickets", "gate_1_1": "yes"}
        while prompt["kind"] == "question":
            prompt = session.send(answers.get(prompt["field"], ""))
        assert prompt["missing"] == []
        assert session.send("C")["step"]["id"] == "2"
    finally:
        session.close()


def test_knowledge_calls_fill_their_slots_from_the_answers_and_a_requery_uses_the_changed_ones(out: Path) -> None:
    pack = load_pack(AI_BODY)
    assert [(k.tool, k.text) for k in pack.step("2").meta.knowledge] == [
        ("get_decisions", "RAG vs fine-tuning for {architecture} support assistants"),
        ("get_patterns", "{architecture} reference architecture"),  # `Query: get_patterns with topic: "…"`
        ("get_warnings", "fine-tuning {data_volume}")]
    create_project(out, "k", user="tester", pack_ref=str(AI_BODY))
    knowledge = FakeKnowledge()
    session = open_session(out, "k", knowledge)
    try:
        walk_to(session, "2", answers={"architecture": "fine-tuning"})
        entry = list(knowledge.calls)
        session.send("R")  # re-query with the architecture this visit chose
        requery = knowledge.calls[len(entry):]
        walk_to(session, "3", kind="question")
    finally:
        session.close()
    assert entry == [("get_decisions", {"topic": "RAG vs fine-tuning for support assistants", "limit": 5}),
                     ("get_patterns", {"topic": "reference architecture", "limit": 5}),
                     ("get_warnings", {"topic": "fine-tuning", "limit": 5})], "nothing fills a slot yet: dropped"
    assert requery == [
        ("get_decisions", {"topic": "RAG vs fine-tuning for fine-tuning support assistants", "limit": 5}),
        ("get_patterns", {"topic": "fine-tuning reference architecture", "limit": 5}),
        ("get_warnings", {"topic": "fine-tuning", "limit": 5})]
    assert knowledge.calls[-1] == ("get_decisions", {"topic": "SFT vs DPO for fine-tuning", "limit": 5}), \
        "the next step reads it from the sidecar"


def test_a_choice_the_conditions_read_is_asked_where_the_pack_asks_it() -> None:
    pack = load_pack(AI_BODY)
    field = pack.step("2").meta.form["architecture"]
    assert field.type == "choice" and field.sidecar and field.choices == ["rag-only", "fine-tuning", "hybrid"]
    assert field.ask == "Which architecture fits the data you have: rag-only, fine-tuning or hybrid?"
    assert "architecture" not in pack.step("1").meta.form and "architecture_q1" not in pack.step("2").meta.form


def test_advanced_elicitation_and_party_mode_keep_their_bmad_meaning() -> None:
    pack = load_pack(AI_BODY)
    menu = [(m.key, m.label, m.action) for m in pack.step("1").meta.menu]
    assert menu == [("A", "Advanced Elicitation", "revise"), ("P", "Party Mode", "party"),
                    ("C", "Continue to Step 2", "continue")]
    assert [(m.key, m.action) for m in pack.step("2").meta.menu] == [
        ("R", "requery"), ("A", "revise"), ("P", "progress"), ("C", "continue")], "[P] View progress stays"


def test_long_command_triggers_keep_their_whole_name(tmp_path: Path) -> None:
    steps = tmp_path / "steps"
    steps.mkdir()
    (tmp_path / "workflow.md").write_text("# W\n\nStart with `steps/step-01-a.md`.\n", encoding="utf-8")
    (steps / "step-01-a.md").write_text("# Step 1: A\n\n## MENU\n\n- `*create-architecture-doc` - write it\n"
                                        "[C] Continue\n", encoding="utf-8")
    keys = [m.key for m in load_pack(tmp_path).step("1").meta.menu]
    assert keys == ["*create-architecture-doc", "C"]


def test_a_persona_is_read_from_the_xml_agent_config_its_file_points_at() -> None:
    noor = load_pack(AI_BODY).personas["analyst"]
    assert (noor.name, noor.title, noor.icon) == ("Noor", "Business Analyst", "📊")
    assert noor.style == "Asks for one number at a time and reads it back"
    assert noor.principles == ("Measure before deciding", "A use case without a metric is a wish")


@pytest.mark.parametrize("line, expected", [
    ("Save output to `{output_folder}/{project_name}/phase-1-feature/data-spec.md`", "phase-1-feature/data-spec.md"),
    ("- Append the final content to `{planning_artifacts}/architecture.md`", "phase-0-workflow/architecture.md"),
    ("Populate {planning_artifacts}/epics.md with the epics", "phase-0-workflow/epics.md"),
    ("Copy `../brief-template.md` to `{output_folder}/brief-{{project_name}}-{{date}}.md`",
     "phase-0-workflow/brief.md"),
])
def test_a_document_named_in_a_body_line_is_the_steps_output(tmp_path: Path, line: str, expected: str) -> None:
    steps = tmp_path / "steps"
    steps.mkdir()
    (tmp_path / "workflow.md").write_text("# W\n\nRead fully and follow `./steps/step-01-a.md`.\n", encoding="utf-8")
    (steps / "step-01-a.md").write_text(f"# Step 1: A\n\n## SEQUENCE\n\n### 1. Save\n\n{line}\n\n"
                                        "## LOAD CONTEXT\n\n**File:** `{output_folder}/prd.md`\n", encoding="utf-8")
    assert [o.path for o in load_pack(tmp_path).step("1").meta.outputs] == [expected]


def test_a_summary_box_inside_the_menu_section_is_not_a_menu(tmp_path: Path) -> None:
    steps = tmp_path / "steps"
    steps.mkdir()
    (tmp_path / "workflow.md").write_text("# W\n\nStart with `steps/step-01-a.md`.\n", encoding="utf-8")
    (steps / "step-01-a.md").write_text("# Step 1: A\n\n## MENU\n\n```\n╔══════════╗\n║ [1] brief.md [2] log ║\n"
                                        "╚══════════╝\n```\n\n[A] Advanced Elicitation [C] Continue\n",
                                        encoding="utf-8")
    assert [m.key for m in load_pack(tmp_path).step("1").meta.menu] == ["A", "C"]


def test_a_list_of_completion_conditions_becomes_confirmations_without_the_engines_own_work() -> None:
    guards = [g.message.split(" (confirm")[0] for g in load_pack(AI_BODY).step("4").meta.guards]
    assert guards == ["Continue only when no blocker is left open",
                      "Continue only when every document names the same primary use case",
                      "Continue only when every decision in the log has a rationale"], \
        "'sidecar.yaml has been updated' is the engine's job; 'explicitly confirmed' is the menu's"


def test_a_boxed_summary_and_the_menu_handling_options_are_not_menu_items() -> None:
    step = load_pack(AI_BODY).step("4")
    assert [(m.key, m.action) for m in step.meta.menu] == [("R", "review"), ("A", "revise"), ("C", "continue")]
    assert "Keep the verdict short" not in "".join(s.text for s in step.sections[:-1]), "notes for the agent"


def test_project_root_is_found_from_the_installed_layout_and_fills_the_packs_own_paths(tmp_path: Path) -> None:
    import shutil

    installed = tmp_path / "repo" / "workflows" / "ai-body"  # where the pack's workflow_path says it lives
    shutil.copytree(AI_BODY, installed)
    text = " ".join(s.text for step in load_pack(str(installed)).steps.values() for s in step.sections)
    persona = f"{tmp_path / 'repo'}/workflows/ai-body/agents/analyst.md"
    assert persona in text and (installed / "agents" / "analyst.md").is_file()
    assert "{project-root}" not in text
    elsewhere = tmp_path / "copied" / "ai-body"  # copied away from that layout: left as the pack wrote it
    shutil.copytree(AI_BODY, elsewhere)
    text = " ".join(s.text for step in load_pack(str(elsewhere)).steps.values() for s in step.sections)
    assert "{project-root}/workflows/ai-body/agents/analyst.md" in text
