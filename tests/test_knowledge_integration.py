"""The engine with the real Knowledge MCP server (stdio subprocess), and without one."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from workflow.answers import AnswerPlan
from workflow.config import Config
from workflow.knowledge.client import McpKnowledgeClient
from workflow.session import Session, create_project
from workflow.store import read_sidecar

REPO = Path(__file__).resolve().parent.parent


def drive(out: Path, name: str, knowledge, monkeypatch: pytest.MonkeyPatch, stop_after: str | None = None) -> dict:
    monkeypatch.chdir(REPO)
    import yaml

    plan = AnswerPlan(yaml.safe_load((REPO / "examples" / "answers-rag-only.yaml").read_text(encoding="utf-8")),
                      yes=True)
    with Session(output_dir=out, name=name, config=Config(), knowledge=knowledge) as session:
        prompt = session.current()
        while prompt["kind"] != "done":
            if stop_after and prompt["step"]["id"] not in ("1", stop_after):
                break
            reply = plan.answer(prompt) if prompt["kind"] == "question" else plan.menu(prompt)
            prompt = session.send(reply)
    return read_sidecar(out / name)


def test_scripted_session_with_the_real_server_logs_queries_and_cites_them(out: Path, tmp_path: Path,
                                                                             monkeypatch: pytest.MonkeyPatch) -> None:
    create_project(out, "k", user="u")
    client = McpKnowledgeClient(timeout_s=20, env={"CAIRN_CACHE_DIR": str(tmp_path / "cache"),
                                                   "CAIRN_KNOWLEDGE_RETRIEVAL": "bm25"})
    try:
        sidecar = drive(out, "k", client, monkeypatch, stop_after="2a")
    finally:
        client.close()
    logged = [entry for entry in sidecar["knowledge_log"] if entry["step"] == "1"]
    assert logged and all(entry["ok"] for entry in logged)
    assert any(entry["result_ids"] for entry in logged)
    req = next(d for d in sidecar["decisions"] if d["id"] == "REQ-001")
    assert req["knowledge_ref"] and "(ids " in req["knowledge_ref"]


def test_a_session_whose_server_cannot_start_still_completes(out: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    create_project(out, "n", user="u")
    broken = McpKnowledgeClient(command=[sys.executable, "-c", "import sys; print('error: boom', file=sys.stderr); "
                                         "sys.exit(1)"], timeout_s=2, start_timeout_s=10)
    try:
        sidecar = drive(out, "n", broken, monkeypatch)
    finally:
        broken.close()
    assert sidecar["workflow_status"] == "complete"
    assert sidecar["knowledge_log"] and not any(entry["ok"] for entry in sidecar["knowledge_log"])
