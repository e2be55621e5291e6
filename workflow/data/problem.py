"""A validation finding and how its severity is decided (DESIGN 9)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

from workflow.data.checks import CODES

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


def severity_of(code: str, *, strict: bool = False, max_tokens: int | None = None) -> Severity:
    """`--strict` makes every warning an error; `--max-tokens` makes the token limit one."""
    if strict or (code == "too_many_tokens" and max_tokens is not None):
        return "error"
    return "error" if CODES.get(code, ("error", ""))[0] == "error" else "warning"
