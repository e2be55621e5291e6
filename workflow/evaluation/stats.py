"""Summary statistics and paired comparisons shared by `cairn eval` and the training
issue's base-vs-tuned evaluation.

numpy only: scipy is not a core dependency, so the t quantile, the chi-square tail and
the binomial tail are computed here from their textbook definitions.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

__all__ = [
    "McNemar",
    "PairedDiff",
    "Summary",
    "mcnemar",
    "paired_bootstrap",
    "summarize",
    "t_quantile",
    "verdict",
]

# Below this many discordant pairs the chi-square approximation is poor; use the exact test.
EXACT_MCNEMAR_BELOW = 25

Verdict = Literal["improved", "regressed", "no significant change"]


@dataclass(frozen=True, kw_only=True)
class Summary:
    """Mean, sample standard deviation (ddof=1) and a t-interval for the mean."""

    n: int
    mean: float
    std: float
    ci_low: float
    ci_high: float


@dataclass(frozen=True, kw_only=True)
class PairedDiff:
    """Mean of b - a over paired values, its bootstrap percentile CI and two-sided p-value."""

    n: int
    mean_diff: float
    ci_low: float
    ci_high: float
    p_value: float


@dataclass(frozen=True, kw_only=True)
class McNemar:
    """b = pairs where A passed and B failed; c = pairs where A failed and B passed."""

    b: int
    c: int
    statistic: float
    p_value: float


def _check_level(level: float) -> None:
    if not 0.0 < level < 1.0:
        raise ValueError(f"level must be between 0 and 1 (exclusive), got {level}")


def _floats(values: Sequence[float], name: str) -> list[float]:
    out = [float(v) for v in values]
    if not out:
        raise ValueError(f"{name} is empty: need at least one value")
    if any(math.isnan(v) or math.isinf(v) for v in out):
        raise ValueError(f"{name} contains NaN or infinity: drop or fix those values first")
    return out


def _betacf(a: float, b: float, x: float) -> float:
    """Continued fraction for the incomplete beta function (modified Lentz)."""
    tiny = 1e-300
    qab, qap, qam = a + b, a + 1.0, a - 1.0
    c, d = 1.0, 1.0 - qab * x / qap
    d = 1.0 / (d if abs(d) > tiny else tiny)
    h = d
    for m in range(1, 500):
        m2 = 2 * m
        aa = m * (b - m) * x / ((qam + m2) * (a + m2))
        d = 1.0 + aa * d
        d = 1.0 / (d if abs(d) > tiny else tiny)
        c = 1.0 + aa / c
        c = c if abs(c) > tiny else tiny
        h *= d * c
        aa = -(a + m) * (qab + m) * x / ((a + m2) * (qap + m2))
        d = 1.0 + aa * d
        d = 1.0 / (d if abs(d) > tiny else tiny)
        c = 1.0 + aa / c
        c = c if abs(c) > tiny else tiny
        delta = d * c
        h *= delta
        if abs(delta - 1.0) < 1e-15:
            break
    return h


def _betainc(a: float, b: float, x: float) -> float:
    """Regularized incomplete beta I_x(a, b)."""
    if x <= 0.0:
        return 0.0
    if x >= 1.0:
        return 1.0
    log_front = math.lgamma(a + b) - math.lgamma(a) - math.lgamma(b) + a * math.log(x) + b * math.log1p(-x)
    front = math.exp(log_front)
    # The continued fraction converges fast only on one side of the mean; use symmetry on the other.
    if x < (a + 1.0) / (a + b + 2.0):
        return front * _betacf(a, b, x) / a
    return 1.0 - front * _betacf(b, a, 1.0 - x) / b


def _t_cdf(t: float, df: float) -> float:
    tail = 0.5 * _betainc(df / 2.0, 0.5, df / (df + t * t))
    return 1.0 - tail if t >= 0 else tail


def t_quantile(q: float, df: float) -> float:
    """The q-quantile of Student's t with `df` degrees of freedom (bisection on the CDF).

    Raises ValueError when q is not in (0, 1) or df <= 0.
    """
    if not 0.0 < q < 1.0:
        raise ValueError(f"q must be between 0 and 1 (exclusive), got {q}")
    if df <= 0:
        raise ValueError(f"degrees of freedom must be positive, got {df}")
    if q < 0.5:
        return -t_quantile(1.0 - q, df)
    lo, hi = 0.0, 1.0
    while _t_cdf(hi, df) < q:
        hi *= 2.0
    for _ in range(200):
        mid = (lo + hi) / 2.0
        if _t_cdf(mid, df) < q:
            lo = mid
        else:
            hi = mid
        if hi - lo < 1e-12 * max(1.0, hi):
            break
    return (lo + hi) / 2.0


def summarize(values: Sequence[float], *, level: float = 0.95) -> Summary:
    """Mean, std (ddof=1) and the `level` t-interval of the mean across `values`.

    With a single value std is 0 and the interval collapses to the mean.
    Raises ValueError for empty input, NaN/inf values or a level outside (0, 1).
    """
    _check_level(level)
    xs = _floats(values, "values")
    n = len(xs)
    mean = math.fsum(xs) / n
    if n < 2:
        return Summary(n=n, mean=mean, std=0.0, ci_low=mean, ci_high=mean)
    std = math.sqrt(math.fsum((x - mean) ** 2 for x in xs) / (n - 1))
    half = t_quantile((1.0 + level) / 2.0, n - 1) * std / math.sqrt(n)
    return Summary(n=n, mean=mean, std=std, ci_low=mean - half, ci_high=mean + half)


def paired_bootstrap(
    a: Sequence[float],
    b: Sequence[float],
    *,
    n_resamples: int = 10_000,
    level: float = 0.95,
    seed: int = 0,
) -> PairedDiff:
    """Paired bootstrap of mean(b - a): percentile CI and a two-sided p-value.

    The p-value is twice the smaller bootstrap tail on either side of zero, with the usual
    +1 correction so it is never exactly 0; with fewer than two pairs there is nothing to
    resample and p is 1. Raises ValueError for mismatched lengths, empty input, NaN/inf,
    n_resamples < 1 or a level outside (0, 1).
    """
    import numpy as np

    _check_level(level)
    xa, xb = _floats(a, "a"), _floats(b, "b")
    if len(xa) != len(xb):
        raise ValueError(f"paired values need equal lengths: a has {len(xa)}, b has {len(xb)}")
    if n_resamples < 1:
        raise ValueError(f"n_resamples must be at least 1, got {n_resamples}")
    diffs = np.asarray(xb, dtype=float) - np.asarray(xa, dtype=float)
    n = int(diffs.size)
    mean_diff = float(diffs.mean())
    if n < 2 or not bool(np.any(diffs)):
        return PairedDiff(n=n, mean_diff=mean_diff, ci_low=mean_diff, ci_high=mean_diff, p_value=1.0)
    rng = np.random.default_rng(seed)
    # Resample in chunks so 10k x large-n never allocates one huge index matrix.
    chunk = max(1, 2_000_000 // n)
    means = np.empty(n_resamples, dtype=float)
    for start in range(0, n_resamples, chunk):
        stop = min(n_resamples, start + chunk)
        idx = rng.integers(0, n, size=(stop - start, n))
        means[start:stop] = diffs[idx].mean(axis=1)
    alpha = 1.0 - level
    ci_low, ci_high = np.quantile(means, [alpha / 2.0, 1.0 - alpha / 2.0])
    below = (int(np.count_nonzero(means <= 0.0)) + 1) / (n_resamples + 1)
    above = (int(np.count_nonzero(means >= 0.0)) + 1) / (n_resamples + 1)
    p_value = min(1.0, 2.0 * min(below, above))
    return PairedDiff(n=n, mean_diff=mean_diff, ci_low=float(ci_low), ci_high=float(ci_high), p_value=p_value)


def _chi2_sf_1df(x: float) -> float:
    """Upper tail of chi-square with one degree of freedom: P(Z^2 > x) = erfc(sqrt(x / 2))."""
    return math.erfc(math.sqrt(max(x, 0.0) / 2.0))


def _binom_two_sided(k: int, n: int) -> float:
    """Exact two-sided p for k of n successes under p = 0.5 (doubled smaller tail)."""
    k = min(k, n - k)
    tail = math.fsum(math.comb(n, i) for i in range(k + 1)) / 2.0**n
    return min(1.0, 2.0 * tail)


def mcnemar(a_pass: Sequence[bool], b_pass: Sequence[bool]) -> McNemar:
    """McNemar's test on paired pass/fail outcomes.

    Exact binomial test when b + c < 25 (statistic = min(b, c)); otherwise the chi-square
    statistic with continuity correction (|b - c| - 1)^2 / (b + c) on one degree of freedom.
    Raises ValueError for mismatched lengths or empty input.
    """
    pa, pb = [bool(x) for x in a_pass], [bool(x) for x in b_pass]
    if not pa:
        raise ValueError("a_pass is empty: need at least one paired outcome")
    if len(pa) != len(pb):
        raise ValueError(f"paired outcomes need equal lengths: a_pass has {len(pa)}, b_pass has {len(pb)}")
    b = sum(1 for x, y in zip(pa, pb, strict=True) if x and not y)
    c = sum(1 for x, y in zip(pa, pb, strict=True) if y and not x)
    n = b + c
    if n == 0:
        return McNemar(b=0, c=0, statistic=0.0, p_value=1.0)
    if n < EXACT_MCNEMAR_BELOW:
        return McNemar(b=b, c=c, statistic=float(min(b, c)), p_value=_binom_two_sided(b, n))
    stat = (abs(b - c) - 1.0) ** 2 / n
    return McNemar(b=b, c=c, statistic=stat, p_value=_chi2_sf_1df(stat))


def verdict(diff: PairedDiff, *, higher_is_better: bool = True, alpha: float = 0.05) -> Verdict:
    """'improved' / 'regressed' when p < alpha, by the sign of mean_diff (b - a) and the
    metric's direction; otherwise 'no significant change'. Raises ValueError for alpha
    outside (0, 1)."""
    if not 0.0 < alpha < 1.0:
        raise ValueError(f"alpha must be between 0 and 1 (exclusive), got {alpha}")
    if diff.p_value >= alpha or diff.mean_diff == 0.0:
        return "no significant change"
    better = diff.mean_diff > 0.0 if higher_is_better else diff.mean_diff < 0.0
    return "improved" if better else "regressed"
