"""The BMAD loader derives a runnable Pack from our own BMAD-style fixtures."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.bmad.conftest import AI_LITE, FLAT, WRAPPED, edit
from workflow.errors import PackError
from workflow.packs import check_pack, load_pack


def test_config_table_and_file_names_give_string_ids_in_file_order() -> None:
    pack = load_pack(AI_LITE)
    assert pack.style == "bmad" and pack.name == "ai-lite" and pack.version == "0.3.0"
    assert list(pack.steps) == ["1", "2a", "3", "4", "5", "6", "7"]
    assert pack.start == "1"
    assert pack.step("6").rel == "3-inference/step-06-prompt-engineer.md", "id 6 comes from the file name"
    assert pack.step("6").meta.agent == "prompt-engineer", "persona guessed from the file name"
    assert pack.step("5").meta.agent == "retrieval-engineer", "persona named in the body"
    assert pack.step("2a").title == "Architecture Decision", "title from the body heading, 'Step 2a:' dropped"


def test_a_next_step_without_its_folder_is_found_by_file_name_and_reported() -> None:
    pack = load_pack(AI_LITE)
    assert [(r.when, r.step) for r in pack.step("2a").next_rules] == [(None, "3")]
    assert any("step-02a-architecture.md: nextStep: 'step-03-data.md' has no folder; found 1-feature/step-03-data.md"
               in w for w in pack.warnings)


def test_branch_keys_become_conditions_on_the_architecture_options() -> None:
    pack = load_pack(AI_LITE)
    assert [(r.when, r.step) for r in pack.step("5").next_rules] == [("architecture == 'fine-tuning'", "7"),
                                                                     (None, "6")]


def test_a_branch_that_jumps_over_a_step_its_condition_skips_goes_through_that_step() -> None:
    rules = load_pack(AI_LITE).step("3").next_rules
    assert [r.step for r in rules] == ["4", "4"]
    assert rules[0].when == "not (architecture == 'rag-only')", "nextStepIfTraining: the target's skip rule negated"


def test_phase_folder_skip_rule_from_config_applies_to_the_steps_in_that_folder() -> None:
    pack = load_pack(AI_LITE)
    training = pack.step("4")
    assert training.meta.skip_when == "architecture == 'rag-only'"
    assert training.meta.skip_record == "phase-2-training/training-plan.md"
    assert training.meta.phase == "phase-2-training"
    assert all(pack.step(s).meta.skip_when is None for s in pack.steps if s != "4")


def test_output_files_land_in_their_phase_folder_with_placeholders_filled() -> None:
    pack = load_pack(AI_LITE)
    outputs = {sid: [o.path for o in s.meta.outputs] for sid, s in pack.steps.items()}
    assert outputs["1"] == ["phase-0-scoping/discovery.md"]
    assert outputs["4"] == ["phase-2-training/training-plan.md"], "{trainingFolder} comes from the frontmatter"
    templates = [pack.templates_dir / o.template for s in pack.steps.values() for o in s.meta.outputs]
    assert all(t.is_file() and t.suffix == ".j2" for t in templates), "each document has its generated template"
    assert len(set(templates)) == len(templates)
    assert (pack.templates_dir / "skip-record.md.j2").is_file()


def test_knowledge_calls_come_from_endpoint_lines_and_unknown_endpoints_warn() -> None:
    pack = load_pack(AI_LITE)
    assert [(k.tool, k.text) for k in pack.step("1").meta.knowledge] == [("get_decisions", "RAG vs fine-tuning")]
    assert [(k.tool, k.text) for k in pack.step("2a").meta.knowledge] == [
        ("search_knowledge", "when does fine-tuning beat retrieval"), ("get_warnings", "fine-tuning")]
    retrieval = pack.step("5").meta.knowledge[0]
    assert retrieval.arguments() == {"topic": "hybrid search reranking", "limit": 3}
    assert any("Endpoint 'get_everything' is not a knowledge tool" in w for w in pack.warnings)
    assert "Endpoint" not in pack.step("1").guidance(), "the engine runs the calls; they are not guidance"


def test_menus_map_letters_and_commands_and_warn_about_letters_without_an_action() -> None:
    pack = load_pack(AI_LITE)
    menu = {m.key: m.action for m in pack.step("2a").meta.menu}
    assert menu == {"A": "revise", "H": "revise", "P": "progress", "C": "continue", "*status": "progress",
                    "*party-mode": "party"}
    assert {m.key: m.action for m in pack.step("5").meta.menu}["R"] == "requery"
    assert any("[H] 'Help with the terms' has no Cairn action" in w for w in pack.warnings)
    assert "MENU" not in pack.step("2a").guidance() and "[C]" not in pack.step("6").guidance()


def test_the_first_step_asks_the_sidecar_values_the_conditions_read() -> None:
    field = load_pack(AI_LITE).step("1").meta.form["architecture"]
    assert field.type == "choice" and field.sidecar is True
    assert field.choices == ["rag-only", "fine-tuning", "hybrid"]
    assert field.default == "hybrid", "the option that walks the most steps"


def test_questions_become_optional_text_fields_tied_to_their_section() -> None:
    form = load_pack(AI_LITE).step("1").meta.form
    assert form["business_problem_q1"].ask == "What task should the system take off people's hands?"
    assert form["business_problem_q1"].section == "2. Business Problem"
    assert form["constraints_notes"].section == "3. Constraints"
    assert not any(f.required for name, f in form.items() if name != "architecture")
    assert not any(name.startswith(("step_goal", "mandatory", "success")) for name in form)


def test_personas_are_read_from_bmad_frontmatter_inline_xml_and_an_xml_file() -> None:
    personas = load_pack(AI_LITE).personas
    rowan, imani = personas["analyst"], personas["architect"]
    assert (rowan.name, rowan.title, rowan.icon) == ("Rowan", "Business Analyst", "🧭")
    assert rowan.principles == ("Numbers before opinions", "One question at a time")
    assert (imani.name, imani.title) == ("Imani", "Solution Architect")
    assert imani.style == "Lays out two options side by side & asks which cost matters more"
    assert personas["lead"].title == "Tech Lead"


def test_an_unreachable_continuation_step_is_left_out_with_a_warning() -> None:
    pack = load_pack(AI_LITE)
    assert all("step-01b" not in s.rel for s in pack.steps.values())
    assert any("step-01b-continue.md: no nextStep chain from the first step" in w for w in pack.warnings)
    assert not any("step-01b-continue.md: agent" in w for w in pack.warnings), "left-out steps stay quiet"


def test_pack_yaml_with_style_bmad_loads_the_folder_it_points_at() -> None:
    pack = load_pack(WRAPPED)
    assert (pack.name, pack.version, pack.style) == ("ai-lite-wrapped", "0.3.1", "bmad")
    assert list(pack.steps) == list(load_pack(AI_LITE).steps)
    assert pack.step("4").meta.skip_when == "architecture == 'rag-only'", "config.yaml beside the steps is read"


def test_a_flat_v6_pack_follows_next_step_file_and_both_steps_build_the_shared_document() -> None:
    pack = load_pack(FLAT)
    assert [(r.when, r.step) for r in pack.step("1").next_rules] == [(None, "2")]
    assert [o.path for o in pack.step("1").meta.outputs] == ["phase-0-workflow/goals-brief.md"]
    assert [o.path for o in pack.step("2").meta.outputs] == ["phase-0-workflow/goals-brief.md"]
    assert any("goals-brief.md is built by steps 1, 2 in turn" in w for w in pack.warnings)
    assert [m.key for m in pack.step("1").meta.menu] == ["C"]


def test_a_folder_with_workflow_md_but_no_steps_folder_is_a_clear_error(tmp_path: Path) -> None:
    (tmp_path / "workflow.md").write_text("# A workflow\n", encoding="utf-8")
    with pytest.raises(PackError) as caught:
        load_pack(tmp_path)
    assert "steps folder is missing" in str(caught.value)


def test_a_first_step_that_does_not_exist_is_an_error(pack_copy: Path) -> None:
    edit(pack_copy / "workflow.md", "version: 0.3.0", "version: 0.3.0\nfirstStep: steps/0-scoping/step-00-gone.md")
    pack, problems = check_pack(pack_copy)
    assert pack is None
    assert problems == ["workflow.md: start: the first step 'steps/0-scoping/step-00-gone.md' (workflow.md / "
                        "config.yaml) is not a file under steps/; name it relative to steps/"]


def test_broken_step_frontmatter_is_an_error_naming_file_and_line(pack_copy: Path) -> None:
    edit(pack_copy / "steps" / "1-feature" / "step-03-data.md", "outputPhase: phase-1-feature",
         "outputPhase: [phase-1-feature")
    pack, problems = check_pack(pack_copy)
    assert pack is None
    assert len(problems) == 1 and problems[0].startswith("steps/1-feature/step-03-data.md: line ")
    assert "not valid YAML" in problems[0]


def test_a_next_step_loop_with_no_way_out_is_an_error(pack_copy: Path) -> None:
    edit(pack_copy / "steps" / "6-integration" / "step-07-review.md", "description:",
         "nextStep: 3-inference/step-06-prompt-engineer.md\ndescription:")
    pack, problems = check_pack(pack_copy)
    assert pack is None and "steps 6 -> 7 -> 6 form a loop" in problems[0]


def test_a_skip_rule_that_cannot_be_evaluated_is_a_warning_and_the_step_always_runs(pack_copy: Path) -> None:
    edit(pack_copy / "config.yaml", "skip_when: \"architecture == 'rag-only'\"", "skip_when: \"architecture ==\"")
    pack, problems = check_pack(pack_copy)
    assert problems == [] and pack is not None
    assert pack.step("4").meta.skip_when is None
    assert any(w.startswith("config.yaml: phase_folders.2-training.skip_when: cannot parse") for w in pack.warnings)


def test_unquoted_option_values_in_a_skip_rule_are_quoted(pack_copy: Path) -> None:
    edit(pack_copy / "config.yaml", "skip_when: \"architecture == 'rag-only'\"", "skip_when: architecture == rag-only")
    assert load_pack(pack_copy).step("4").meta.skip_when == "architecture == 'rag-only'"
