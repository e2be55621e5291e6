"""One row of results.jsonl (a case x repetition) and the metrics read from it."""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from pydantic import BaseModel, ConfigDict

__all__ = [
    "CheckRecord",
    "Record",
    "gated_by_default",
    "higher_is_better",
    "metric_values",
    "per_case_metrics",
    "per_case_values",
    "per_repeat_metrics",
]


class CheckRecord(BaseModel):
    model_config = ConfigDict(extra="forbid")

    type: str
    passed: bool
    detail: str = ""


class Record(BaseModel):
    """What one call of the target produced and how it was judged."""

    model_config = ConfigDict(extra="forbid")

    case_id: str
    repeat: int
    output: Any = None
    error: str | None = None
    latency_ms: float
    usage: dict[str, int] | None = None
    cost_usd: float | None = None
    cost_estimated: bool = False
    checks: list[CheckRecord]
    passed: bool
    cached: bool = False


def higher_is_better(metric: str) -> bool:
    """Pass rates go up when things improve; errors, latency, tokens and cost go down."""
    return metric == "pass_rate" or metric.startswith("pass.")


def gated_by_default(metric: str) -> bool:
    """Quality metrics gate `compare --fail-on-regression`; latency, tokens and cost are
    reported but gate only when asked (`--gate`): they move with machine load, not the prompt."""
    return metric in {"pass_rate", "error_rate"} or metric.startswith("pass.")


def metric_values(record: Record) -> dict[str, float]:
    """The metrics one record contributes; token and cost metrics only when reported."""
    values = {
        "pass_rate": float(record.passed),
        "error_rate": float(record.error is not None),
        "latency_ms": record.latency_ms,
    }
    by_type: dict[str, list[bool]] = defaultdict(list)
    for check in record.checks:
        by_type[check.type].append(check.passed)
    for kind, results in by_type.items():
        values[f"pass.{kind}"] = sum(results) / len(results)
    if record.usage:
        values["input_tokens"] = float(record.usage.get("input_tokens", 0))
        values["output_tokens"] = float(record.usage.get("output_tokens", 0))
    if record.cost_usd is not None:
        values["cost_usd"] = record.cost_usd
    return values


def per_repeat_metrics(records: list[Record]) -> dict[str, list[float]]:
    """For each metric, its mean over cases within each repetition (one value per repeat):
    the repetitions are the independent runs whose spread the summary reports."""
    sums: dict[str, dict[int, list[float]]] = defaultdict(lambda: defaultdict(list))
    for record in records:
        for name, value in metric_values(record).items():
            sums[name][record.repeat].append(value)
    return {
        name: [sum(v) / len(v) for _, v in sorted(reps.items())]
        for name, reps in sorted(sums.items(), key=lambda kv: _metric_order(kv[0]))
    }


def per_case_values(records: list[Record]) -> dict[str, dict[str, list[float]]]:
    """For each metric, every repetition's value per case (cases in first-seen order)."""
    values: dict[str, dict[str, list[float]]] = defaultdict(lambda: defaultdict(list))
    for record in sorted(records, key=lambda r: r.repeat):
        for name, value in metric_values(record).items():
            values[name][record.case_id].append(value)
    return {name: dict(values[name]) for name in sorted(values, key=_metric_order)}


def per_case_metrics(records: list[Record]) -> dict[str, dict[str, float]]:
    """For each metric, its mean over repetitions within each case: the paired unit of compare."""
    sums: dict[str, dict[str, list[float]]] = defaultdict(lambda: defaultdict(list))
    for record in records:
        for name, value in metric_values(record).items():
            sums[name][record.case_id].append(value)
    return {name: {case: sum(v) / len(v) for case, v in cases.items()} for name, cases in sums.items()}


def _metric_order(name: str) -> tuple[int, str]:
    fixed = ["pass_rate", "error_rate", "latency_ms", "input_tokens", "output_tokens", "cost_usd"]
    return (fixed.index(name), name) if name in fixed else (len(fixed), name)
