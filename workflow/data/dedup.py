"""`dedup_file`: drop exact duplicates (normalised text) and near duplicates (exact Jaccard of
word 3-grams at or above a threshold; see `nearpairs`).

Examples are compared on what differs between them: system prompts are left out unless
`include_system`, and templated boilerplate shared by most of the file is left out (and reported)
unless `include_boilerplate`. Memory: per example a line number and a byte offset; per example
with distinct text, its shingle set (4 bytes a distinct word 3-gram). Shingles are computed by
worker processes over byte ranges; the lines are streamed twice.
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Callable
from pathlib import Path
from typing import Any

from workflow.data.atomic import atomic_files
from workflow.data.formats import text_format
from workflow.data.jsonl import read_lines
from workflow.errors import ConfigError, DataError


def report_path_for(out: Path) -> Path:
    """Where the cluster report goes by default: next to the output."""
    return out.with_name(f"{out.stem}.dedup-report.json")


def dedup_file(
    path: Path,
    out: Path,
    *,
    threshold: float = 0.8,
    fmt: str | None = None,
    report: Path | None = None,
    include_system: bool = False,
    include_boilerplate: bool = False,
    advance: Callable[[int], None] | None = None,
    jobs: int | None = None,
) -> dict[str, Any]:
    """Write `out` without the duplicates of `path` and a JSON report of the removed clusters.

    An example is removed when it has the same text as an earlier one, or a near-duplicate
    similarity >= `threshold` with an earlier *kept* one. Lines that are not valid JSON are
    compared by their raw text and kept unless duplicated.

    Raises:
        ConfigError: the threshold is not in (0, 1], or the format name is unknown.
        DataError: the input cannot be read, `out` is the input, or an output cannot be written.
    """
    from workflow.data.duplicates import file_duplicates
    from workflow.data.nearpairs import Groups

    path, out = Path(path), Path(out)
    if not 0 < threshold <= 1:
        raise ConfigError(f"--threshold must be in (0, 1], got {threshold}")
    if out.exists() and path.exists() and out.resolve() == path.resolve():
        raise DataError(f"{out} is the input file: choose another output (inputs are never modified)")
    report_file = Path(report) if report else report_path_for(out)
    text_fmt = text_format(fmt, path)
    found = file_duplicates(path, text_fmt, threshold=threshold, system=include_system,
                            boilerplate=not include_boilerplate, connect_only=True, jobs=jobs, advance=advance)
    examples = len(found)
    if examples == 0:
        raise DataError(f"{path} has no examples")
    numbers = found.numbers
    removed: dict[int, tuple[int, str, float]] = {}
    for i, earlier in enumerate(found.first_copy):
        if earlier >= 0:
            removed[numbers[i]] = (numbers[earlier], "exact", 1.0)
    # A key goes when it is near an earlier *kept* key; such a key is always in its near-duplicate
    # group, so each group is walked in key (file) order against the keys it kept so far.
    near = found.near
    groups = Groups(len(found.distinct))
    for a, b, _ in near.pairs:
        groups.union(a, b)
    members: dict[int, list[int]] = defaultdict(list)
    for key, root in enumerate(groups.roots()):
        members[root].append(key)
    for keys in members.values():
        kept = keys[:1]
        for key in keys[1:]:
            matches = [(other, near.similarity(other, key)) for other in kept]
            matches = [(other, s) for other, s in matches if s >= threshold - 1e-9]
            if not matches:
                kept.append(key)
                continue
            other, similarity = min(matches, key=lambda pair: (-pair[1], pair[0]))
            removed[numbers[found.distinct[key]]] = (numbers[found.distinct[other]], "near", round(similarity, 3))
    clusters: dict[int, list[dict[str, Any]]] = defaultdict(list)
    for number, (kept_line, kind, similarity) in sorted(removed.items()):
        clusters[kept_line].append({"line": number, "kind": kind, "similarity": similarity})
    exact = sum(1 for r in removed.values() if r[1] == "exact")
    result = {
        "input": str(path), "output": str(out), "report": str(report_file),
        "format": str(text_fmt) if text_fmt else "unknown (all string values compared)",
        "threshold": threshold, "shingle": "word 3-grams", "system_prompts": "compared" if include_system else
        "ignored", "boilerplate": found.boilerplate, "examples": examples, "kept": examples - len(removed),
        "removed": {"exact": exact, "near": len(removed) - exact, "total": len(removed)},
        "invalid_json_lines": found.invalid, "pairs_compared": found.near.compared,
        "clusters": [{"kept_line": kept, "removed": members} for kept, members in sorted(clusters.items())],
    }
    # The output and its report are renamed into place together, so neither appears without the other.
    with atomic_files([out, report_file]) as (handle, report_handle):
        for line in read_lines(path):
            if line.number not in removed:
                handle.write(line.raw)
        report_handle.write((json.dumps(result, indent=2, ensure_ascii=False) + "\n").encode("utf-8"))
    return result
