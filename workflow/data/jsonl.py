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
    """One non-blank line: 1-based number, byte offset in the file, raw bytes (newline included),
    parsed value or None, and the parse error."""

    number: int
    offset: int
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
        offset = 0
        try:
            for number, raw in enumerate(handle, start=1):
                start, offset = offset, offset + len(raw)
                if advance is not None:
                    advance(len(raw))
                if number == 1 and raw.startswith(b"\xef\xbb\xbf"):
                    raw = raw[3:]
                if not raw.strip():
                    continue
                if not raw.endswith(b"\n"):
                    raw += b"\n"
                yield parse_line(number, start, raw)
        except OSError as exc:
            raise DataError(f"cannot read {path}: {exc.strerror or exc}") from None


def parse_line(number: int, offset: int, raw: bytes) -> Line:
    try:
        return Line(number, offset, raw, json.loads(raw), None)
    except (ValueError, RecursionError) as exc:
        reason = "nested too deeply" if isinstance(exc, RecursionError) else str(exc)
        return Line(number, offset, raw, None, f"not valid JSON: {reason}")


class LineAt:
    """Random access to lines by byte offset (for re-reading a few earlier examples).

    Raises:
        DataError: the file cannot be opened or read.
    """

    def __init__(self, path: Path) -> None:
        self.path = path
        try:
            self._handle = open(path, "rb")
        except OSError as exc:
            raise DataError(f"cannot open {path}: {exc.strerror or exc}") from None

    def __call__(self, offset: int) -> Line:
        try:
            self._handle.seek(offset)
            raw = self._handle.readline()
        except OSError as exc:
            raise DataError(f"cannot read {self.path}: {exc.strerror or exc}") from None
        if offset == 0 and raw.startswith(b"\xef\xbb\xbf"):
            raw = raw[3:]
        return parse_line(0, offset, raw)

    def close(self) -> None:
        self._handle.close()


def file_size(path: Path) -> int:
    """Size in bytes, 0 when it cannot be read (the reader reports that properly)."""
    try:
        return Path(path).stat().st_size
    except OSError:
        return 0


def dumps(value: Any) -> bytes:
    """One JSONL line: compact-ish, UTF-8, non-ASCII kept as is."""
    return (json.dumps(value, ensure_ascii=False) + "\n").encode("utf-8")
