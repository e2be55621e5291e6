"""What the report must show: trivial baselines, collapse, stages, dropped examples, library warnings."""

from __future__ import annotations

import logging
import warnings
from pathlib import Path
from typing import Any

import pytest
import yaml

from workflow.data.formats import DatasetFormat
from workflow.errors import TrainingError
from workflow.training.baselines import trivial_answers
from workflow.training.comparison import ModelScores, compare
from workflow.training.launch import TrainRequest, train
from workflow.training.libwarnings import caught_library_warnings
from workflow.training.report import comparison_warnings

from .helpers import write_spec


def _row(question: str, answer: str) -> dict[str, Any]:
    return {"messages": [{"role": "user", "content": question}, {"role": "assistant", "content": answer}]}


TEST = [_row(f"puzzle {i}: what is the digit?", "1" if i < 32 else str(i % 9 + 2)) for i in range(50)]
TRAIN = [_row(f"train puzzle {i}", "1" if i % 3 else "7") for i in range(30)]


def _scores(answers: list[str]) -> ModelScores:
    return ModelScores(losses=[1.0] * len(answers), tokens=[2] * len(answers), answers=answers)


def test_the_most_frequent_train_answer_and_the_prompt_copy_are_scored_as_baselines() -> None:
    baselines = trivial_answers(TRAIN, DatasetFormat.MESSAGES, TEST, DatasetFormat.MESSAGES)
    majority = next(name for name in baselines if name.startswith("most frequent train answer"))
    assert "'1'" in majority and "67% of train" in majority and baselines[majority] == ["1"] * 50
    assert baselines["copy of the prompt"][3] == "puzzle 3: what is the digit?"
    result = compare(_scores(["9"] * 50), _scores(["1"] * 17 + ["x"] * 33), TEST, DatasetFormat.MESSAGES,
                     baselines=baselines)
    assert result.baselines[majority]["exact match"] == pytest.approx(0.64)
    assert result.below_trivial == ["exact match", "token F1"]
    assert result.verdict == "worse than a trivial baseline"
    assert "worse than a trivial baseline on exact match" in result.failures
    assert any(w.startswith("WORSE THAN TRIVIAL: tuned exact match 0.3400") for w in comparison_warnings(result))


def test_one_answer_for_most_items_is_reported_as_a_collapse_not_an_improvement() -> None:
    base = _scores([f"wrong {i}" for i in range(50)])
    tuned = _scores(["1"] * 48 + ["3", "4"])  # exact match 0.64 (the 32 real '1's), up from 0
    result = compare(base, tuned, TEST, DatasetFormat.MESSAGES)
    assert {r.name: r.verdict for r in result.rows}["exact match"] == "improved"
    assert result.collapsed and result.verdict == "collapsed"
    assert result.distributions["tuned"].top == [("1", 48), ("3", 1), ("4", 1)]
    assert "collapsed: 48 of 50 answers are '1'" in result.failures
    assert "COLLAPSE: the tuned model answers '1' for 48 of 50 test items, while the most frequent reference " \
           "answer covers 64% of them" in comparison_warnings(result)


def test_a_stage_that_undoes_the_one_before_is_named_and_the_better_stage_given() -> None:
    references = [row["messages"][-1]["content"] for row in TEST]
    sft = _scores(references[:35] + ["0"] * 15)  # 0.70 exact match
    dpo = _scores(["1 1 1 1"] * 50)  # degenerate
    result = compare(_scores(["0"] * 50), dpo, TEST, DatasetFormat.MESSAGES, stages={"sft": sft, "dpo": dpo})
    assert list(result.stages) == ["base", "sft", "dpo"] and result.best_stage == "sft"
    assert result.stages["sft"]["exact match"] == pytest.approx(0.7)
    assert "STAGE: dpo made exact match worse than after sft (0.7000 -> 0.0000); the sft model is the better one" \
        in comparison_warnings(result)


def test_library_warnings_are_caught_for_the_report_and_deprecations_left_out() -> None:
    with caught_library_warnings() as found:
        logging.getLogger("trl.trainer.sft_trainer").warning("Dropping  fully masked examples")
        logging.getLogger("transformers.trainer").info("just information")
        warnings.warn("padding-free training needs flash attention", UserWarning, stacklevel=1)
        warnings.warn("old argument", DeprecationWarning, stacklevel=1)
        logging.getLogger("trl.trainer.sft_trainer").warning("Dropping fully masked examples")
    assert found == ["trl: Dropping fully masked examples", "warning: padding-free training needs flash attention"]
    assert logging.getLogger("trl").handlers == [] or all(
        type(h).__name__ != "_Collect" for h in logging.getLogger("trl").handlers)


@pytest.mark.slow
def test_a_tight_max_length_reports_the_examples_trl_dropped_counted_before_the_model(
        tmp_path: Path, tiny_model: Path) -> None:
    spec = write_spec(tmp_path, tiny_model, hyperparameters={"max_length": 38})
    result = train(TrainRequest(spec_file=spec, max_steps=2, evaluate=False, show_bar=False))
    run_dir = Path(result.data["run_dir"])
    resolved = yaml.safe_load((run_dir / "resolved-config.yaml").read_text(encoding="utf-8"))
    counted = resolved["data"]["lengths"]["sft"]["train"]
    assert counted["examples"] == 160 and counted["dropped"] == 56
    assert result.data["stages"]["sft"]["trained_examples"] == 160 - 56  # what TRL kept agrees
    report = (run_dir / "report.md").read_text(encoding="utf-8")
    assert "sft: TRL trained on 104 of 160 examples; 56 were dropped" in report
    assert "sft train: 56 of 160 examples are dropped by TRL" in report
    assert any("56 were dropped" in w for w in result.warnings)


def test_a_max_length_that_drops_every_example_stops_before_a_model_or_run_folder(
        tmp_path: Path, tiny_model: Path) -> None:
    spec = write_spec(tmp_path, tiny_model, hyperparameters={"max_length": 30})
    with pytest.raises(TrainingError, match=r"sft train: all 160 examples have a prompt of at least max_length 30 "
                                            r"tokens.*raise hyperparameters.max_length"):
        train(TrainRequest(spec_file=spec, max_steps=2, show_bar=False))
    assert not (tmp_path / "runs").exists() or not any((tmp_path / "runs").iterdir())
