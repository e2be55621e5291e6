"""`contamination`: word n-gram overlap between a training file and an evaluation file.

The evaluation file is indexed in memory (it is the small one); the training file is streamed.
Text is the example's message contents without system prompts (a shared system prompt is not
contamination). An eval item counts as contaminated when more than `min_overlap` of its n-grams
occur in the training file (default: any one, as in the GPT-3 paper's 13-gram check). Items
shorter than `ngram` words are matched on their whole word sequence; items under 5 words are
too short to tell and are listed as such.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from workflow.data.jsonl import read_lines
from workflow.errors import ConfigError, DataError

MIN_WORDS = 5
TRAIN_LINES_KEPT = 5


@dataclass
class _Item:
    line: int
    grams: int
    matched: set[int] = field(default_factory=set)
    train_lines: list[int] = field(default_factory=list)


def contamination(
    train: Path,
    eval_file: Path,
    *,
    ngram: int = 13,
    max_ratio: float = 0.0,
    min_overlap: float = 0.0,
    fmt: str | None = None,
    advance: Callable[[int], None] | None = None,
) -> dict[str, Any]:
    """Which eval items share n-grams with the training file, and the contaminated ratio.

    `passed` is False when the ratio of contaminated items is above `max_ratio`.

    Raises:
        ConfigError: `ngram` < 1, or a ratio is outside [0, 1].
        DataError: a file cannot be read, or the eval file has no examples.
    """
    from workflow.data.formats import text_format
    from workflow.data.shingles import WordHasher, example_text, ngram_hashes

    if ngram < 1:
        raise ConfigError(f"--ngram must be at least 1, got {ngram}")
    for name, value in (("--max-ratio", max_ratio), ("--min-overlap", min_overlap)):
        if not 0 <= value <= 1:
            raise ConfigError(f"{name} must be between 0 and 1, got {value}")
    train, eval_file = Path(train), Path(eval_file)
    hasher = WordHasher()
    index: dict[int, list[int]] = {}
    items: list[_Item] = []
    too_short: list[int] = []
    lengths = {ngram}
    eval_fmt = text_format(fmt, eval_file)
    for line in read_lines(eval_file):
        if line.error is not None:
            continue
        words = hasher(example_text(line.value, eval_fmt, system=False))
        if words.size < min(MIN_WORDS, ngram):
            too_short.append(line.number)
            continue
        n = min(ngram, int(words.size))
        lengths.add(n)
        grams = set(ngram_hashes(words, n).tolist())
        item = len(items)
        items.append(_Item(line.number, len(grams)))
        for gram in grams:
            index.setdefault(gram, []).append(item)
    if not items and not too_short:
        raise DataError(f"{eval_file} has no examples")
    train_fmt = text_format(fmt, train)
    train_examples = 0
    for line in read_lines(train, advance):
        if line.error is not None:
            continue
        train_examples += 1
        words = hasher(example_text(line.value, train_fmt, system=False))
        hits: set[int] = set()
        for n in lengths:
            hits.update(gram for gram in ngram_hashes(words, n).tolist() if gram in index)
        touched: set[int] = set()
        for gram in hits:
            for item in index[gram]:
                items[item].matched.add(gram)
                touched.add(item)
        for item in touched:
            if len(items[item].train_lines) < TRAIN_LINES_KEPT:
                items[item].train_lines.append(line.number)
    flagged = [it for it in items if it.matched and len(it.matched) / it.grams > min_overlap]
    ratio = len(flagged) / len(items) if items else 0.0
    return {
        "train": str(train), "eval": str(eval_file), "ngram": ngram, "min_overlap": min_overlap,
        "train_examples": train_examples, "eval_items": len(items) + len(too_short), "checked": len(items),
        "too_short": too_short, "contaminated": len(flagged), "ratio": round(ratio, 4),
        "max_ratio": max_ratio, "passed": ratio <= max_ratio,
        "items": [{"line": it.line, "overlap": round(len(it.matched) / it.grams, 4), "train_lines": it.train_lines}
                  for it in flagged],
    }
