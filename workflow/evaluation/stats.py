"""Summary statistics and paired comparisons shared by `cairn eval` and the training
issue's base-vs-tuned evaluation.

numpy only: scipy is not a core dependency, so the t quantile and the binomial tail are
computed here from their textbook definitions (the tests check them against scipy).

P-values are exact or honest at every n: paired differences use the sign-flip permutation
test (exact enumeration for small n, exact binomial for pass/fail), McNemar is the exact
binomial test on the discordant pairs, and summary intervals resample cases, not only
repetitions, so they reflect how much the result depends on which cases were written.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal

__all__ = [
    "McNemar",
    "PairedDiff",
    "Summary",
    "case_summary",
    "mcnemar",
    "paired_bootstrap",
    "summarize",
    "t_quantile",
    "two_sample_permutation_p",
    "verdict",
    "wilson_interval",
]

# Up to this many non-zero paired differences every sign pattern is enumerated (2^16 at most).
EXACT_SIGN_FLIP_UP_TO = 16

Verdict = Literal["improved", "regressed", "no significant change"]


@dataclass(frozen=True, kw_only=True)
class Summary:
    """Mean, sample standard deviation (ddof=1) and an interval for the mean; `method` says
    how the interval was made."""

    n: int
    mean: float
    std: float
    ci_low: float
    ci_high: float
    method: str = "t"


@dataclass(frozen=True, kw_only=True)
class PairedDiff:
    """Mean of b - a over paired values, its bootstrap percentile CI and the two-sided
    p-value of the sign-flip test (`test` says whether it is exact or a permutation estimate)."""

    n: int
    mean_diff: float
    ci_low: float
    ci_high: float
    p_value: float
    test: str = "exact"


@dataclass(frozen=True, kw_only=True)
class McNemar:
    """b = pairs where A passed and B failed; c = pairs where A failed and B passed.
    `statistic` is min(b, c), the exact binomial test's statistic."""

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


def _sign_flip_p(diffs: Any, *, n_resamples: int, seed: int) -> tuple[float, str]:
    """Two-sided p-value of the paired sign-flip (permutation) test of mean(diffs) = 0.

    Under no effect each difference is as likely to have either sign, so the p-value is the
    share of sign patterns whose |sum| is at least the observed one. Exact: by the binomial
    when every non-zero difference has the same size (pass/fail data: the exact sign test,
    which is exact McNemar), by enumerating all 2^m patterns for m <= EXACT_SIGN_FLIP_UP_TO
    non-zero differences; otherwise `n_resamples` random patterns with the (b + 1) / (R + 1)
    correction, which is a valid p-value with no floor beyond 1 / (R + 1).
    """
    import numpy as np

    d = diffs[diffs != 0.0]
    m = int(d.size)
    if m == 0:
        return 1.0, "exact"
    observed = abs(float(d.sum()))
    tol = 1e-9 * max(1.0, float(np.abs(d).sum()))
    sizes = np.abs(d)
    if float(sizes.max() - sizes.min()) <= 1e-12 * float(sizes.max()):
        positives = int(np.count_nonzero(d > 0))
        return _binom_two_sided(positives, m), "exact"
    if m <= EXACT_SIGN_FLIP_UP_TO:
        bits = np.arange(m, dtype=np.int64)
        count, total = 0, 1 << m
        for start in range(0, total, 1 << 16):
            codes = np.arange(start, min(total, start + (1 << 16)), dtype=np.int64)
            signs = ((codes[:, None] >> bits) & 1) * 2 - 1
            count += int(np.count_nonzero(np.abs(signs @ d) >= observed - tol))
        return count / total, "exact"
    rng = np.random.default_rng(seed)
    count = 0
    chunk = max(1, 2_000_000 // m)
    for start in range(0, n_resamples, chunk):
        rows = min(n_resamples, start + chunk) - start
        signs = rng.integers(0, 2, size=(rows, m)) * 2 - 1
        count += int(np.count_nonzero(np.abs(signs @ d) >= observed - tol))
    return (count + 1) / (n_resamples + 1), f"permutation ({n_resamples} sign flips)"


def paired_bootstrap(
    a: Sequence[float],
    b: Sequence[float],
    *,
    n_resamples: int = 10_000,
    level: float = 0.95,
    seed: int = 0,
) -> PairedDiff:
    """Paired comparison of mean(b - a): a bootstrap percentile CI and the two-sided p-value
    of the sign-flip test (exact for pass/fail data and for up to 16 non-zero differences,
    else `n_resamples` random sign flips with the (b + 1) / (R + 1) correction).

    With fewer than two pairs there is nothing to resample: the CI is the point and p is 1.
    Raises ValueError for mismatched lengths, empty input, NaN/inf, n_resamples < 1 or a
    level outside (0, 1).
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
    p_value, test = _sign_flip_p(diffs, n_resamples=n_resamples, seed=seed)
    return PairedDiff(n=n, mean_diff=mean_diff, ci_low=float(ci_low), ci_high=float(ci_high),
                      p_value=min(1.0, p_value), test=test)


def two_sample_permutation_p(xs: Sequence[float], ys: Sequence[float], *, n_resamples: int = 10_000,
                             seed: int = 0) -> float:
    """Two-sided p-value of the permutation test of mean(ys) - mean(xs) between two
    independent groups: exact over every split for up to 200,000 splits, else
    `n_resamples` random splits with the (b + 1) / (R + 1) correction. With 3 values per
    group the smallest possible p is 0.1. Raises ValueError for an empty group or NaN/inf."""
    import itertools

    import numpy as np

    a, b = _floats(xs, "xs"), _floats(ys, "ys")
    pooled = np.asarray(a + b, dtype=float)
    n, k = len(pooled), len(b)
    total = pooled.sum()
    observed = abs(sum(b) / k - sum(a) / len(a))
    tol = 1e-9 * max(1.0, float(np.abs(pooled).sum()))

    def gaps(groups: Any) -> Any:
        sums = pooled[groups].sum(axis=1)
        return np.abs(sums / k - (total - sums) / (n - k))

    if math.comb(n, k) <= 200_000:
        splits = np.array(list(itertools.combinations(range(n), k)), dtype=np.int64)
        return float(np.count_nonzero(gaps(splits) >= observed - tol)) / len(splits)
    rng = np.random.default_rng(seed)
    splits = np.argsort(rng.random((n_resamples, n)), axis=1)[:, :k]
    return (int(np.count_nonzero(gaps(splits) >= observed - tol)) + 1) / (n_resamples + 1)


def _binom_two_sided(k: int, n: int) -> float:
    """Exact two-sided p for k of n successes under p = 0.5 (the doubled smaller tail,
    which for p = 0.5 equals summing every outcome at most as likely as k)."""
    k = min(k, n - k)
    if n <= 1000:
        tail = math.fsum(math.comb(n, i) for i in range(k + 1)) / 2.0**n
    else:  # log space: the integers grow past what a float division handles quickly
        log_half = n * math.log(0.5)
        tail = math.fsum(math.exp(math.lgamma(n + 1) - math.lgamma(i + 1) - math.lgamma(n - i + 1) + log_half)
                         for i in range(k + 1))
    return min(1.0, 2.0 * tail)


def mcnemar(a_pass: Sequence[bool], b_pass: Sequence[bool]) -> McNemar:
    """Exact McNemar test on paired pass/fail outcomes: the two-sided binomial test of the
    b + c discordant pairs against p = 0.5, at every n (no chi-square approximation).
    Raises ValueError for mismatched lengths or empty input.
    """
    pa, pb = [bool(x) for x in a_pass], [bool(x) for x in b_pass]
    if not pa:
        raise ValueError("a_pass is empty: need at least one paired outcome")
    if len(pa) != len(pb):
        raise ValueError(f"paired outcomes need equal lengths: a_pass has {len(pa)}, b_pass has {len(pb)}")
    b = sum(1 for x, y in zip(pa, pb, strict=True) if x and not y)
    c = sum(1 for x, y in zip(pa, pb, strict=True) if y and not x)
    if b + c == 0:
        return McNemar(b=0, c=0, statistic=0.0, p_value=1.0)
    return McNemar(b=b, c=c, statistic=float(min(b, c)), p_value=_binom_two_sided(b, b + c))


def wilson_interval(successes: int, n: int, *, level: float = 0.95) -> tuple[float, float]:
    """Wilson score interval for a proportion: sensible at 0 or n successes and small n,
    where the normal interval collapses. Raises ValueError for n < 1 or successes outside [0, n]."""
    _check_level(level)
    if n < 1 or not 0 <= successes <= n:
        raise ValueError(f"need 0 <= successes <= n and n >= 1, got {successes} of {n}")
    z = _normal_quantile((1.0 + level) / 2.0)
    p = successes / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z / (1 + z * z / n) * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n))
    return max(0.0, centre - half), min(1.0, centre + half)


def _normal_quantile(q: float) -> float:
    """Standard normal quantile by bisection on erfc (accurate to 1e-12, fast enough here)."""
    lo, hi = -40.0, 40.0
    for _ in range(200):
        mid = (lo + hi) / 2.0
        if 0.5 * math.erfc(-mid / math.sqrt(2.0)) < q:
            lo = mid
        else:
            hi = mid
    return (lo + hi) / 2.0


def case_summary(per_case: Sequence[Sequence[float]], *, level: float = 0.95, n_resamples: int = 2_000,
                 seed: int = 0) -> Summary:
    """Mean of a metric over cases (each case the mean of its repetitions) with an interval
    that reflects case-level variation: a two-stage bootstrap (resample cases, then each
    chosen case's repetitions). A 0/1 metric whose cases each give one result on every
    repetition (always so with one repetition) gets the Wilson interval over cases.
    `std` is the spread of the case means (ddof=1).

    Raises ValueError for no cases, a case without values, NaN/inf or a level outside (0, 1).
    """
    import numpy as np

    _check_level(level)
    if not per_case:
        raise ValueError("per_case is empty: need at least one case")
    rows = [_floats(values, "a case's values") for values in per_case]
    means = [math.fsum(r) / len(r) for r in rows]
    n = len(rows)
    mean = math.fsum(means) / n
    std = math.sqrt(math.fsum((m - mean) ** 2 for m in means) / (n - 1)) if n > 1 else 0.0
    # A 0/1 metric whose every case gives the same result on each repetition is a proportion
    # of cases: the Wilson interval is exact enough and, unlike a bootstrap, not empty at 0 or n.
    if all(v in (0.0, 1.0) for r in rows for v in r) and all(len(set(r)) == 1 for r in rows):
        low, high = wilson_interval(int(sum(r[0] for r in rows)), n, level=level)
        return Summary(n=n, mean=mean, std=std, ci_low=low, ci_high=high, method="wilson")
    if all(v == rows[0][0] for r in rows for v in r):
        return Summary(n=n, mean=mean, std=0.0, ci_low=mean, ci_high=mean, method="constant")
    rng = np.random.default_rng(seed)
    repeat = max(len(r) for r in rows)
    # Ragged repetitions (a case with fewer runs) are padded with NaN and averaged around.
    grid = np.full((n, repeat), np.nan)
    for i, r in enumerate(rows):
        grid[i, : len(r)] = r
    counts = np.array([len(r) for r in rows])
    chunk = max(1, 2_000_000 // (n * repeat))
    boot = np.empty(n_resamples, dtype=float)
    for start in range(0, n_resamples, chunk):
        size = min(n_resamples, start + chunk) - start
        cases = rng.integers(0, n, size=(size, n))
        reps = (rng.random((size, n, repeat)) * counts[cases][..., None]).astype(np.int64)
        boot[start : start + size] = np.nanmean(grid[cases[..., None], reps], axis=2).mean(axis=1)
    alpha = 1.0 - level
    low, high = np.quantile(boot, [alpha / 2.0, 1.0 - alpha / 2.0])
    return Summary(n=n, mean=mean, std=std, ci_low=float(min(low, mean)), ci_high=float(max(high, mean)),
                   method="bootstrap over cases x repetitions")


def verdict(diff: PairedDiff, *, higher_is_better: bool = True, alpha: float = 0.05, min_effect: float = 0.0,
            min_relative: float = 0.0, baseline: float | None = None) -> Verdict:
    """'improved' / 'regressed' when p < alpha and the difference is of practical size: at
    least `min_effect` in absolute terms and at least `min_relative` of |baseline| (0.1 = 10%;
    ignored without a non-zero baseline), read through the metric's direction; otherwise
    'no significant change'. Raises ValueError for alpha outside (0, 1) or a negative size."""
    if not 0.0 < alpha < 1.0:
        raise ValueError(f"alpha must be between 0 and 1 (exclusive), got {alpha}")
    if min_effect < 0.0 or min_relative < 0.0:
        raise ValueError(f"minimum effects must not be negative, got {min_effect} and {min_relative}")
    if diff.p_value >= alpha or diff.mean_diff == 0.0:
        return "no significant change"
    size = abs(diff.mean_diff)
    if size < min_effect or (baseline and size / abs(baseline) < min_relative):
        return "no significant change"
    better = diff.mean_diff > 0.0 if higher_is_better else diff.mean_diff < 0.0
    return "improved" if better else "regressed"
