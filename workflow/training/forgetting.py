"""Catastrophic forgetting: base vs tuned on the general-skills regression set, against a budget.

The regression set is scored exactly like the test split (`comparison.compare`); what this adds
is the relative drop of every metric, tuned against base, and a verdict against the spec's
`evaluation.forgetting_budget_pct`. No torch.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import Any

from workflow.training.comparison import Comparison

__all__ = ["Forgetting", "ForgettingRow", "forgetting_lines", "measure_forgetting"]


@dataclass(frozen=True, kw_only=True)
class ForgettingRow:
    name: str
    higher_is_better: bool
    base: float
    tuned: float
    drop_pct: float | None  # relative drop, positive = worse; None when the base scores 0
    ci_low: float
    ci_high: float
    within_budget: bool


@dataclass(frozen=True, kw_only=True)
class Forgetting:
    source: str
    n: int  # examples scored
    total: int  # examples in the file
    budget_pct: float
    rows: list[ForgettingRow]

    @property
    def over_budget(self) -> list[ForgettingRow]:
        return [r for r in self.rows if not r.within_budget]

    @property
    def verdict(self) -> str:
        over = self.over_budget
        return f"over budget on {', '.join(r.name for r in over)}" if over else "within budget"

    @property
    def failures(self) -> list[str]:
        """What --fail-on-regression fails on, worded to follow "the tuned model is"."""
        return [f"{_drop(r)} worse than the base on the regression set's {r.name} (budget "
                f"{self.budget_pct:g}%)" for r in self.over_budget]

    def to_dict(self) -> dict[str, Any]:
        return {"regression_set": self.source, "examples": self.n, "total": self.total,
                "budget_pct": self.budget_pct, "verdict": self.verdict,
                "metrics": {r.name: {k: v for k, v in asdict(r).items() if k != "name"} for r in self.rows}}


def _relative_drop(base: float, tuned: float, higher_is_better: bool) -> float | None:
    worse_by = (base - tuned) if higher_is_better else (tuned - base)
    if base == 0:
        return 0.0 if worse_by <= 0 else None
    return 100.0 * worse_by / abs(base)


def measure_forgetting(comparison: Comparison, *, source: str, total: int, budget_pct: float) -> Forgetting:
    """Every metric of `comparison` (base vs tuned on the regression set) as a relative drop, each
    within the budget when it drops by at most `budget_pct` percent. A metric the base scores 0 on
    is over budget only when the tuned model is worse at all (any drop from 0 is unbounded)."""
    rows = []
    for r in comparison.rows:
        drop = _relative_drop(r.base, r.tuned, r.higher_is_better)
        within = drop is not None and not math.isnan(drop) and drop <= budget_pct
        rows.append(ForgettingRow(name=r.name, higher_is_better=r.higher_is_better, base=r.base, tuned=r.tuned,
                                  drop_pct=drop, ci_low=r.ci_low, ci_high=r.ci_high, within_budget=within))
    return Forgetting(source=source, n=comparison.n, total=total, budget_pct=budget_pct, rows=rows)


def _drop(row: ForgettingRow) -> str:
    return "infinitely" if row.drop_pct is None else f"{row.drop_pct:.1f}%"


def forgetting_lines(forgetting: Forgetting | None, note: str | None) -> list[str]:
    """The report's "General skills (regression set)" section body."""
    if forgetting is None:
        return [note or "No regression set named (evaluation.regression_set), so forgetting was not measured."]
    f = forgetting
    scored = f"{f.n} examples" if f.n == f.total else f"the first {f.n} of {f.total} examples"
    lines = [f"`{f.source}`: {scored}, scored like the test split. Budget: the tuned model may drop at most "
             f"{f.budget_pct:g}% below the base on each metric. Verdict: **{f.verdict}**.", "",
             "| metric | base | tuned | drop % | budget | verdict | tuned − base 95% CI |",
             "| --- | --- | --- | --- | --- | --- | --- |"]
    for r in f.rows:
        direction = "higher" if r.higher_is_better else "lower"
        drop = "∞ (base 0)" if r.drop_pct is None else f"{r.drop_pct:+.1f}%"
        lines.append(f"| {r.name} ({direction} is better) | {r.base:.4f} | {r.tuned:.4f} | {drop} | "
                     f"{f.budget_pct:g}% | {'within budget' if r.within_budget else 'over budget'} | "
                     f"[{r.ci_low:+.4f}, {r.ci_high:+.4f}] |")
    lines += ["", "A positive drop is the tuned model doing worse (a higher loss, a lower score), relative to "
              "the base."]
    return lines
