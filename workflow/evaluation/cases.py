"""Evaluation cases: one JSON object per line with `input`, optional `id`, `expected`,
`assertions` and `threshold` (JSON Lines), or the same objects as a YAML list, or CSV rows
with `input`, `id`, `expected` and `assertions` (JSON text) columns. Parsed into pydantic
models that reject unknown keys."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from workflow.errors import DataError

__all__ = [
    "Assertion",
    "Case",
    "Contains",
    "Equals",
    "IsJson",
    "JsonPath",
    "JsonSchema",
    "LlmJudge",
    "MaxLatency",
    "NotContains",
    "PythonCheck",
    "Regex",
    "Similar",
    "canonical_json",
    "load_cases",
]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    # How much the check counts toward a case's score when the case sets a `threshold`.
    weight: float = Field(default=1.0, gt=0)


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


class NotContains(_Strict):
    """Output text does not contain `value`."""

    type: Literal["not-contains"]
    value: str
    ignore_case: bool = False


class IsJson(_Strict):
    """Output is JSON (a dict or list result, or text that parses as JSON)."""

    type: Literal["is-json"]


class JsonPath(_Strict):
    """The value at a dotted `path` of the JSON output ("answer.category", "items.0.name")
    equals `value`, or merely exists when `value` is omitted."""

    type: Literal["json-path"]
    path: str = Field(min_length=1)
    value: Any = None


class PythonCheck(_Strict):
    """`function` ("module:function", importable from the current folder) is called with the
    output and the case as a dict; it returns a bool, or {"pass": bool, "reason": str}."""

    type: Literal["python"]
    function: str = Field(pattern=r"^[A-Za-z_][\w.]*:[A-Za-z_]\w*$")


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


class Similar(_Strict):
    """The output means much the same as `value` (the case's `expected` when omitted): the cosine
    similarity of their all-MiniLM-L6-v2 embeddings (the `dense` extra) is at least `threshold`."""

    type: Literal["similar"]
    value: str | None = None
    threshold: float = Field(default=0.75, gt=0, le=1)


Assertion = Annotated[
    Equals | Contains | NotContains | Regex | IsJson | JsonPath | JsonSchema | MaxLatency | LlmJudge | PythonCheck
    | Similar,
    Field(discriminator="type"),
]


class Case(_Strict):
    """One evaluation case. `line` is where it came from (1-based), for messages."""

    id: str | None = None
    input: Any
    expected: Any = None
    assertions: list[Assertion] = Field(default_factory=list)
    # With a threshold, a case passes when the weighted share of passing checks reaches it;
    # without one, every check must pass.
    threshold: float | None = Field(default=None, ge=0, le=1)
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

    @property
    def uses_similarity(self) -> bool:
        return any(isinstance(a, Similar) for a in self.assertions)


def canonical_json(value: Any) -> str:
    """Stable JSON text for hashing: sorted keys, no whitespace."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)


def _problem(err: Any) -> str:
    loc = ".".join(str(p) for p in err["loc"] if not str(p).startswith(("function-", "tagged-union")))
    return f"field '{loc}': {err['msg']}" if loc else err["msg"]


def _rows(path: Path) -> Iterator[tuple[int, Any]]:
    """(line, object) for each case in a JSONL, YAML or CSV file. Raises DataError for text
    that is not valid in its format."""
    suffix = path.suffix.lower()
    if suffix in {".yaml", ".yml"}:
        import yaml

        try:
            data = yaml.safe_load(path.read_text(encoding="utf-8"))
        except yaml.YAMLError as exc:
            mark = getattr(exc, "problem_mark", None)
            where = f":{mark.line + 1}" if mark is not None else ""
            raise DataError(f"{path}{where}: not valid YAML; write a list of cases (- input: ...)") from None
        if data is None:
            return
        if not isinstance(data, list):
            raise DataError(f"{path}: expected a YAML list of cases (- input: ...), got a {type(data).__name__}")
        yield from ((i, item) for i, item in enumerate(data, start=1))
        return
    if suffix == ".csv":
        import csv

        with path.open(encoding="utf-8", newline="") as fh:
            reader = csv.DictReader(fh)
            if reader.fieldnames is None or "input" not in reader.fieldnames:
                raise DataError(f"{path}:1: a CSV cases file needs an 'input' column (and optionally id, expected, "
                                "assertions as JSON text)")
            for row in reader:
                line = reader.line_num
                obj: dict[str, Any] = {k: v for k, v in row.items() if k and v not in (None, "")}
                if "assertions" in obj:
                    try:
                        obj["assertions"] = json.loads(obj["assertions"])
                    except json.JSONDecodeError as exc:
                        raise DataError(f"{path}:{line}: column 'assertions': not valid JSON ({exc.msg})") from None
                yield line, obj
        return
    with path.open(encoding="utf-8") as fh:
        for lineno, raw in enumerate(fh, start=1):
            text = raw.strip()
            if not text or text.startswith("//"):
                continue
            try:
                yield lineno, json.loads(text)
            except json.JSONDecodeError as exc:
                raise DataError(f"{path}:{lineno}: not valid JSON ({exc.msg}); write one JSON object per line") \
                    from None


def load_cases(path: Path) -> list[Case]:
    """Read a cases file: JSON Lines (blank lines and lines starting with '//' are skipped),
    a YAML list (`.yaml`/`.yml`, numbered by item) or CSV (`.csv`, numbered by line).

    Raises DataError naming the file, the line and the fix: missing file, invalid JSON,
    unknown or missing fields, duplicate ids, or no cases at all.
    """
    if not path.is_file():
        raise DataError(f"{path}: cases file not found (expected JSON Lines with an 'input' per line)")
    unit = "item " if path.suffix.lower() in {".yaml", ".yml"} else ""
    also = unit or "line "
    cases: list[Case] = []
    seen: dict[str, int] = {}
    for lineno, obj in _rows(path):
        where = f"{path}:{unit}{lineno}"
        if not isinstance(obj, dict):
            raise DataError(f"{where}: expected a JSON object with an 'input' field")
        if "line" in obj:
            raise DataError(f"{where}: field 'line': not a case field; remove it")
        try:
            case = Case.model_validate({**obj, "line": lineno})
        except ValidationError as exc:
            raise DataError(f"{where}: {_problem(exc.errors()[0])}") from None
        if case.key in seen:
            raise DataError(
                f"{where}: duplicate case id '{case.key}' (also {also}{seen[case.key]}); give each case a distinct 'id'"
            )
        seen[case.key] = lineno
        cases.append(case)
    if not cases:
        raise DataError(f"{path}: no cases found; add one JSON object per line with an 'input' field")
    return cases
