"""Evaluation cases: one JSON object per line with `input`, optional `id`, `expected` and
`assertions`. Parsed into pydantic models that reject unknown keys."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from workflow.errors import DataError

__all__ = [
    "Assertion",
    "Case",
    "Contains",
    "Equals",
    "JsonSchema",
    "LlmJudge",
    "MaxLatency",
    "Regex",
    "canonical_json",
    "load_cases",
]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)


class Equals(_Strict):
    """Output equals `value` (the case's `expected` when omitted); strings compare stripped."""

    type: Literal["equals"]
    value: Any = None
    ignore_case: bool = False


class Contains(_Strict):
    """Output text contains `value` (the case's `expected` when omitted)."""

    type: Literal["contains"]
    value: str | None = None
    ignore_case: bool = False


class Regex(_Strict):
    """Output text matches `pattern` (re.search)."""

    type: Literal["regex"]
    pattern: str
    ignore_case: bool = False


class JsonSchema(_Strict):
    """Output (parsed as JSON when it is text) validates against `schema`."""

    type: Literal["json-schema"]
    json_schema: dict[str, Any] = Field(alias="schema")


class MaxLatency(_Strict):
    """The call took at most `value` milliseconds."""

    type: Literal["max-latency-ms"]
    value: float = Field(gt=0)


class LlmJudge(_Strict):
    """The configured chat model judges the output against `rubric`."""

    type: Literal["llm-judge"]
    rubric: str = Field(min_length=1)


Assertion = Annotated[Equals | Contains | Regex | JsonSchema | MaxLatency | LlmJudge, Field(discriminator="type")]


class Case(_Strict):
    """One evaluation case. `line` is where it came from (1-based), for messages."""

    id: str | None = None
    input: Any
    expected: Any = None
    assertions: list[Assertion] = Field(default_factory=list)
    line: int = Field(default=0, exclude=True)

    @field_validator("id", mode="before")
    @classmethod
    def _id_as_text(cls, value: Any) -> Any:
        # Integer ids (1, 2, 3) are common in spreadsheets and promptfoo files; they pair as text.
        return str(value) if isinstance(value, int) and not isinstance(value, bool) else value

    @property
    def key(self) -> str:
        """The id used to pair this case across runs."""
        return self.id if self.id is not None else "c-" + hashlib.sha256(
            canonical_json(self.input).encode("utf-8")
        ).hexdigest()[:10]

    def effective_assertions(self) -> list[Assertion]:
        """The case's assertions; a case with only `expected` is checked with `equals`."""
        if not self.assertions and self.expected is not None:
            return [Equals(type="equals", value=self.expected)]
        return list(self.assertions)

    @property
    def uses_judge(self) -> bool:
        return any(isinstance(a, LlmJudge) for a in self.assertions)


def canonical_json(value: Any) -> str:
    """Stable JSON text for hashing: sorted keys, no whitespace."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)


def _problem(err: Any) -> str:
    loc = ".".join(str(p) for p in err["loc"] if not str(p).startswith(("function-", "tagged-union")))
    return f"field '{loc}': {err['msg']}" if loc else err["msg"]


def load_cases(path: Path) -> list[Case]:
    """Read a cases JSONL file; blank lines and lines starting with '//' are skipped.

    Raises DataError naming the file, the line and the fix: missing file, invalid JSON,
    unknown or missing fields, duplicate ids, or no cases at all.
    """
    if not path.is_file():
        raise DataError(f"{path}: cases file not found (expected JSON Lines with an 'input' per line)")
    cases: list[Case] = []
    seen: dict[str, int] = {}
    with path.open(encoding="utf-8") as fh:
        for lineno, raw in enumerate(fh, start=1):
            text = raw.strip()
            if not text or text.startswith("//"):
                continue
            try:
                obj = json.loads(text)
            except json.JSONDecodeError as exc:
                raise DataError(f"{path}:{lineno}: not valid JSON ({exc.msg}); write one JSON object per line") \
                    from None
            if not isinstance(obj, dict):
                raise DataError(f"{path}:{lineno}: expected a JSON object with an 'input' field")
            if "line" in obj:
                raise DataError(f"{path}:{lineno}: field 'line': not a case field; remove it")
            try:
                case = Case.model_validate({**obj, "line": lineno})
            except ValidationError as exc:
                raise DataError(f"{path}:{lineno}: {_problem(exc.errors()[0])}") from None
            if case.key in seen:
                raise DataError(
                    f"{path}:{lineno}: duplicate case id '{case.key}' (also line {seen[case.key]}); "
                    "give each case a distinct 'id'"
                )
            seen[case.key] = lineno
            cases.append(case)
    if not cases:
        raise DataError(f"{path}: no cases found; add one JSON object per line with an 'input' field")
    return cases
