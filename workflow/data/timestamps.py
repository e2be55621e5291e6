"""Timestamps for a time-based split: cut dates from the command line and the values found in
examples, both as integer microseconds since 1970-01-01 UTC, so every comparison is exact.

Accepted: ISO 8601 dates and datetimes (`2026-09-01`, `2026-09-01T14:30:00Z`, `...+02:00`; a
datetime without an offset is taken as UTC) and epoch seconds (a JSON number, or a string that is
only a number). Booleans and anything else are refused with the reason.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from workflow.errors import ConfigError

__all__ = ["MISSING", "at_path", "cut_date", "shown", "timestamp_of"]

MISSING = object()  # `at_path` found no value there
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MICRO = timedelta(microseconds=1)


def at_path(value: Any, field: str) -> Any:
    """The value at a dotted path ("metadata.created_at") of a JSON object, or MISSING."""
    for part in field.split("."):
        if not isinstance(value, dict) or part not in value:
            return MISSING
        value = value[part]
    return MISSING if value is None else value


def _micros(moment: datetime) -> int:
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return (moment - _EPOCH) // _MICRO


def _from_epoch(seconds: float) -> int:
    if seconds != seconds or abs(seconds) > 253_402_300_799:  # NaN, or beyond 9999-12-31
        raise ValueError("epoch seconds out of range (milliseconds? divide by 1000)")
    return round(seconds * 1_000_000)


def timestamp_of(value: Any) -> int:
    """Microseconds since the epoch (UTC) of an ISO 8601 string or epoch seconds.

    Raises:
        ValueError: the value is not a timestamp; the message says why.
    """
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        raise ValueError(f"a {type(value).__name__}, not a date or epoch seconds")
    if not isinstance(value, str):
        return _from_epoch(float(value))
    text = value.strip()
    try:
        return _micros(datetime.fromisoformat(text))
    except ValueError:
        pass
    try:
        seconds = float(text)
    except ValueError:
        raise ValueError("not an ISO 8601 date or datetime, nor epoch seconds") from None
    return _from_epoch(seconds)


def cut_date(text: str, option: str) -> int:
    """A cut date given on the command line (ISO 8601 date or datetime; UTC unless it says).

    Raises:
        ConfigError: the text is not an ISO 8601 date or datetime.
    """
    try:
        return _micros(datetime.fromisoformat(text.strip()))
    except ValueError:
        raise ConfigError(f"{option} {text!r} is not a date: give an ISO 8601 date or datetime, "
                          "e.g. 2026-09-01 or 2026-09-01T12:00:00Z") from None


def shown(micros: int) -> str:
    """A timestamp as ISO 8601 in UTC (`2026-09-01T00:00:00Z`)."""
    return (_EPOCH + micros * _MICRO).isoformat().replace("+00:00", "Z")
