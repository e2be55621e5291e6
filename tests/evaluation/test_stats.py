"""Statistics checked against values computed by hand, printed t tables and scipy (small and large n)."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import stats as scipy_stats

from workflow.evaluation.stats import (
    PairedDiff,
    case_summary,
    mcnemar,
    paired_bootstrap,
    summarize,
    t_quantile,
    verdict,
    wilson_interval,
)


@pytest.mark.parametrize(
    ("df", "expected"),
    [(1, 12.706), (2, 4.303), (3, 3.182), (5, 2.571), (10, 2.228), (30, 2.042), (120, 1.980)],
)
def test_t_quantile_matches_the_printed_two_sided_95_percent_table(df: int, expected: float) -> None:
    assert t_quantile(0.975, df) == pytest.approx(expected, abs=5e-4)


def test_t_quantile_is_symmetric_around_zero() -> None:
    assert t_quantile(0.025, 4) == pytest.approx(-t_quantile(0.975, 4))
    assert t_quantile(0.5, 7) == pytest.approx(0.0, abs=1e-9)


def test_summarize_gives_mean_sample_std_and_t_interval() -> None:
    # mean 2.5; squared deviations 2.25+0.25+0.25+2.25 = 5, std = sqrt(5/3);
    # half width = t(0.975, 3) * std / sqrt(4) = 3.18245 * 1.29099 / 2 = 2.05426.
    s = summarize([1, 2, 3, 4])
    assert s.n == 4
    assert s.mean == 2.5
    assert s.std == pytest.approx(math.sqrt(5 / 3))
    assert s.ci_low == pytest.approx(0.44574, abs=1e-5)
    assert s.ci_high == pytest.approx(4.55426, abs=1e-5)


def test_summarize_of_one_value_collapses_the_interval_to_the_mean() -> None:
    s = summarize([0.7])
    assert (s.n, s.mean, s.std, s.ci_low, s.ci_high) == (1, 0.7, 0.0, 0.7, 0.7)


def test_summarize_at_90_percent_uses_the_matching_t_value() -> None:
    # t(0.95, 2) = 2.920; std of [1, 2, 3] is 1; half width = 2.920 / sqrt(3) = 1.6859.
    s = summarize([1, 2, 3], level=0.90)
    assert s.ci_high - s.mean == pytest.approx(1.6859, abs=1e-4)


@pytest.mark.parametrize("values", [[], [1.0, float("nan")], [float("inf")]])
def test_summarize_rejects_empty_or_non_finite_input(values: list[float]) -> None:
    with pytest.raises(ValueError, match="values"):
        summarize(values)


def test_summarize_rejects_a_level_outside_zero_and_one() -> None:
    with pytest.raises(ValueError, match="level"):
        summarize([1, 2], level=95)


def test_mcnemar_uses_the_exact_binomial_test_for_few_discordant_pairs() -> None:
    # b = 1, c = 7: p = 2 * (C(8,0) + C(8,1)) / 2^8 = 18 / 256.
    a = [True] * 1 + [False] * 7 + [True] * 5
    b = [False] * 1 + [True] * 7 + [True] * 5
    test = mcnemar(a, b)
    assert (test.b, test.c) == (1, 7)
    assert test.statistic == 1.0
    assert test.p_value == pytest.approx(18 / 256)


@pytest.mark.parametrize(("b", "c"), [(10, 25), (0, 3), (40, 61), (480, 530), (1500, 1390)])
def test_mcnemar_is_the_exact_binomial_test_at_every_number_of_discordant_pairs(b: int, c: int) -> None:
    test = mcnemar([True] * b + [False] * c, [False] * b + [True] * c)
    assert (test.b, test.c, test.statistic) == (b, c, float(min(b, c)))
    assert test.p_value == pytest.approx(scipy_stats.binomtest(b, b + c, 0.5).pvalue, rel=1e-9)


def test_mcnemar_without_discordant_pairs_finds_no_difference() -> None:
    test = mcnemar([True, False], [True, False])
    assert (test.b, test.c, test.statistic, test.p_value) == (0, 0, 0.0, 1.0)


def test_mcnemar_rejects_mismatched_or_empty_input() -> None:
    with pytest.raises(ValueError, match="equal lengths"):
        mcnemar([True], [True, False])
    with pytest.raises(ValueError, match="empty"):
        mcnemar([], [])


@pytest.mark.parametrize(("flipped", "unchanged", "exact"), [(2, 0, 0.5), (4, 8, 0.125), (5, 15, 0.0625)])
def test_pass_fail_flips_get_the_exact_sign_test_p_value_not_a_bootstrap_floor(
        flipped: int, unchanged: int, exact: float) -> None:
    # 2 of 2 cases flipped: p = 2 * (1/2)^2 = 0.5; 4 of 12: 2 * (1/2)^4 = 0.125 (the examples).
    a = [0.0] * flipped + [1.0] * unchanged
    b = [1.0] * flipped + [1.0] * unchanged
    diff = paired_bootstrap(a, b)
    assert diff.test == "exact"
    assert diff.p_value == pytest.approx(exact)
    assert diff.p_value == pytest.approx(scipy_stats.binomtest(flipped, flipped, 0.5).pvalue)


def test_the_readme_iteration_is_not_significant_with_four_of_twelve_cases_fixed() -> None:
    # The prompt-app baseline fails the 4 shipping cases on all 3 repetitions; iter-1 passes them.
    diff = paired_bootstrap([0.0] * 4 + [1.0] * 8, [1.0] * 12)
    assert diff.mean_diff == pytest.approx(1 / 3)
    assert diff.p_value == pytest.approx(0.125)
    assert verdict(diff) == "no significant change"


def _scipy_sign_flip(diffs: np.ndarray, exact: bool) -> float:
    result = scipy_stats.permutation_test(
        (diffs,), np.mean, permutation_type="samples", alternative="two-sided",
        n_resamples=np.inf if exact else 20_000, rng=np.random.default_rng(0))
    return float(result.pvalue)


@pytest.mark.parametrize("n", [3, 6, 9, 14])
def test_small_samples_get_the_exact_sign_flip_p_value_that_scipy_enumerates(n: int) -> None:
    rng = np.random.default_rng(n)
    a = rng.normal(10, 2, size=n)
    b = a + rng.normal(0.8, 1.5, size=n)
    diff = paired_bootstrap(a.tolist(), b.tolist())
    assert diff.test == "exact"
    assert diff.p_value == pytest.approx(_scipy_sign_flip(b - a, exact=True), rel=1e-9)


@pytest.mark.parametrize(("n", "shift"), [(40, 0.3), (120, 0.0), (300, 0.15)])
def test_large_samples_get_a_permutation_p_value_close_to_scipys(n: int, shift: float) -> None:
    rng = np.random.default_rng(n)
    a = rng.normal(0, 1, size=n)
    b = a + rng.normal(shift, 1, size=n)
    diff = paired_bootstrap(a.tolist(), b.tolist(), n_resamples=20_000)
    assert diff.test == "permutation (20000 sign flips)"
    expected = _scipy_sign_flip(b - a, exact=False)
    # Two Monte Carlo estimates with 20k flips each: the standard error of their difference is below 0.005.
    assert abs(diff.p_value - expected) < 0.02
    # And both agree with the paired t-test, which is what the permutation test approaches at large n.
    assert abs(diff.p_value - scipy_stats.ttest_rel(b, a).pvalue) < 0.02


def test_permutation_p_values_use_the_plus_one_correction_without_a_fixed_floor() -> None:
    diffs = [1.0 + i / 100 for i in range(30)]  # 30 positive differences of different sizes
    diff = paired_bootstrap([0.0] * 30, diffs, n_resamples=999)
    assert diff.p_value == pytest.approx(1 / 1000)
    assert paired_bootstrap([0.0] * 30, diffs, n_resamples=9_999).p_value == pytest.approx(1 / 10_000)


def test_under_no_effect_the_false_positive_rate_stays_at_alpha() -> None:
    rng = np.random.default_rng(11)
    for n in (5, 10):
        rejections = 0
        for _ in range(400):
            a = (rng.random(n) < 0.5).astype(float)
            b = (rng.random(n) < 0.5).astype(float)
            rejections += paired_bootstrap(a.tolist(), b.tolist(), n_resamples=200).p_value < 0.05
        assert rejections / 400 <= 0.05 + 0.02  # the old bootstrap p rejected 11.5% at n=5


def test_paired_bootstrap_gives_the_enumerated_bootstrap_interval() -> None:
    # diffs (b - a) = [0, 0, 0, 1]: a resample mean is k/4 with k ~ Binomial(4, 1/4).
    # P(k=0) = 0.3164, P(k<=2) = 0.9492, P(k<=3) = 0.9961, so the 95% percentile CI is [0, 0.75];
    # one non-zero difference: the exact sign-flip p is 1.
    diff = paired_bootstrap([1, 1, 1, 0], [1, 1, 1, 1], seed=3)
    assert diff.n == 4
    assert diff.mean_diff == 0.25
    assert (diff.ci_low, diff.ci_high) == (0.0, 0.75)
    assert diff.p_value == 1.0


def test_a_constant_shift_over_three_cases_has_a_point_interval_and_exact_p_one_quarter() -> None:
    diff = paired_bootstrap([1.0, 2.0, 3.0], [2.0, 3.0, 4.0], n_resamples=999)
    assert (diff.mean_diff, diff.ci_low, diff.ci_high) == (1.0, 1.0, 1.0)
    assert diff.p_value == pytest.approx(2 / 8)  # all + or all - of 2^3 sign patterns


def test_paired_bootstrap_of_identical_runs_has_p_value_one() -> None:
    diff = paired_bootstrap([0.2, 0.9, 0.4], [0.2, 0.9, 0.4])
    assert diff == PairedDiff(n=3, mean_diff=0.0, ci_low=0.0, ci_high=0.0, p_value=1.0)


def test_paired_bootstrap_is_reproducible_for_a_seed() -> None:
    a, b = [0.1, 0.5, 0.3, 0.8, 0.2, 0.4], [0.3, 0.4, 0.6, 0.9, 0.1, 0.7]
    assert paired_bootstrap(a, b, seed=7) == paired_bootstrap(a, b, seed=7)
    assert paired_bootstrap(a, b, seed=7).ci_low != paired_bootstrap(a, b, seed=8).ci_low or \
        paired_bootstrap(a, b, seed=7).ci_high != paired_bootstrap(a, b, seed=8).ci_high


def test_paired_bootstrap_rejects_mismatched_lengths_and_empty_input() -> None:
    with pytest.raises(ValueError, match="a has 2, b has 3"):
        paired_bootstrap([1, 2], [1, 2, 3])
    with pytest.raises(ValueError, match="empty"):
        paired_bootstrap([], [])


@pytest.mark.parametrize(("k", "n"), [(0, 5), (10, 20), (3, 7), (20, 20), (55, 400)])
def test_wilson_interval_matches_scipy(k: int, n: int) -> None:
    expected = scipy_stats.binomtest(k, n).proportion_ci(method="wilson")
    assert wilson_interval(k, n) == pytest.approx((expected.low, expected.high), abs=1e-9)


def test_a_deterministic_app_passing_half_its_cases_gets_an_interval_over_cases() -> None:
    # 10 of 20 cases pass on every one of 3 repetitions: the old per-repetition t-interval was [0.5, 0.5].
    summary = case_summary([[1.0] * 3] * 10 + [[0.0] * 3] * 10)
    assert summary.method == "wilson"
    assert (summary.ci_low, summary.ci_high) == pytest.approx((0.29930, 0.70070), abs=1e-5)


def test_case_summaries_resample_cases_and_their_repetitions() -> None:
    rng = np.random.default_rng(5)
    per_case = [(rng.normal(loc, 1.0, size=3)).tolist() for loc in rng.normal(0, 2, size=60)]
    summary = case_summary(per_case, n_resamples=4_000)
    means = np.array([np.mean(c) for c in per_case])
    half = scipy_stats.t.ppf(0.975, 59) * means.std(ddof=1) / math.sqrt(60)
    assert summary.method == "bootstrap over cases x repetitions"
    assert summary.mean == pytest.approx(means.mean())
    # The two-stage bootstrap is close to the t-interval of the case means (slightly wider).
    assert summary.ci_low == pytest.approx(means.mean() - half, abs=0.2 * half)
    assert summary.ci_high == pytest.approx(means.mean() + half, abs=0.2 * half)


def test_a_metric_that_never_varies_has_a_point_summary() -> None:
    summary = case_summary([[120.0, 120.0], [120.0, 120.0]])
    assert (summary.mean, summary.std, summary.ci_low, summary.ci_high) == (120.0, 0.0, 120.0, 120.0)


def test_verdict_reads_the_sign_through_the_metric_direction() -> None:
    up = PairedDiff(n=10, mean_diff=0.2, ci_low=0.1, ci_high=0.3, p_value=0.01)
    down = PairedDiff(n=10, mean_diff=-0.2, ci_low=-0.3, ci_high=-0.1, p_value=0.01)
    unclear = PairedDiff(n=10, mean_diff=0.2, ci_low=-0.1, ci_high=0.5, p_value=0.2)
    assert verdict(up) == "improved"
    assert verdict(down) == "regressed"
    assert verdict(down, higher_is_better=False) == "improved"
    assert verdict(up, higher_is_better=False) == "regressed"
    assert verdict(unclear) == "no significant change"
    assert verdict(unclear, alpha=0.25) == "improved"


def test_a_significant_difference_below_the_minimum_effect_is_no_change() -> None:
    slower = PairedDiff(n=50, mean_diff=0.02, ci_low=0.01, ci_high=0.03, p_value=0.001)
    assert verdict(slower, higher_is_better=False) == "regressed"
    # 0.02 ms on a 0.5 ms baseline is 4%: below a 10% relative minimum, and below 1 ms absolute.
    assert verdict(slower, higher_is_better=False, min_relative=0.10, baseline=0.5) == "no significant change"
    assert verdict(slower, higher_is_better=False, min_effect=1.0) == "no significant change"
    assert verdict(slower, higher_is_better=False, min_relative=0.01, baseline=0.5) == "regressed"
    with pytest.raises(ValueError, match="must not be negative"):
        verdict(slower, min_effect=-1.0)
