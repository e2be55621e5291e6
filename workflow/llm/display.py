"""Showing model text to the user safely: Rich markup in it is escaped (so `[/bold]` cannot crash
the terminal and `[hidden text]` cannot vanish), and control or invisible format characters are
shown as visible `\\uXXXX` codes, so what the user confirms is exactly what they saw."""

from __future__ import annotations

import unicodedata

from rich.markup import escape

_KEPT = frozenset("\n\t")


def _hidden(ch: str) -> bool:
    # Cc: control (ESC, BEL, CR...); Cf: format (zero-width space, bidi overrides); Co/Cs: private, surrogates.
    return ch not in _KEPT and unicodedata.category(ch) in ("Cc", "Cf", "Co", "Cs")


def hidden_characters(text: str) -> list[str]:
    """The control and invisible characters in `text`, as `U+XXXX` codes (each once, in order)."""
    seen: dict[str, None] = {}
    for ch in text:
        if _hidden(ch):
            seen.setdefault(f"U+{ord(ch):04X}", None)
    return list(seen)


def reveal(text: str) -> str:
    """`text` with each control or invisible character replaced by a visible `\\uXXXX` code."""
    if not any(_hidden(ch) for ch in text):
        return text
    return "".join(f"\\u{ord(ch):04x}" if _hidden(ch) else ch for ch in text)


def visible(text: str) -> str:
    """`text` ready for `console.print` with markup on: hidden characters revealed, markup escaped."""
    return escape(reveal(text))


def shown_value(value: object) -> str:
    """A proposed value as the user reads it (lists joined with commas), before markup escaping."""
    if isinstance(value, list):
        return ", ".join(reveal(str(item)) for item in value)
    return reveal(str(value))


__all__ = ["hidden_characters", "reveal", "shown_value", "visible"]
