"""The one pass behind `validate`, `analyze` and `review`: parse each line once, check it, measure it.

Memory stays bounded whatever the file size: the file is read in byte ranges cut at line ends
(a few MB each), and what is kept per example is a handful of numbers in compact arrays (about
20 bytes an example). On a file larger than a few ranges the ranges go to a process pool, one
worker per core; results come back in file order, so line numbers and problem order are the same
as a single-process run.

Each line is parsed from its raw bytes by msgspec: for the chat formats a clean example is parsed
and checked in one typed decode (`checks.fast_check`), anything else is parsed into plain values
for the full check, and what msgspec refuses goes to `json.loads`, whose verdict and message stand.
The PII scan runs over the whole range at once (`pii.scan_block`), not line by line.
"""

from __future__ import annotations

import json
import multiprocessing
import os
import zlib
from array import array
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import msgspec

from workflow.data import pii, tokens
from workflow.data.checks import CHECKS, fast_check
from workflow.data.formats import DatasetFormat
from workflow.data.problem import Problem, severity_of
from workflow.errors import DataError

CHUNK_BYTES = 4 << 20
DEFAULT_TOKEN_LIMIT = 16_384
MAX_LABELS = 1_000
PII_SAMPLES = 20


@dataclass(frozen=True, kw_only=True)
class ScanOptions:
    """What one pass checks and measures."""

    fmt: DatasetFormat
    max_tokens: int | None = None
    strict: bool = False
    tokenizer: str | None = None
    label: str | None = None
    pii: bool = True
    # A spaCy model (name or folder): the PII scan also runs Presidio on each example's text.
    presidio: str | None = None
    duplicates: bool = True
    # Python's str hash is fast and 64-bit but seeded per process: workers made by fork share the
    # parent's seed, workers made by spawn do not, and then a crc32/adler32 pair is used instead.
    portable_hash: bool = False

    @property
    def token_limit(self) -> int:
        return self.max_tokens if self.max_tokens is not None else DEFAULT_TOKEN_LIMIT


@dataclass(kw_only=True)
class Measures:
    """What a pass keeps per example and in total: compact arrays (one entry per valid example,
    in file order), counters, and PII samples as (line, kind, masked value)."""

    lines: int = 0
    examples: int = 0
    prompt_tokens: array = field(default_factory=lambda: array("I"))
    response_tokens: array = field(default_factory=lambda: array("I"))
    turns: array = field(default_factory=lambda: array("I"))
    hashes: array = field(default_factory=lambda: array("q"))
    empty_responses: int = 0
    labels: Counter[str] = field(default_factory=Counter)
    pii_counts: Counter[str] = field(default_factory=Counter)
    pii_examples: int = 0
    pii_samples: list[tuple[int, str, str]] = field(default_factory=list)


@dataclass(kw_only=True)
class ChunkResult(Measures):
    """What one byte range yielded; line numbers are 1-based within the range."""

    problems: list[tuple[int, str, str]] = field(default_factory=list)


@dataclass(kw_only=True)
class ScanResult(Measures):
    """The merged result of a whole file."""

    path: Path
    options: ScanOptions
    size: int = 0
    problems: list[Problem] = field(default_factory=list)
    problems_dropped: int = 0
    code_counts: Counter[str] = field(default_factory=Counter)
    errors: int = 0
    warnings: int = 0

    @property
    def valid(self) -> int:
        return len(self.turns)


def _label_of(obj: dict[str, Any], path: str) -> str:
    value: Any = obj
    for part in path.split("."):
        value = value.get(part) if type(value) is dict else None
    if value is None:
        return "(missing)"
    return value if type(value) is str else json.dumps(value, sort_keys=True)[:80]


_decode_json = msgspec.json.Decoder().decode
_PARSE_ERRORS = (msgspec.DecodeError, ValueError, RecursionError)


def _parse_slow(line: bytes) -> tuple[Any, str, str]:
    """A line msgspec refused: (value, "", "") when the standard library still reads it (NaN,
    lone surrogates, numbers out of range), else (None, code, message) with json's message."""
    try:
        text = line.decode("utf-8")
    except UnicodeDecodeError:
        return None, "invalid_json", "not valid UTF-8 text"
    if not text or text.isspace():
        return None, "blank_line", "blank line"
    try:
        return json.loads(text), "", ""
    except ValueError as exc:
        return None, "invalid_json", f"not valid JSON: {exc}"
    except RecursionError:
        return None, "invalid_json", "not valid JSON: nested too deeply"


def scan_block(block: bytes, options: ScanOptions) -> ChunkResult:
    """Check and measure every line of a block that starts at a line start and ends at a line end."""
    result = ChunkResult()
    if block.startswith(b"\xef\xbb\xbf"):
        block = block[3:]
    lines = block.split(b"\n")
    if not lines[-1]:
        lines.pop()  # the block ends with a newline: nothing after it
    check = CHECKS[options.fmt]
    problems = result.problems
    out: list[tuple[str, str]] = []
    # msgspec parses the raw bytes (and checks they are UTF-8) several times faster than the
    # standard library; what it refuses goes to json.loads, so the accepted JSON and the error
    # messages stay the standard library's.
    decode, parse_errors = _decode_json, _PARSE_ERRORS
    crc32, adler32 = zlib.crc32, zlib.adler32
    prompt_chars, response_chars = array("I"), array("I")
    turns, hashes, valid_lines = result.turns, result.hashes, array("I")
    duplicates, label, portable = options.duplicates, options.label, options.portable_hash
    presidio = options.presidio if options.pii else None
    # (prompt, response) of each valid example, for a tokenizer or Presidio.
    example_texts: list[tuple[str, str]] | None = [] if options.tokenizer or presidio else None
    empty = examples = 0
    # A label or the texts need the parsed object, which the fast check does not keep.
    fast = fast_check(options.fmt) if label is None and example_texts is None else None
    obj: Any = None
    for number, line in enumerate(lines, start=1):
        shape = fast(line, out) if fast is not None else None
        if shape is None:
            try:
                obj = decode(line)
            except parse_errors:
                obj, code, message = _parse_slow(line)
                if code:
                    if code != "blank_line":
                        examples += 1
                    problems.append((number, code, message))
                    continue
            if type(obj) is not dict:
                examples += 1
                problems.append((number, "data_type", f"the line is a JSON {type(obj).__name__}, not an object"))
                continue
            shape = check(obj, out)
        examples += 1
        if out:
            for code, message in out:
                problems.append((number, code, message))
            out.clear()
        if shape is None:
            continue
        n_turns, p_chars, r_chars, is_empty = shape
        turns.append(n_turns)
        prompt_chars.append(p_chars)
        response_chars.append(r_chars)
        valid_lines.append(number)
        if is_empty:
            empty += 1
        if duplicates:
            hashes.append(((crc32(line) << 31) ^ adler32(line)) if portable else hash(line))
        if label is not None:
            result.labels[_label_of(obj, label)] += 1
        if example_texts is not None:
            from workflow.data.canonical import texts

            example_texts.append(texts(obj, options.fmt))
    result.lines = len(lines)
    result.examples = examples
    result.empty_responses = empty
    _count_tokens(result, prompt_chars, response_chars, example_texts, options)
    _check_token_limit(result, valid_lines, options)
    if options.pii:
        findings = _pii_findings(block, lines)
        if presidio and example_texts:
            from workflow.data.presidio import scan_texts

            found = scan_texts(presidio, ["\n".join(t) for t in example_texts])
            findings += [(valid_lines[i], kind, masked) for i, kind, masked in found]
            findings.sort(key=lambda f: f[0])
        _record_pii(findings, result)
    return result


def _count_tokens(result: ChunkResult, prompt_chars: array, response_chars: array,
                  texts: list[tuple[str, str]] | None, options: ScanOptions) -> None:
    if texts is None or options.tokenizer is None:
        import numpy as np

        result.prompt_tokens = array("I", ((np.frombuffer(prompt_chars, np.uint32) + 3) // 4).astype(np.uint32))
        result.response_tokens = array("I", ((np.frombuffer(response_chars, np.uint32) + 3) // 4)
                                       .astype(np.uint32))
        return
    counter = tokens.load_counter(options.tokenizer)
    result.prompt_tokens = array("I", counter([t[0] for t in texts]))
    result.response_tokens = array("I", counter([t[1] for t in texts]))


def _check_token_limit(result: ChunkResult, valid_lines: array, options: ScanOptions) -> None:
    import numpy as np

    total = np.frombuffer(result.prompt_tokens, np.uint32).astype(np.int64) + np.frombuffer(
        result.response_tokens, np.uint32)
    limit = options.token_limit
    over = np.flatnonzero(total > limit)
    if over.size == 0:
        return
    unit = "tokens" if options.tokenizer else "approximate tokens"
    for i in over:
        result.problems.append((valid_lines[i], "too_many_tokens", f"{int(total[i])} {unit} > limit {limit}"))
    result.problems.sort(key=lambda p: p[0])


def _pii_findings(block: bytes, lines: list[bytes]) -> list[tuple[int, str, str]]:
    """(line, kind, masked value) of each match of Cairn's own scan, in file order."""
    matches = pii.scan_block(block)
    if not matches:
        return []
    import numpy as np

    # Byte offset just past each line's newline; a match belongs to the first line ending after it.
    ends = np.cumsum(np.fromiter(map(len, lines), np.int64, len(lines)) + 1)
    line_of = (np.searchsorted(ends, [m.offset for m in matches], side="right") + 1).tolist()
    return [(line, m.kind, m.masked) for m, line in zip(matches, line_of, strict=True)]


def _record_pii(findings: list[tuple[int, str, str]], result: ChunkResult) -> None:
    result.pii_examples = len({line for line, _, _ in findings})
    for line, kind, masked in findings:
        result.pii_counts[kind] += 1
        if len(result.pii_samples) < PII_SAMPLES:
            result.pii_samples.append((line, kind, masked))


def scan_range(path: str, start: int, end: int, options: ScanOptions) -> ChunkResult:
    """`scan_block` over bytes [start, end) of a file."""
    with open(path, "rb") as handle:
        handle.seek(start)
        block = handle.read(end - start)
    return scan_block(block, options)


def _work(task: tuple[str, int, int, ScanOptions]) -> ChunkResult:
    return scan_range(*task)


def ranges(path: Path, size: int, chunk_bytes: int) -> Iterator[tuple[int, int]]:
    """Byte ranges of about `chunk_bytes`, each ending just after a newline (or at EOF)."""
    with open(path, "rb") as handle:
        start = 0
        while start < size:
            cut = start + chunk_bytes
            if cut >= size:
                yield start, size
                return
            handle.seek(cut)
            while True:
                piece = handle.read(1 << 16)
                if not piece:
                    cut = size
                    break
                newline = piece.find(b"\n")
                if newline != -1:
                    cut += newline + 1
                    break
                cut += len(piece)
            yield start, cut
            start = cut


def pool_context() -> Any:
    """The multiprocessing context for worker pools: fork where the platform has it and this
    process runs a single thread (workers start in milliseconds and inherit the imports, where
    spawn costs more than a small file takes to scan); spawn otherwise, since forking a process
    with other threads running (a trainer, a progress bar) can deadlock the child."""
    import threading

    if "fork" in multiprocessing.get_all_start_methods() and threading.active_count() == 1:
        return multiprocessing.get_context("fork")
    return multiprocessing.get_context("spawn")


def keep_freed_buffers() -> None:
    """Pool initializer: let glibc keep freed multi-megabyte buffers in the heap. By default it
    returns each block's buffers to the OS and page-faults them back for the next range, which
    measured as a fifth of a worker's time. Harmless elsewhere: no mallopt, nothing done."""
    import ctypes

    try:
        libc = ctypes.CDLL(None)
        libc.mallopt(-1, 256 << 20)  # M_TRIM_THRESHOLD
        libc.mallopt(-3, 32 << 20)  # M_MMAP_THRESHOLD (glibc's maximum)
    except (OSError, AttributeError):
        pass


def default_jobs() -> int:
    """Worker processes to use: the cores this process may run on, at most 8."""
    try:
        cores = len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        cores = os.cpu_count() or 1
    return max(1, min(cores, 8))


def _merge(total: ScanResult, part: ChunkResult, line_offset: int, keep: int,
           on_problem: Callable[[Problem], None] | None) -> None:
    options = total.options
    for line, code, message in part.problems:
        problem = Problem(line=line + line_offset, code=code, message=message,
                          severity=severity_of(code, strict=options.strict, max_tokens=options.max_tokens))
        total.code_counts[code] += 1
        if problem.severity == "error":
            total.errors += 1
        else:
            total.warnings += 1
        if on_problem is not None:
            on_problem(problem)
        if len(total.problems) < keep:
            total.problems.append(problem)
        else:
            total.problems_dropped += 1
    total.lines += part.lines
    total.examples += part.examples
    total.prompt_tokens.extend(part.prompt_tokens)
    total.response_tokens.extend(part.response_tokens)
    total.turns.extend(part.turns)
    total.hashes.extend(part.hashes)
    total.empty_responses += part.empty_responses
    for name, count in part.labels.items():
        if name in total.labels or len(total.labels) < MAX_LABELS:
            total.labels[name] += count
        else:
            total.labels["(other)"] += count
    total.pii_counts.update(part.pii_counts)
    total.pii_examples += part.pii_examples
    for line, kind, masked in part.pii_samples:
        if len(total.pii_samples) < PII_SAMPLES:
            total.pii_samples.append((line + line_offset, kind, masked))


def scan_file(
    path: Path,
    options: ScanOptions,
    *,
    on_problem: Callable[[Problem], None] | None = None,
    advance: Callable[[int], None] | None = None,
    jobs: int | None = None,
    chunk_bytes: int = CHUNK_BYTES,
    keep_problems: int = 10_000,
) -> ScanResult:
    """One pass over a JSONL file. `on_problem` sees every problem in file order; the result keeps
    the first `keep_problems` of them (all are counted).

    Raises:
        DataError: the file cannot be opened or read.
    """
    path = Path(path)
    if path.is_dir():
        raise DataError(f"{path} is a folder, not a JSONL file")
    try:
        size = path.stat().st_size
        with open(path, "rb"):
            pass
    except OSError as exc:
        raise DataError(f"cannot open {path}: {exc.strerror or exc}") from None
    if options.tokenizer:
        tokens.load_counter(options.tokenizer)  # fail early, in this process, with a clear message
    if options.presidio and options.pii:
        from workflow.data.presidio import load_analyzer

        load_analyzer(options.presidio)  # the same; forked workers inherit the loaded model
    total = ScanResult(path=path, options=options, size=size)
    jobs = default_jobs() if jobs is None else jobs
    if jobs > 1:
        # At least ~8 ranges per worker so the last ranges do not leave a core idle.
        chunk_bytes = max(min(chunk_bytes, 1 << 20), min(chunk_bytes, size // (jobs * 8)))
    tasks = [(str(path), start, end, options) for start, end in ranges(path, size, chunk_bytes)]
    offset = 0
    try:
        if jobs > 1 and len(tasks) > 2:
            context = pool_context()
            if context.get_start_method() != "fork":
                options = total.options = replace(options, portable_hash=True)
                tasks = [(t[0], t[1], t[2], options) for t in tasks]
            with context.Pool(jobs, initializer=keep_freed_buffers) as pool:
                for task, part in zip(tasks, pool.imap(_work, tasks), strict=True):
                    _merge(total, part, offset, keep_problems, on_problem)
                    offset += part.lines
                    if advance:
                        advance(task[2] - task[1])
        else:
            for task in tasks:
                part = _work(task)
                _merge(total, part, offset, keep_problems, on_problem)
                offset += part.lines
                if advance:
                    advance(task[2] - task[1])
    except OSError as exc:
        raise DataError(f"cannot read {path}: {exc.strerror or exc}") from None
    if total.examples == 0:
        problem = Problem(line=0, code="empty_file", severity="error", message=f"{path} has no examples")
        total.code_counts["empty_file"] += 1
        total.errors += 1
        total.problems.append(problem)
        if on_problem is not None:
            on_problem(problem)
    return total
