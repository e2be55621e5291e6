"""Datasets are checked and split before any model is loaded; answer metrics are scored correctly."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from workflow.data.formats import DatasetFormat
from workflow.errors import DataError
from workflow.training.metrics import exact_match, rouge_l, token_f1
from workflow.training.spec import spec_from_answers
from workflow.training.splits import plan_data, read_examples, reference_of

from .helpers import EVAL, PAIRS, TEST, TRAIN


def _write(path: Path, rows: list[object]) -> Path:
    path.write_text("".join((r if isinstance(r, str) else json.dumps(r)) + "\n" for r in rows), encoding="utf-8")
    return path


def test_a_bad_line_is_reported_with_its_number_and_the_fix(tmp_path: Path) -> None:
    good = {"messages": [{"role": "user", "content": "hi"}, {"role": "assistant", "content": "yo"}]}
    bad = {"messages": [{"role": "user", "content": "hi"}]}
    path = _write(tmp_path / "t.jsonl", [good, good, bad])
    with pytest.raises(DataError, match=r"t.jsonl line 3: no '?assistant'? message") as caught:
        read_examples(path, DatasetFormat.MESSAGES)
    assert "cairn data" in str(caught.value)  # the fix: validate, or convert from another format


def test_invalid_json_is_caught_by_the_data_tools_first(tmp_path: Path) -> None:
    path = _write(tmp_path / "t.jsonl", ['{"text": "ok"}', "{not json"])
    with pytest.raises(DataError, match=r"t.jsonl line 2: .*invalid_json.*cairn data validate"):
        read_examples(path, DatasetFormat.TEXT)


def test_preference_pairs_need_matching_answer_shapes(tmp_path: Path) -> None:
    path = _write(tmp_path / "p.jsonl", [{"prompt": "q", "chosen": "a", "rejected": [{"role": "assistant",
                                                                                    "content": "b"}]}])
    with pytest.raises(DataError, match="'chosen' and 'rejected' must both be strings or both be lists"):
        read_examples(path, DatasetFormat.PREFERENCE)


def test_missing_splits_are_carved_from_train_reproducibly_and_disjointly() -> None:
    spec = spec_from_answers({"base_model": "m", "train_file": str(TRAIN), "val_fraction": 0.1,
                              "test_fraction": 0.2, "seed": 3})
    first, second = plan_data(spec), plan_data(spec)
    stage = first.stages[0]
    assert first.counts() == {"sft_train": 112, "sft_eval": 16, "test": 32}
    assert stage.train.rows == second.stages[0].train.rows and first.test == second.test
    texts = [json.dumps(r) for r in stage.train.rows]
    assert not set(texts) & {json.dumps(r) for r in first.test.rows}  # type: ignore[union-attr]
    assert not set(texts) & {json.dumps(r) for r in stage.eval.rows}  # type: ignore[union-attr]


def test_sft_then_dpo_tests_on_the_sft_data_and_splits_the_pairs_for_dpo_eval() -> None:
    spec = spec_from_answers({"base_model": "m", "method": "sft-then-dpo", "train_file": str(TRAIN),
                              "eval_file": str(EVAL), "test_file": str(TEST), "preference_file": str(PAIRS),
                              "val_fraction": 0.25})
    plan = plan_data(spec)
    assert [s.stage for s in plan.stages] == ["sft", "dpo"]
    assert plan.counts() == {"sft_train": 160, "sft_eval": 24, "dpo_train": 48, "dpo_eval": 16, "test": 32}
    assert plan.test_format == DatasetFormat.MESSAGES


def test_references_come_from_the_last_assistant_turn_or_the_completion() -> None:
    row = {"messages": [{"role": "user", "content": "q"}, {"role": "assistant", "content": "A"}]}
    assert reference_of(row, DatasetFormat.MESSAGES) == ([{"role": "user", "content": "q"}], "A")
    assert reference_of({"prompt": "p", "completion": "c"}, DatasetFormat.PROMPT_COMPLETION) == ("p", "c")
    assert reference_of({"text": "t"}, DatasetFormat.TEXT) is None


def test_answer_metrics_normalise_case_punctuation_and_articles() -> None:
    assert exact_match("The Billing.", "billing") == 1.0
    assert exact_match("billing team", "billing") == 0.0
    assert token_f1("billing team", "billing") == pytest.approx(2 * 0.5 * 1.0 / 1.5)
    assert rouge_l("x b c d", "x c d") == pytest.approx(2 * (3 / 4) * 1.0 / (3 / 4 + 1.0))
    assert rouge_l("x y", "a b") == 0.0 and token_f1("", "") == 1.0


def test_the_carved_test_split_takes_exact_copies_and_near_duplicates_with_it(tmp_path: Path) -> None:
    def chat(user: str, answer: str) -> dict[str, object]:
        return {"messages": [{"role": "system", "content": "Answer with one word."},
                             {"role": "user", "content": user}, {"role": "assistant", "content": answer}]}

    words = [f"word{i}" for i in range(400)]
    rows = [chat(" ".join(words[i * 20:(i + 1) * 20]), f"label{i % 3}") for i in range(20)]
    rows += [rows[i] for i in range(0, 20, 2)]  # ten exact copies
    rows += [chat(" ".join(words[i * 20:(i + 1) * 20]) + " please", f"label{i % 3}") for i in range(1, 20, 2)]
    path = _write(tmp_path / "train.jsonl", rows)
    for seed in range(5):
        spec = spec_from_answers({"base_model": "m", "train_file": str(path), "val_fraction": 0.1,
                                  "test_fraction": 0.25, "seed": seed})
        plan = plan_data(spec)
        train = {r["messages"][1]["content"].removesuffix(" please") for r in plan.stages[0].train.rows}
        test = {r["messages"][1]["content"].removesuffix(" please") for r in plan.test.rows}  # type: ignore[union-attr]
        held = {r["messages"][1]["content"].removesuffix(" please") for r in plan.stages[0].eval.rows}  # type: ignore[union-attr]
        assert not train & test and not train & held and not test & held, seed
        assert 8 <= len(plan.test.rows) <= 12  # type: ignore[union-attr]
