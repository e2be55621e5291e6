from __future__ import annotations

from pathlib import Path

import pytest

from tests.cli_runner import run_cairn
from tests.conftest import MINI
from tests.llm.openai_server import CannedServer, serve
from workflow.store import read_sidecar


def cairn(args: list[str], config: Path, out: Path, capsys: pytest.CaptureFixture[str],
          monkeypatch: pytest.MonkeyPatch, stdin: str = "") -> tuple[int, str, str]:
    return run_cairn(["--output", str(out), "--config", str(config), *args], capsys, monkeypatch, stdin)


def test_cairn_chat_talks_through_the_configured_server_and_status_shows_the_tokens(
        tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    out = tmp_path / "output"
    canned = CannedServer(persona="Hello from Ada.", proposal={"use_case": "Ticket triage"},
                          document="# Scope\n\nTriage.")
    with serve(canned) as base_url:
        config = tmp_path / "config.yaml"
        config.write_text(f"knowledge: {{enabled: false}}\nllm: {{model: 'openai:local', base_url: '{base_url}', "
                          "max_retries: 0, timeout_s: 10}\n", encoding="utf-8")
        assert cairn(["new", "p", "--pack", str(MINI)], config, out, capsys, monkeypatch)[0] == 0
        code, stdout, _ = cairn(["chat", "p"], config, out, capsys, monkeypatch, "\n\n\n\ny\nC\n/scripted\n")
    assert code == 0 and "Hello from Ada." in stdout
    assert read_sidecar(out / "p")["usage"]["1"]["prompt_tokens"] > 0
    code, stdout, _ = cairn(["status", "p"], config, out, capsys, monkeypatch)
    assert code == 0 and "tokens at step 1: prompt" in stdout


def test_llm_scripted_overrides_a_configured_model_for_one_session(
        tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    out = tmp_path / "output"
    config = tmp_path / "config.yaml"
    # Nothing listens on this port: a session that tried the model would print a model error.
    config.write_text("knowledge: {enabled: false}\nllm: {model: 'openai:local', base_url: 'http://127.0.0.1:9/v1'}\n",
                      encoding="utf-8")
    cairn(["new", "p", "--pack", str(MINI)], config, out, capsys, monkeypatch)
    code, stdout, _ = cairn(["chat", "p", "--llm", "scripted"], config, out, capsys, monkeypatch, "bot\n")
    assert code == 0 and "model error" not in stdout and "What is the primary use case?" in stdout
    assert "Talk with" not in stdout


def test_an_unknown_provider_in_llm_is_a_one_line_error(
        tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    out = tmp_path / "output"
    config = tmp_path / "config.yaml"
    config.write_text("knowledge: {enabled: false}\n", encoding="utf-8")
    cairn(["new", "p", "--pack", str(MINI)], config, out, capsys, monkeypatch)
    code, _, err = cairn(["chat", "p", "--llm", "bogus:model"], config, out, capsys, monkeypatch)
    assert code == 1 and err.startswith("error: ") and err.count("\n") == 1 and "bogus:model" in err
