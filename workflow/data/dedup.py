"""`dedup_file`: drop exact duplicates (normalised text) and near duplicates (MinHash LSH).

Memory: per example, a byte offset and a line number; per example with distinct text, one
exact-text hash and one MinHash signature with its LSH buckets (about 0.8 KB; see
`minhash.NearDuplicates`). Signatures are computed by worker processes over byte ranges; the
lines are streamed twice, and both examples of a candidate pair are re-read to confirm it on the
exact Jaccard similarity.
"""

from __future__ import annotations

import json
from array import array
from collections import defaultdict
from collections.abc import Callable
from pathlib import Path
from typing import Any

from workflow.data.atomic import atomic_file, write_text
from workflow.data.formats import DatasetFormat, resolve_format
from workflow.data.jsonl import read_lines
from workflow.errors import ConfigError, DataError


def report_path_for(out: Path) -> Path:
    """Where the cluster report goes by default: next to the output."""
    return out.with_name(f"{out.stem}.dedup-report.json")


def text_format(fmt: str | None, path: Path) -> DatasetFormat | None:
    """The format used to pick example text; None (every string value) when it cannot be told."""
    try:
        return resolve_format(fmt, path)
    except DataError:
        if fmt not in (None, "auto"):
            raise
        return None


def dedup_file(
    path: Path,
    out: Path,
    *,
    threshold: float = 0.8,
    fmt: str | None = None,
    report: Path | None = None,
    advance: Callable[[int], None] | None = None,
    jobs: int | None = None,
) -> dict[str, Any]:
    """Write `out` without the duplicates of `path` and a JSON report of the removed clusters.

    Lines that are not valid JSON are compared by their raw text and kept unless duplicated.

    Raises:
        ConfigError: the threshold is not in (0, 1], or the format name is unknown.
        DataError: the input cannot be read, `out` is the input, or an output cannot be written.
    """
    from workflow.data.minhash import NearDuplicates
    from workflow.data.signing import Reread, signed_examples

    path, out = Path(path), Path(out)
    if not 0 < threshold <= 1:
        raise ConfigError(f"--threshold must be in (0, 1], got {threshold}")
    if out.exists() and path.exists() and out.resolve() == path.resolve():
        raise DataError(f"{out} is the input file: choose another output (inputs are never modified)")
    report_file = Path(report) if report else report_path_for(out)
    text_fmt = text_format(fmt, path)
    offsets, numbers, example_of = array("q"), array("i"), array("i")
    reread = Reread(path, text_fmt)
    # The index's keys are the examples with distinct text; example_of maps them back.
    index = NearDuplicates(threshold, shingles_of=lambda key: reread(offsets[example_of[key]]))
    first_of: dict[bytes, int] = {}
    removed: dict[int, tuple[int, str, float]] = {}
    examples = invalid = 0
    try:
        for example in signed_examples(path, text_fmt, jobs=jobs, advance=advance):
            offsets.append(example.offset)
            numbers.append(example.number)
            invalid += example.invalid
            if example.key in first_of:
                removed[example.number] = (first_of[example.key], "exact", 1.0)
            else:
                first_of[example.key] = example.number
                index.add(example.values)
                example_of.append(examples)
            examples += 1
        del first_of
        for key, found in index.matches(index_all=False):
            other, similarity = found[0]
            removed[numbers[example_of[key]]] = (numbers[example_of[other]], "near", round(similarity, 3))
    finally:
        reread.close()
    if examples == 0:
        raise DataError(f"{path} has no examples")
    with atomic_file(out) as handle:
        for line in read_lines(path):
            if line.number not in removed:
                handle.write(line.raw)
    clusters: dict[int, list[dict[str, Any]]] = defaultdict(list)
    for number, (kept, kind, similarity) in sorted(removed.items()):
        clusters[kept].append({"line": number, "kind": kind, "similarity": similarity})
    exact = sum(1 for r in removed.values() if r[1] == "exact")
    result = {
        "input": str(path), "output": str(out), "report": str(report_file),
        "format": str(text_fmt) if text_fmt else "unknown (all string values compared)",
        "threshold": threshold, "shingle": "word 3-grams", "examples": examples, "kept": examples - len(removed),
        "removed": {"exact": exact, "near": len(removed) - exact, "total": len(removed)},
        "invalid_json_lines": invalid,
        "clusters": [{"kept_line": kept, "removed": members} for kept, members in sorted(clusters.items())],
    }
    write_text(report_file, json.dumps(result, indent=2, ensure_ascii=False) + "\n")
    return result
