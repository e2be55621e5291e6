"""The exact and near duplicates of a file (for `dedup` and `split`) or of rows in memory (for
`cairn train`'s own test carve), and the groups they form.

Examples are compared on their text without system prompts (`system=True` puts them back) and
without templated boilerplate (see `nearpairs`). Memory: per example a line number, a byte offset
and its stratum; per example with distinct text, its shingle set (4 bytes a distinct word 3-gram).
"""

from __future__ import annotations

from array import array
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from workflow.data.formats import DatasetFormat
from workflow.data.nearpairs import (
    BOILERPLATE_SHARE,
    MIN_EXAMPLES_FOR_BOILERPLATE,
    Groups,
    NearPairs,
    ShingleSets,
    boilerplate_run,
    near_pairs,
)
from workflow.data.shingles import WordHasher, exact_key, example_text, shingles, shingles_in_order, words_of

__all__ = ["FileDuplicates", "Groups", "file_duplicates", "row_groups"]


@dataclass(kw_only=True)
class FileDuplicates:
    """What `file_duplicates` found. Indices are examples in file order (blank lines skipped)."""

    numbers: array  # 1-based line number of each example
    offsets: array  # byte offset of each example's line
    labels: list[str]  # stratum of each example ("" without stratify)
    first_copy: array  # index of the earlier example with the same text, or -1
    distinct: array  # example index of each distinct text (the keys of `near`)
    near: NearPairs
    invalid: int
    boilerplate: dict[str, Any] | None

    def __len__(self) -> int:
        return len(self.numbers)


def _boilerplate_report(near: NearPairs, text_of_key: Callable[[int], str], share: float) -> dict[str, Any] | None:
    if near.first_with_boilerplate is None:
        return None
    hasher = WordHasher()
    text = text_of_key(near.first_with_boilerplate)
    sample = boilerplate_run(words_of(text), shingles_in_order(hasher(text)), near.boilerplate)
    return {"shingles": int(near.boilerplate.size), "min_share": share, "examples": near.boilerplate_examples,
            "min_examples": MIN_EXAMPLES_FOR_BOILERPLATE, "sample": sample,
            "note": "word 3-grams found in at least this share (and number) of the distinct examples are left out "
                    "of the near-duplicate comparison (--include-boilerplate keeps them)"}


def file_duplicates(path: Path, fmt: DatasetFormat | None, *, threshold: float, system: bool = False,
                    boilerplate: bool = True, stratify: str | None = None, connect_only: bool = False,
                    jobs: int | None = None, advance: Callable[[int], None] | None = None) -> FileDuplicates:
    """Exact copies and every near-duplicate pair (Jaccard >= `threshold`, exactly) of a file;
    with `connect_only`, the pairs that connect the near-duplicate groups (see `near_pairs`).

    Raises:
        DataError: the file cannot be read.
    """
    from workflow.data.signing import signed_examples, text_at

    numbers, offsets, first_copy, distinct = array("i"), array("q"), array("i"), array("i")
    labels: list[str] = []
    sets = ShingleSets()
    first_of: dict[bytes, int] = {}
    invalid = 0
    for i, example in enumerate(signed_examples(path, fmt, stratify=stratify, system=system, jobs=jobs,
                                                advance=advance)):
        numbers.append(example.number)
        offsets.append(example.offset)
        labels.append(example.label)
        invalid += example.invalid
        earlier = first_of.setdefault(example.key, i)
        first_copy.append(earlier if earlier != i else -1)
        if earlier == i:
            sets.add(example.shingles)
            distinct.append(i)
    del first_of
    share = BOILERPLATE_SHARE if boilerplate else None
    near = near_pairs(sets, threshold, boilerplate_share=share, connect_only=connect_only)
    del sets
    report = _boilerplate_report(near, lambda key: text_at(path, offsets[distinct[key]], fmt, system=system),
                                 BOILERPLATE_SHARE)
    return FileDuplicates(numbers=numbers, offsets=offsets, labels=labels, first_copy=first_copy, distinct=distinct,
                          near=near, invalid=invalid, boilerplate=report)


def row_groups(rows: list[Any], fmt: DatasetFormat | None, *, threshold: float = 0.8, system: bool = False,
               boilerplate: bool = True) -> list[int]:
    """The group (its earliest row's index) of each row: exact copies and near duplicates at or
    above `threshold` share one, transitively, so a split by groups never separates them."""
    hasher = WordHasher()
    groups = Groups(len(rows))
    sets = ShingleSets()
    distinct: list[int] = []
    first_of: dict[bytes, int] = {}
    for i, row in enumerate(rows):
        text = example_text(row, fmt, system=system)
        earlier = first_of.setdefault(exact_key(text), i)
        if earlier != i:
            groups.union(earlier, i)
            continue
        sets.add(shingles(hasher(text)))
        distinct.append(i)
    near = near_pairs(sets, threshold, boilerplate_share=BOILERPLATE_SHARE if boilerplate else None,
                      connect_only=True)
    for a, b, _ in near.pairs:
        groups.union(distinct[a], distinct[b])
    return groups.roots()

