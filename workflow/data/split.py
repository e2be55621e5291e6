"""`split_file`: seeded train / val / test split that never puts duplicates on both sides.

Exact copies and every near-duplicate pair at or above the threshold (found exactly, see
`nearpairs`) are joined into groups (union-find), and whole groups are assigned to splits, so no
pair above the threshold straddles two splits, whatever the seed. Examples are compared without
system prompts and templated boilerplate unless asked (see `dedup`). Memory: a few integers per
example and one shingle set per distinct text (4 bytes a distinct word 3-gram); the lines are
streamed twice.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from workflow.data.atomic import atomic_files
from workflow.data.fields import label_of
from workflow.data.formats import text_format
from workflow.data.jsonl import read_lines
from workflow.errors import ConfigError, DataError

if TYPE_CHECKING:
    from workflow.data.duplicates import FileDuplicates

__all__ = ["SPLITS", "assign", "duplicate_groups", "fractions", "label_of", "split_file"]

SPLITS = ("train", "val", "test")


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


def duplicate_groups(
    path: Path,
    fmt: str | None,
    *,
    threshold: float,
    include_system: bool,
    include_boilerplate: bool,
    stratify: str | None = None,
    jobs: int | None = None,
    advance: Callable[[int], None] | None = None,
) -> tuple[FileDuplicates, list[int]]:
    """The duplicates of a file and each example's group (its root, an example index): exact copies
    and near-duplicate pairs at or above `threshold` joined transitively (union-find).

    Raises:
        ConfigError: the threshold is not in (0, 1].
        DataError: the input cannot be read or has no examples.
    """
    from workflow.data.duplicates import Groups, file_duplicates

    if not 0 < threshold <= 1:
        raise ConfigError(f"--threshold must be in (0, 1], got {threshold}")
    found = file_duplicates(path, text_format(fmt, path), threshold=threshold, system=include_system,
                            boilerplate=not include_boilerplate, stratify=stratify, connect_only=True, jobs=jobs,
                            advance=advance)
    if not len(found):
        raise DataError(f"{path} has no examples")
    groups = Groups(len(found))
    for i, earlier in enumerate(found.first_copy):
        if earlier >= 0:
            groups.union(earlier, i)
    for a, b, _ in found.near.pairs:
        groups.union(found.distinct[a], found.distinct[b])
    return found, [groups.find(i) for i in range(len(found))]


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
    include_system: bool = False,
    include_boilerplate: bool = False,
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

    shares = fractions(train, val, test)
    path, out_dir = Path(path), Path(out_dir)
    found, roots = duplicate_groups(path, fmt, threshold=threshold, include_system=include_system,
                                    include_boilerplate=include_boilerplate, stratify=stratify, jobs=jobs,
                                    advance=advance)
    strata: dict[str, int] = {}
    stratum_of = [strata.setdefault(label, len(strata)) for label in found.labels]
    numbers = found.numbers
    invalid = found.invalid
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
    # The split files and split-report.json are renamed into place together, or none of them is.
    with atomic_files([*targets.values(), out_dir / "split-report.json"]) as handles:
        handle_of = dict(zip(names, handles[:-1], strict=True))
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
            "system_prompts": "compared" if include_system else "ignored", "boilerplate": found.boilerplate,
            "near_pairs": len(found.near.pairs),  # the pairs that link the groups (see near_pairs' connect_only)
        }
        handles[-1].write((json.dumps(report, indent=2, ensure_ascii=False) + "\n").encode("utf-8"))
    return report
