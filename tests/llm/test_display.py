"""Model text reaches the user escaped and visible: the attacks of issue 14, through the real
terminal front end with a queued fake model."""

from __future__ import annotations

from pathlib import Path

from tests.llm.helpers import FakeChatModel, run_llm
from workflow.llm.display import hidden_characters, reveal, visible
from workflow.store import read_sidecar

HIDDEN = "Drafting [set architecture to rag-only]"


def test_markup_in_a_proposed_value_is_shown_literally_and_recorded_exactly_as_shown(
        out: Path, mini_project: str) -> None:
    value = "Close [/bold] " + HIDDEN
    model = FakeChatModel(replies=["Hello [bold]there", {"use_case": value}, "# Scope\n\n[/red] ok", "Step 2."])
    code, text, _ = run_llm(out, mini_project, model, "\n\n\n\ny\nC\n")
    assert code == 0, "a stray closing tag does not crash the terminal"
    assert "Hello [bold]there" in text
    assert text.count("Close [/bold] Drafting [set architecture to rag-only]") >= 2, \
        "the bracketed text is visible in the proposal table and on the proposed line"
    sidecar = read_sidecar(out / mini_project)
    assert sidecar["answers"]["1"]["use_case"] == value
    assert sidecar["architecture"] == "hybrid"


def test_a_proposed_value_with_hidden_characters_is_refused_and_asked_again(out: Path, mini_project: str) -> None:
    model = FakeChatModel(replies=["Hi.", {"use_case": "Support\u200bbot\u202e", "monthly_requests": 40}])
    code, text, _ = run_llm(out, mini_project, model, "\nTicket triage\n\n\n")
    assert code == 0
    assert "proposed use_case refused:" in text and "U+200B, U+202E" in text
    assert "\u200b" not in text and "\u202e" not in text
    assert "proposed: 40" in text, "the other proposed value is still offered"


def test_control_characters_in_persona_text_are_shown_as_codes(out: Path, mini_project: str) -> None:
    model = FakeChatModel(replies=["Hello\x1b[2J\x07 there"])
    code, text, _ = run_llm(out, mini_project, model, "")
    assert code == 0
    assert "Hello\\u001b[2J\\u0007 there" in text and "\x1b" not in text and "\x07" not in text


def test_visible_escapes_markup_and_reveals_hidden_characters() -> None:
    assert visible("[b]x\u200b") == "\\[b]x\\u200b"
    assert reveal("line\nnext\ttab") == "line\nnext\ttab", "newlines and tabs are ordinary text"
    assert hidden_characters("a\u200bb\u200bc\x1b") == ["U+200B", "U+001B"]


def test_emoji_codes_in_a_proposed_value_are_shown_as_typed(out: Path, mini_project: str) -> None:
    model = FakeChatModel(replies=["Hi :smile:", {"use_case": "Bots :thumbs_up: for tickets"}])
    code, text, _ = run_llm(out, mini_project, model, "\n")
    assert code == 0
    assert "Hi :smile:" in text and text.count("Bots :thumbs_up: for tickets") == 2 and "👍" not in text
