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
