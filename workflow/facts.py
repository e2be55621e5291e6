"""Measured facts that checks reason with, besides the answers themselves: the data review of
step 3a's dataset, the size and reply lengths of step 5's training file, and how many optimizer
steps the planned run takes. Each file is analysed once per content (size and mtime)."""

from __future__ import annotations

import math
from collections.abc import Mapping
from functools import lru_cache
from pathlib import Path
from typing import Any

from workflow.errors import CairnError

# Which answers each fact is measured from: an answer to one of them can trip a check on the fact.
FACT_SOURCES: dict[str, frozenset[str]] = {
    "data_review": frozenset({"dataset_path"}),
    "train_data": frozenset({"train_file"}),
    "training_steps": frozenset({"train_file", "batch_size", "grad_accum", "num_epochs", "max_steps",
                                 "val_fraction", "test_fraction", "eval_file", "test_file"}),
}


@lru_cache(maxsize=32)
def _summary(path: str, size: int, mtime_ns: int) -> Any:
    from workflow.data.summary import summarize_dataset

    return summarize_dataset(Path(path))


def dataset_summary(path: Any) -> Any:
    """The analysis and review of a JSONL dataset (`workflow.data.summary.DatasetSummary`), computed
    once per file content: the document of step 3a and the checks share it.

    Raises:
        DataError, ConfigError: the file cannot be analysed (the message says why).
        OSError: the file cannot be read.
    """
    file = Path(str(path))
    stat = file.stat()
    return _summary(str(file.resolve()), stat.st_size, stat.st_mtime_ns)


def dataset_facts(path: Any) -> dict[str, Any] | None:
    """The review verdict and sizes of a JSONL dataset, or None when it cannot be analysed."""
    if not path:
        return None
    try:
        result = dataset_summary(path)
    except (OSError, CairnError):
        return None
    failed = [str(r["description"]) for r in result.review.get("rules", []) if r.get("passed") is False]
    tokens = result.analysis.get("tokens") or {}
    return {"passed": result.passed, "failed": failed, "examples": int(result.analysis.get("examples") or 0),
            "reply_tokens_p95": int((tokens.get("response") or {}).get("p95") or 0),
            "tokens_p95": int((tokens.get("total") or {}).get("p95") or 0)}


def training_steps(answers: Mapping[str, Any], examples: int) -> int | None:
    """Optimizer steps of the planned run: `max_steps` when set, else epochs over the examples
    left for training after the eval and test carve (effective batch = batch_size x grad_accum)."""
    max_steps = answers.get("max_steps")
    if isinstance(max_steps, int) and max_steps > 0:
        return max_steps
    share = 1.0
    for fraction, own_file in (("val_fraction", "eval_file"), ("test_fraction", "test_file")):
        if not answers.get(own_file):
            share -= float(answers.get(fraction) or 0)
    batch = int(answers.get("batch_size") or 1) * int(answers.get("grad_accum") or 1)
    epochs = float(answers.get("num_epochs") or 0)
    if batch <= 0 or epochs <= 0:
        return None
    return max(1, math.ceil(max(1, int(examples * share)) / batch) * math.ceil(epochs))


def facts(answers: Mapping[str, Any]) -> dict[str, Any]:
    """The measured facts for a namespace of answers (only those it has the files for):
    `data_review` (step 3a's `dataset_path`), `train_data` and `training_steps` (step 5)."""
    out: dict[str, Any] = {}
    review = dataset_facts(answers.get("dataset_path"))
    if review is not None:
        out["data_review"] = review
    train = dataset_facts(answers.get("train_file"))
    if train is not None:
        out["train_data"] = train
        steps = training_steps(answers, train["examples"])
        if steps is not None:
            out["training_steps"] = steps
    return out
