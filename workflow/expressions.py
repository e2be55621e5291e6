"""Safe conditions and templates: jinja2's sandbox, never eval (DESIGN 3.3)."""

from __future__ import annotations

from collections.abc import Mapping
from functools import lru_cache
from pathlib import Path
from typing import Any

from jinja2 import TemplateError, Undefined
from jinja2.sandbox import ImmutableSandboxedEnvironment

_ENV = ImmutableSandboxedEnvironment(undefined=Undefined, keep_trailing_newline=True)


class ExpressionError(ValueError):
    """An expression or template that does not parse or cannot be evaluated."""


@lru_cache(maxsize=512)
def _compiled(expression: str) -> Any:
    try:
        return _ENV.compile_expression(expression)
    except TemplateError as exc:
        raise ExpressionError(f"cannot parse expression {expression!r}: {exc}") from None


def check_expression(expression: str) -> None:
    """Raise ExpressionError when `expression` does not parse."""
    _compiled(expression)


def evaluate(expression: str, variables: Mapping[str, Any]) -> bool:
    """Evaluate a condition such as `architecture == 'rag-only'` to a bool."""
    try:
        result = _compiled(expression)(**variables)
    except TemplateError as exc:
        raise ExpressionError(f"cannot evaluate {expression!r}: {exc}") from None
    if isinstance(result, Undefined):
        return False
    return bool(result)


def render_string(text: str, variables: Mapping[str, Any]) -> str:
    """Render a short inline template (decision choices, story titles)."""
    try:
        return _ENV.from_string(text).render(**variables)
    except TemplateError as exc:
        raise ExpressionError(f"cannot render {text!r}: {exc}") from None


def check_template_source(source: str, name: str) -> None:
    try:
        _ENV.parse(source, name=name)
    except TemplateError as exc:
        line = getattr(exc, "lineno", None)
        where = f" line {line}" if line else ""
        raise ExpressionError(f"{name}{where}: {exc}") from None


@lru_cache(maxsize=128)
def _template(path: Path, mtime: float) -> Any:
    return _ENV.from_string(path.read_text(encoding="utf-8"))


def render_template(path: Path, variables: Mapping[str, Any]) -> str:
    """Render a template file in the sandbox. Raises ExpressionError."""
    try:
        return str(_template(path, path.stat().st_mtime).render(**variables))
    except TemplateError as exc:
        line = getattr(exc, "lineno", None)
        where = f" line {line}" if line else ""
        raise ExpressionError(f"{path.name}{where}: {exc}") from None


__all__ = ["ExpressionError", "check_expression", "check_template_source",
           "evaluate", "render_string", "render_template"]
