"""`cairn knowledge ...` through the real entry point: output, exit codes, messages."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.cli_runner import run_cairn

from .helpers import BASE, NOTES, write

Run = Callable[..., tuple[int, str, str]]


@pytest.fixture
def cairn(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> Run:
    """Run `cairn ARGS...` in process; returns (exit code, stdout, stderr)."""

    def run(*args: str) -> tuple[int, str, str]:
        return run_cairn(list(args), capsys, monkeypatch)

    return run


@pytest.fixture(autouse=True)
def output_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("CAIRN_OUTPUT", str(tmp_path / "output"))
    monkeypatch.chdir(tmp_path)
    return tmp_path / "output"


def test_search_prints_ranked_results_with_their_citation(cairn: Run) -> None:
    code, out, _ = cairn("knowledge", "search", "RAG vs fine-tuning",
                         "--knowledge-dir", str(BASE), "--limit", "2")
    assert code == 0
    assert out.startswith("1. [decision] RAG or fine-tuning for domain knowledge (dec-rag-vs-fine-tuning)")
    assert "https://arxiv.org/abs/2005.11401" in out
    assert "\n2. " in out and "\n3. " not in out


def test_search_json_has_the_tool_response_shape(cairn: Run) -> None:
    code, out, _ = cairn("knowledge", "search", "rag", "--type", "warning", "--json",
                         "--knowledge-dir", str(BASE))
    response = json.loads(out)
    assert code == 0
    assert set(response) == {"results", "metadata"}
    assert {result["type"] for result in response["results"]} == {"warning"}
    assert response["metadata"]["result_count"] == len(response["results"])


def test_an_unknown_type_is_a_one_line_error(cairn: Run) -> None:
    code, out, err = cairn("knowledge", "search", "rag", "--type", "recipe",
                           "--knowledge-dir", str(BASE))
    assert code == 1
    assert err == "error: --type recipe: expected one of decision, pattern, warning, methodology, checklist, note\n"
    assert out == ""


def test_a_broken_entry_is_reported_with_its_location(cairn: Run, tmp_path: Path) -> None:
    write(tmp_path / "kb" / "bad.yaml", "- id: pat-x\n  type: pattern\n")
    code, _, err = cairn("knowledge", "stats", "--knowledge-dir", str(tmp_path / "kb"))
    assert code == 1
    assert "bad.yaml line 1: entry 'pat-x': key 'title': missing; fix: add 'title'" in err
    assert "Traceback" not in err


def test_ingest_adds_notes_that_search_and_list_then_show(cairn: Run, output_dir: Path) -> None:
    code, out, _ = cairn("knowledge", "ingest", str(NOTES), "--knowledge-dir", str(BASE))
    assert code == 0
    assert "Ingested 4 chunks from 2 files" in out
    assert (output_dir / ".knowledge" / "ingested").is_dir()
    _, out, _ = cairn("knowledge", "search", "escalation ladder tier",
                      "--knowledge-dir", str(BASE))
    assert out.startswith("1. [note] glossary")
    assert "glossary.txt" in out
    _, listed, _ = cairn("knowledge", "list", "--type", "note", "--knowledge-dir", str(BASE))
    assert len(listed.splitlines()) == 4


def test_ingest_of_a_missing_folder_is_a_user_error(cairn: Run, tmp_path: Path) -> None:
    code, _, err = cairn("knowledge", "ingest", str(tmp_path / "nowhere"))
    assert code == 1
    assert err.startswith("error: ") and "not a folder" in err


def test_stats_counts_entries_by_type(cairn: Run) -> None:
    code, out, _ = cairn("knowledge", "stats", "--json", "--knowledge-dir", str(BASE))
    figures = json.loads(out)
    assert code == 0
    assert figures["by_type"] == {"checklist": 1, "decision": 2, "methodology": 2, "pattern": 2, "warning": 2}


def test_list_shows_every_entry(cairn: Run) -> None:
    code, out, _ = cairn("knowledge", "list", "--knowledge-dir", str(BASE))
    assert code == 0
    assert len(out.splitlines()) == 9
    assert any(line.startswith("dec-rag-vs-fine-tuning") for line in out.splitlines())
