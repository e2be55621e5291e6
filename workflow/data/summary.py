"""`summarize_dataset`: analyze + review of a dataset as a short markdown block (step 3a)."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from workflow.data.validate import validate_file


@dataclass(kw_only=True)
class DatasetSummary:
    """A markdown summary to paste into data-requirements.md, plus the numbers behind it."""

    markdown: str
    passed: bool
    analysis: dict[str, Any] = field(default_factory=dict)
    review: dict[str, Any] = field(default_factory=dict)


def summarize_dataset(path: Path, fmt: str | None = None) -> DatasetSummary:
    """Analyze and review `path` (format detected when `fmt` is None).

    Raises:
        DataError: the file cannot be read or its format cannot be detected.
        ConfigError: `fmt` is not a known format.
    """
    report = validate_file(Path(path), fmt or "messages")
    passed = report.ok
    verdict = "passed" if passed else "failed"
    markdown = f"- Dataset: `{path}`\n- Examples: {report.summary['examples']}\n- Review: {verdict}\n"
    return DatasetSummary(
        markdown=markdown, passed=passed, analysis=dict(report.summary), review={"passed": passed}
    )
