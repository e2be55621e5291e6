"""Regressions are flagged (and fail the command on request); the progress bar shows step, losses, ETA."""

from __future__ import annotations

import io
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from rich.console import Console

from workflow.data.formats import DatasetFormat
from workflow.training.comparison import ModelScores, compare
from workflow.training.launch import TrainRequest, train
from workflow.training.progress import make_progress_callback
from workflow.training.runs import MetricsLog

from .helpers import write_spec

ROWS = [{"messages": [{"role": "user", "content": f"q{i}"}, {"role": "assistant", "content": "billing"}]}
        for i in range(12)]


def _scores(losses: list[float], answers: list[str]) -> ModelScores:
    return ModelScores(losses=losses, tokens=[2] * len(losses), answers=answers)


def test_a_tuned_model_worse_than_base_is_flagged_as_regressed() -> None:
    base = _scores([1.0 + 0.01 * i for i in range(12)], ["billing"] * 12)
    tuned = _scores([2.0 + 0.01 * i for i in range(12)], ["billing"] * 4 + ["shipping"] * 8)
    result = compare(base, tuned, ROWS, DatasetFormat.MESSAGES)
    rows = {r.name: r for r in result.rows}
    assert rows["loss"].verdict == "regressed" and rows["loss"].diff == pytest.approx(1.0)
    assert rows["exact match"].verdict == "regressed" and rows["exact match"].ci_high < 0
    assert result.verdict == "regressed" and result.regressed == ["loss", "exact match", "token F1", "ROUGE-L"]
    assert result.tuned_perplexity > result.base_perplexity


def test_equal_models_are_no_significant_change() -> None:
    same = _scores([1.0] * 12, ["billing"] * 12)
    assert compare(same, same, ROWS, DatasetFormat.MESSAGES).verdict == "no significant change"


@pytest.mark.slow
def test_fail_on_regression_exits_1_after_writing_the_report(tmp_path: Path, tiny_model: Path,
                                                             monkeypatch: pytest.MonkeyPatch) -> None:
    from workflow.training import trainer

    real_compare = trainer.compare

    def swapped(base: ModelScores, tuned: ModelScores, rows: list[dict[str, Any]], fmt: DatasetFormat,
                **kwargs: Any) -> Any:
        return real_compare(tuned, base, rows, fmt, **kwargs)  # pretend the base was the tuned model

    monkeypatch.setattr(trainer, "compare", swapped)
    spec = write_spec(tmp_path, tiny_model, evaluation={"max_test_examples": 12})
    result = train(TrainRequest(spec_file=spec, max_steps=10, fail_on_regression=True, show_bar=False))
    assert result.exit_code == 1 and "the tuned model is worse than the base on loss" in (result.error or "")
    report = Path(result.data["report"]).read_text(encoding="utf-8")
    assert "REGRESSION: the tuned model is worse than the base on loss" in report
    assert result.data["verdict"] == "regressed"


def test_progress_bar_shows_step_losses_and_eta_and_logs_every_record(tmp_path: Path) -> None:
    out = io.StringIO()
    console = Console(file=out, force_terminal=True, width=160)
    metrics = MetricsLog(tmp_path / "metrics.jsonl")
    callback = make_progress_callback(stage="sft", metrics=metrics, show_bar=True, console=console)
    state = SimpleNamespace(max_steps=10, global_step=0, is_world_process_zero=True)
    callback.on_train_begin(None, state, None)
    for step in (1, 2, 3):
        state.global_step = step
        callback.on_log(None, state, None, logs={"loss": 1.0 / step, "learning_rate": 0.01})
        callback.on_step_end(None, state, None)
    callback.on_log(None, state, None, logs={"eval_loss": 0.4, "eval_runtime": "n/a"})
    callback.on_save(None, state, None)
    callback.on_train_end(None, state, None)
    text = out.getvalue()
    assert "step 3/10" in text and "loss 0.3333" in text and "eval 0.4000" in text and "ETA" in text
    assert "checkpoint saved at step 3" in text and "stopped early at step 3" in text
    records = metrics.read()
    assert [r["step"] for r in records] == [1, 2, 3, 3] and records[-1]["eval_loss"] == 0.4
    assert "eval_runtime" not in records[-1]  # non-numbers are not metrics
