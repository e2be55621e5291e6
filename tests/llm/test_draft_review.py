"""A model's draft is approved only by an explicit y, after its sanity warnings are shown."""

from __future__ import annotations

from pathlib import Path

from tests.llm.helpers import FakeChatModel, run_llm
from workflow.llm.draft_checks import draft_warnings, headings
from workflow.store import read_sidecar

SCOPE = Path("phase-0-scoping") / "scope.md"


def test_a_bare_enter_approves_no_draft_and_y_does(out: Path, mini_project: str) -> None:
    model = FakeChatModel(replies=["Hi.", {"use_case": "Support bot"}, "# Scope\n\nThe model's scope.", "Step 2."])
    code, text, _ = run_llm(out, mini_project, model, "\n\n\n\n\n\ny\nC\n")
    assert code == 0
    assert text.count("Nothing approved: type y to approve this draft.") == 2
    assert (out / mini_project / SCOPE).read_text(encoding="utf-8") == "# Scope\n\nThe model's scope.\n"
    assert read_sidecar(out / mini_project)["stepsCompleted"] == ["1"]


def test_a_huge_draft_without_the_templates_headings_is_warned_about_and_paged(out: Path, mini_project: str) -> None:
    huge = "\n".join(f"line {i} of an endless document" for i in range(3_000))
    model = FakeChatModel(replies=["Hi.", {"use_case": "Support bot"}, huge, "# Scope\n\nShort again.", "Step 2."])
    # Page 1 shown, q stops paging; Enter refuses; a change request redrafts; y approves.
    code, text, _ = run_llm(out, mini_project, model, "\n\n\n\nq\n\nshorter, with the headings\ny\nC\n")
    assert code == 0
    assert "-- page 1/50" in text and "(2,940 more lines not shown)" in text
    assert "line 59 of an endless document" in text and "line 60 of an endless" not in text
    assert "warning: 1 heading(s) of the template are missing: # Scope" in text
    assert "x the template draft's" in text and "y approves it despite the warnings" in text
    assert (out / mini_project / SCOPE).read_text(encoding="utf-8") == "# Scope\n\nShort again.\n"


def test_diff_shows_what_the_model_changed_from_the_template_draft(out: Path, mini_project: str) -> None:
    draft = "# Scope\n\nUse case: Support bot\nExtra claim."
    model = FakeChatModel(replies=["Hi.", {"use_case": "Support bot"}, draft])
    code, text, _ = run_llm(out, mini_project, model, "\n\n\n\n/diff\n")
    assert code == 0
    assert "--- phase-0-scoping/scope.md (template)" in text and "+Extra claim." in text
    assert "-Architecture: hybrid" in text


def test_draft_checks_compare_headings_and_size_with_the_template_draft() -> None:
    template = "# Plan\n\n## Risks\n\n| a | b |\n\n## Budget\n"
    assert headings("# Plan\n```\n# not a heading\n```\n##  Risks:\n") == ["# Plan", "## Risks"]
    assert draft_warnings(template, "# Plan\n## risks\n## Budget\nfine") == []
    assert draft_warnings(template, "  \n") == ["the draft is empty"]
    assert draft_warnings(template, "# Plan\n## Risks\n")[0].endswith("missing: ## Budget")
