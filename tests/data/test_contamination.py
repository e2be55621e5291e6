from __future__ import annotations

import random
from typing import Any

import pytest

from tests.data.conftest import chat
from tests.data.corpus import corpus, paragraph
from workflow.data.contamination import contamination
from workflow.errors import ConfigError


def test_planted_eval_items_are_found_with_their_training_lines(write_jsonl: Any) -> None:
    rows, _ = corpus(200, seed=1)
    rng = random.Random(99)
    fresh = [chat(user=paragraph(rng, 12), answer=paragraph(rng, 40)) for _ in range(20)]
    leaked_answer = rows[50]["messages"][2]["content"]
    planted = chat(user="completely new question about laptops", answer=leaked_answer[:200])
    shared_system = chat(system=rows[3]["messages"][0]["content"], user=paragraph(rng, 20), answer=paragraph(rng))
    eval_rows = fresh[:10] + [planted] + fresh[10:] + [shared_system, chat(user="hi", answer="hello")]
    result = contamination(write_jsonl(rows, "train.jsonl"), write_jsonl(eval_rows, "eval.jsonl"), ngram=13)
    assert [item["line"] for item in result["items"]] == [11]
    assert result["items"][0]["train_lines"] == [51, 211, 212]  # the original, its exact and near copies
    assert result["too_short"] == [23]
    assert result["checked"] == 22 and result["contaminated"] == 1
    assert result["ratio"] == round(1 / 22, 4)
    assert not result["passed"]


def test_a_clean_eval_file_passes_and_max_ratio_tolerates_some_overlap(write_jsonl: Any) -> None:
    rows, _ = corpus(50, seed=2)
    rng = random.Random(5)
    clean = [chat(user=paragraph(rng, 15), answer=paragraph(rng, 30)) for _ in range(10)]
    train = write_jsonl(rows, "train.jsonl")
    assert contamination(train, write_jsonl(clean, "clean.jsonl"))["passed"]
    mixed = write_jsonl(clean + [rows[0]], "mixed.jsonl")
    assert not contamination(train, mixed)["passed"]
    assert contamination(train, mixed, max_ratio=0.1)["passed"]
    assert contamination(train, mixed, min_overlap=0.99)["contaminated"] == 1


def test_bad_parameters_are_refused(write_jsonl: Any) -> None:
    path = write_jsonl([chat()])
    with pytest.raises(ConfigError, match="--ngram"):
        contamination(path, path, ngram=0)
    with pytest.raises(ConfigError, match="--max-ratio"):
        contamination(path, path, max_ratio=2)
