from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

from typer.testing import CliRunner

from tests.data.conftest import chat
from tests.data.corpus import corpus
from workflow.cli import app
from workflow.errors import ConfigError, DataError

runner = CliRunner()


def cairn(*args: str) -> Any:
    return runner.invoke(app, ["data", *[str(a) for a in args]])


def test_validate_json_prints_one_problem_per_line_then_the_summary(write_jsonl: Any) -> None:
    path = write_jsonl([chat(), '{"x":', chat(system=None), {"messages": [{"role": "user", "content": "hi"}]}])
    result = cairn("validate", path, "--format", "messages", "--json")
    assert result.exit_code == 1
    lines = [json.loads(x) for x in result.stdout.splitlines()]
    assert lines[:-1] == [
        {"line": 2, "code": "invalid_json", "severity": "error", "message": lines[0]["message"]},
        {"line": 3, "code": "missing_system_message", "severity": "warning", "message": "no system message"},
        {"line": 4, "code": "example_missing_assistant_message", "severity": "error",
         "message": "no 'assistant' message"},
    ]
    summary = lines[-1]["summary"]
    assert (summary["errors"], summary["warnings"], summary["examples"]) == (2, 1, 4)
    assert "approximate" in summary["tokens"]["method"]


def test_validate_exits_zero_on_a_clean_file_and_prints_a_verdict(write_jsonl: Any) -> None:
    result = cairn("validate", write_jsonl([chat(), chat(user="again")]))
    assert result.exit_code == 0
    assert result.stdout.startswith("OK: ") and "2 valid" in result.stdout


def test_validate_text_output_caps_repeated_problems(write_jsonl: Any) -> None:
    result = cairn("validate", write_jsonl(["{"] * 30), "--format", "messages")
    assert result.exit_code == 1
    assert result.stdout.count("invalid_json: ") == 20
    assert "... and 10 more invalid_json" in result.stdout


def test_validate_max_tokens_and_strict_change_the_exit_code(write_jsonl: Any) -> None:
    path = write_jsonl([chat(system=None, answer="word " * 40)])
    assert cairn("validate", path).exit_code == 0
    assert cairn("validate", path, "--strict").exit_code == 1
    assert cairn("validate", path, "--max-tokens", "10").exit_code == 1


def test_analyze_json_and_plots(write_jsonl: Any, tmp_path: Path) -> None:
    path = write_jsonl([chat(label="a"), chat(user="x", label="b"), chat(user="y", label="b")])
    result = cairn("analyze", path, "--label", "label", "--plots", tmp_path / "plots", "--json")
    assert result.exit_code == 0
    analysis = json.loads(result.stdout)
    assert analysis["labels"]["counts"] == {"b": 2, "a": 1}
    assert len(analysis["plots"]) == 3 and all(Path(p).exists() for p in analysis["plots"])


def test_review_exit_code_follows_the_verdict(write_jsonl: Any) -> None:
    clean = write_jsonl([chat(user=f"q{i}") for i in range(10)], "clean.jsonl")
    assert cairn("review", clean).exit_code == 0
    dupes = write_jsonl([chat()] * 10, "dupes.jsonl")
    result = cairn("review", dupes, "--json")
    assert result.exit_code == 1
    verdict = json.loads(result.stdout)
    assert not verdict["passed"]
    assert next(r for r in verdict["rules"] if r["name"] == "duplicates")["value"] == 0.9


def test_convert_reports_skipped_lines_on_stderr(write_jsonl: Any, tmp_path: Path) -> None:
    path = write_jsonl([chat(), "{bad"])
    result = cairn("convert", path, "--to", "sharegpt", "-o", tmp_path / "out.jsonl")
    assert result.exit_code == 0
    assert "data.jsonl:2: skipped: not valid JSON" in result.stderr
    assert "converted 1 lines from messages to sharegpt" in result.stdout
    strict = cairn("convert", path, "--to", "sharegpt", "-o", tmp_path / "s.jsonl", "--strict")
    assert isinstance(strict.exception, DataError) and not (tmp_path / "s.jsonl").exists()


def test_dedup_split_sample_and_contamination_commands_write_their_outputs(write_jsonl: Any, tmp_path: Path) -> None:
    rows, _ = corpus(60)
    path = write_jsonl(rows)
    dedup = cairn("dedup", path, "-o", tmp_path / "clean.jsonl", "--json")
    assert dedup.exit_code == 0 and json.loads(dedup.stdout)["removed"]["total"] == 12
    split = cairn("split", path, "--train", "70", "--val", "15", "--test", "15", "--seed", "3", "-o", tmp_path / "s")
    assert split.exit_code == 0 and (tmp_path / "s" / "val.jsonl").exists()
    sample = cairn("sample", path, "--n", "5", "--seed", "1", "-o", tmp_path / "review.jsonl")
    assert sample.exit_code == 0 and len((tmp_path / "review.jsonl").read_text().splitlines()) == 5
    contaminated = cairn("contamination", path, tmp_path / "s" / "test.jsonl", "--json")
    assert contaminated.exit_code == 1 and json.loads(contaminated.stdout)["ratio"] == 1.0
    clean = write_jsonl([chat(user="an unrelated question about the weather in the mountains today",
                              answer="it will be sunny with light winds coming from the north in the afternoon")],
                        "eval.jsonl")
    assert cairn("contamination", path, clean).exit_code == 0


def test_user_errors_surface_as_cairn_errors(write_jsonl: Any, tmp_path: Path) -> None:
    result = cairn("validate", write_jsonl([chat()]), "--format", "chatml")
    assert isinstance(result.exception, ConfigError)
    result = cairn("split", write_jsonl([chat()]), "--train", "50", "-o", tmp_path / "x")
    assert isinstance(result.exception, ConfigError) and "add up to 70" in str(result.exception)


def test_the_installed_command_prints_one_line_errors_without_traceback(tmp_path: Path) -> None:
    proc = subprocess.run([sys.executable, "-m", "workflow", "data", "validate", str(tmp_path / "missing.jsonl")],
                          capture_output=True, text=True, timeout=60, cwd=Path(__file__).resolve().parents[2])
    assert proc.returncode == 1
    assert proc.stderr.strip().startswith("error: ") and "missing.jsonl" in proc.stderr
    assert "Traceback" not in proc.stderr


def test_data_commands_import_no_heavy_modules_at_help_time() -> None:
    code = ("import sys, workflow.data.cli; heavy = [m for m in ('numpy', 'msgspec', 'matplotlib') "
            "if m in sys.modules]; print(heavy)")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60,
                          cwd=Path(__file__).resolve().parents[2])
    assert proc.stdout.strip() == "[]"
