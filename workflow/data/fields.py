"""Values at a dotted path inside an example ("meta.label"), for stratified splits and samples."""

from __future__ import annotations

import json
from typing import Any

__all__ = ["label_of"]


def label_of(value: Any, field: str) -> str:
    """The value at a dotted path ("meta.label") as a string; "(missing)" when absent."""
    for part in field.split("."):
        value = value.get(part) if isinstance(value, dict) else None
    if value is None:
        return "(missing)"
    return value if isinstance(value, str) else json.dumps(value, sort_keys=True)
