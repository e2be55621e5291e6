"""`cairn eval` through the real entry point: messages, exit codes and the files written."""

from __future__ import annotations

import json
import shlex
import subprocess
import sys
from pathlib import Path

import pytest

from tests.cli_runner import run_cairn

FIXTURES = Path(__file__).parent / "fixtures"
ECHO = f"{shlex.quote(sys.executable)} -c " + shlex.quote(
    "import json, sys; case = json.load(sys.stdin); print(case['input'])")


def cairn(args: list[str], out: Path, capsys, monkeypatch) -> tuple[int, str, str]:
    return run_cairn(["--output", str(out), *args], capsys, monkeypatch, stdin="")


def _cases(path: Path, rows: list[dict]) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    return path


def test_eval_run_writes_results_summary_and_plot_and_prints_the_statistics(
        app_dir: Path, capsys, monkeypatch) -> None:
    cases = _cases(app_dir / "cases.jsonl", [{"id": "a", "input": "yes", "expected": "yes"},
                                             {"id": "b", "input": "no", "expected": "yes"}])
    run = app_dir / "run1"
    code, out, err = cairn(["eval", "run", "-t", ECHO, "-c", str(cases), "-o", str(run), "-n", "2", "-k", "2"],
                           app_dir / "output", capsys, monkeypatch)
    assert (code, err) == (0, "")
    assert "pass_rate" in out and "95% CI" in out and "2 cases x 2 repetitions" in out
    rows = [json.loads(line) for line in (run / "results.jsonl").read_text(encoding="utf-8").splitlines()]
    assert [(r["case_id"], r["repeat"], r["passed"]) for r in rows] == [
        ("a", 0, True), ("a", 1, True), ("b", 0, False), ("b", 1, False)]
    summary = json.loads((run / "summary.json").read_text(encoding="utf-8"))
    # One of two deterministic cases passes: the interval is over cases (Wilson), not [0.5, 0.5].
    pass_rate = summary["metrics"]["pass_rate"]
    assert (pass_rate["n"], pass_rate["mean"], pass_rate["repeat_std"], pass_rate["ci_method"]) == (
        2, 0.5, 0.0, "wilson")
    assert (pass_rate["ci_low"], pass_rate["ci_high"]) == pytest.approx((0.09453, 0.90547), abs=1e-5)
    assert (run / "metrics.png").read_bytes().startswith(b"\x89PNG")


def test_a_second_identical_run_is_served_from_the_cache_unless_no_cache(app_dir: Path, capsys, monkeypatch) -> None:
    cases = _cases(app_dir / "cases.jsonl", [{"input": "x"}])
    args = ["eval", "run", "-t", ECHO, "-c", str(cases), "--json", "-n", "2"]
    cairn([*args, "-o", str(app_dir / "r1")], app_dir / "output", capsys, monkeypatch)
    _, out, _ = cairn([*args, "-o", str(app_dir / "r2")], app_dir / "output", capsys, monkeypatch)
    assert json.loads(out)["cached"] == 2
    _, out, _ = cairn([*args, "-o", str(app_dir / "r3"), "--no-cache"], app_dir / "output", capsys, monkeypatch)
    assert json.loads(out)["cached"] == 0


def test_a_bad_cases_file_is_one_line_error_and_writes_no_run(app_dir: Path, capsys, monkeypatch) -> None:
    cases = app_dir / "cases.jsonl"
    cases.write_text('{"input": 1}\n{"input": 2, "expectd": 3}\n', encoding="utf-8")
    code, _, err = cairn(["eval", "run", "-t", "cat", "-c", str(cases), "-o", str(app_dir / "r")],
                         app_dir / "output", capsys, monkeypatch)
    assert code == 1
    assert err == f"error: {cases}:2: field 'expectd': Extra inputs are not permitted\n"
    assert not (app_dir / "r").exists()


def test_a_run_where_every_call_fails_exits_1_but_keeps_the_results(app_dir: Path, capsys, monkeypatch) -> None:
    cases = _cases(app_dir / "cases.jsonl", [{"input": 1}])
    code, _, err = cairn(["eval", "run", "-t", "exit 7", "-c", str(cases), "-o", str(app_dir / "r"), "-n", "1"],
                         app_dir / "output", capsys, monkeypatch)
    assert code == 1 and "every call to the target failed (first: exit code 7)" in err
    assert (app_dir / "r" / "results.jsonl").is_file()


def test_an_llm_judge_case_without_a_configured_model_is_refused(app_dir: Path, capsys, monkeypatch) -> None:
    (app_dir / "config.yaml").write_text("llm: null\n", encoding="utf-8")
    cases = _cases(app_dir / "cases.jsonl", [{"input": 1, "assertions": [{"type": "llm-judge", "rubric": "ok?"}]}])
    code, _, err = cairn(["eval", "run", "-t", "cat", "-c", str(cases)], app_dir / "output", capsys, monkeypatch)
    assert code == 1 and "llm-judge assertion needs a chat model" in err and "config.yaml" in err


def test_eval_run_refuses_to_overwrite_an_earlier_run(app_dir: Path, capsys, monkeypatch) -> None:
    cases = _cases(app_dir / "cases.jsonl", [{"input": 1}])
    args = ["eval", "run", "-t", ECHO, "-c", str(cases), "-o", str(app_dir / "r"), "-n", "1"]
    assert cairn(args, app_dir / "output", capsys, monkeypatch)[0] == 0
    code, _, err = cairn(args, app_dir / "output", capsys, monkeypatch)
    assert code == 1 and "already holds a run" in err


def test_compare_prints_verdicts_and_fails_on_a_regression_when_asked(app_dir: Path, capsys, monkeypatch) -> None:
    cases = _cases(app_dir / "cases.jsonl", [{"id": f"c{i}", "input": "ok", "expected": "ok"} for i in range(12)])
    wrong = f"{shlex.quote(sys.executable)} -c " + shlex.quote("print('no')")
    for name, target in (("a", ECHO), ("b", wrong)):
        cairn(["eval", "run", "-t", target, "-c", str(cases), "-o", str(app_dir / name), "-n", "2"],
              app_dir / "output", capsys, monkeypatch)
    code, out, _ = cairn(["eval", "compare", str(app_dir / "a"), str(app_dir / "b")], app_dir / "output",
                         capsys, monkeypatch)
    assert code == 0 and "regressed" in out and "McNemar" in out and "note: the targets differ" in out
    assert "latency_ms" in out and "(not gated)" in out
    code, out, err = cairn(["eval", "compare", str(app_dir / "a"), str(app_dir / "b"), "--json",
                            "--fail-on-regression", "--metric", "pass_rate"], app_dir / "output", capsys, monkeypatch)
    data = json.loads(out)
    assert [(m["metric"], m["verdict"], m["p_value"]) for m in data["metrics"]] == [
        ("pass_rate", "regressed", pytest.approx(2 / 2**12))]
    assert data["mcnemar"]["b"] == 12 and data["regressed"] is True
    assert code == 1 and "regressed against" in err and "pass_rate" in err


def test_a_gate_over_runs_of_different_cases_is_refused_unless_allowed(app_dir: Path, capsys, monkeypatch) -> None:
    rows = [{"id": f"c{i}", "input": "ok", "expected": "ok"} for i in range(4)]
    (app_dir / "echo_app.py").write_text("def reply(x):\n    return x\n", encoding="utf-8")
    for name, n, cases in (("a", "2", rows), ("b", "3", rows[:3])):
        path = _cases(app_dir / f"{name}.jsonl", cases)
        cairn(["eval", "run", "-t", "echo_app:reply", "-c", str(path), "-o", str(app_dir / name), "-n", n],
              app_dir / "output", capsys, monkeypatch)
    args = ["eval", "compare", str(app_dir / "a"), str(app_dir / "b"), "--fail-on-regression"]
    code, _, err = cairn(args, app_dir / "output", capsys, monkeypatch)
    assert code == 1 and "were not made under the same conditions" in err and "--allow-mismatch" in err
    assert "warning: the cases differ" in err and "warning: --repeat differs (2 vs 3)" in err
    assert "1 cases only in A and 0 only in B" in err
    assert cairn([*args, "--allow-mismatch"], app_dir / "output", capsys, monkeypatch)[0] == 0


def test_inspect_json_lists_model_calling_nodes_and_all_adds_the_rest(tmp_path: Path, capsys, monkeypatch) -> None:
    code, out, _ = cairn(["eval", "inspect", str(FIXTURES / "support_bot"), "--json"], tmp_path, capsys, monkeypatch)
    nodes = json.loads(out)
    assert code == 0
    assert [n["node"] for n in nodes] == ["route", "answer", "polish"]
    assert nodes[0]["model_calls"][0]["model"]["cls"] == "ChatOpenAI"
    _, out, _ = cairn(["eval", "inspect", str(FIXTURES / "support_bot"), "--json", "--all"], tmp_path, capsys,
                      monkeypatch)
    assert [(n["node"], n["calls_model"]) for n in json.loads(out)][0] == ("normalise", False)
    _, out, _ = cairn(["eval", "inspect", str(FIXTURES / "support_bot")], tmp_path, capsys, monkeypatch)
    assert "3 of 5 graph nodes call a chat model." in out


def test_the_eval_cli_module_imports_no_heavy_dependency() -> None:
    code = ("import sys, workflow.evaluation.cli; "
            "print(sorted(m for m in ('numpy', 'langgraph', 'matplotlib', 'langchain_core', 'jsonschema') "
            "if m in sys.modules))")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "[]"


@pytest.mark.parametrize("args", [["eval", "compare", "nope-a", "nope-b"], ["eval", "inspect", "nope"]])
def test_missing_paths_are_one_line_errors(args: list[str], tmp_path: Path, capsys, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)
    code, _, err = cairn(args, tmp_path, capsys, monkeypatch)
    assert code == 1 and err.startswith("error: nope") and err.count("\n") == 1


def test_eval_view_writes_one_self_contained_page_with_failing_cases_first(app_dir: Path, capsys,
                                                                          monkeypatch) -> None:
    cases = _cases(app_dir / "cases.jsonl", [{"id": "ok", "input": "yes", "expected": "yes"},
                                             {"id": "bad", "input": "<no>", "expected": "yes"}])
    for name in ("a", "b"):
        cairn(["eval", "run", "-t", ECHO, "-c", str(cases), "-o", str(app_dir / name), "-n", "1"],
              app_dir / "output", capsys, monkeypatch)
    code, out, _ = cairn(["eval", "view", str(app_dir / "a"), str(app_dir / "b")], app_dir / "output", capsys,
                         monkeypatch)
    page = (app_dir / "a" / "view.html").read_text(encoding="utf-8")
    assert code == 0 and out.strip() == f"wrote {app_dir / 'a' / 'view.html'}"
    assert page.index("<b>bad</b>") < page.index("<b>ok</b>")  # failing first
    assert "&lt;no&gt;" in page and "<no>" not in page  # outputs are escaped
    assert "<script" not in page and "http" not in page  # nothing loaded from elsewhere
    assert page.count("<td class=\"fail\">") == 2 and "2 cases, 1 failing" in page


def test_eval_run_isolate_runs_a_module_target_in_workers_and_refuses_commands(app_dir: Path, capsys,
                                                                               monkeypatch) -> None:
    (app_dir / "iso_app.py").write_text("def reply(x):\n    return x * 2\n", encoding="utf-8")
    cases = _cases(app_dir / "cases.jsonl", [{"id": 1, "input": "ab", "expected": "abab"}])
    code, out, err = cairn(["eval", "run", "-t", "iso_app:reply", "-c", str(cases), "-n", "3", "--isolate",
                            "--json", "-o", str(app_dir / "r")], app_dir / "output", capsys, monkeypatch)
    assert code == 0, err
    assert json.loads(out)["metrics"]["pass_rate"]["mean"] == 1.0
    code, _, err = cairn(["eval", "run", "-t", ECHO, "-c", str(cases), "--isolate"], app_dir / "output", capsys,
                         monkeypatch)
    assert code == 1 and "--isolate: shell command targets already run in their own process" in err


def test_eval_output_is_in_japanese_when_the_configuration_says_so(app_dir: Path, capsys, monkeypatch) -> None:
    (app_dir / "ja.yaml").write_text("communication_language: ja\n", encoding="utf-8")
    cases = _cases(app_dir / "cases.jsonl", [{"id": f"c{i}", "input": "ok", "expected": "ok"} for i in range(8)])
    (app_dir / "ja_app.py").write_text("def wrong(x):\n    return 'no'\n\n\ndef right(x):\n    return x\n",
                                       encoding="utf-8")
    for name, target in (("a", "ja_app:wrong"), ("b", "ja_app:right")):
        code, out, err = cairn(["--config", str(app_dir / "ja.yaml"), "eval", "run", "-t", target, "-c", str(cases),
                                "-o", str(app_dir / name), "-n", "1"], app_dir / "output", capsys, monkeypatch)
        assert code == 0, err
    assert "8 ケース × 1 回" in out and "キャッシュキーは対象プロジェクトの" in out
    code, out, _ = cairn(["--config", str(app_dir / "ja.yaml"), "eval", "compare", str(app_dir / "a"),
                          str(app_dir / "b")], app_dir / "output", capsys, monkeypatch)
    assert code == 0 and "判定" in out and "改善" in out and "合否(McNemar): A のみ合格 0 ケース" in out
    assert "improved" not in out and "verdict" not in out
