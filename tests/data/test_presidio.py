"""The optional Presidio scan (`--presidio MODEL`, the `pii` extra), run for real with a spaCy
model built here: `spacy.blank("en")` has no entity recognizer, so the findings come from
Presidio's pattern recognizers (IBAN, crypto wallets...), which is what can be checked offline."""

from __future__ import annotations

import json
import sys
from typing import Any

import pytest
from typer.testing import CliRunner

from tests.cli_runner import run_cairn
from tests.data.conftest import chat
from workflow.cli import app
from workflow.data import presidio
from workflow.data.formats import DatasetFormat
from workflow.data.scan import ScanOptions, scan_file

IBAN = "DE89370400440532013000"
runner = CliRunner()


@pytest.fixture(scope="module")
def blank_model(tmp_path_factory: pytest.TempPathFactory) -> str:
    import spacy

    folder = tmp_path_factory.mktemp("spacy") / "blank-en"
    spacy.blank("en").to_disk(folder)
    return str(folder)


def rows() -> list[Any]:
    return [chat(user=f"Please pay it to IBAN {IBAN} today.", answer="Done. I mailed anna@example.org."),
            chat(), chat(user="And the wallet?", answer="Send to 16Yeky6GMjeNkAiNcBY7ZhrLoMSgg1BoyZ please.")]


def test_presidio_adds_entities_the_own_scan_lacks_without_counting_any_twice(
    write_jsonl: Any, blank_model: str
) -> None:
    path = write_jsonl(rows())
    plain = runner.invoke(app, ["data", "analyze", str(path), "--json"])
    both = runner.invoke(app, ["data", "analyze", str(path), "--json", "--presidio", blank_model])
    assert plain.exit_code == 0 and both.exit_code == 0, both.output
    before, after = json.loads(plain.stdout)["pii"], json.loads(both.stdout)["pii"]
    assert before["engine"] == "cairn" and after["engine"] == f"cairn + presidio ({blank_model})"
    assert "iban_code" not in before["counts"]
    assert after["counts"]["iban_code"] == 1
    assert after["counts"]["crypto"] == 1
    assert after["counts"]["email"] == before["counts"]["email"] == 1  # Cairn's, not Presidio's as well
    assert after["examples_with_pii"] == 2
    assert sorted((s["line"], s["kind"]) for s in after["samples"]) == [(1, "email"), (1, "iban_code"),
                                                                          (3, "crypto")]
    assert IBAN not in both.stdout and "16Yeky6GMjeNkAiNcBY7ZhrLoMSgg1BoyZ" not in both.stdout


def test_worker_processes_find_the_same_entities(write_jsonl: Any, blank_model: str) -> None:
    path = write_jsonl(rows() * 40)
    options = ScanOptions(fmt=DatasetFormat.MESSAGES, presidio=blank_model)
    one = scan_file(path, options, jobs=1)
    two = scan_file(path, options, jobs=2, chunk_bytes=2_000)
    assert one.pii_counts == two.pii_counts and one.pii_counts["iban_code"] == 40
    assert one.pii_examples == two.pii_examples == 80
    assert one.pii_samples == two.pii_samples


def test_review_counts_presidio_findings(write_jsonl: Any, blank_model: str) -> None:
    path = str(write_jsonl(rows()))

    def pii_examples(*extra: str) -> int:
        result = runner.invoke(app, ["data", "review", path, "--json", *extra])
        assert result.exit_code == 0, result.output
        return next(r["value"] for r in json.loads(result.stdout)["rules"] if r["name"] == "pii")

    assert pii_examples() == 1
    assert pii_examples("--presidio", blank_model) == 2


def test_a_model_that_is_not_there_is_one_clear_line(
    write_jsonl: Any, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    code, out, err = run_cairn(["data", "analyze", str(write_jsonl(rows())), "--presidio", "no_such_model"], capsys,
                               monkeypatch)
    assert code == 1 and out == ""
    assert err.strip() == ("error: spaCy model 'no_such_model' is not installed and is not a folder: pass an "
                           "installed model (pip install en_core_web_lg) or a model folder to --presidio")


def test_without_the_extra_the_message_names_it(
    write_jsonl: Any, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    presidio.load_analyzer.cache_clear()
    monkeypatch.setitem(sys.modules, "presidio_analyzer", None)  # import now fails as if not installed
    try:
        code, _, err = run_cairn(["data", "analyze", str(write_jsonl(rows())), "--presidio", "en_core_web_lg"],
                                 capsys, monkeypatch)
    finally:
        presidio.load_analyzer.cache_clear()
    assert code == 1
    assert "presidio-analyzer is not installed. Install the 'pii' extra: pip install 'cairn[pii]'" in err
