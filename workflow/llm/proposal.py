"""A model's structured proposal, checked one field at a time (issue 14, item 2). A provider's
parser rejects the whole object when one value is wrong ("90%" for a float) or the JSON was cut
off; here every field that is valid is kept and offered, every invalid one is named with its
reason (and then asked as a normal question), and a reply that is not JSON at all says so."""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from pydantic import TypeAdapter, ValidationError

from workflow.llm.display import hidden_characters
from workflow.pack_model import FormField, Step

_TYPES: dict[str, Any] = {"str": str, "text": str, "path": str, "int": int, "float": float, "bool": bool,
                          "list": list[str]}
_TYPE_WORDS = {"str": "string", "text": "string (may be several sentences)", "path": "string (a file path)",
               "int": "integer", "float": "number", "bool": "true or false", "list": "list of strings"}


@dataclass(frozen=True, kw_only=True)
class Proposal:
    """Valid values by field, the reason each invalid one was refused, and a note when the reply
    was not (or not entirely) a JSON object."""

    values: dict[str, Any] = field(default_factory=dict)
    problems: dict[str, str] = field(default_factory=dict)
    malformed: str | None = None


def python_type(spec: FormField) -> Any:
    """The type a field's value must have; choices become Literal types."""
    if spec.type in ("choice", "multi") and spec.choices:
        options = Literal[tuple(spec.choices)]  # type: ignore[valid-type]
        return options if spec.type == "choice" else list[options]  # type: ignore[valid-type]
    return _TYPES.get(spec.type, str)


def field_spec(name: str, spec: FormField) -> str:
    """One line saying what a field takes: type, choices, bounds (for prompts without a schema)."""
    if spec.type == "choice" and spec.choices:
        kind = "one of " + ", ".join(json.dumps(c) for c in spec.choices)
    elif spec.type == "multi" and spec.choices:
        kind = "list, each one of " + ", ".join(json.dumps(c) for c in spec.choices)
    else:
        kind = _TYPE_WORDS.get(spec.type, "string")
    if spec.min is not None:
        kind += f", at least {spec.min:g}"
    if spec.max is not None:
        kind += f", at most {spec.max:g}"
    return f"- {name}: {kind} — {spec.ask or name}"


def _first_error(exc: ValidationError) -> str:
    return str(exc.errors()[0].get("msg", "invalid value")).split("[", 1)[0].strip()


def check_value(spec: FormField, value: Any) -> tuple[Any, str | None]:
    """(the value coerced to the field's type, None) or (None, the reason it is refused)."""
    try:
        coerced = TypeAdapter(python_type(spec)).validate_python(value)
    except ValidationError as exc:
        return None, _first_error(exc)
    if isinstance(coerced, (int, float)) and not isinstance(coerced, bool):
        if spec.min is not None and coerced < spec.min:
            return None, f"below the minimum {spec.min:g}"
        if spec.max is not None and coerced > spec.max:
            return None, f"above the maximum {spec.max:g}"
    texts = coerced if isinstance(coerced, list) else [coerced]
    hidden = [code for text in texts if isinstance(text, str) for code in hidden_characters(text)]
    if hidden:
        return None, "contains hidden or control characters (" + ", ".join(dict.fromkeys(hidden)) + ")"
    return coerced, None


def _salvage(text: str) -> tuple[dict[str, Any], str | None]:
    """The complete `"key": value` pairs of a JSON object, even when the object is cut off or
    broken after them; with the decoder's complaint when it is not one whole object."""
    start = text.find("{")
    if start < 0:
        return {}, "the reply is not a JSON object"
    try:
        whole = json.loads(text[start:text.rfind("}") + 1] if "}" in text else text[start:])
        if isinstance(whole, dict):
            return whole, None
    except ValueError:
        pass
    decoder = json.JSONDecoder()
    pairs: dict[str, Any] = {}
    pos, problem = start + 1, "the JSON ends early or is malformed"
    while True:
        pos = _skip(text, pos, ",")
        if pos >= len(text) or text[pos] == "}":
            break
        try:
            key, pos = decoder.raw_decode(text, pos)
            pos = _skip(text, pos)
            if pos >= len(text) or text[pos] != ":":
                break
            value, pos = decoder.raw_decode(text, _skip(text, pos + 1))
        except ValueError as exc:
            reason = getattr(exc, "msg", "invalid JSON")
            problem = f"the JSON is malformed or cut off ({reason}, character {getattr(exc, 'pos', pos)})"
            break
        if isinstance(key, str):
            pairs[key] = value
    return pairs, problem


def _skip(text: str, pos: int, also: str = "") -> int:
    while pos < len(text) and (text[pos].isspace() or text[pos] in also):
        pos += 1
    return pos


def raw_payload(raw: Any) -> tuple[dict[str, Any], str | None]:
    """The proposed object from a provider's raw reply: tool-call arguments (function calling) or
    the message text (JSON schema, JSON mode), with a note when it could not be read whole."""
    calls = getattr(raw, "tool_calls", None) or []
    if calls and isinstance(calls[0].get("args"), Mapping):
        return dict(calls[0]["args"]), None
    broken = getattr(raw, "invalid_tool_calls", None) or []
    if broken:
        return _salvage(str(broken[0].get("args") or ""))
    content = getattr(raw, "content", raw)
    if isinstance(content, list):
        content = "".join(b.get("text", "") if isinstance(b, dict) else str(b) for b in content)
    text = re.sub(r"^```(?:json)?\s*|\s*```\s*$", "", str(content or "").strip())
    if not text:
        return {}, "the model sent no values"
    return _salvage(text)


def check_proposal(step: Step, fields: Sequence[str], payload: Mapping[str, Any],
                   malformed: str | None = None) -> Proposal:
    """Each of `fields` that the payload fills, checked on its own. Empty values (null, "", [])
    mean "not answered"; keys that are not open fields are ignored."""
    values: dict[str, Any] = {}
    problems: dict[str, str] = {}
    for name in fields:
        value = payload.get(name)
        if value is None or value == "" or value == []:
            continue
        coerced, problem = check_value(step.meta.form[name], value)
        if problem is None:
            values[name] = coerced
        else:
            problems[name] = f"{json.dumps(value, ensure_ascii=True)[:80]}: {problem}"
    return Proposal(values=values, problems=problems, malformed=malformed)


__all__ = ["Proposal", "check_proposal", "check_value", "field_spec", "python_type", "raw_payload"]
