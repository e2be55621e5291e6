"""`summarize_dataset`: analyze + review of a dataset as a short markdown block (step 3a)."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any


@dataclass(kw_only=True)
class DatasetSummary:
    """A markdown summary to paste into data-requirements.md, plus the numbers behind it."""

    markdown: str
    passed: bool
    analysis: dict[str, Any] = field(default_factory=dict)
    review: dict[str, Any] = field(default_factory=dict)


def _value(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.1%}" if value < 1 else f"{value:g}"
    return f"{value:,}" if isinstance(value, int) else str(value)


def render_markdown(analysis: dict[str, Any], verdict: dict[str, Any]) -> str:
    """The analysis and review as a compact markdown block (no PII values, masked or not)."""
    tokens = analysis["tokens"]
    total, response = tokens["total"], tokens["response"]
    turns = analysis["turns"]
    pii = analysis["pii"]
    found = ", ".join(f"{n} {kind}" for kind, n in pii["counts"].items() if n) or "none found"
    lines = [
        f"**Dataset** `{analysis['file']}`: format `{analysis['format']}`, {analysis['examples']:,} examples "
        f"({analysis['valid_examples']:,} valid), {analysis['size_bytes'] / 1e6:.1f} MB.",
        "",
        f"**Review: {'passed' if verdict['passed'] else 'FAILED'}**",
        "",
        "| Check | Value | Threshold | Result |",
        "| --- | --- | --- | --- |",
    ]
    for rule in verdict["rules"]:
        result = {True: "pass", False: "FAIL", None: "n/a"}[rule["passed"]]
        lines.append(f"| {rule['description']} | {_value(rule['value'])} | {rule['threshold']} | {result} |")
    lines += [
        "",
        f"- Tokens per example ({tokens['method'].split(';')[0]}): median {total['p50']:,}, "
        f"p95 {total['p95']:,}, max {total['max']:,}; responses median {response['p50']:,}.",
        f"- Turns per example: median {turns['p50']}, max {turns['max']}.",
        f"- Short responses (< {analysis['responses']['short_below_tokens']} tokens): "
        f"{analysis['responses']['short']:,}.",
        f"- PII scan: {found} (in {pii['examples_with_pii']:,} examples).",
    ]
    labels = analysis.get("labels")
    if labels:
        shares = ", ".join(f"{name}: {count:,}" for name, count in list(labels["counts"].items())[:8])
        lines.append(f"- Labels (`{labels['field']}`): {shares}.")
    return "\n".join(lines) + "\n"


def summarize_dataset(path: Path, fmt: str | None = None) -> DatasetSummary:
    """Analyze and review `path` in one streaming pass (format detected when `fmt` is None).

    Raises:
        DataError: the file cannot be read or its format cannot be detected.
        ConfigError: `fmt` is not a known format.
    """
    from workflow.data.analyze import analyze_file
    from workflow.data.review import review

    analysis, _ = analyze_file(Path(path), fmt)
    verdict = review(analysis)
    return DatasetSummary(markdown=render_markdown(analysis, verdict), passed=bool(verdict["passed"]),
                          analysis=analysis, review=verdict)
