"""`split_file`: seeded train / val / test split that never puts near duplicates on both sides.

Memory: one MinHash signature with its LSH buckets (about 0.8 KB; see `minhash.NearDuplicates`)
and a few integers per example; the lines are streamed twice, and candidate near-duplicate pairs
are confirmed on the exact Jaccard similarity by re-reading both lines.
"""

from __future__ import annotations

import json
from array import array
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

from workflow.data.atomic import atomic_files, write_text
from workflow.data.jsonl import read_lines
from workflow.errors import ConfigError, DataError

SPLITS = ("train", "val", "test")


def label_of(value: Any, field: str) -> str:
    """The stratification value at a dotted path ("meta.label"), as a string."""
    for part in field.split("."):
        value = value.get(part) if isinstance(value, dict) else None
    if value is None:
        return "(missing)"
    return value if isinstance(value, str) else json.dumps(value, sort_keys=True)


def fractions(train: float, val: float, test: float) -> tuple[float, float, float]:
    """Percentages (summing to 100) or fractions (summing to 1) as fractions.

    Raises:
        ConfigError: a share is negative or the shares do not add up.
    """
    shares = (train, val, test)
    if any(s < 0 for s in shares):
        raise ConfigError("--train, --val and --test must not be negative")
    total = sum(shares)
    if abs(total - 100) < 1e-6:
        return train / 100, val / 100, test / 100
    if abs(total - 1) < 1e-6:
        return shares
    raise ConfigError(f"--train, --val and --test add up to {total:g}: they must add up to 100 (or to 1)")


class _Groups:
    """Union-find over example indices; the root of a group is its earliest example."""

    def __init__(self) -> None:
        self.parent = array("i")

    def add(self) -> int:
        self.parent.append(len(self.parent))
        return len(self.parent) - 1

    def find(self, i: int) -> int:
        parent = self.parent
        root = i
        while parent[root] != root:
            root = parent[root]
        while parent[i] != root:
            parent[i], i = root, parent[i]
        return root

    def union(self, a: int, b: int) -> None:
        ra, rb = self.find(a), self.find(b)
        if ra != rb:
            self.parent[max(ra, rb)] = min(ra, rb)


def assign(sizes: list[int], shares: tuple[float, float, float], rng: Any) -> list[int]:
    """Split index for each group: shuffled, then each group goes where its midpoint falls on
    the cumulative example count, so splits match the shares as closely as whole groups allow."""
    total = sum(sizes)
    bounds = (shares[0], shares[0] + shares[1])
    out = [0] * len(sizes)
    done = 0
    for g in rng.permutation(len(sizes)).tolist():
        middle = (done + sizes[g] / 2) / total
        out[g] = 0 if middle < bounds[0] else 1 if middle < bounds[1] else 2
        done += sizes[g]
    return out


def split_file(
    path: Path,
    out_dir: Path,
    *,
    train: float = 80,
    val: float = 10,
    test: float = 10,
    seed: int = 0,
    stratify: str | None = None,
    threshold: float = 0.8,
    fmt: str | None = None,
    advance: Callable[[int], None] | None = None,
    jobs: int | None = None,
) -> dict[str, Any]:
    """Write `train.jsonl`, `val.jsonl`, `test.jsonl` (splits with a zero share are not written)
    and `split-report.json` into `out_dir`. The same file and seed give the same split.

    Raises:
        ConfigError: shares do not add up, or the threshold is not in (0, 1].
        DataError: the input cannot be read or has no examples, or outputs cannot be written.
    """
    import numpy as np

    from workflow.data.dedup import text_format
    from workflow.data.minhash import NearDuplicates
    from workflow.data.signing import Reread, signed_examples

    shares = fractions(train, val, test)
    if not 0 < threshold <= 1:
        raise ConfigError(f"--threshold must be in (0, 1], got {threshold}")
    path, out_dir = Path(path), Path(out_dir)
    text_fmt = text_format(fmt, path)
    groups, offsets, example_of = _Groups(), array("q"), array("i")
    reread = Reread(path, text_fmt)
    # The index's keys are the examples with distinct text; example_of maps them back.
    index = NearDuplicates(threshold, shingles_of=lambda key: reread(offsets[example_of[key]]))
    first_of: dict[bytes, int] = {}
    strata: dict[str, int] = {}
    stratum_of = array("i")
    numbers = array("i")
    invalid = 0
    try:
        for example in signed_examples(path, text_fmt, stratify=stratify, jobs=jobs, advance=advance):
            i = groups.add()
            numbers.append(example.number)
            offsets.append(example.offset)
            invalid += example.invalid
            stratum_of.append(strata.setdefault(example.label, len(strata)))
            if example.key in first_of:
                groups.union(first_of[example.key], i)
                continue
            first_of[example.key] = i
            index.add(example.values)
            example_of.append(i)
        del first_of
        for key, found in index.matches(index_all=True):
            for other, _ in found:
                groups.union(example_of[other], example_of[key])
    finally:
        reread.close()
    if not numbers:
        raise DataError(f"{path} has no examples")
    roots = [groups.find(i) for i in range(len(numbers))]
    sizes: Counter[int] = Counter(roots)
    rng = np.random.default_rng(seed)
    split_of_group: dict[int, int] = {}
    by_stratum: dict[int, list[int]] = {}
    for root in sizes:  # insertion order = first appearance
        by_stratum.setdefault(stratum_of[root], []).append(root)
    stratum_names = list(strata)
    for stratum in sorted(by_stratum, key=lambda s: stratum_names[s]):
        members = by_stratum[stratum]
        for root, where in zip(members, assign([sizes[r] for r in members], shares, rng), strict=True):
            split_of_group[root] = where
    names = [name for name, share in zip(SPLITS, shares, strict=True) if share > 0]
    targets = {name: out_dir / f"{name}.jsonl" for name in names}
    counts = dict.fromkeys(SPLITS, 0)
    per_stratum: dict[str, dict[str, int]] = {}
    with atomic_files(list(targets.values())) as handles:
        handle_of = dict(zip(names, handles, strict=True))
        for i, line in enumerate(read_lines(path)):
            split_name = SPLITS[split_of_group[roots[i]]]
            handle_of[split_name].write(line.raw)
            counts[split_name] += 1
            if stratify:
                row = per_stratum.setdefault(stratum_names[stratum_of[i]], dict.fromkeys(SPLITS, 0))
                row[split_name] += 1
    multi = [size for size in sizes.values() if size > 1]
    report = {
        "input": str(path), "output_dir": str(out_dir), "seed": seed, "threshold": threshold,
        "shares": dict(zip(SPLITS, shares, strict=True)), "counts": counts,
        "files": {name: str(p) for name, p in targets.items()},
        "examples": len(numbers), "invalid_json_lines": invalid,
        "duplicate_groups": len(multi), "examples_in_duplicate_groups": sum(multi),
        "stratify": stratify, "strata": per_stratum or None,
    }
    write_text(out_dir / "split-report.json", json.dumps(report, indent=2, ensure_ascii=False) + "\n")
    return report
