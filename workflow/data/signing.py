"""Per-example exact keys and shingle sets for `dedup` and `split`, computed by worker processes
over byte ranges of the file (the costly part) and handed back in file order."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from workflow.data.fields import label_of
from workflow.data.formats import DatasetFormat
from workflow.data.jsonl import Line, LineAt, parse_line
from workflow.data.scan import default_jobs, keep_freed_buffers, pool_context, ranges
from workflow.data.shingles import WordHasher, exact_key, example_text, shingles
from workflow.errors import DataError

__all__ = ["Signed", "signed_examples", "text_at", "text_of"]

CHUNK_BYTES = 1 << 20
# One word cache per process, kept across ranges: a worker sees most of the vocabulary early.
_HASHER = WordHasher()


@dataclass(frozen=True, slots=True)
class Signed:
    """One example: line number, byte offset, exact-text key, distinct shingle hashes, stratum label."""

    number: int
    offset: int
    key: bytes
    shingles: np.ndarray
    invalid: bool
    label: str


@dataclass
class _Chunk:
    lines: int = 0
    rows: list[tuple[int, int, bytes, bool, str]] = field(default_factory=list)
    values: list[np.ndarray] = field(default_factory=list)


def text_of(line: Line, fmt: DatasetFormat | None, *, system: bool = False) -> str:
    """The words of a line: its example text, or the raw line when it is not JSON."""
    if line.error is not None:
        return line.raw.decode("utf-8", "replace")
    return example_text(line.value, fmt, system=system)


def _sign(task: tuple[str, int, int, DatasetFormat | None, str | None, bool]) -> _Chunk:
    path, start, end, fmt, stratify, system = task
    with open(path, "rb") as handle:
        handle.seek(start)
        block = handle.read(end - start)
    chunk = _Chunk()
    hasher = _HASHER
    offset = start
    pieces = block.split(b"\n")
    if pieces and pieces[-1] == b"":
        pieces.pop()
    for number, raw in enumerate(pieces, start=1):
        here, offset = offset, offset + len(raw) + 1
        if here == 0 and raw.startswith(b"\xef\xbb\xbf"):
            raw = raw[3:]
        if not raw.strip():
            continue
        line = parse_line(number, here, raw + b"\n")
        text = text_of(line, fmt, system=system)
        label = label_of(line.value, stratify) if stratify else ""
        chunk.rows.append((number, here, exact_key(text), line.error is not None, label))
        chunk.values.append(shingles(hasher(text)))
    chunk.lines = len(pieces)
    return chunk


def signed_examples(
    path: Path,
    fmt: DatasetFormat | None,
    *,
    stratify: str | None = None,
    system: bool = False,
    jobs: int | None = None,
    advance: Callable[[int], None] | None = None,
) -> Iterator[Signed]:
    """Every non-blank line of `path`, signed, in file order (system prompts in the text only
    with `system`).

    Raises:
        DataError: the file cannot be read.
    """
    try:
        size = path.stat().st_size
    except OSError as exc:
        raise DataError(f"cannot open {path}: {exc.strerror or exc}") from None
    tasks = [(str(path), start, end, fmt, stratify, system) for start, end in ranges(path, size, CHUNK_BYTES)]
    jobs = default_jobs() if jobs is None else jobs
    done = 0

    def emit(task: tuple[Any, ...], chunk: _Chunk) -> Iterator[Signed]:
        nonlocal done
        for (number, offset, key, invalid, label), values in zip(chunk.rows, chunk.values, strict=True):
            yield Signed(number + done, offset, key, values, invalid, label)
        done += chunk.lines
        if advance is not None:
            advance(task[2] - task[1])

    try:
        if jobs > 1 and len(tasks) > 2:
            with pool_context().Pool(jobs, initializer=keep_freed_buffers) as pool:
                for task, chunk in zip(tasks, pool.imap(_sign, tasks), strict=True):
                    yield from emit(task, chunk)
        else:
            for task in tasks:
                yield from emit(task, _sign(task))
    except OSError as exc:
        raise DataError(f"cannot read {path}: {exc.strerror or exc}") from None


def text_at(path: Path, offset: int, fmt: DatasetFormat | None, *, system: bool = False) -> str:
    """The example text of the line starting at byte `offset` (to quote it in a report)."""
    at = LineAt(path)
    try:
        return text_of(at(offset), fmt, system=system)
    finally:
        at.close()
