"""`sample_file`: a seeded (optionally stratified) sample of lines for human review.

Memory: the sampled lines only (reservoir sampling); a stratified sample reads the file twice,
first to count each stratum.
"""

from __future__ import annotations

import random
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

from workflow.data.atomic import atomic_file
from workflow.data.fields import label_of
from workflow.data.jsonl import read_lines
from workflow.errors import ConfigError, DataError


def quotas(counts: dict[str, int], n: int) -> dict[str, int]:
    """Largest-remainder shares of `n` proportional to `counts` (ties broken by name)."""
    total = sum(counts.values())
    if total == 0:
        return dict.fromkeys(counts, 0)
    n = min(n, total)
    exact = {name: n * c / total for name, c in counts.items()}
    out = {name: int(v) for name, v in exact.items()}
    left = n - sum(out.values())
    for name in sorted(counts, key=lambda k: (-(exact[k] - out[k]), k))[:left]:
        out[name] += 1
    return out


class _Reservoir:
    """Algorithm R: a uniform sample of `size` items from a stream of unknown length."""

    def __init__(self, size: int, rng: random.Random) -> None:
        self.size, self.rng, self.seen = size, rng, 0
        self.items: list[tuple[int, bytes]] = []

    def offer(self, item: tuple[int, bytes]) -> None:
        self.seen += 1
        if len(self.items) < self.size:
            self.items.append(item)
            return
        j = self.rng.randrange(self.seen)
        if j < self.size:
            self.items[j] = item


def sample_file(
    path: Path,
    out: Path,
    *,
    n: int,
    seed: int = 0,
    stratify: str | None = None,
    advance: Callable[[int], None] | None = None,
) -> dict[str, Any]:
    """Write `n` lines of `path` (in file order) to `out`; the same seed gives the same sample.
    Lines that are not valid JSON are never sampled.

    Raises:
        ConfigError: `n` is not positive.
        DataError: the input cannot be read or has no valid lines, or `out` is the input.
    """
    path, out = Path(path), Path(out)
    if n < 1:
        raise ConfigError(f"--n must be at least 1, got {n}")
    if out.exists() and path.exists() and out.resolve() == path.resolve():
        raise DataError(f"{out} is the input file: choose another output (inputs are never modified)")
    rng = random.Random(seed)
    invalid = 0
    if stratify:
        counts: Counter[str] = Counter(label_of(line.value, stratify) for line in read_lines(path)
                                       if line.error is None)
        share = quotas(dict(counts), n)
        reservoirs = {name: _Reservoir(k, rng) for name, k in sorted(share.items())}
    else:
        reservoirs = {"": _Reservoir(n, rng)}
    population = 0
    for line in read_lines(path, advance):
        if line.error is not None:
            invalid += 1
            continue
        population += 1
        name = label_of(line.value, stratify) if stratify else ""
        reservoirs[name].offer((line.number, line.raw))
    if population == 0:
        raise DataError(f"{path} has no valid JSON lines to sample")
    chosen = sorted(item for r in reservoirs.values() for item in r.items)
    with atomic_file(out) as handle:
        for _, raw in chosen:
            handle.write(raw)
    return {
        "input": str(path), "output": str(out), "seed": seed, "requested": n, "sampled": len(chosen),
        "population": population, "invalid_json_lines": invalid, "stratify": stratify,
        "strata": {name: {"population": r.seen, "sampled": len(r.items)} for name, r in reservoirs.items()}
        if stratify else None,
        "lines": [number for number, _ in chosen],
    }
