"""Paired comparison of two runs over the cases they share: a bootstrap CI of the
difference per metric (case means over repetitions are the paired unit), McNemar on
per-case pass/fail, and a verdict for each."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from workflow.errors import ConfigError, DataError
from workflow.evaluation.records import Record, higher_is_better, per_case_metrics
from workflow.evaluation.rundir import read_run
from workflow.evaluation.stats import McNemar, mcnemar, paired_bootstrap, verdict

__all__ = ["Comparison", "MetricComparison", "compare_records", "compare_runs"]


@dataclass(frozen=True, kw_only=True)
class MetricComparison:
    metric: str
    higher_is_better: bool
    n: int
    a_mean: float
    b_mean: float
    mean_diff: float
    ci_low: float
    ci_high: float
    p_value: float
    verdict: str


@dataclass(frozen=True, kw_only=True)
class Comparison:
    run_a: str
    run_b: str
    n_cases: int
    only_in_a: list[str]
    only_in_b: list[str]
    alpha: float
    metrics: list[MetricComparison]
    mcnemar: McNemar
    mcnemar_verdict: str

    @property
    def regressed(self) -> bool:
        return self.mcnemar_verdict == "regressed" or any(m.verdict == "regressed" for m in self.metrics)

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["regressed"] = self.regressed
        return data


def _case_passes(records: list[Record]) -> dict[str, bool]:
    """A case passes when at least half of its repetitions pass."""
    tally: dict[str, list[bool]] = {}
    for r in records:
        tally.setdefault(r.case_id, []).append(r.passed)
    return {case: sum(v) * 2 >= len(v) for case, v in tally.items()}


def compare_records(
    a: list[Record],
    b: list[Record],
    *,
    run_a: str = "A",
    run_b: str = "B",
    alpha: float = 0.05,
    n_resamples: int = 10_000,
    seed: int = 0,
    only: list[str] | None = None,
) -> Comparison:
    """Compare B against A (differences are B - A) over the case ids both runs have;
    `only` restricts the metrics compared (McNemar on pass/fail is always reported).

    Raises DataError when the runs share no cases, ConfigError for an unknown metric in `only`.
    """
    cases_a, cases_b = {r.case_id for r in a}, {r.case_id for r in b}
    shared = sorted(cases_a & cases_b)
    if not shared:
        raise DataError(f"{run_a} and {run_b} share no case ids; compare runs made from the same cases file")
    metrics_a, metrics_b = per_case_metrics(a), per_case_metrics(b)
    names = [m for m in metrics_a if m in metrics_b]
    unknown = [m for m in only or [] if m not in names]
    if unknown:
        raise ConfigError(f"--metric {unknown[0]}: not in both runs; choose from {', '.join(names)}")
    results: list[MetricComparison] = []
    for name in [m for m in names if not only or m in only]:
        paired = [c for c in shared if c in metrics_a[name] and c in metrics_b[name]]
        if not paired:
            continue
        xa = [metrics_a[name][c] for c in paired]
        xb = [metrics_b[name][c] for c in paired]
        diff = paired_bootstrap(xa, xb, n_resamples=n_resamples, level=1.0 - alpha, seed=seed)
        hib = higher_is_better(name)
        results.append(MetricComparison(
            metric=name, higher_is_better=hib, n=diff.n, a_mean=sum(xa) / len(xa), b_mean=sum(xb) / len(xb),
            mean_diff=diff.mean_diff, ci_low=diff.ci_low, ci_high=diff.ci_high, p_value=diff.p_value,
            verdict=verdict(diff, higher_is_better=hib, alpha=alpha),
        ))
    pass_a, pass_b = _case_passes(a), _case_passes(b)
    test = mcnemar([pass_a[c] for c in shared], [pass_b[c] for c in shared])
    mc_verdict = "no significant change"
    if test.p_value < alpha and test.b != test.c:
        mc_verdict = "improved" if test.c > test.b else "regressed"
    return Comparison(
        run_a=run_a, run_b=run_b, n_cases=len(shared), only_in_a=sorted(cases_a - cases_b),
        only_in_b=sorted(cases_b - cases_a), alpha=alpha, metrics=results, mcnemar=test, mcnemar_verdict=mc_verdict,
    )


def compare_runs(run_a: Path, run_b: Path, *, alpha: float = 0.05, n_resamples: int = 10_000,
                 seed: int = 0, only: list[str] | None = None) -> Comparison:
    """Read two run folders and compare them. Raises DataError for unreadable folders or
    runs with no shared cases; ConfigError for alpha outside (0, 1) or an unknown metric."""
    if not 0.0 < alpha < 1.0:
        raise ConfigError(f"--alpha must be between 0 and 1, got {alpha}")
    _, records_a = read_run(run_a)
    _, records_b = read_run(run_b)
    return compare_records(records_a, records_b, run_a=str(run_a), run_b=str(run_b), alpha=alpha,
                           n_resamples=n_resamples, seed=seed, only=only)
