"""Rule-based review of an analysis: every rule states its threshold, the value and pass/fail."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True, kw_only=True)
class Thresholds:
    """Pass limits; the defaults are the issue's: no errors, < 5% duplicates, < 1% empty
    responses, at most 3:1 between the largest and smallest class when labelled."""

    max_errors: int = 0
    max_duplicate_rate: float = 0.05
    max_empty_rate: float = 0.01
    max_class_ratio: float = 3.0


def review(analysis: dict[str, Any], thresholds: Thresholds | None = None) -> dict[str, Any]:
    """`{"passed": bool, "rules": [{name, description, threshold, value, passed}]}`; a rule that
    does not apply (no label field) has `passed: null` and does not fail the review."""
    t = thresholds or Thresholds()
    errors = analysis["problems"]["errors"]
    duplicates = analysis["duplicates"]["rate"]
    empty = analysis["responses"]["empty_rate"]
    rules: list[dict[str, Any]] = [
        {"name": "errors", "description": "JSON and format errors", "threshold": f"<= {t.max_errors}",
         "value": errors, "passed": errors <= t.max_errors},
        {"name": "examples", "description": "valid examples", "threshold": ">= 1",
         "value": analysis["valid_examples"], "passed": analysis["valid_examples"] >= 1},
        {"name": "duplicates", "description": "exact duplicate rate", "threshold": f"< {t.max_duplicate_rate:.0%}",
         "value": duplicates, "passed": duplicates < t.max_duplicate_rate},
        {"name": "empty_responses", "description": "empty response rate", "threshold": f"< {t.max_empty_rate:.0%}",
         "value": empty, "passed": empty < t.max_empty_rate},
    ]
    labels = analysis.get("labels")
    ratio = labels.get("ratio") if labels else None
    rules.append({"name": "class_balance", "description": "largest / smallest class",
                  "threshold": f"<= {t.max_class_ratio:g}:1",
                  "value": ratio if labels else "not labelled (pass --label FIELD)",
                  "passed": (ratio is not None and ratio <= t.max_class_ratio) if labels else None})
    pii = analysis["pii"]["examples_with_pii"]
    rules.append({"name": "pii", "description": "examples with PII-like strings (informational)",
                  "threshold": "report only", "value": pii, "passed": None})
    return {"passed": all(r["passed"] is not False for r in rules), "rules": rules}
