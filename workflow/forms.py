"""Form fields: which to ask next, and turning typed text or YAML values into checked answers."""

from __future__ import annotations

import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml

from workflow.expressions import evaluate
from workflow.pack_model import FormField

_TRUE = {"y", "yes", "true", "1", "on", "はい", "はい。"}
_FALSE = {"n", "no", "false", "0", "off", "いいえ", "いいえ。"}


class FieldValueError(ValueError):
    """The value does not fit the field; the message says what would."""


def active(spec: FormField, variables: Mapping[str, Any]) -> bool:
    return spec.when is None or evaluate(spec.when, variables)


def coerce(name: str, spec: FormField, raw: Any) -> Any:
    """Check `raw` (text typed by a user, or a YAML value from an answers file) against the field.

    Raises FieldValueError with a message naming the field and what it accepts.
    """
    kind = spec.type
    if isinstance(raw, str) and kind not in ("str", "text", "path", "choice"):
        text = raw.strip()
        if kind in ("list", "multi"):
            raw = _parse_list(text)
        elif kind == "bool":
            if text.lower() in _TRUE:
                raw = True
            elif text.lower() in _FALSE:
                raw = False
            else:
                raise FieldValueError(f"{name}: answer yes or no")
        elif kind in ("int", "float"):
            raw = _parse_number(name, spec, text) if text else None
        else:
            try:
                raw = yaml.safe_load(text) if text else None
            except yaml.YAMLError:
                raise FieldValueError(f"{name}: '{text}' is not a {kind}") from None
    if raw is None or raw == "":
        raise FieldValueError(f"{name}: an answer is required")
    if kind in ("str", "text"):
        value: Any = str(raw).strip() if kind == "str" else str(raw).rstrip()
        _check_length(name, spec, len(value), "characters")
        if not value.strip():
            raise FieldValueError(f"{name}: an answer is required")
        return value
    if kind == "int":
        if isinstance(raw, bool) or not isinstance(raw, int):
            if isinstance(raw, float) and raw.is_integer():
                raw = int(raw)
            else:
                raise FieldValueError(f"{name}: '{raw}' is not a whole number (write e.g. 40000, 40,000 or 40k)")
        _check_range(name, spec, raw)
        return raw
    if kind == "float":
        if isinstance(raw, bool) or not isinstance(raw, int | float):
            raise FieldValueError(f"{name}: '{raw}' is not a number (write e.g. 0.9, 1.5M or 3%)")
        _check_range(name, spec, float(raw))
        return float(raw)
    if kind == "bool":
        if not isinstance(raw, bool):
            raise FieldValueError(f"{name}: answer yes or no")
        return raw
    if kind == "choice":
        choices = spec.choices or []
        text = str(raw).strip()
        matched = _match_choice(text, choices)
        if matched is None:
            raise FieldValueError(f"{name}: '{text}' is not one of: {', '.join(choices)}")
        return matched
    if kind in ("list", "multi"):
        if isinstance(raw, str):
            raw = _parse_list(raw)
        if not isinstance(raw, list):
            raise FieldValueError(f"{name}: expected a list (one item per line)")
        items = [str(item).strip() for item in raw if str(item).strip()]
        if kind == "multi":
            choices = spec.choices or []
            out = []
            for item in items:
                matched = _match_choice(item, choices)
                if matched is None:
                    raise FieldValueError(f"{name}: '{item}' is not one of: {', '.join(choices)}")
                out.append(matched)
            items = out
        _check_length(name, spec, len(items), "items")
        return items
    if kind == "path":
        path = Path(str(raw).strip()).expanduser()
        resolved = path.resolve()
        if not resolved.exists():
            raise FieldValueError(f"{name}: {path} does not exist; give the path of an existing file")
        return str(resolved)
    raise FieldValueError(f"{name}: unsupported field type {kind}")


_EMPTY: dict[str, Any] = {"str": "", "text": "", "path": "", "choice": "", "list": [], "multi": []}


def empty_value(spec: FormField) -> Any:
    """What an optional field holds when left blank ("" or [], None for numbers and booleans)."""
    return _EMPTY.get(spec.type)


def answer_value(name: str, spec: FormField, reply: Any, default: Any) -> Any:
    """The value a reply gives a field: a blank reply takes `default`, else the field's empty
    value when optional; anything else is coerced.

    Raises:
        FieldValueError: the reply does not fit the field (the message says how to fix it).
    """
    blank = reply is None or (isinstance(reply, str) and not reply.strip())
    # An optional field left empty before offers that empty value again when revisited: Enter
    # keeps it empty (it is never refused as missing).
    if blank and default is not None and default != "" and default != []:
        return coerce(name, spec, default)
    if blank and not spec.required:
        return empty_value(spec)
    return coerce(name, spec, reply)


def default_for(spec: FormField, prefill: Mapping[str, Any], name: str) -> Any:
    """The value offered when the user just presses Enter: an earlier answer, else the default."""
    if name in prefill:
        return prefill[name]
    return spec.default


_THOUSANDS = re.compile(r"^[+-]?\d{1,3}(?:[,_ ]\d{3})+(?:\.\d+)?$")
_SCALED = re.compile(r"^([+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:e[+-]?\d+)?)\s*(k|m|mm|b|bn|%)?$", re.IGNORECASE)
_SCALE = {"k": 1e3, "m": 1e6, "mm": 1e6, "b": 1e9, "bn": 1e9}


def _parse_number(name: str, spec: FormField, text: str) -> int | float | str:
    """Numbers as people write them: 40000, 40,000, 40k, 1.5M, 2bn, 3%, 1e-4, $3,000.
    A percentage goes into a fraction field (max <= 1) as a fraction, elsewhere as the number.
    Anything else comes back as text, which the type check then refuses with an example."""
    cleaned = text.strip().lstrip("$€£¥").strip()
    if _THOUSANDS.match(cleaned):
        cleaned = re.sub(r"[,_ ]", "", cleaned)
    match = _SCALED.match(cleaned.replace("_", ""))
    if not match:
        return text
    number = float(match.group(1))
    suffix = (match.group(2) or "").lower()
    if suffix == "%":
        if spec.max is not None and spec.max <= 1:
            number /= 100
    elif suffix:
        number *= _SCALE[suffix]
    if spec.type == "int" and number.is_integer():
        return int(number)
    return number


def _parse_list(text: str) -> list[str]:
    """Typed list answers: one item per line. A single line may be a YAML list (`[a, b]`), items
    separated by `;`, or a comma-separated list of single words (`q_proj, v_proj`); a comma inside
    a phrase or a number (`the 1,000-email set`) never splits an item."""
    text = text.strip()
    if text.startswith("["):
        try:
            loaded = yaml.safe_load(text)
        except yaml.YAMLError:
            loaded = None
        if isinstance(loaded, list):
            return [str(x) for x in loaded]
    if text.lower() in ("", "none", "-"):
        return []
    if "\n" in text:
        return [line.strip().lstrip("-*• ").strip() for line in text.splitlines() if line.strip()]
    if ";" in text:
        return [part.strip() for part in text.split(";") if part.strip()]
    parts = [part.strip() for part in text.split(",")]
    if len(parts) > 1 and all(parts) and not any(re.search(r"\s", p) for p in parts) \
            and not re.search(r"\d,\d{3}", text):
        return parts
    return [text]


def _normal(text: str) -> str:
    return re.sub(r"[\s_-]+", "", text.lower())


def _match_choice(text: str, choices: list[str]) -> str | None:
    """A choice matched ignoring case, spaces, '-' and '_' (`near duplicate` = `near-duplicate`),
    or by its number in the list."""
    wanted = _normal(text)
    for choice in choices:
        if _normal(choice) == wanted:
            return choice
    if text.isdigit() and 1 <= int(text) <= len(choices):
        return choices[int(text) - 1]
    return None


def _check_range(name: str, spec: FormField, value: float) -> None:
    if spec.min is not None and value < spec.min:
        raise FieldValueError(f"{name}: {value} is below the minimum {spec.min:g}")
    if spec.max is not None and value > spec.max:
        raise FieldValueError(f"{name}: {value} is above the maximum {spec.max:g}")


def _check_length(name: str, spec: FormField, size: int, unit: str) -> None:
    if spec.min is not None and size < spec.min:
        raise FieldValueError(f"{name}: needs at least {spec.min:g} {unit}")
    if spec.max is not None and size > spec.max:
        raise FieldValueError(f"{name}: at most {spec.max:g} {unit}")
