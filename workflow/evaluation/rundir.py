"""The run folder: results.jsonl (one Record per line), summary.json (per-metric statistics
over cases and repetitions) and metrics.png (the per-repetition distributions)."""

from __future__ import annotations

import json
from pathlib import Path

from pydantic import BaseModel, ConfigDict, ValidationError

from workflow.errors import DataError
from workflow.evaluation.records import Record, higher_is_better, per_case_values, per_repeat_metrics
from workflow.evaluation.stats import case_summary, summarize
from workflow.fileio import atomic_write_text

__all__ = ["MetricSummary", "RunSummary", "read_run", "summarize_records", "write_run"]

RESULTS, SUMMARY, PLOT = "results.jsonl", "summary.json", "metrics.png"


class MetricSummary(BaseModel):
    """`n` cases; `std` is the spread of the case means, `repeat_std` that of the
    per-repetition means (run-to-run noise); the interval is over cases (`ci_method`)."""

    model_config = ConfigDict(extra="forbid")

    n: int
    mean: float
    std: float
    ci_low: float
    ci_high: float
    higher_is_better: bool
    repeat_std: float = 0.0
    ci_method: str = "t over repetitions"


class RunSummary(BaseModel):
    """summary.json: how the run was made and the statistics of each metric."""

    model_config = ConfigDict(extra="forbid")

    version: int = 2
    target: str
    target_fingerprint: str | None = None
    fingerprint_files: int = 0
    cases_file: str
    cases_sha256: str
    repeat: int
    concurrency: int
    output_key: str | None = None
    created: str
    duration_s: float
    n_cases: int
    n_records: int
    errors: int
    cached: int
    metrics: dict[str, MetricSummary]


def summarize_records(records: list[Record]) -> dict[str, MetricSummary]:
    """Mean of each metric over cases with a 95% interval that resamples cases and their
    repetitions (Wilson for a pass/fail metric that never varies within a case)."""
    out: dict[str, MetricSummary] = {}
    by_repeat = per_repeat_metrics(records)
    for name, cases in per_case_values(records).items():
        s = case_summary(list(cases.values()))
        out[name] = MetricSummary(n=s.n, mean=s.mean, std=s.std, ci_low=s.ci_low, ci_high=s.ci_high,
                                  higher_is_better=higher_is_better(name), repeat_std=summarize(by_repeat[name]).std,
                                  ci_method=s.method)
    return out


def _plot(path: Path, records: list[Record]) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    series = per_repeat_metrics(records)
    names = list(series)
    cols = min(3, len(names))
    rows = (len(names) + cols - 1) // cols
    fig, axes = plt.subplots(rows, cols, figsize=(4 * cols, 3 * rows), squeeze=False)
    for ax, name in zip(axes.flat, names, strict=False):
        values = series[name]
        ax.boxplot(values, widths=0.5)
        ax.scatter([1] * len(values), values, s=14, alpha=0.7, zorder=3)
        ax.set_title(name, fontsize=10)
        ax.set_xticks([])
    for ax in list(axes.flat)[len(names):]:
        ax.axis("off")
    fig.suptitle(f"per-repetition metrics ({len({r.repeat for r in records})} repetitions)", fontsize=11)
    fig.tight_layout()
    tmp = path.with_name(f".{path.name}.tmp.png")
    fig.savefig(tmp, dpi=100)
    plt.close(fig)
    tmp.replace(path)


def write_run(run_dir: Path, records: list[Record], summary: RunSummary, *, plot: bool = True) -> None:
    """Write the run folder; each file appears whole or not at all."""
    run_dir.mkdir(parents=True, exist_ok=True)
    lines = "".join(r.model_dump_json() + "\n" for r in records)
    atomic_write_text(run_dir / RESULTS, lines)
    atomic_write_text(run_dir / SUMMARY, summary.model_dump_json(indent=2) + "\n")
    if plot and records:
        _plot(run_dir / PLOT, records)


def read_run(run_dir: Path) -> tuple[RunSummary, list[Record]]:
    """Read a run folder written by `cairn eval run`.

    Raises DataError naming the file (and line) when the folder is not a run or is damaged.
    """
    summary_path, results_path = run_dir / SUMMARY, run_dir / RESULTS
    if not summary_path.is_file() or not results_path.is_file():
        raise DataError(f"{run_dir}: not a run folder (needs {SUMMARY} and {RESULTS}; make one with cairn eval run)")
    try:
        summary = RunSummary.model_validate_json(summary_path.read_text(encoding="utf-8"))
    except ValidationError as exc:
        err = exc.errors()[0]
        raise DataError(f"{summary_path}: field '{'.'.join(map(str, err['loc']))}': {err['msg']}") from None
    records: list[Record] = []
    with results_path.open(encoding="utf-8") as fh:
        for lineno, line in enumerate(fh, start=1):
            if not line.strip():
                continue
            try:
                records.append(Record.model_validate(json.loads(line)))
            except (json.JSONDecodeError, ValidationError) as exc:
                raise DataError(f"{results_path}:{lineno}: not a result record ({str(exc).splitlines()[0]})") \
                    from None
    return summary, records
