from __future__ import annotations

from pathlib import Path

from workflow.llm.prompting import build_prompt, count_tokens, summarise
from workflow.packs import load_pack

DOC = "# Architecture decision\n\nWe chose hybrid.\n\nLong paragraph " + "word " * 400 + "\n\n## Risks\n\nLatency.\n"


def _prompt(tmp_path: Path, budget: int, history: int = 0, knowledge: int = 0):
    pack = load_pack(None)
    step = pack.step("2b")
    for rel in step.meta.context:
        (tmp_path / rel).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / rel).write_text(DOC, encoding="utf-8")
    results = [{"id": f"k{i}", "type": "warning", "title": f"Warning {i}", "summary": "careful " * 20}
               for i in range(knowledge)]
    turns = [("human" if i % 2 == 0 else "ai", f"message {i} " + "blah " * 40) for i in range(history)]
    return step, build_prompt(pack=pack, step=step, project_dir=tmp_path, answers={}, open_fields=list(step.meta.form),
                              section=None, knowledge=results, history=turns, task=None, budget=budget)


def test_a_generous_budget_keeps_everything_with_context_documents_whole(tmp_path: Path) -> None:
    step, prompt = _prompt(tmp_path, budget=100_000, history=4, knowledge=3)
    system = prompt.messages[0][1]
    assert prompt.dropped == [] and len(prompt.messages) == 5
    assert "Earlier document" in system and "We chose hybrid." in system
    assert "word " * 400 in system and "## Risks\n\nLatency." in system, "documents come in whole, tables and all"
    assert "[k2]" in system


def test_a_document_that_does_not_fit_whole_falls_back_to_its_headings_summary(tmp_path: Path) -> None:
    _, roomy = _prompt(tmp_path, budget=100_000)
    _, tight = _prompt(tmp_path, budget=roomy.tokens - 100)
    system = tight.messages[0][1]
    assert any(key.startswith("context:") and key.endswith("(whole)") for key in tight.dropped)
    assert "(headings summary)" in system and "We chose hybrid." in system
    assert system.count("word " * 400) < roomy.messages[0][1].count("word " * 400)


def test_a_tight_budget_drops_whole_items_oldest_history_first_and_keeps_the_last_message(tmp_path: Path) -> None:
    _, roomy = _prompt(tmp_path, budget=100_000, history=10, knowledge=6)
    _, tight = _prompt(tmp_path, budget=roomy.tokens - 300, history=10, knowledge=6)
    assert tight.tokens <= roomy.tokens - 300
    assert tight.dropped[0] == "history"
    assert tight.messages[-1] == roomy.messages[-1]
    kept = {text for _, text in tight.messages[1:]}
    assert all(text in {t for _, t in roomy.messages} for text in kept), "no message is cut mid-text"


def test_persona_rules_and_open_fields_survive_any_budget(tmp_path: Path) -> None:
    _, prompt = _prompt(tmp_path, budget=500, history=10, knowledge=6)
    system = prompt.messages[0][1]
    assert "You are" in system and "Cairn, not you, moves the session" in system and "Open fields" in system
    assert "knowledge:k0" in prompt.dropped
    assert any(key.startswith("context:") for key in prompt.dropped)


def test_history_is_bounded_even_within_budget(tmp_path: Path) -> None:
    _, prompt = _prompt(tmp_path, budget=100_000, history=30)
    assert len(prompt.messages) - 1 == 12


def test_summaries_keep_headings_and_first_lines_within_their_budget() -> None:
    text = summarise(DOC, budget=30)
    assert text.startswith("# Architecture decision\nWe chose hybrid.")
    assert count_tokens(text) <= 30


def test_only_the_current_sections_guidance_and_fields_are_given_in_full(tmp_path: Path) -> None:
    pack = load_pack(None)
    step = pack.step("1")
    prompt = build_prompt(pack=pack, step=step, project_dir=tmp_path, answers={}, open_fields=["monthly_requests"],
                          section=None, knowledge=[], history=[], task=None, budget=100_000)
    system = prompt.messages[0][1]
    assert "## Success metrics" in system and "## Stakeholders\n" not in system
    assert "Other sections of this step:" in system and "Stakeholders" in system


def test_knowledge_repeated_across_queries_is_given_once(tmp_path: Path) -> None:
    pack = load_pack(None)
    result = {"id": "k1", "type": "warning", "title": "Same", "summary": "s"}
    prompt = build_prompt(pack=pack, step=pack.step("1"), project_dir=tmp_path, answers={}, open_fields=[],
                          section=None, knowledge=[result, result], history=[], task=None, budget=100_000)
    assert prompt.messages[0][1].count("[k1]") == 1
