"""`validate_file`: format errors per line with a stable code, warnings, token statistics (DESIGN 9)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from workflow.data.formats import DatasetFormat, resolve_format
from workflow.data.problem import Problem, Severity
from workflow.data.scan import ScanOptions, ScanResult, scan_file

__all__ = ["Problem", "Severity", "ValidationReport", "validate_file", "summary_of"]


@dataclass(kw_only=True)
class ValidationReport:
    """What `validate_file` found. `problems` holds the first 10,000 problems in file order;
    `summary` counts all of them and holds the token statistics."""

    path: Path
    format: DatasetFormat
    problems: list[Problem] = field(default_factory=list)
    summary: dict[str, Any] = field(default_factory=dict)

    @property
    def errors(self) -> list[Problem]:
        return [p for p in self.problems if p.severity == "error"]

    @property
    def warnings(self) -> list[Problem]:
        return [p for p in self.problems if p.severity == "warning"]

    @property
    def ok(self) -> bool:
        """True when the file has no errors (warnings allowed)."""
        return int(self.summary.get("errors", 0)) == 0


def summary_of(result: ScanResult) -> dict[str, Any]:
    """The `{"summary": ...}` object of DESIGN 4.2: counts and token statistics."""
    import numpy as np

    from workflow.data import tokens
    from workflow.data.distribution import distribution

    options = result.options
    prompt = np.frombuffer(result.prompt_tokens, np.uint32).astype(np.int64)
    response = np.frombuffer(result.response_tokens, np.uint32).astype(np.int64)
    return {
        "file": str(result.path),
        "format": str(options.fmt),
        "lines": result.lines,
        "examples": result.examples,
        "valid_examples": result.valid,
        "errors": result.errors,
        "warnings": result.warnings,
        "by_code": dict(sorted(result.code_counts.items())),
        "problems_not_kept": result.problems_dropped,
        "tokens": {
            "method": tokens.method(options.tokenizer),
            "limit": options.token_limit,
            "limit_is_error": options.max_tokens is not None or options.strict,
            "sum": int(prompt.sum() + response.sum()),
            "total": distribution(prompt + response),
            "prompt": distribution(prompt),
            "response": distribution(response),
        },
    }


def validate_file(
    path: Path,
    fmt: str,
    *,
    max_tokens: int | None = None,
    tokenizer: str | None = None,
    strict: bool = False,
    on_problem: Callable[[Problem], None] | None = None,
    advance: Callable[[int], None] | None = None,
    jobs: int | None = None,
) -> ValidationReport:
    """Check every line of a JSONL file against `fmt` ("auto" detects it); the file is never modified.

    `on_problem` sees every problem in file order (the report keeps the first 10,000);
    `advance` receives byte counts for a progress bar; `jobs` caps worker processes.

    Raises:
        DataError: the file cannot be opened or read, the tokenizer folder is unusable, or
            `fmt` is "auto" and the format cannot be told.
        ConfigError: `fmt` is not a known format.
        MissingExtra: a tokenizer was given but its library is not installed.
    """
    dataset_format = resolve_format(fmt, path)
    options = ScanOptions(fmt=dataset_format, max_tokens=max_tokens, strict=strict, tokenizer=tokenizer,
                          pii=False, duplicates=False)
    result = scan_file(Path(path), options, on_problem=on_problem, advance=advance, jobs=jobs)
    return ValidationReport(path=Path(path), format=dataset_format, problems=result.problems,
                            summary=summary_of(result))
