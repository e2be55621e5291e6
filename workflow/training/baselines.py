"""What a tuned model's answers must beat, and whether they collapsed. Pure Python.

Trivial baselines answer every test item without a model: the most frequent answer of the
training split (the majority class, for a classifier) and a copy of the item's last user message.
A tuned model below the best of them on exact match or token F1 learned less than the label
counts; one that gives the same answer to most items while the references vary has collapsed.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from workflow.data.formats import DatasetFormat
from workflow.training.metrics import exact_match, normalize, rouge_l, token_f1
from workflow.training.splits import reference_of

__all__ = ["ANSWER_METRICS", "COLLAPSE_MARGIN", "COLLAPSE_SHARE", "Distribution", "answer_metrics",
           "distribution", "trivial_answers"]

ANSWER_METRICS: dict[str, Callable[[str, str], float]] = {
    "exact match": exact_match, "token F1": token_f1, "ROUGE-L": rouge_l}
# Collapse: one answer for at least this share of the items, and this much more often than the
# most frequent reference answer.
COLLAPSE_SHARE = 0.5
COLLAPSE_MARGIN = 0.25
TOP = 5


def answer_metrics(answers: list[str], references: list[str]) -> dict[str, list[float]]:
    """Per-item exact match, token F1 and ROUGE-L of `answers` against `references`."""
    return {name: [fn(a, r) for a, r in zip(answers, references, strict=True)]
            for name, fn in ANSWER_METRICS.items()}


def _last_user(prompt: Any) -> str:
    if isinstance(prompt, list):
        users = [m.get("content") or "" for m in prompt if isinstance(m, dict) and m.get("role") == "user"]
        return str(users[-1]) if users else ""
    return str(prompt)


def trivial_answers(train_rows: list[dict[str, Any]], train_fmt: DatasetFormat, test_rows: list[dict[str, Any]],
                    test_fmt: DatasetFormat) -> dict[str, list[str]]:
    """Each trivial baseline's answer to every test item (only those that apply to the data)."""
    out: dict[str, list[str]] = {}
    train_refs = [ref[1] for ref in (reference_of(r, train_fmt) for r in train_rows) if ref is not None]
    if train_refs:
        counts = Counter(normalize(r) for r in train_refs)
        top = counts.most_common(1)[0][0]
        # Quote the answer as it was written in the data (the first one that normalises to the top).
        written = next(r for r in train_refs if normalize(r) == top)
        out[f"most frequent train answer ({written[:30]!r}, {counts[top] / len(train_refs):.0%} of train)"] = (
            [written] * len(test_rows))
    prompts = [reference_of(r, test_fmt) for r in test_rows]
    if prompts and all(p is not None for p in prompts):
        out["copy of the prompt"] = [_last_user(p[0]) for p in prompts if p is not None]
    return out


@dataclass(frozen=True, kw_only=True)
class Distribution:
    """The most frequent answers (normalised) with their counts, out of `n`."""

    n: int
    top: list[tuple[str, int]]
    distinct: int

    @property
    def top_share(self) -> float:
        return self.top[0][1] / self.n if self.n and self.top else 0.0


def distribution(answers: list[str]) -> Distribution:
    counts = Counter(normalize(a) for a in answers)
    return Distribution(n=len(answers), top=counts.most_common(TOP), distinct=len(counts))


def collapsed(predictions: Distribution, references: Distribution) -> bool:
    """One answer for most items, far more often than the references repeat themselves."""
    return (predictions.n >= 5 and predictions.top_share >= COLLAPSE_SHARE
            and predictions.top_share >= references.top_share + COLLAPSE_MARGIN)
