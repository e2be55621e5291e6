from __future__ import annotations

import io
from pathlib import Path

from tests.conftest import open_session, quiet_console
from workflow.chat import StreamReader, run_chat
from workflow.store import read_sidecar


def transcript(out: Path, name: str, script: str) -> tuple[int, list[str]]:
    console, buffer = quiet_console()
    session = open_session(out, name)
    try:
        code = run_chat(session, console, StreamReader(io.StringIO(script), console))
    finally:
        session.close()
    return code, [line.rstrip() for line in buffer.getvalue().splitlines()]


def test_scripted_stdin_transcript_shows_header_questions_menu_and_refusal(out: Path, mini_project: str) -> None:
    code, lines = transcript(out, mini_project, "support bot\n\n\nhmm\nZ\nC\n\n\nC\n")
    assert code == 0
    expected_in_order = [
        "╭─ Step 1: Scope ─",
        "│ A Ada — Analyst",
        "Overview",
        "Think about the problem first.",
        "warning: Knowledge base unavailable (knowledge is not configured); continuing without it.",
        "What is the primary use case?",
        "> support bot",
        "Architecture? 1) rag-only / 2) fine-tuning / 3) hybrid [default: hybrid]",
        ">",
        "Monthly requests? [default: 1000]",
        "drafted phase-0-scoping/scope.md",
        "decision ARCH-001: hybrid",
        "[A] Revise  [Q] Re-query  [P] Progress  [D] View the drafts again  [C] Continue",
        "Choose> hmm",
        "Noted on this step.",
        "Choose> Z",
        "Unknown option 'Z'. Choose one of: A, Q, P, D, C.",
        "Choose> C",
        "✔ Step 1 (Scope) complete.",
        "╭─ Step 2: Training ─",
        "Base model? [default: tiny]",
        "story TRAIN-S01: Train tiny",
        "✔ Step 2 (Training) complete.",
        "Input ended; progress saved. Resume with `cairn chat p`.",
    ]
    position = 0
    for wanted in expected_in_order:
        found = next((i for i in range(position, len(lines)) if lines[i].startswith(wanted)), None)
        assert found is not None, f"{wanted!r} not found after line {position}:\n" + "\n".join(lines)
        position = found + 1
    sidecar = read_sidecar(out / mini_project)
    assert sidecar["notes"]["1"] == ["hmm"] and sidecar["currentStep"] == "3"


def test_ctrl_c_style_stop_then_resume_continues_at_the_same_question(out: Path, mini_project: str) -> None:
    transcript(out, mini_project, "support bot\n")
    code, lines = transcript(out, mini_project, "")
    assert code == 0
    questions = [line for line in lines if line.startswith("Architecture?")]
    assert questions, "the resumed session asks the next unanswered question again"
