"""Answers that arrive over MCP are JSON, so each must already have its field's JSON type: a
text field takes a string (never an object turned into its Python repr), a number field a
number, a choice one of its choices by value (never by its position in the list). The terminal
and answers files keep their friendlier parsing (`forms.coerce`); this check runs before it."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from workflow.pack_model import FormField

_JSON = {"str": "a string", "text": "a string", "path": "a string (a file path)", "int": "a whole number",
         "float": "a number", "bool": "true or false", "choice": "one of the choices, as a string",
         "multi": "a list of choices (strings)", "list": "a list of strings"}


def type_problem(name: str, spec: FormField, value: Any) -> str | None:
    """Why `value` does not have the JSON type of field `name` (None when it does)."""
    kind = spec.type
    wanted = f"{name}: give {_JSON.get(kind, kind)}"
    if value is None:
        return None  # "no answer": the engine says whether the field is required
    if kind in ("str", "text", "path"):
        return None if isinstance(value, str) else f"{wanted}, not {_json_name(value)}"
    if kind == "int":
        ok = isinstance(value, int) and not isinstance(value, bool)
        ok = ok or (isinstance(value, float) and value.is_integer())
        return None if ok else f"{wanted}, not {_json_name(value)}"
    if kind == "float":
        return None if isinstance(value, int | float) and not isinstance(value, bool) else \
            f"{wanted}, not {_json_name(value)}"
    if kind == "bool":
        return None if isinstance(value, bool) else f"{wanted}, not {_json_name(value)}"
    if kind == "choice":
        return _choice_problem(name, spec, value)
    if kind in ("multi", "list"):
        if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
            return f"{wanted}, not {_json_name(value)}"
        if kind == "multi":
            bad = next((item for item in value if _choice_problem(name, spec, item)), None)
            if bad is not None:
                return _choice_problem(name, spec, bad)
    return None


def split_answers(form: Mapping[str, FormField], answers: Mapping[str, Any]) -> tuple[dict[str, Any], dict[str, str]]:
    """(answers of the right JSON type, {field: problem} for the others). Fields the step does not
    have pass through: the engine names them."""
    good: dict[str, Any] = {}
    errors: dict[str, str] = {}
    for name, value in answers.items():
        spec = form.get(name)
        problem = type_problem(name, spec, value) if spec is not None else None
        if problem is None:
            good[name] = value
        else:
            errors[name] = problem
    return good, errors


def _choice_problem(name: str, spec: FormField, value: Any) -> str | None:
    choices = spec.choices or []
    listed = ", ".join(choices)
    if not isinstance(value, str):
        return f"{name}: give one of the choices by value ({listed}), not {_json_name(value)}"
    folded = {choice.casefold(): choice for choice in choices}
    if value.strip().casefold() in folded:
        return None
    if value.strip().isdigit():
        return f"{name}: '{value}' is not one of the choices ({listed}); give the choice itself, not its number"
    return f"{name}: '{value}' is not one of the choices ({listed})"


def _json_name(value: Any) -> str:
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int | float):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list):
        return "a list" if not value or all(isinstance(v, str) for v in value) else "a list with non-strings"
    if isinstance(value, dict):
        return "an object"
    return type(value).__name__


__all__ = ["split_answers", "type_problem"]
