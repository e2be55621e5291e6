"""The shipped prompt-tuning pack (packs/prompt-tuning, DESIGN 10) run end to end in English
and Japanese with its answers files over the sample runs of examples/prompt-app, and its gates."""

from __future__ import annotations

import io
import re
from pathlib import Path
from typing import Any

import pytest

from tests.cli_runner import run_cairn
from tests.conftest import quiet_console
from workflow.answers import AnswerPlan
from workflow.chat import StreamReader, run_chat
from workflow.config import Config
from workflow.errors import NeedsAnswer
from workflow.i18n import t, use_language
from workflow.knowledge.protocol import NullKnowledgeClient
from workflow.session import Session, create_project
from workflow.store import read_sidecar

REPO = Path(__file__).resolve().parent.parent
EXAMPLES = REPO / "examples"
RUNS = EXAMPLES / "prompt-app" / "sample-runs"


@pytest.fixture(autouse=True)
def _from_repo_root(monkeypatch: pytest.MonkeyPatch) -> Any:
    monkeypatch.chdir(REPO)  # the answers files hold paths relative to the repository
    yield
    use_language("en")  # run_chat sets the process-wide language of the engine's strings


def _session(out: Path, name: str, language: str = "en") -> Session:
    session = Session(output_dir=out, name=name, config=Config(communication_language=language),  # type: ignore[arg-type]
                      knowledge=NullKnowledgeClient())
    session.open()
    return session


def _run(out: Path, name: str, plan: AnswerPlan, language: str = "en") -> str:
    console, buffer = quiet_console()
    session = _session(out, name, language)
    try:
        assert run_chat(session, console, StreamReader(io.StringIO(""), console), plan) == 0
    finally:
        session.close()
    return buffer.getvalue()


def _cairn(args: list[str], out: Path, language: str, capsys: pytest.CaptureFixture[str],
           monkeypatch: pytest.MonkeyPatch) -> tuple[int, str]:
    config = out.parent / f"config-{language}.yaml"
    config.write_text(f"knowledge: {{enabled: false}}\ncommunication_language: {language}\n", encoding="utf-8")
    code, stdout, stderr = run_cairn(["--output", str(out), "--config", str(config), *args], capsys, monkeypatch,
                                     stdin="")
    return code, stdout + stderr


def test_the_english_pack_runs_end_to_end_with_measured_iterations_and_a_final_report(out: Path) -> None:
    create_project(out, "bot", user="facilitator", pack_ref="prompt-tuning", language="en")
    transcript = _run(out, "bot", AnswerPlan.from_file(EXAMPLES / "answers-prompt-tuning.yaml", yes=True))
    sidecar = read_sidecar(out / "bot")
    assert sidecar["workflow_status"] == "complete"
    assert sidecar["workflow"]["pack"].endswith("prompt-tuning")
    goals = (out / "bot" / "fine-tune.md").read_text(encoding="utf-8")
    assert "## Target thresholds" in goals and "pass_rate >= 0.9" in goals
    decisions = {d["id"]: d for d in sidecar["decisions"]}
    assert {"GOAL-001", "TARGET-001", "BASE-001", "ITER-001", "ITER-002", "REPORT-001"} <= set(decisions)
    assert decisions["BASE-001"]["choice"].startswith("pass_rate 0.550 [0.342, 0.742] over 20 cases")
    assert decisions["ITER-001"]["choice"].startswith("keep: add \"shipping\"")
    assert "pass_rate +0.4 [0.2, 0.6] improved" in decisions["ITER-001"]["rationale"]
    assert "pass_rate +0.05 [0, 0.15] no significant change" in decisions["ITER-002"]["rationale"]
    log = (out / "bot" / "decision-log.md").read_text(encoding="utf-8")
    assert "id=ITER-001 step=4 visit=1" in log and "id=ITER-002 step=4 visit=2" in log
    report = (out / "bot" / "phase-3-completion" / "final-report.md").read_text(encoding="utf-8")
    rows = [line for line in report.splitlines() if line.startswith("| ITER-")]
    assert [r.split(" | ")[0] for r in rows] == ["| ITER-001", "| ITER-002"]
    assert "improved" in rows[0] and "revert: " in rows[1]
    targets = (out / "bot" / "phase-0-preparation" / "optimisation-targets.md").read_text(encoding="utf-8")
    assert "| classify | prompt_app/graph.py:50 |" in targets
    assert "Choose> C" in transcript and "Workflow complete." in transcript


def test_the_japanese_pack_runs_end_to_end_through_the_cli_with_japanese_strings_and_documents(
        out: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    code, _ = _cairn(["new", "bot", "--pack", "prompt-tuning"], out, "ja", capsys, monkeypatch)
    assert code == 0
    assert Path(read_sidecar(out / "bot")["workflow"]["pack"]) == REPO / "packs" / "prompt-tuning" / "ja"
    code, transcript = _cairn(["chat", "bot", "--answers", str(EXAMPLES / "answers-prompt-tuning-ja.yaml"),
                               "--yes"], out, "ja", capsys, monkeypatch)
    assert code == 0, transcript
    assert "ステップ 1: チューニングの目標" in transcript and "選択> C" in transcript
    assert "ワークフロー完了。" in transcript and "Choose>" not in transcript
    sidecar = read_sidecar(out / "bot")
    assert sidecar["workflow_status"] == "complete"
    assert "## 目標しきい値" in (out / "bot" / "fine-tune.md").read_text(encoding="utf-8")
    report = (out / "bot" / "phase-3-completion" / "final-report.md").read_text(encoding="utf-8")
    assert "## 反復" in report and "## コミットの手引き" in report
    assert re.search(r"^\| ITER-001 \| keep: .*pass_rate \+0\.4 \[0\.2, 0\.6\] improved", report, re.M)
    assert re.search(r"^\| ITER-002 \| revert: ", report, re.M)


def test_an_existing_goals_file_is_carried_into_the_project_unchanged(out: Path, tmp_path: Path) -> None:
    goals = tmp_path / "fine-tune.md"
    goals.write_text("# Goals\n\nRoute shipping questions.\n\n## Thresholds\n\npass_rate >= 0.95\n", encoding="utf-8")
    create_project(out, "bot", user="facilitator", pack_ref="prompt-tuning", language="en")
    plan = AnswerPlan.from_file(EXAMPLES / "answers-prompt-tuning.yaml", [f"1.goals_file={goals}"], yes=True)
    _run(out, "bot", plan)
    assert (out / "bot" / "fine-tune.md").read_text(encoding="utf-8") == goals.read_text(encoding="utf-8")
    decision = next(d for d in read_sidecar(out / "bot")["decisions"] if d["id"] == "GOAL-001")
    assert decision["choice"] == f"as written in {goals}"


def _at_step(out: Path, step: str) -> Session:
    """A session stopped at the first question of `step`, earlier steps answered from the file."""
    create_project(out, "bot", user="facilitator", pack_ref="prompt-tuning", language="en")
    plan = AnswerPlan.from_file(EXAMPLES / "answers-prompt-tuning.yaml", yes=True)
    plan.steps = {k: v for k, v in plan.steps.items() if int(k) < int(step)}
    console, _ = quiet_console()
    session = _session(out, "bot")
    with pytest.raises(NeedsAnswer, match=f"step {step} "):
        run_chat(session, console, StreamReader(io.StringIO(""), console), plan)
    return session


def test_the_baseline_cannot_be_completed_without_a_readable_baseline_run(out: Path) -> None:
    session = _at_step(out, "3")
    try:
        prompt = session.send({"command": "choose", "key": "C"})
        assert prompt["result"]["advanced"] is False
        assert prompt["result"]["message"] == t("cannot_complete", "en")
        assert "answer: baseline_run" in prompt["result"]["missing"]
        not_a_run = str(EXAMPLES / "prompt-app" / "cases.jsonl")
        session.send({"command": "answers", "values": {
            "cases_file": not_a_run, "baseline_run": not_a_run, "baseline_analysis": "x"}})
        prompt = session.send({"command": "choose", "key": "C"})
        assert prompt["kind"] == "menu" and prompt["step"]["id"] == "3"
        assert any(m.startswith("problem: baseline_run:") and "not a run folder" in m for m in prompt["missing"])
    finally:
        session.close()


def test_the_report_cannot_be_reached_without_a_comparison(out: Path) -> None:
    session = _at_step(out, "4")
    try:
        prompt = session.send({"command": "answers", "values": {
            "priority": "p", "change": "c", "hypothesis": "h", "iteration_decision": "keep"}})
        prompt = session.send({"command": "choose", "key": "C"})
        assert prompt["result"]["advanced"] is False and "answer: candidate_run" in prompt["result"]["missing"]
        session.send({"command": "answers", "values": {"candidate_run": str(RUNS / "iter-1" / "summary.json")}})
        prompt = session.send({"command": "choose", "key": "C"})
        assert prompt["step"]["id"] == "5"
        iteration = next(d for d in read_sidecar(out / "bot")["decisions"] if d["id"] == "ITER-001")
        assert "pass_rate +0.4 [0.2, 0.6] improved" in iteration["rationale"]
    finally:
        session.close()


@pytest.mark.parametrize("pack", ["packs/prompt-tuning", "packs/prompt-tuning/ja"])
def test_validate_accepts_both_languages_of_the_pack(pack: str, out: Path, capsys: pytest.CaptureFixture[str],
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    code, text = _cairn(["validate", pack], out, "en", capsys, monkeypatch)
    assert code == 0 and "5 steps, 2 personas: OK" in text


def test_the_japanese_variant_keeps_the_english_workflow() -> None:
    from workflow.packs import load_pack

    en, ja = load_pack(REPO / "packs" / "prompt-tuning"), load_pack(REPO / "packs" / "prompt-tuning" / "ja")
    assert list(en.steps) == list(ja.steps)
    for step_id, step in en.steps.items():
        other = ja.steps[step_id].meta
        assert list(step.meta.form) == list(other.form)
        assert [d.id for d in step.meta.decisions] == [d.id for d in other.decisions]
        assert [o.path for o in step.meta.outputs] == [o.path for o in other.outputs]
        assert [(r.when, r.step) for r in step.next_rules] == [(r.when, r.step) for r in ja.steps[step_id].next_rules]
        assert {n: f.choices for n, f in step.meta.form.items()} == {n: f.choices for n, f in other.form.items()}
