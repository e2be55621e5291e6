"""Checking one output against a case's assertions. Each check returns a Check; nothing
here raises for a failing output, only for a judge that cannot be built."""

from __future__ import annotations

import json
import re
import threading
from dataclasses import dataclass
from typing import Any, Protocol

from workflow.evaluation.cases import (
    Assertion,
    Case,
    Contains,
    Equals,
    IsJson,
    JsonPath,
    JsonSchema,
    LlmJudge,
    MaxLatency,
    NotContains,
    PythonCheck,
    Regex,
    Similar,
)
from workflow.evaluation.targets import Outcome

__all__ = ["Check", "ChatModelLike", "case_passed", "check_outcome", "output_text"]

_JUDGE_PROMPT = """You are grading the output of an application against a rubric.
Reply with one JSON object and nothing else: {{"pass": true or false, "reason": "<one sentence>"}}.

Rubric:
{rubric}

Input:
{input}

Expected (may be empty):
{expected}

Output:
{output}
"""


class ChatModelLike(Protocol):
    """The part of a LangChain chat model the judge uses."""

    def invoke(self, input: Any) -> Any: ...


@dataclass(frozen=True, kw_only=True)
class Check:
    type: str
    passed: bool
    detail: str = ""
    weight: float = 1.0


def case_passed(checks: list[Check], threshold: float | None) -> bool:
    """Every check passes, or with a threshold the weighted share of passing checks reaches it."""
    if threshold is None or not checks:
        return all(c.passed for c in checks)
    total = sum(c.weight for c in checks)
    return sum(c.weight for c in checks if c.passed) / total >= threshold


def output_text(output: Any) -> str:
    """The text assertions look at: strings as they are, anything else as JSON."""
    if isinstance(output, str):
        return output
    return json.dumps(output, ensure_ascii=False, sort_keys=True)


def _fold(text: str, ignore_case: bool) -> str:
    return text.casefold() if ignore_case else text


def _equals(a: Equals, output: Any, case: Case) -> Check:
    want = a.value if a.value is not None else case.expected
    if isinstance(want, str) or isinstance(output, str):
        ok = _fold(output_text(output).strip(), a.ignore_case) == _fold(output_text(want).strip(), a.ignore_case)
    else:
        ok = output == want
    return Check(type="equals", passed=ok, detail="" if ok else f"expected {output_text(want)[:80]!r}")


def _contains(a: Contains, output: Any, case: Case) -> Check:
    want = a.value if a.value is not None else case.expected
    if want is None:
        return Check(type="contains", passed=False, detail="no value and no expected to look for")
    ok = _fold(output_text(want), a.ignore_case) in _fold(output_text(output), a.ignore_case)
    return Check(type="contains", passed=ok, detail="" if ok else f"{output_text(want)[:80]!r} not found")


def _not_contains(a: NotContains, output: Any) -> Check:
    ok = _fold(a.value, a.ignore_case) not in _fold(output_text(output), a.ignore_case)
    return Check(type=a.type, passed=ok, detail="" if ok else f"{a.value[:80]!r} found")


def _as_json(output: Any) -> tuple[bool, Any]:
    if not isinstance(output, str):
        return isinstance(output, dict | list), output
    try:
        return True, json.loads(output)
    except json.JSONDecodeError:
        return False, None


def _json_path(a: JsonPath, output: Any) -> Check:
    ok, current = _as_json(output)
    if not ok:
        return Check(type=a.type, passed=False, detail="output is not JSON")
    for part in a.path.split("."):
        if isinstance(current, dict) and part in current:
            current = current[part]
        elif isinstance(current, list) and part.lstrip("-").isdigit() and -len(current) <= int(part) < len(current):
            current = current[int(part)]
        else:
            return Check(type=a.type, passed=False, detail=f"no '{part}' in the output (path {a.path})")
    if a.value is not None and current != a.value:
        return Check(type=a.type, passed=False, detail=f"{a.path} is {output_text(current)[:60]!r}, "
                                                     f"expected {output_text(a.value)[:60]!r}")
    return Check(type=a.type, passed=True)


_functions: dict[str, Any] = {}


def _python(a: PythonCheck, output: Any, case: Case) -> Check:
    import importlib
    import os
    import sys

    try:
        fn = _functions.get(a.function)
        if fn is None:
            module_name, attr = a.function.split(":")
            if os.getcwd() not in sys.path:
                sys.path.insert(0, os.getcwd())
            fn = _functions[a.function] = getattr(importlib.import_module(module_name), attr)
        result = fn(output, case.model_dump(mode="json"))
    except Exception as exc:  # the user's check failing is this check failing, not the run
        return Check(type=a.type, passed=False, detail=f"{a.function} raised {type(exc).__name__}: {exc}"[:200])
    if isinstance(result, dict) and isinstance(result.get("pass"), bool):
        return Check(type=a.type, passed=result["pass"], detail=str(result.get("reason", ""))[:200])
    if isinstance(result, bool):
        return Check(type=a.type, passed=result, detail="" if result else f"{a.function} returned False")
    return Check(type=a.type, passed=False, detail=f"{a.function} returned {type(result).__name__}, "
                                                  "not a bool or {'pass': bool, 'reason': str}")


def _regex(a: Regex, output: Any) -> Check:
    try:
        ok = re.search(a.pattern, output_text(output), re.IGNORECASE if a.ignore_case else 0) is not None
    except re.error as exc:
        return Check(type="regex", passed=False, detail=f"invalid pattern: {exc}")
    return Check(type="regex", passed=ok, detail="" if ok else f"no match for /{a.pattern}/")


def _json_schema(a: JsonSchema, output: Any) -> Check:
    import jsonschema

    value = output
    if isinstance(output, str):
        try:
            value = json.loads(output)
        except json.JSONDecodeError:
            return Check(type="json-schema", passed=False, detail="output is not JSON")
    try:
        jsonschema.validate(value, a.json_schema)
    except jsonschema.ValidationError as exc:
        where = "/".join(str(p) for p in exc.absolute_path) or "(root)"
        return Check(type="json-schema", passed=False, detail=f"{where}: {exc.message}"[:200])
    except jsonschema.SchemaError as exc:
        return Check(type="json-schema", passed=False, detail=f"invalid schema: {exc.message}"[:200])
    return Check(type="json-schema", passed=True)


def _judge(a: LlmJudge, output: Any, case: Case, judge: ChatModelLike | None) -> Check:
    if judge is None:  # the CLI refuses such runs up front; this guards library callers
        return Check(type="llm-judge", passed=False, detail="no judge model configured")
    prompt = _JUDGE_PROMPT.format(
        rubric=a.rubric, input=output_text(case.input), expected=output_text(case.expected or ""),
        output=output_text(output),
    )
    try:
        reply = judge.invoke(prompt)
    except Exception as exc:  # a judge outage fails this check, not the run
        return Check(type="llm-judge", passed=False, detail=f"judge call failed: {type(exc).__name__}: {exc}"[:200])
    text = getattr(reply, "content", reply)
    text = text if isinstance(text, str) else output_text(text)
    match = re.search(r"\{.*\}", text, re.DOTALL)
    try:
        verdict = json.loads(match.group(0)) if match else None
    except json.JSONDecodeError:
        verdict = None
    if not isinstance(verdict, dict) or not isinstance(verdict.get("pass"), bool):
        return Check(type="llm-judge", passed=False, detail=f"judge reply not understood: {text[:80]!r}")
    return Check(type="llm-judge", passed=verdict["pass"], detail=str(verdict.get("reason", ""))[:200])


_EMBEDDING = threading.Lock()  # one encoder, shared by the run's worker threads


def _similar(a: Similar, output: Any, case: Case) -> Check:
    reference = a.value if a.value is not None else (None if case.expected is None else output_text(case.expected))
    if not reference or not reference.strip():
        return Check(type=a.type, passed=False, detail="no reference text: give the assertion a value or the "
                                                       "case an expected")
    from workflow.knowledge.dense import encoder

    with _EMBEDDING:
        vectors = encoder().encode([output_text(output), reference], threads=1)
    similarity = float(vectors[0] @ vectors[1])
    passed = similarity >= a.threshold
    return Check(type=a.type, passed=passed,
                 detail=f"similarity {similarity:.2f} {'>=' if passed else '<'} {a.threshold:.2f}")


def _check(a: Assertion, outcome: Outcome, case: Case, judge: ChatModelLike | None) -> Check:
    check = _check_one(a, outcome, case, judge)
    return Check(type=check.type, passed=check.passed, detail=check.detail, weight=a.weight)


def _check_one(a: Assertion, outcome: Outcome, case: Case, judge: ChatModelLike | None) -> Check:
    if isinstance(a, MaxLatency):
        ok = outcome.latency_ms <= a.value
        return Check(type=a.type, passed=ok, detail="" if ok else f"{outcome.latency_ms:.0f} ms > {a.value:g} ms")
    if outcome.error is not None:
        return Check(type=a.type, passed=False, detail="target failed")
    if isinstance(a, Equals):
        return _equals(a, outcome.output, case)
    if isinstance(a, Contains):
        return _contains(a, outcome.output, case)
    if isinstance(a, NotContains):
        return _not_contains(a, outcome.output)
    if isinstance(a, Regex):
        return _regex(a, outcome.output)
    if isinstance(a, IsJson):
        ok = _as_json(outcome.output)[0]
        return Check(type=a.type, passed=ok, detail="" if ok else "output is not JSON")
    if isinstance(a, JsonPath):
        return _json_path(a, outcome.output)
    if isinstance(a, PythonCheck):
        return _python(a, outcome.output, case)
    if isinstance(a, JsonSchema):
        return _json_schema(a, outcome.output)
    if isinstance(a, Similar):
        return _similar(a, outcome.output, case)
    return _judge(a, outcome.output, case, judge)


def check_outcome(outcome: Outcome, case: Case, judge: ChatModelLike | None = None) -> list[Check]:
    """Run every assertion of `case` on `outcome` (a case with only `expected` uses equals)."""
    return [_check(a, outcome, case, judge) for a in case.effective_assertions()]
