from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import FIXTURES, open_session
from workflow.session import Session, create_project

BMAD = FIXTURES / "bmad"
AI_LITE = BMAD / "ai-lite"
WRAPPED = BMAD / "wrapped"
FLAT = BMAD / "flat"
AI_BODY = BMAD / "ai-body"  # AI-engineering style: documents named only in the bodies, templates/
V62 = BMAD / "v62-architecture"  # BMAD-METHOD v6.2 style: no frontmatter, next step named in the body
MODES = BMAD / "prd-modes"  # workflow-create-*.md + steps-c/
SKILL = BMAD / "skill-brief"  # SKILL.md + steps/ + templates/ + customize.toml


@pytest.fixture
def bmad_project(out: Path) -> str:
    create_project(out, "b", user="tester", pack_ref=str(AI_LITE))
    return "b"


@pytest.fixture
def pack_copy(tmp_path: Path) -> Path:
    """A private copy of ai-lite that a test may break."""
    target = tmp_path / "ai-lite"
    shutil.copytree(AI_LITE, target)
    return target


@pytest.fixture
def offline_config(tmp_path: Path) -> Path:
    """config.yaml for CLI runs without the knowledge server (fast, no subprocess)."""
    path = tmp_path / "config.yaml"
    path.write_text("knowledge: {enabled: false}\n", encoding="utf-8")
    return path


def edit(path: Path, old: str, new: str) -> None:
    text = path.read_text(encoding="utf-8")
    assert old in text, f"{old!r} not in {path}"
    path.write_text(text.replace(old, new), encoding="utf-8")


def gate_answer(field: str) -> str:
    """What a user types to satisfy the gate items the loader derives: a story, a decision's
    choice and rationale, a confirmed condition; Enter for everything else."""
    if field.startswith("stories_"):
        return f"Story for {field}: it works end to end"
    if field.startswith("gate_"):
        return "yes"
    if field.endswith(("_choice", "_rationale")):
        return f"{field} given"
    return ""


def project_at(out: Path, name: str, pack: Path, step_id: str, kind: str = "menu",
               answers: dict[str, Any] | None = None) -> None:
    """A new project of `pack` walked (as `walk_to` does) until it waits at `kind` in `step_id`."""
    create_project(out, name, user="tester", pack_ref=str(pack))
    session = open_session(out, name)
    try:
        walk_to(session, step_id, kind, answers)
    finally:
        session.close()


def walk_to(session: Session, step_id: str, kind: str = "menu",
            answers: dict[str, Any] | None = None) -> dict[str, Any]:
    """Answer every question with `answers` (else Enter) and Continue at every menu until the
    session waits at `kind` in step `step_id`."""
    prompt = session.current()
    for _ in range(200):
        if prompt["kind"] == "done":
            raise AssertionError(f"the workflow ended before step {step_id}")
        if prompt["step"]["id"] == step_id and prompt["kind"] == kind:
            return prompt
        if prompt["kind"] == "question":
            prompt = session.send((answers or {}).get(prompt["field"], gate_answer(prompt["field"])))
        else:
            prompt = session.send("C")
    raise AssertionError("the walk did not reach the step")
