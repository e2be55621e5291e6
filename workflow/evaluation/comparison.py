"""Paired comparison of two runs over the cases they share: per metric a bootstrap CI of
the difference and an exact (or permutation) sign-flip p-value, case means over repetitions
being the paired unit; exact McNemar on per-case pass/fail; a verdict for each that needs
both significance and a practical size (`MinEffect`). Latency, tokens and cost are reported
but gate `--fail-on-regression` only when asked."""

from __future__ import annotations

import dataclasses
import re
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from workflow.errors import ConfigError, DataError
from workflow.evaluation.records import (
    Record,
    gated_by_default,
    higher_is_better,
    per_case_metrics,
    per_repeat_metrics,
)
from workflow.evaluation.rundir import RunSummary, read_run
from workflow.evaluation.stats import McNemar, mcnemar, paired_bootstrap, two_sample_permutation_p, verdict

__all__ = [
    "DEFAULT_MIN_EFFECTS",
    "Comparison",
    "MetricComparison",
    "MinEffect",
    "compare_records",
    "compare_runs",
    "condition_mismatches",
    "parse_min_effects",
    "target_notes",
]


@dataclass(frozen=True, kw_only=True)
class MinEffect:
    """The smallest difference that counts: `absolute` in the metric's unit and `relative`
    to run A's mean (0.1 = 10%); both must be reached."""

    absolute: float = 0.0
    relative: float = 0.0

    def __str__(self) -> str:
        parts = [f"{self.relative * 100:g}%"] if self.relative else []
        parts += [f"{self.absolute:g}"] if self.absolute else []
        return " and ".join(parts) or "0"


# Latency within one run is not independent across cases (one slow minute slows them all),
# so a latency verdict needs 10% and 1 ms besides significance, and significance across the
# repetitions as well as across the cases (RUN_LEVEL_METRICS).
DEFAULT_MIN_EFFECTS: dict[str, MinEffect] = {"latency_ms": MinEffect(absolute=1.0, relative=0.10)}
RUN_LEVEL_METRICS = ("latency_ms",)

_MIN_EFFECT = re.compile(r"^(?P<metric>[\w.\-]+)=(?P<value>\d+(?:\.\d+)?)(?P<pct>%?)$")


def parse_min_effects(items: list[str]) -> dict[str, MinEffect]:
    """`--min-effect METRIC=VALUE` (absolute) or `METRIC=VALUE%` (relative to run A), repeatable;
    a metric given both ways needs both. Starts from DEFAULT_MIN_EFFECTS.
    Raises ConfigError naming the item and the expected form."""
    out = dict(DEFAULT_MIN_EFFECTS)
    given: dict[str, MinEffect] = {}
    for item in items:
        match = _MIN_EFFECT.match(item.strip())
        if not match:
            raise ConfigError(f"--min-effect {item}: expected METRIC=VALUE or METRIC=VALUE%, e.g. latency_ms=20%")
        name, value = match["metric"], float(match["value"])
        current = given.get(name, MinEffect())
        given[name] = (MinEffect(absolute=current.absolute, relative=value / 100.0) if match["pct"]
                       else MinEffect(absolute=value, relative=current.relative))
    out.update(given)
    return out


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
    test: str
    min_effect: str
    gated: bool
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
    mismatches: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    @property
    def regressed_metrics(self) -> list[str]:
        """The gated metrics that regressed, McNemar's pass/fail included."""
        names = [m.metric for m in self.metrics if m.gated and m.verdict == "regressed"]
        return names + (["pass/fail (McNemar)"] if self.mcnemar_verdict == "regressed" else [])

    @property
    def regressed(self) -> bool:
        return bool(self.regressed_metrics)

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
    gate: list[str] | None = None,
    min_effects: dict[str, MinEffect] | None = None,
) -> Comparison:
    """Compare B against A (differences are B - A) over the case ids both runs have;
    `only` restricts the metrics compared (McNemar on pass/fail is always reported), `gate`
    adds metrics to the quality metrics that decide `regressed` (metrics named in `only`
    gate too), `min_effects` sets the practical size per metric (default DEFAULT_MIN_EFFECTS).

    Raises DataError when the runs share no cases, ConfigError for an unknown metric.
    """
    cases_a, cases_b = {r.case_id for r in a}, {r.case_id for r in b}
    shared = sorted(cases_a & cases_b)
    if not shared:
        raise DataError(f"{run_a} and {run_b} share no case ids; compare runs made from the same cases file")
    metrics_a, metrics_b = per_case_metrics(a), per_case_metrics(b)
    names = [m for m in metrics_a if m in metrics_b]
    for option, listed in (("--metric", only), ("--gate", gate)):
        unknown = [m for m in listed or [] if m not in names]
        if unknown:
            raise ConfigError(f"{option} {unknown[0]}: not in both runs; choose from {', '.join(names)}")
    effects = DEFAULT_MIN_EFFECTS if min_effects is None else min_effects
    gated = set(gate or []) | set(only or [])
    results: list[MetricComparison] = []
    for name in [m for m in names if not only or m in only]:
        paired = [c for c in shared if c in metrics_a[name] and c in metrics_b[name]]
        if not paired:
            continue
        xa = [metrics_a[name][c] for c in paired]
        xb = [metrics_b[name][c] for c in paired]
        diff = paired_bootstrap(xa, xb, n_resamples=n_resamples, level=1.0 - alpha, seed=seed)
        if name in RUN_LEVEL_METRICS and diff.p_value < 1.0:
            # The machine's load shifts a whole run: the difference must also hold between the
            # per-repetition means. The larger of two valid p-values is a valid p-value.
            reps_a, reps_b = per_repeat_metrics(a).get(name, []), per_repeat_metrics(b).get(name, [])
            run_p = two_sample_permutation_p(reps_a, reps_b, n_resamples=n_resamples, seed=seed) \
                if reps_a and reps_b else 1.0
            if run_p > diff.p_value:
                diff = dataclasses.replace(diff, p_value=run_p,
                                           test=f"between repetitions ({len(reps_a)} vs {len(reps_b)})")
        hib, effect = higher_is_better(name), effects.get(name, MinEffect())
        a_mean = sum(xa) / len(xa)
        results.append(MetricComparison(
            metric=name, higher_is_better=hib, n=diff.n, a_mean=a_mean, b_mean=sum(xb) / len(xb),
            mean_diff=diff.mean_diff, ci_low=diff.ci_low, ci_high=diff.ci_high, p_value=diff.p_value, test=diff.test,
            min_effect=str(effect), gated=name in gated or gated_by_default(name),
            verdict=verdict(diff, higher_is_better=hib, alpha=alpha, min_effect=effect.absolute,
                            min_relative=effect.relative, baseline=a_mean),
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


def condition_mismatches(a: RunSummary, b: RunSummary) -> list[str]:
    """How run B was measured differently from run A: another cases file content, other
    repetitions, concurrency or output key. Each item is one sentence with the fix; an
    empty list means the runs are comparable."""
    out: list[str] = []
    if a.cases_sha256 != b.cases_sha256:
        out.append(f"the cases differ (cases file sha256 {a.cases_sha256[:12]} vs {b.cases_sha256[:12]}): "
                   "run both on the same cases file")
    for name, label in (("repeat", "--repeat"), ("concurrency", "--concurrency"), ("output_key", "--output-key")):
        va, vb = getattr(a, name), getattr(b, name)
        if va != vb:
            out.append(f"{label} differs ({va} vs {vb}): re-run B with {label} {va}")
    return out


def target_notes(a: RunSummary, b: RunSummary) -> list[str]:
    """What changed in the application itself: another target, or (worth knowing when B is
    meant to test a change) no change at all in the files that key the cache."""
    if a.target != b.target:
        return [f"the targets differ ({a.target} vs {b.target})"]
    if a.target_fingerprint and a.target_fingerprint == b.target_fingerprint:
        return ["A and B measured the same application files (same target fingerprint): no change was applied"]
    return []


def compare_runs(run_a: Path, run_b: Path, *, alpha: float = 0.05, n_resamples: int = 10_000,
                 seed: int = 0, only: list[str] | None = None, gate: list[str] | None = None,
                 min_effects: dict[str, MinEffect] | None = None) -> Comparison:
    """Read two run folders and compare them; `Comparison.mismatches` lists how their
    conditions differ (see condition_mismatches) and any unpaired cases, `notes` what changed
    in the target (see target_notes). Raises DataError
    for unreadable folders or runs with no shared cases; ConfigError for alpha outside
    (0, 1) or an unknown metric."""
    if not 0.0 < alpha < 1.0:
        raise ConfigError(f"--alpha must be between 0 and 1, got {alpha}")
    summary_a, records_a = read_run(run_a)
    summary_b, records_b = read_run(run_b)
    result = compare_records(records_a, records_b, run_a=str(run_a), run_b=str(run_b), alpha=alpha,
                             n_resamples=n_resamples, seed=seed, only=only, gate=gate, min_effects=min_effects)
    mismatches = condition_mismatches(summary_a, summary_b)
    if result.only_in_a or result.only_in_b:
        mismatches.append(f"{len(result.only_in_a)} cases only in A and {len(result.only_in_b)} only in B "
                          "are left out of the comparison")
    return dataclasses.replace(result, mismatches=mismatches, notes=target_notes(summary_a, summary_b))
