"""A spec's general-skills regression set is scored base vs tuned after training, against the forgetting budget."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.cli_runner import run_cairn
from workflow.data.formats import DatasetFormat
from workflow.errors import DataError, TrainingError
from workflow.training.comparison import ModelScores, compare
from workflow.training.forgetting import forgetting_lines, measure_forgetting
from workflow.training.runs import last_run_summary
from workflow.training.spec import load_spec, spec_from_answers
from workflow.training.splits import plan_data

from .helpers import TRAIN, write_spec

SYSTEM = "Answer the general question in one word."
GENERAL = [("What colour is the sky on a clear day?", "blue"), ("What is two plus two?", "four"),
           ("Which animal says meow?", "cat"), ("What is frozen water called?", "ice"),
           ("What do bees make?", "honey"), ("Which season follows winter?", "spring"),
           ("What is the opposite of hot?", "cold"), ("How many legs does a spider have?", "eight")]


GREEK = [("Τι χρώμα έχει ο ουρανός;", "Ο ουρανός είναι γαλάζιος όταν έχει λιακάδα."),
         ("Πόσο κάνει δύο και δύο;", "Δύο και δύο κάνουν τέσσερα, πάντα."),
         ("Ποιο ζώο νιαουρίζει;", "Η γάτα νιαουρίζει όταν πεινάει."),
         ("Πώς λέγεται το παγωμένο νερό;", "Το παγωμένο νερό λέγεται πάγος."),
         ("Τι φτιάχνουν οι μέλισσες;", "Οι μέλισσες φτιάχνουν γλυκό μέλι."),
         ("Ποια εποχή έρχεται μετά τον χειμώνα;", "Μετά τον χειμώνα έρχεται η άνοιξη."),
         ("Ποιο είναι το αντίθετο του ζεστού;", "Το αντίθετο του ζεστού είναι το κρύο."),
         ("Πόσα πόδια έχει μια αράχνη;", "Μια αράχνη έχει οκτώ πόδια.")]


def _regression_file(folder: Path, name: str = "general.jsonl", rows: list[tuple[str, str]] = GENERAL) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    lines = [json.dumps({"messages": [{"role": "system", "content": SYSTEM}, {"role": "user", "content": q},
                                      {"role": "assistant", "content": a}]}, ensure_ascii=False) for q, a in rows]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def _scores(losses: list[float], answers: list[str]) -> ModelScores:
    return ModelScores(losses=losses, tokens=[3] * len(losses), answers=answers)


ROWS = [{"messages": [{"role": "user", "content": q}, {"role": "assistant", "content": a}]} for q, a in GENERAL]
REFERENCES = [a for _, a in GENERAL]


def test_step_5_answers_carry_a_regression_file_and_the_budget_into_the_spec(tmp_path: Path,
                                                                              monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    _regression_file(tmp_path)
    spec = spec_from_answers({"base_model": "m", "train_file": str(TRAIN), "regression_set": "general.jsonl",
                              "forgetting_budget_pct": 3})
    assert spec.evaluation.regression_set == (tmp_path / "general.jsonl").resolve()
    assert spec.evaluation.forgetting_budget_pct == 3


def test_a_named_benchmark_answer_stays_out_of_the_spec_and_the_budget_defaults_to_5() -> None:
    spec = spec_from_answers({"base_model": "m", "train_file": str(TRAIN),
                              "regression_set": "IFEval (instruction following) plus 100 support questions"})
    assert spec.evaluation.regression_set is None and spec.evaluation.forgetting_budget_pct == 5


def test_a_relative_regression_set_in_a_spec_file_is_resolved_against_the_spec_folder(tmp_path: Path) -> None:
    _regression_file(tmp_path / "specs")
    spec = load_spec(write_spec(tmp_path / "specs", "m", evaluation={"regression_set": "general.jsonl"}))
    assert spec.evaluation.regression_set == (tmp_path / "specs" / "general.jsonl").resolve()
    assert plan_data(spec).counts()["regression"] == len(GENERAL)


def test_a_budget_outside_0_to_100_is_refused_naming_the_field(tmp_path: Path) -> None:
    with pytest.raises(TrainingError, match=r"field 'evaluation.forgetting_budget_pct': .*less than or equal to 100"):
        load_spec(write_spec(tmp_path, "m", evaluation={"forgetting_budget_pct": 150}))


def test_a_missing_regression_file_is_refused_before_any_model_loads(tmp_path: Path) -> None:
    spec = load_spec(write_spec(tmp_path, "m", evaluation={"regression_set": "absent.jsonl"}))
    with pytest.raises(DataError, match=r"absent.jsonl: no such regression set \(evaluation.regression_set\)"):
        plan_data(spec)


def test_an_invalid_regression_line_is_reported_with_its_number(tmp_path: Path) -> None:
    bad = _regression_file(tmp_path)
    bad.write_text(bad.read_text(encoding="utf-8") + '{"text": "no messages here"}\n', encoding="utf-8")
    spec = load_spec(write_spec(tmp_path, "m", evaluation={"regression_set": str(bad)}))
    with pytest.raises(DataError, match=rf"{bad} line {len(GENERAL) + 1}: "):
        plan_data(spec)


def test_drops_are_relative_to_the_base_and_judged_against_the_budget() -> None:
    base = _scores([2.0] * 8, REFERENCES)
    tuned = _scores([2.1] * 8, REFERENCES[:6] + ["x", "y"])  # loss 5% worse, exact match 25% lower
    forgetting = measure_forgetting(compare(base, tuned, ROWS, DatasetFormat.MESSAGES), source="general.jsonl",
                                    total=8, budget_pct=6)
    rows = {r.name: r for r in forgetting.rows}
    assert rows["loss"].drop_pct == pytest.approx(5.0) and rows["loss"].within_budget
    assert rows["exact match"].drop_pct == pytest.approx(25.0) and not rows["exact match"].within_budget
    assert forgetting.verdict.startswith("over budget on exact match")
    assert "25.0% worse than the base on the regression set's exact match (budget 6%)" in forgetting.failures
    data = forgetting.to_dict()
    assert data["metrics"]["loss"]["drop_pct"] == pytest.approx(5.0) and data["budget_pct"] == 6


def test_an_improvement_and_a_base_scoring_zero_never_count_as_forgetting() -> None:
    base = _scores([2.0] * 8, ["zzz"] * 8)  # base: exact match 0
    tuned = _scores([1.5] * 8, REFERENCES)
    forgetting = measure_forgetting(compare(base, tuned, ROWS, DatasetFormat.MESSAGES), source="g", total=8,
                                    budget_pct=0)
    assert forgetting.verdict == "within budget" and forgetting.failures == []
    assert {r.name: r.drop_pct for r in forgetting.rows}["exact match"] == 0.0
    table = "\n".join(forgetting_lines(forgetting, None))
    assert "| loss (lower is better) | 2.0000 | 1.5000 | -25.0% | 0% | within budget |" in table


@pytest.mark.slow
def test_train_reports_general_skills_and_fails_on_a_drop_over_a_zero_budget(
        tmp_path: Path, tiny_model: Path, capsys: pytest.CaptureFixture[str],
        monkeypatch: pytest.MonkeyPatch) -> None:
    # The general skill here is answering in Greek, a script the English ticket data never shows: training
    # moves probability onto the ticket vocabulary, so the tuned model's loss on those answers rises above
    # the random base's, a real drop that a 0% budget must catch. No test split, so only this set can fail.
    general = _regression_file(tmp_path, rows=GREEK)
    folder = tmp_path / "project" / "phase-2-training"  # a spec's runs go beside it, as in a project
    spec = write_spec(folder, tiny_model, datasets={"test_file": None, "test_fraction": 0},
                      evaluation={"regression_set": str(general), "forgetting_budget_pct": 0, "max_test_examples": 8})
    monkeypatch.setenv("CAIRN_OUTPUT", str(tmp_path / "output"))
    code, out, err = run_cairn(["train", "--spec", str(spec), "--dry-run", "--json"], capsys, monkeypatch)
    assert code == 0, err
    assert json.loads(out)["regression_set"] == {"file": str(general), "format": "messages", "examples": 8,
                                                 "scored": 8, "forgetting_budget_pct": 0.0}
    code, out, err = run_cairn(["train", "--spec", str(spec), "--max-steps", "10", "--fail-on-regression"],
                               capsys, monkeypatch)
    assert code == 1
    error = [line for line in err.splitlines() if line.startswith("error:")]
    assert len(error) == 1 and "worse than the base on the regression set's loss (budget 0%)" in error[0]
    run = next((folder / "runs").iterdir())
    report = (run / "report.md").read_text(encoding="utf-8")
    section = report.split("## General skills (regression set)\n", 1)[1].split("\n## ", 1)[0]
    assert f"`{general}`: 8 examples, scored like the test split" in section
    assert "Verdict: **over budget on loss" in section
    loss_row = next(line for line in section.splitlines() if line.startswith("| loss (lower is better) |"))
    assert "| 0% | over budget |" in loss_row
    state = json.loads((run / "state.json").read_text(encoding="utf-8"))
    drop = state["summary"]["forgetting"]["metrics"]["loss"]["drop_pct"]
    assert drop > 0 and state["summary"]["forgetting"]["verdict"] == "over budget on loss"
    logged = [json.loads(line) for line in (run / "metrics.jsonl").read_text(encoding="utf-8").splitlines()]
    assert [r["drop_pct_loss"] for r in logged if r["stage"] == "regression"] == [pytest.approx(drop)]
    assert "FORGETTING: the tuned model is" in report
    assert (last_run_summary(tmp_path / "project") or {})["forgetting"] == "over budget on loss"


@pytest.mark.slow
def test_no_eval_skips_the_regression_set_and_says_so(tmp_path: Path, tiny_model: Path,
                                                      capsys: pytest.CaptureFixture[str],
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    spec = write_spec(tmp_path, tiny_model, evaluation={"regression_set": str(_regression_file(tmp_path))})
    monkeypatch.setenv("CAIRN_OUTPUT", str(tmp_path / "output"))
    code, _, err = run_cairn(["train", "--spec", str(spec), "--max-steps", "1", "--no-eval", "--fail-on-regression"],
                             capsys, monkeypatch)
    assert code == 0, err
    report = next((tmp_path / "runs").glob("*/report.md")).read_text(encoding="utf-8")
    assert "## General skills (regression set)\n\nSkipped (--no-eval).\n" in report


def test_a_run_without_a_regression_set_says_forgetting_was_not_measured() -> None:
    assert forgetting_lines(None, None) == [
        "No regression set named (evaluation.regression_set), so forgetting was not measured."]
