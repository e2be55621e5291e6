"""Streaming JSONL reading for the commands that are not on the `scan` hot path."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from workflow.errors import DataError


@dataclass(frozen=True, slots=True)
class Line:
    """One non-blank line: 1-based number, raw bytes (newline included), parsed value or None."""

    number: int
    raw: bytes
    value: Any
    error: str | None


def read_lines(path: Path, advance: Callable[[int], None] | None = None) -> Iterator[Line]:
    """Non-blank lines of a file, parsed, in order; bounded memory (one line at a time).

    Raises:
        DataError: the file cannot be opened or read.
    """
    try:
        handle = open(path, "rb")
    except OSError as exc:
        raise DataError(f"cannot open {path}: {exc.strerror or exc}") from None
    with handle:
        try:
            for number, raw in enumerate(handle, start=1):
                if advance is not None:
                    advance(len(raw))
                if number == 1 and raw.startswith(b"\xef\xbb\xbf"):
                    raw = raw[3:]
                if not raw.strip():
                    continue
                if not raw.endswith(b"\n"):
                    raw += b"\n"
                try:
                    yield Line(number, raw, json.loads(raw), None)
                except (ValueError, RecursionError) as exc:
                    reason = "nested too deeply" if isinstance(exc, RecursionError) else str(exc)
                    yield Line(number, raw, None, f"not valid JSON: {reason}")
        except OSError as exc:
            raise DataError(f"cannot read {path}: {exc.strerror or exc}") from None


def file_size(path: Path) -> int:
    """Size in bytes, 0 when it cannot be read (the reader reports that properly)."""
    try:
        return Path(path).stat().st_size
    except OSError:
        return 0


def dumps(value: Any) -> bytes:
    """One JSONL line: compact-ish, UTF-8, non-ASCII kept as is."""
    return (json.dumps(value, ensure_ascii=False) + "\n").encode("utf-8")
