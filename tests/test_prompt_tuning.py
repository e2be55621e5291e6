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
    assert "## Checked thresholds" in goals and "cost_usd at most 10.0% above the baseline" in goals
    decisions = {d["id"]: d for d in sidecar["decisions"]}
    assert {"GOAL-001", "TARGET-001", "BASE-001", "ITER-001", "KEEP-001", "ITER-002", "KEEP-002",
            "REPORT-001"} <= set(decisions)
    assert decisions["BASE-001"]["choice"].startswith("pass_rate 0.550 [0.342, 0.742] over 20 cases")
    assert decisions["ITER-001"]["choice"].startswith("add \"shipping\"")
    assert "pass_rate +0.4 [0.2, 0.6] p=0.0078 improved" in decisions["ITER-001"]["rationale"]
    assert "pass_rate +0.05 [0, 0.15] p=1 no significant change" in decisions["ITER-002"]["rationale"]
    assert decisions["KEEP-001"]["choice"].startswith("keep: ") and decisions["KEEP-002"]["choice"].startswith("revert")
    assert decisions["REPORT-001"]["choice"] == "thresholds-met"  # computed, not chosen
    log = (out / "bot" / "decision-log.md").read_text(encoding="utf-8")
    assert "id=ITER-001 step=4 visit=1" in log and "id=ITER-002 step=4 visit=2" in log
    iterations = out / "bot" / "phase-2-iteration"
    first, second = ((iterations / f"iteration-{n}.md").read_text(encoding="utf-8") for n in (1, 2))
    assert "+Categories: billing, technical, account, shipping" in first and "sample-runs/baseline" in first
    assert "+Then answer in one or two short sentences." in second and "sample-runs/iter-1" in second
    report = (out / "bot" / "phase-3-completion" / "final-report.md").read_text(encoding="utf-8")
    assert "Outcome: **thresholds-met**" in report
    assert "| pass_rate | 0.55 | 0.95 | +0.4 | [0.2, 0.6] | 0.00781 | improved |" in report  # baseline -> final
    assert "| pass_rate >= 0.9 | 0.55 | 0.95 | yes |" in report
    assert "| cost_usd at most 10.0% above the baseline | 5.06e-05 | 5.3e-05 (+4.7%) | yes |" in report
    rows = [line for line in report.splitlines() if line.startswith("| ITER-")]
    assert [r.split(" | ")[0] for r in rows] == ["| ITER-001", "| ITER-002"]
    assert rows[0].endswith("| keep |") and rows[1].endswith("| revert |")
    assert "sample-runs/iter-2/summary.json against" in rows[1]
    assert report.count("```diff") == 2 and "-Then answer in two sentences or fewer." in report
    assert 'git commit -m "Tune prompts: measured changes' in report
    targets = (out / "bot" / "phase-0-preparation" / "optimisation-targets.md").read_text(encoding="utf-8")
    assert "| classify | prompt_app/graph.py:50 |" in targets
    assert "Choose> C" in transcript and "Workflow complete." in transcript
    # The comparison is on screen before keep-or-revert is asked, in each iteration.
    transcript = " ".join(transcript.split())  # the console wraps long lines
    shown = transcript.index("latest-comparison.md: Iteration 1 measured: pass_rate +0.4 [0.2, 0.6], p = 0.0078")
    first_question = transcript.index("Keep or revert the change?")
    second_shown = transcript.index("Iteration 2 measured: pass_rate +0.05")
    assert shown < first_question < second_shown < transcript.index("Keep or revert the change?", first_question + 1)


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
    flat = "".join(transcript.split())
    assert flat.index("反復1の測定結果:pass_rate+0.4") < flat.index("変更を残しますか(keep)")
    sidecar = read_sidecar(out / "bot")
    assert sidecar["workflow_status"] == "complete"
    assert "## 目標しきい値" in (out / "bot" / "fine-tune.md").read_text(encoding="utf-8")
    report = (out / "bot" / "phase-3-completion" / "final-report.md").read_text(encoding="utf-8")
    assert "## 反復" in report and "## コミットの手引き" in report and "結果: **thresholds-met**" in report
    assert "| pass_rate >= 0.9 | 0.55 | 0.95 | はい |" in report
    assert re.search(r"^\| ITER-001 \| classify.txt .*pass_rate \+0\.4 \[0\.2, 0\.6\] p=0\.0078 改善.*\| keep \|$",
                     report, re.M)
    assert "| pass_rate | 0.55 | 0.95 | +0.4 | [0.2, 0.6] | 0.00781 | 改善 |" in report
    assert "improved" not in report and "no significant change" not in report
    assert re.search(r"^\| ITER-002 \| .*\| revert \|$", report, re.M)
    assert (out / "bot" / "phase-2-iteration" / "iteration-2.md").read_text(encoding="utf-8").startswith("# 反復 2")


def test_an_existing_goals_file_is_carried_into_the_project_unchanged(out: Path, tmp_path: Path) -> None:
    goals = tmp_path / "fine-tune.md"
    goals.write_text("# Goals\n\nRoute shipping questions.\n\n## Thresholds\n\npass_rate >= 0.95\n", encoding="utf-8")
    create_project(out, "bot", user="facilitator", pack_ref="prompt-tuning", language="en")
    plan = AnswerPlan.from_file(EXAMPLES / "answers-prompt-tuning.yaml", [f"1.goals_file={goals}"], yes=True)
    _run(out, "bot", plan)
    assert (out / "bot" / "fine-tune.md").read_text(encoding="utf-8") == goals.read_text(encoding="utf-8")
    decision = next(d for d in read_sidecar(out / "bot")["decisions"] if d["id"] == "GOAL-001")
    assert decision["choice"] == f"as written in {goals}; checked: pass_rate >= 0.9, cost_usd <= baseline + 10.0%"


ORDER = ["1", "2", "3", "4", "4b", "5"]


def _at_step(out: Path, step: str, overrides: list[str] | None = None) -> Session:
    """A session stopped at the first question of `step`, earlier steps answered from the file."""
    create_project(out, "bot", user="facilitator", pack_ref="prompt-tuning", language="en")
    plan = AnswerPlan.from_file(EXAMPLES / "answers-prompt-tuning.yaml", overrides or [], yes=True)
    plan.steps = {k: v for k, v in plan.steps.items() if ORDER.index(k) < ORDER.index(step)}
    console, _ = quiet_console()
    session = _session(out, "bot")
    with pytest.raises(NeedsAnswer, match=f"step {step} "):
        run_chat(session, console, StreamReader(io.StringIO(""), console), plan)
    return session


def _derived_run(source: Path, dest: Path, *, repeats: int | None = None, cases: int | None = None) -> Path:
    """A real run folder made from a sample run's records: fewer repetitions or fewer cases
    (as if run from a smaller cases file)."""
    from workflow.evaluation.rundir import read_run, summarize_records, write_run

    summary, records = read_run(source)
    keep_cases = sorted({r.case_id for r in records})[:cases] if cases else None
    records = [r for r in records if (repeats is None or r.repeat < repeats)
               and (keep_cases is None or r.case_id in keep_cases)]
    changed = summary.model_copy(update={
        "repeat": repeats or summary.repeat, "n_records": len(records), "n_cases": len({r.case_id for r in records}),
        "cases_sha256": summary.cases_sha256 if cases is None else "0" * 64, "metrics": summarize_records(records)})
    write_run(dest, records, changed, plot=False)
    return dest / "summary.json"


def _menu_problems(session: Session, values: dict[str, Any]) -> list[str]:
    session.send({"command": "answers", "values": values})
    prompt = session.send({"command": "choose", "key": "C"})
    assert prompt["kind"] == "menu", prompt
    return prompt["missing"]


def test_the_baseline_cannot_be_completed_without_a_readable_baseline_run(out: Path) -> None:
    session = _at_step(out, "3")
    try:
        prompt = session.send({"command": "choose", "key": "C"})
        assert prompt["result"]["advanced"] is False
        assert prompt["result"]["message"] == t("cannot_complete", "en")
        assert "answer: baseline_run" in prompt["result"]["missing"]
        not_a_run = str(EXAMPLES / "prompt-app" / "cases.jsonl")
        missing = _menu_problems(session, {"cases_file": not_a_run, "baseline_run": not_a_run,
                                           "baseline_analysis": "x"})
        assert any(m.startswith("problem: baseline_run:") and "not a run folder" in m for m in missing)
    finally:
        session.close()


def test_a_baseline_of_one_repetition_is_refused(out: Path, tmp_path: Path) -> None:
    once = _derived_run(RUNS / "baseline", tmp_path / "once", repeats=1)
    session = _at_step(out, "3")
    try:
        missing = _menu_problems(session, {"cases_file": str(EXAMPLES / "prompt-app" / "cases.jsonl"),
                                           "baseline_run": str(once), "baseline_analysis": "x"})
        assert any("has 1 repetitions per case; the method runs every case 3 to 5 times" in m for m in missing)
    finally:
        session.close()


def _iteration_answers(candidate: Path | str, **extra: Any) -> dict[str, Any]:
    return {"iteration": 1, "priority": "p", "change": "c", "hypothesis": "h",
            "prompt_diff": "-Categories: a\n+Categories: a, b\n", "candidate_run": str(candidate), **extra}


def test_a_candidate_run_over_other_cases_or_repetitions_is_refused(out: Path, tmp_path: Path) -> None:
    few_cases = _derived_run(RUNS / "iter-1", tmp_path / "five", cases=5)
    one_repeat = _derived_run(RUNS / "iter-1", tmp_path / "once", repeats=1)
    session = _at_step(out, "4")
    try:
        missing = _menu_problems(session, _iteration_answers(few_cases))
        problem = next(m for m in missing if m.startswith("problem: comparison:"))
        assert "the cases differ" in problem and "15 cases only in A and 0 only in B" in problem
        missing = _menu_problems(session, _iteration_answers(one_repeat))
        assert any("--repeat differs (3 vs 1)" in m for m in missing)
        missing = _menu_problems(session, _iteration_answers(RUNS / "baseline" / "summary.json"))
        assert any(m.startswith("candidate_run: that is the run it is compared with") for m in missing)
        missing = _menu_problems(session, _iteration_answers(RUNS / "iter-1" / "summary.json",
                                                             prompt_diff="made the router smarter"))
        assert missing == ["prompt_diff: paste the change as a unified diff (lines starting with - and +), "
                           "e.g. the output of git diff -- prompts/"]
        prompt = session.send({"command": "answers", "values": {"prompt_diff": "-a\n+b\n"}})
        prompt = session.send({"command": "choose", "key": "C"})
        assert prompt["step"]["id"] == "4b"  # the keep-or-revert question comes after the comparison
        iteration = next(d for d in read_sidecar(out / "bot")["decisions"] if d["id"] == "ITER-001")
        assert "pass_rate +0.4 [0.2, 0.6] p=0.0078 improved" in iteration["rationale"]
        assert (out / "bot" / "phase-2-iteration" / "iteration-1.md").is_file()
    finally:
        session.close()


@pytest.mark.parametrize(("overrides", "outcome"), [
    (["1.min_pass_rate=0.99"], "improved-below-threshold"),
    (["1.max_cost_increase_pct=1"], "improved-below-threshold"),
    (["5.candidate_run=examples/prompt-app/sample-runs/baseline/summary.json"], "no-improvement"),
])
def test_the_outcome_is_computed_from_the_checked_thresholds(overrides: list[str], outcome: str, out: Path) -> None:
    create_project(out, "bot", user="facilitator", pack_ref="prompt-tuning", language="en")
    _run(out, "bot", AnswerPlan.from_file(EXAMPLES / "answers-prompt-tuning.yaml", overrides, yes=True))
    report = next(d for d in read_sidecar(out / "bot")["decisions"] if d["id"] == "REPORT-001")
    assert report["choice"] == outcome
    text = (out / "bot" / "phase-3-completion" / "final-report.md").read_text(encoding="utf-8")
    assert f"Outcome: **{outcome}**" in text and "| no |" in text


@pytest.mark.parametrize("pack", ["packs/prompt-tuning", "packs/prompt-tuning/ja"])
def test_validate_accepts_both_languages_of_the_pack(pack: str, out: Path, capsys: pytest.CaptureFixture[str],
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    code, text = _cairn(["validate", pack], out, "en", capsys, monkeypatch)
    assert code == 0 and "6 steps, 2 personas: OK" in text


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
