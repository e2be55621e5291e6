"""Statistics checked against values computed by hand (or read from printed t tables)."""

from __future__ import annotations

import math

import pytest

from workflow.evaluation.stats import (
    PairedDiff,
    mcnemar,
    paired_bootstrap,
    summarize,
    t_quantile,
    verdict,
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


def test_mcnemar_uses_continuity_corrected_chi_square_for_many_discordant_pairs() -> None:
    # b = 10, c = 25: statistic = (|10 - 25| - 1)^2 / 35 = 5.6; P(chi2_1 > 5.6) = 0.017961.
    a = [True] * 10 + [False] * 25
    b = [False] * 10 + [True] * 25
    test = mcnemar(a, b)
    assert test.statistic == pytest.approx(5.6)
    assert test.p_value == pytest.approx(0.017961, abs=1e-6)


def test_mcnemar_without_discordant_pairs_finds_no_difference() -> None:
    test = mcnemar([True, False], [True, False])
    assert (test.b, test.c, test.statistic, test.p_value) == (0, 0, 0.0, 1.0)


def test_mcnemar_rejects_mismatched_or_empty_input() -> None:
    with pytest.raises(ValueError, match="equal lengths"):
        mcnemar([True], [True, False])
    with pytest.raises(ValueError, match="empty"):
        mcnemar([], [])


def test_paired_bootstrap_matches_the_enumerated_bootstrap_distribution() -> None:
    # diffs (b - a) = [0, 0, 0, 1]: a resample mean is k/4 with k ~ Binomial(4, 1/4).
    # P(k=0) = 0.3164, P(k<=2) = 0.9492, P(k<=3) = 0.9961, so the 95% percentile CI is
    # [0, 0.75] and p = 2 * P(mean <= 0) = 0.633.
    diff = paired_bootstrap([1, 1, 1, 0], [1, 1, 1, 1], seed=3)
    assert diff.n == 4
    assert diff.mean_diff == 0.25
    assert (diff.ci_low, diff.ci_high) == (0.0, 0.75)
    assert diff.p_value == pytest.approx(0.633, abs=0.03)


def test_paired_bootstrap_of_a_constant_shift_is_significant_with_a_point_interval() -> None:
    diff = paired_bootstrap([1.0, 2.0, 3.0], [2.0, 3.0, 4.0], n_resamples=999)
    assert (diff.mean_diff, diff.ci_low, diff.ci_high) == (1.0, 1.0, 1.0)
    assert diff.p_value == pytest.approx(2 / 1000)


def test_paired_bootstrap_of_identical_runs_has_p_value_one() -> None:
    diff = paired_bootstrap([0.2, 0.9, 0.4], [0.2, 0.9, 0.4])
    assert diff == PairedDiff(n=3, mean_diff=0.0, ci_low=0.0, ci_high=0.0, p_value=1.0)


def test_paired_bootstrap_is_reproducible_for_a_seed() -> None:
    a, b = [0.1, 0.5, 0.3, 0.8, 0.2], [0.3, 0.4, 0.6, 0.9, 0.1]
    assert paired_bootstrap(a, b, seed=7) == paired_bootstrap(a, b, seed=7)
    assert paired_bootstrap(a, b, seed=7) != paired_bootstrap(a, b, seed=8)


def test_paired_bootstrap_rejects_mismatched_lengths_and_empty_input() -> None:
    with pytest.raises(ValueError, match="a has 2, b has 3"):
        paired_bootstrap([1, 2], [1, 2, 3])
    with pytest.raises(ValueError, match="empty"):
        paired_bootstrap([], [])


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
