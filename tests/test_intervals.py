"""vaegan_utils.intervals: paired t-intervals against scipy, and their verdict words."""

from __future__ import annotations

import numpy as np
import pytest

from vaegan_utils import intervals


def test_paired_interval_matches_scipys_paired_t_test() -> None:
    """Oracle: scipy's paired t-test gives the same mean difference and confidence interval."""
    from scipy import stats

    rng = np.random.default_rng(3)
    before = rng.normal(10.0, 2.0, 5)
    after = before + rng.normal(0.5, 1.0, 5)
    interval = intervals.paired_interval(after, before)
    oracle = stats.ttest_rel(after, before).confidence_interval(0.95)
    assert interval.mean == pytest.approx(np.mean(after - before))
    assert (interval.low, interval.high) == pytest.approx((oracle.low, oracle.high))
    one_sample = stats.ttest_1samp(after, 0.0).confidence_interval(0.9)
    alone = intervals.paired_interval(after, level=0.9)
    assert (alone.low, alone.high) == pytest.approx((one_sample.low, one_sample.high))
    assert interval.n == 5 and f"{interval:+.1f}".count("to") == 1


def test_paired_interval_matches_the_t_interval_by_hand() -> None:
    """Oracle independent of scipy's t-tests: mean +- t(0.5 + level/2, n - 1) * sd / sqrt(n),
    the t-quantile from a table (1, 2, 3, 4, 5: 3 +- 2.7764451 * sqrt(2.5 / 5)), then from
    ``stats.t.ppf`` on random pairs at another level."""
    from scipy import stats

    table = intervals.paired_interval([1.0, 2.0, 3.0, 4.0, 5.0])
    half = 2.7764451051977987 * np.sqrt(2.5 / 5)
    assert (table.mean, table.low, table.high) == pytest.approx((3.0, 3.0 - half, 3.0 + half))
    rng = np.random.default_rng(4)
    before, after = rng.normal(0.0, 1.0, 7), rng.normal(0.3, 1.0, 7)
    found = intervals.paired_interval(after, before, level=0.8)
    diff = after - before
    half = stats.t.ppf(0.9, 6) * diff.std(ddof=1) / np.sqrt(7)
    expected = (diff.mean(), diff.mean() - half, diff.mean() + half)
    assert (found.mean, found.low, found.high) == pytest.approx(expected, rel=1e-12)


def test_interval_words_follow_the_interval() -> None:
    """Controls: a clear rise, a clear fall and a difference buried in noise."""
    rises = intervals.paired_interval([1.0, 1.1, 0.9, 1.2, 1.0])
    falls = intervals.paired_interval([-1.0, -1.1, -0.9, -1.2, -1.0])
    noise = intervals.paired_interval([1.0, -1.0, 0.5, -0.6, 0.2])
    assert rises.word() == "higher" and falls.word() == "lower"
    assert noise.word() == "no measurable difference"
    assert rises.word(above="worse", below="better") == "worse"
    assert falls.word(above="worse", below="better") == "better"


def test_interval_text_has_no_negative_zero_and_no_zero_width_interval() -> None:
    """Seeds that all agree are said to agree; a value that rounds to zero has no minus sign.
    Control: an ordinary interval keeps its signs."""
    same = intervals.paired_interval([0.0, 0.0, 0.0, 0.0, 0.0])
    assert f"{same:.1f}" == "0.0 (all 5 seeds equal)" and same.low == same.high == 0.0
    assert f"{intervals.paired_interval([2.5, 2.5, 2.5]):+.1f}" == "+2.5 (all 3 seeds equal)"
    inexact = intervals.paired_interval([0.1, 0.1, 0.1])  # their mean is not exactly 0.1
    assert inexact.low == inexact.high and f"{inexact:.1f}" == "0.1 (all 3 seeds equal)"
    tiny = intervals.paired_interval([-0.01, 0.01, -0.02, 0.0, 0.005])
    assert "-0.0" not in f"{tiny:.1f}" and f"{tiny:+.1f}".startswith("+0.0 (")
    ordinary = intervals.paired_interval([-1.0, -1.2, -0.9])
    assert f"{ordinary:.1f}" == f"-1.0 ({ordinary.low:.1f} to {ordinary.high:.1f})"
    assert ordinary.high < 0


def test_paired_interval_rejects_bad_input() -> None:
    with pytest.raises(ValueError, match="pair up"):
        intervals.paired_interval([1.0, 2.0, 3.0], [1.0, 2.0])
    with pytest.raises(ValueError, match="at least 2 seeds"):
        intervals.paired_interval([1.0])
    with pytest.raises(ValueError, match="level"):
        intervals.paired_interval([1.0, 2.0], level=95)


def test_sd_interval_covers_the_true_sd_at_its_level() -> None:
    """Oracle: simulation. Of 4,000 samples of 3 normal values (sd 2), about 95% of the
    intervals hold 2; a 50% interval holds it about half the time."""
    rng = np.random.default_rng(0)
    samples = rng.normal(0.0, 2.0, (4000, 3))
    for level in (0.95, 0.5):
        found = [intervals.sd_interval(row, level) for row in samples]
        coverage = np.mean([iv.low <= 2.0 <= iv.high for iv in found])
        assert abs(coverage - level) < 0.025, (level, coverage)
    one = intervals.sd_interval([1.0, 2.0, 3.0])
    assert one.mean == pytest.approx(1.0) and one.low < 1.0 < one.high
    with pytest.raises(ValueError, match="at least 2 values"):
        intervals.sd_interval([1.0])


def test_welch_interval_matches_the_welch_satterthwaite_formula() -> None:
    from scipy import stats

    rng = np.random.default_rng(2)
    a, b = rng.normal(1.0, 1.0, 12), rng.normal(0.0, 3.0, 30)
    found = intervals.welch_interval(a, b)
    va, vb = a.var(ddof=1) / len(a), b.var(ddof=1) / len(b)
    dof = (va + vb) ** 2 / (va**2 / (len(a) - 1) + vb**2 / (len(b) - 1))
    half = stats.t.ppf(0.975, dof) * np.sqrt(va + vb)
    diff = a.mean() - b.mean()
    assert found.mean == pytest.approx(diff)
    assert (found.low, found.high) == pytest.approx((diff - half, diff + half))
    assert found.n == 42
    same = intervals.welch_interval([1.0, 1.0], [0.0, 0.0])
    assert (same.low, same.high) == (1.0, 1.0)
    with pytest.raises(ValueError, match="at least 2"):
        intervals.welch_interval([1.0], [0.0, 1.0])


def test_words_with_a_margin_say_equivalent_or_inconclusive() -> None:
    """Controls: a tight interval around 0 is equivalent within the margin, a wide one is
    inconclusive, a clear effect past the margin keeps its direction, and one that excludes 0
    but stays inside the margin is a difference too small to matter."""
    tight = intervals.paired_interval([0.01, -0.02, 0.015, -0.01, 0.0, 0.005, -0.005, 0.01])
    wide = intervals.paired_interval([1.0, -1.0, 0.5, -0.6, 0.2])
    rises = intervals.paired_interval([1.0, 1.1, 0.9, 1.2, 1.0])
    assert tight.word(margin=0.1) == "equivalent within ±0.1"
    assert wide.word(margin=0.1) == "inconclusive"
    assert rises.word(margin=0.1) == "higher"
    small = intervals.paired_interval([0.05, 0.06, 0.04, 0.05, 0.055])  # excludes 0
    assert small.word(margin=0.1) == "differs, but within ±0.1"
    assert small.word() == "higher"  # no margin: the direction alone
    assert wide.word() == "no measurable difference"  # no margin declared
    with pytest.raises(ValueError, match="margin"):
        tight.word(margin=0.0)


def test_equivalence_p_matches_the_ninety_percent_interval() -> None:
    """Oracle: the TOST at 5% rejects exactly when the 90% t-interval lies inside the margin
    (and at 2.5% exactly when the 95% interval does, as ``word`` reads it);
    its p-value is the larger one-sided p, checked against the t distribution by hand."""
    from scipy import stats

    rng = np.random.default_rng(5)
    for _ in range(40):
        values = rng.normal(rng.uniform(-0.3, 0.3), 0.3, 8)
        margin = 0.25
        interval = intervals.paired_interval(values, level=0.9)
        inside = -margin < interval.low and interval.high < margin
        assert (intervals.equivalence_p(values, margin) < 0.05) == inside
        wide = intervals.paired_interval(values, level=0.95)
        inside_95 = -margin < wide.low and wide.high < margin
        assert (intervals.equivalence_p(values, margin) < 0.025) == inside_95
        assert wide.word(margin=margin).endswith(f"within ±{margin:g}") == inside_95
    values = np.array([0.1, -0.05, 0.02, 0.04, -0.01])
    se = values.std(ddof=1) / np.sqrt(5)
    by_hand = max(
        stats.t.sf((values.mean() + 0.2) / se, 4), stats.t.cdf((values.mean() - 0.2) / se, 4)
    )
    assert intervals.equivalence_p(values, 0.2) == pytest.approx(by_hand)
    with pytest.raises(ValueError, match="margin"):
        intervals.equivalence_p(values, -1.0)


def test_detectable_effect_has_the_declared_power_by_simulation() -> None:
    """Oracle: 40,000 simulated paired designs of 8 seeds with the returned true effect reject
    at 5% about 80% of the time; half that effect, far less. It exceeds the normal
    approximation (1.96 + 0.84) sd / sqrt(n), as a t-test with 7 degrees of freedom must."""
    from scipy import stats

    n, sd = 8, 1.5
    effect = intervals.detectable_effect(n, sd)
    assert effect > (1.959964 + 0.841621) * sd / np.sqrt(n)
    rng = np.random.default_rng(6)
    draws = rng.normal(effect, sd, (40_000, n))
    p = stats.ttest_1samp(draws, 0.0, axis=1).pvalue
    assert np.mean(p < 0.05) == pytest.approx(0.8, abs=0.01)
    half = rng.normal(effect / 2, sd, (40_000, n))
    assert np.mean(stats.ttest_1samp(half, 0.0, axis=1).pvalue < 0.05) < 0.4
    assert intervals.detectable_effect(n, 0.0) == 0.0
    # two seeds at a corrected level: one degree of freedom, a wide bracket, still solved
    assert intervals.detectable_effect(2, 1.0, level=0.9875) > 10.0
    with pytest.raises(ValueError, match="n must"):
        intervals.detectable_effect(1, 1.0)
