"""`convert_file`: one format to another, streaming, all-or-nothing output."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from workflow.data.atomic import atomic_file
from workflow.data.canonical import ConversionError, conversion_refusal, from_canonical, to_canonical
from workflow.data.formats import DatasetFormat, parse_format, resolve_format
from workflow.data.jsonl import dumps, read_lines
from workflow.errors import ConfigError, DataError

KEEP_SKIPPED = 1_000


@dataclass(kw_only=True)
class ConversionReport:
    """How a conversion went; `skipped` keeps the first 1,000 `(line, reason)` pairs."""

    source: DatasetFormat
    target: DatasetFormat
    output: Path
    converted: int = 0
    skipped_count: int = 0
    skipped: list[tuple[int, str]] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {"from": str(self.source), "to": str(self.target), "output": str(self.output),
                "converted": self.converted, "skipped": self.skipped_count,
                "skipped_lines": [{"line": n, "reason": r} for n, r in self.skipped]}


def convert_file(
    path: Path,
    out: Path,
    source: str,
    target: str,
    *,
    strict: bool = False,
    on_skip: Callable[[int, str], None] | None = None,
    advance: Callable[[int], None] | None = None,
) -> ConversionReport:
    """Convert every line of `path` from `source` ("auto" detects it) to `target`, writing `out`.

    A line that cannot be converted is skipped and reported (`on_skip(line, reason)`); with
    `strict` the first such line stops the run. `out` is written whole or not at all; the input
    is never modified.

    Raises:
        ConfigError: a format name is unknown, or the pair can never convert (text to chat,
            chat to preference).
        DataError: the input cannot be read or its format detected, `out` is the input, a
            line fails under `strict`, or no line converts at all.
    """
    path, out = Path(path), Path(out)
    to_format = parse_format(target)
    from_format = resolve_format(source, path)
    refusal = conversion_refusal(from_format, to_format)
    if refusal:
        raise ConfigError(f"cannot convert {from_format} to {to_format}: {refusal}")
    if out.exists() and path.exists() and out.resolve() == path.resolve():
        raise DataError(f"{out} is the input file: choose another output (inputs are never modified)")
    report = ConversionReport(source=from_format, target=to_format, output=out)

    def skip(number: int, reason: str) -> None:
        if strict:
            raise DataError(f"{path}:{number}: cannot convert from {from_format}: {reason}; "
                            "nothing was written (drop --strict to skip such lines)")
        report.skipped_count += 1
        if len(report.skipped) < KEEP_SKIPPED:
            report.skipped.append((number, reason))
        if on_skip is not None:
            on_skip(number, reason)

    with atomic_file(out) as handle:
        for line in read_lines(path, advance):
            if line.error is not None:
                skip(line.number, line.error)
                continue
            try:
                data = dumps(from_canonical(to_canonical(line.value, from_format), to_format))
            except ConversionError as exc:
                skip(line.number, str(exc))
                continue
            except RecursionError:
                skip(line.number, "nested too deeply")
                continue
            handle.write(data)
            report.converted += 1
        if report.converted == 0:
            detail = f" (first: line {report.skipped[0][0]}: {report.skipped[0][1]})" if report.skipped else ""
            raise DataError(f"{path}: no line could be converted from {from_format} to {to_format}{detail}; "
                            "nothing was written")
    return report
