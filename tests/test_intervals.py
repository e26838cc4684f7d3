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


def test_interval_words_follow_the_interval() -> None:
    """Controls: a clear rise, a clear fall and a difference buried in noise."""
    rises = intervals.paired_interval([1.0, 1.1, 0.9, 1.2, 1.0])
    falls = intervals.paired_interval([-1.0, -1.1, -0.9, -1.2, -1.0])
    noise = intervals.paired_interval([1.0, -1.0, 0.5, -0.6, 0.2])
    assert rises.word() == "higher" and falls.word() == "lower"
    assert noise.word() == "no measurable difference"
    assert rises.word(above="worse", below="better") == "worse"
    assert falls.word(above="worse", below="better") == "better"


def test_paired_interval_rejects_bad_input() -> None:
    with pytest.raises(ValueError, match="pair up"):
        intervals.paired_interval([1.0, 2.0, 3.0], [1.0, 2.0])
    with pytest.raises(ValueError, match="at least 2 seeds"):
        intervals.paired_interval([1.0])
    with pytest.raises(ValueError, match="level"):
        intervals.paired_interval([1.0, 2.0], level=95)
