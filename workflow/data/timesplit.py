"""`split_by_time`: train on the past, hold out the latest records, for data that drifts.

Examples whose timestamp field is before the cut go to train; with a second cut, those before it
go to val; the rest go to test. Exact copies and near duplicates are grouped exactly as in
`split_file` (union-find over every pair at or above the threshold) and a group goes with its
earliest dated member, so no group straddles two splits: a later copy of a training example stays
in train, and the report counts (and lists) such examples. Lines whose field is missing or not a
timestamp are refused, one report per line, unless `missing` says where they go (a group they
belong to still takes them). The lines are streamed twice; memory as in `split_file`, plus 8
bytes an example.
"""

from __future__ import annotations

import json
from array import array
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from workflow.data.atomic import atomic_files
from workflow.data.jsonl import read_lines
from workflow.data.split import SPLITS, duplicate_groups
from workflow.data.timestamps import MISSING, at_path, cut_date, shown, timestamp_of
from workflow.errors import ConfigError, DataError

__all__ = ["MISSING_CHOICES", "Undated", "read_times", "split_by_time", "time_split_text"]

MISSING_CHOICES = ("train", "test", "drop")
NO_TIME = -(2**63)  # the example has no usable timestamp
DROPPED = -1
_LISTED = 100  # undated and moved lines listed in the report (all are counted)


@dataclass(frozen=True, kw_only=True)
class Undated:
    """A line without a usable timestamp: 1-based line number, the value found (shortened; None
    when the field is missing), why."""

    line: int
    value: str | None
    reason: str

    def to_dict(self) -> dict[str, Any]:
        return {"line": self.line, "value": self.value, "reason": self.reason}

    def text(self) -> str:
        return self.reason if self.value is None else f"{self.reason}: {self.value}"


def _short(text: str, limit: int = 60) -> str:
    return text if len(text) <= limit else text[: limit - 3] + "..."


def read_times(path: Path, by: str, advance: Callable[[int], None] | None = None) -> tuple[array, list[Undated]]:
    """The timestamp (microseconds, UTC) of each non-blank line, NO_TIME where there is none, and
    the lines without one.

    Raises:
        DataError: the file cannot be read.
    """
    times: array = array("q")
    undated: list[Undated] = []
    value: str | None
    for line in read_lines(path, advance):
        if line.error is not None:
            value, reason = _short(line.raw.decode("utf-8", "replace").strip()), "not valid JSON"
        else:
            found = at_path(line.value, by)
            if found is MISSING:
                value, reason = None, f"no {by} field"
            else:
                try:
                    times.append(timestamp_of(found))
                    continue
                except ValueError as exc:
                    value, reason = _short(json.dumps(found, ensure_ascii=False)), str(exc)
        times.append(NO_TIME)
        undated.append(Undated(line=line.number, value=value, reason=reason))
    return times, undated


def _windows(before: str, val_before: str | None) -> list[int]:
    cuts = [cut_date(before, "--before")]
    if val_before is not None:
        cuts.append(cut_date(val_before, "--val-before"))
        if cuts[1] <= cuts[0]:
            raise ConfigError(f"--val-before {val_before} must be after --before {before}: val holds the "
                              "examples between the two dates")
    return cuts


def _own_split(t: int, cuts: list[int]) -> int:
    if t < cuts[0]:
        return 0
    return 1 if len(cuts) > 1 and t < cuts[1] else 2


def _window_text(name: str, before: str, val_before: str | None) -> str:
    if name == "train":
        return f"before {before}"
    if name == "val":
        return f"from {before} to before {val_before}"
    return f"on or after {val_before or before}"


def _require_all(path: Path, by: str, counts: dict[str, int], names: list[str], times: array, before: str,
                 val_before: str | None) -> None:
    dated = [t for t in times if t != NO_TIME]
    for name in names:
        if counts[name] == 0:
            span = f"its {by} values run from {shown(min(dated))} to {shown(max(dated))}" if dated else \
                f"no line has a usable {by}"
            raise DataError(f"{path}: no example falls in {name} ({_window_text(name, before, val_before)}): "
                            f"{span}; move the cut dates (--before, --val-before) inside that range")


def _undated_error(path: Path, by: str, undated: list[Undated], total: int) -> DataError:
    first = undated[0]
    return DataError(f"{path}: {len(undated):,} of {total:,} lines have no usable {by} (line {first.line}: "
                     f"{first.text()}); fix those lines, or say where they go with --missing train|test|drop")


def split_by_time(
    path: Path,
    out_dir: Path,
    *,
    by: str,
    before: str,
    val_before: str | None = None,
    missing: str | None = None,
    threshold: float = 0.8,
    fmt: str | None = None,
    include_system: bool = False,
    include_boilerplate: bool = False,
    on_undated: Callable[[Undated], None] | None = None,
    advance: Callable[[int], None] | None = None,
    jobs: int | None = None,
) -> dict[str, Any]:
    """Write `train.jsonl`, `val.jsonl` (only with `val_before`), `test.jsonl` and
    `split-report.json` into `out_dir`, split by the timestamp at the dotted path `by`.

    `on_undated` is called for each line without a usable timestamp, before anything is refused.

    Raises:
        ConfigError: a cut date is not ISO 8601, the cuts are out of order, `missing` is not one of
            train, test, drop, or the threshold is not in (0, 1].
        DataError: the input cannot be read, has lines without a timestamp and no `missing` choice,
            or leaves a split empty; or the outputs cannot be written.
    """
    if not by.strip():
        raise ConfigError("--by needs a field name, e.g. --by created_at or --by metadata.created_at")
    if missing is not None and missing not in MISSING_CHOICES:
        raise ConfigError(f"--missing {missing!r} is not one of: {', '.join(MISSING_CHOICES)}")
    cuts = _windows(before, val_before)
    path, out_dir = Path(path), Path(out_dir)
    names = ["train", "val", "test"] if val_before is not None else ["train", "test"]
    times, undated = read_times(path, by)
    if on_undated is not None:
        for item in undated:
            on_undated(item)
    if not times:
        raise DataError(f"{path} has no examples")
    if undated and missing is None:
        raise _undated_error(path, by, undated, len(times))
    fallback = DROPPED if missing == "drop" else SPLITS.index(missing or "test")
    own = [_own_split(t, cuts) if t != NO_TIME else fallback for t in times]
    _require_all(path, by, {name: own.count(SPLITS.index(name)) for name in names}, names, times, before,
                 val_before)

    found, roots = duplicate_groups(path, fmt, threshold=threshold, include_system=include_system,
                                    include_boilerplate=include_boilerplate, jobs=jobs, advance=advance)
    if len(found) != len(times):
        raise DataError(f"{path} changed while it was being split; run the split again")
    earliest: dict[int, int] = {}
    for i, t in enumerate(times):
        if t != NO_TIME and (roots[i] not in earliest or t < earliest[roots[i]]):
            earliest[roots[i]] = t
    where: list[int] = []
    with_group = 0
    for i, t in enumerate(times):
        if t == NO_TIME and (missing == "drop" or roots[i] not in earliest):
            where.append(fallback)
            continue
        with_group += t == NO_TIME
        where.append(_own_split(earliest[roots[i]], cuts))
    moved = [found.numbers[i] for i, t in enumerate(times) if t != NO_TIME and where[i] != own[i]]
    counts = {name: where.count(SPLITS.index(name)) for name in names}
    _require_all(path, by, counts, names, times, before, val_before)

    spans: dict[str, list[int]] = {}
    for i, t in enumerate(times):
        if t != NO_TIME and where[i] != DROPPED:
            span = spans.setdefault(SPLITS[where[i]], [t, t])
            span[0], span[1] = min(span[0], t), max(span[1], t)
    targets = {name: out_dir / f"{name}.jsonl" for name in names}
    sizes: dict[int, int] = {}
    for root in roots:
        sizes[root] = sizes.get(root, 0) + 1
    multi = [size for size in sizes.values() if size > 1]
    undated_where = {"with_group": with_group, "dropped": where.count(DROPPED) if missing == "drop" else 0}
    if missing in ("train", "test"):
        undated_where[missing] = len(undated) - with_group
    report = {
        "input": str(path), "output_dir": str(out_dir), "by": by, "before": shown(cuts[0]),
        "val_before": shown(cuts[1]) if len(cuts) > 1 else None, "threshold": threshold,
        "counts": counts, "files": {name: str(p) for name, p in targets.items()},
        "ranges": {name: {"first": shown(spans[name][0]), "last": shown(spans[name][1])} if name in spans else None
                   for name in names},
        "examples": len(times), "invalid_json_lines": found.invalid,
        "undated": {"count": len(undated), "missing": missing, "placed": undated_where,
                    "lines": [u.to_dict() for u in undated[:_LISTED]]},
        "moved_to_earlier_split": {"count": len(moved), "lines": moved[:_LISTED]},
        "duplicate_groups": len(multi), "examples_in_duplicate_groups": sum(multi),
        "system_prompts": "compared" if include_system else "ignored", "boilerplate": found.boilerplate,
        "near_pairs": len(found.near.pairs),
    }
    # The split files and split-report.json are renamed into place together, or none of them is.
    with atomic_files([*targets.values(), out_dir / "split-report.json"]) as handles:
        handle_of = dict(zip(names, handles[:-1], strict=True))
        for i, line in enumerate(read_lines(path)):
            if where[i] != DROPPED:
                handle_of[SPLITS[where[i]]].write(line.raw)
        handles[-1].write((json.dumps(report, indent=2, ensure_ascii=False) + "\n").encode("utf-8"))
    return report


def time_split_text(r: dict[str, Any]) -> list[str]:
    """The summary `cairn data split --by` prints: counts and date range per split, what moved, what
    had no timestamp."""
    from workflow.data.render import boilerplate_lines

    cuts = f"train before {r['before']}" + (f", val before {r['val_before']}" if r["val_before"] else "")
    counts = ", ".join(f"{name} {n:,}" for name, n in r["counts"].items())
    lines = [f"split {r['examples']:,} examples by {r['by']} ({cuts}): {counts} -> {r['output_dir']}"]
    for name, n in r["counts"].items():
        span = r["ranges"][name]
        dates = f"{span['first']} .. {span['last']}" if span else "no dated examples"
        lines.append(f"  {name:<5} {n:>8,}  {dates}")
    moved = r["moved_to_earlier_split"]
    lines.append(f"{r['duplicate_groups']:,} duplicate groups ({r['examples_in_duplicate_groups']:,} examples) kept "
                 f"within one split, each with its earliest member (system prompts {r['system_prompts']})")
    if moved["count"]:
        shown_lines = ", ".join(str(n) for n in moved["lines"][:10]) + (", ..." if moved["count"] > 10 else "")
        lines.append(f"{moved['count']:,} examples dated later sit in an earlier split with their duplicate group "
                     f"(lines {shown_lines})")
    undated = r["undated"]
    if undated["count"]:
        words = {"with_group": "with their duplicate group", "dropped": "dropped (in no split)",
                 "train": "to train", "test": "to test"}
        placed = ", ".join(f"{n:,} {words[k]}" for k, n in undated["placed"].items() if n)
        lines.append(f"{undated['count']:,} lines without a usable {r['by']} "
                     f"(--missing {undated['missing']}): {placed}")
    return [*lines, *boilerplate_lines(r)]
