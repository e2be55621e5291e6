"""`analyze_file`: counts, turn and token distributions, label balance, duplicates, empty and
short responses, PII — all from the same single pass that validates the file."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from workflow.data.pii import KINDS
from workflow.data.problem import Problem
from workflow.data.scan import ScanOptions, ScanResult, scan_file

SHORT_TOKENS = 5


def analysis_of(result: ScanResult, *, short_tokens: int = SHORT_TOKENS) -> dict[str, Any]:
    """The analysis dict (the `--json` output of `cairn data analyze`) for a finished scan."""
    import numpy as np

    from workflow.data.distribution import distribution
    from workflow.data.validate import summary_of

    summary = summary_of(result)
    valid = result.valid
    hashes = np.frombuffer(result.hashes, np.int64)
    duplicates = int(hashes.size - np.unique(hashes).size) if hashes.size else 0
    response = np.frombuffer(result.response_tokens, np.uint32)
    short = int(np.count_nonzero(response < short_tokens)) if response.size else 0
    labels = None
    if result.options.label is not None:
        counts = dict(result.labels.most_common())
        real = [c for name, c in counts.items() if name != "(missing)"]
        labels = {"field": result.options.label, "counts": counts, "classes": len(real),
                  "ratio": round(max(real) / min(real), 2) if real else None}

    def rate(n: int) -> float:
        return round(n / valid, 4) if valid else 0.0

    return {
        "file": summary["file"],
        "format": summary["format"],
        "size_bytes": result.size,
        "lines": result.lines,
        "examples": result.examples,
        "valid_examples": valid,
        "problems": {"errors": result.errors, "warnings": result.warnings, "by_code": summary["by_code"]},
        "turns": distribution(result.turns),
        "tokens": summary["tokens"],
        "duplicates": {"exact": duplicates, "rate": rate(duplicates),
                       "definition": "identical lines (see `cairn data dedup` for normalised and near duplicates)"},
        "responses": {"empty": result.empty_responses, "empty_rate": rate(result.empty_responses),
                      "short": short, "short_rate": rate(short), "short_below_tokens": short_tokens},
        "labels": labels,
        "pii": {"engine": "cairn" + (f" + presidio ({result.options.presidio})" if result.options.presidio else ""),
                "counts": {**{k: result.pii_counts.get(k, 0) for k in KINDS},
                           **{k: n for k, n in sorted(result.pii_counts.items()) if k not in KINDS}},
                "examples_with_pii": result.pii_examples, "rate": rate(result.pii_examples),
                "samples": [{"line": line, "kind": kind, "masked": masked}
                            for line, kind, masked in result.pii_samples]},
    }


def analyze_file(
    path: Path,
    fmt: str | None = None,
    *,
    label: str | None = None,
    tokenizer: str | None = None,
    max_tokens: int | None = None,
    presidio: str | None = None,
    short_tokens: int = SHORT_TOKENS,
    on_problem: Callable[[Problem], None] | None = None,
    advance: Callable[[int], None] | None = None,
    jobs: int | None = None,
) -> tuple[dict[str, Any], ScanResult]:
    """Analyze a JSONL file in one streaming pass (format detected when `fmt` is None or "auto").

    `presidio` names a spaCy model (package or folder): the PII scan then also runs Presidio
    (the `pii` extra) for names, places and other entities Cairn's own scan does not cover.

    Returns the analysis dict and the scan result it came from (for plots and review).

    Raises:
        DataError: the file cannot be read or its format cannot be detected.
        ConfigError: `fmt` is not a known format.
        MissingExtra: a tokenizer or Presidio was asked for but its library is not installed.
    """
    from workflow.data.formats import resolve_format

    options = ScanOptions(fmt=resolve_format(fmt, path), label=label, tokenizer=tokenizer, max_tokens=max_tokens,
                          presidio=presidio)
    result = scan_file(Path(path), options, on_problem=on_problem, advance=advance, jobs=jobs)
    return analysis_of(result, short_tokens=short_tokens), result
