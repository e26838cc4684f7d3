"""Intervals over seeds: a paired t-interval and the verdict word it supports."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Interval:
    """A mean over seeds with its two-sided t-interval."""

    mean: float
    low: float
    high: float
    n: int  # seeds (pairs) it rests on

    def word(self, above: str = "higher", below: str = "lower") -> str:
        """``above`` when the whole interval lies above 0, ``below`` when below, otherwise
        "no measurable difference" (for a Fréchet distance: ``above="worse", below="better"``)."""
        if self.low > 0:
            return above
        if self.high < 0:
            return below
        return "no measurable difference"

    def __format__(self, spec: str) -> str:
        """``f"{interval:+.2f}"`` -> ``"+1.23 (-0.40 to +2.86)"``; a value that rounds to zero
        is written without a minus sign, and seeds that all agree as ``"0.0 (all 5 seeds
        equal)"`` rather than an interval of zero width."""
        if self.low == self.high:
            return f"{_rounded(self.mean, spec)} (all {self.n} seeds equal)"
        low, high = _rounded(self.low, spec), _rounded(self.high, spec)
        return f"{_rounded(self.mean, spec)} ({low} to {high})"


def _rounded(value: float, spec: str) -> str:
    """``format(value, spec)``, with no minus sign on a value that rounds to zero."""
    text = format(value, spec)
    return format(0.0, spec) if float(text.rstrip("%")) == 0 else text


def paired_interval(after, before=None, level: float = 0.95) -> Interval:
    """Mean of ``after - before`` (paired by seed; ``before`` omitted: of ``after`` itself) and
    its t-interval at ``level``, from the sample standard deviation (ddof = 1): scipy's
    ``ttest_1samp`` on the differences (the paired test ``ttest_rel``). Seeds that all agree
    give an interval of exactly zero width."""
    from scipy import stats

    values = np.asarray(after, dtype=float)
    if before is not None:
        before = np.asarray(before, dtype=float)
        if before.shape != values.shape:
            raise ValueError(f"after and before must pair up, got {values.shape}, {before.shape}")
        values = values - before
    if values.ndim != 1 or len(values) < 2:
        raise ValueError(f"need a 1-D array of at least 2 seeds, got shape {values.shape}")
    if not 0 < level < 1:
        raise ValueError(f"level must be in (0, 1), got {level}")
    mean = float(values.mean())
    if np.ptp(values) == 0:  # all equal: 0 wide (scipy: a rounding error's width, a warning)
        return Interval(mean, mean, mean, len(values))
    low, high = stats.ttest_1samp(values, 0.0).confidence_interval(level)
    return Interval(mean, float(low), float(high), len(values))


def sd_interval(values, level: float = 0.95) -> Interval:
    """The sample standard deviation of ``values`` (ddof = 1) and its chi-square interval at
    ``level``, for normally distributed values: with few values it is wide (3 values, 95%:
    0.52 to 6.3 times the estimate)."""
    from scipy import stats

    values = np.asarray(values, dtype=float)
    if values.ndim != 1 or len(values) < 2:
        raise ValueError(f"need a 1-D array of at least 2 values, got shape {values.shape}")
    if not 0 < level < 1:
        raise ValueError(f"level must be in (0, 1), got {level}")
    dof = len(values) - 1
    sd = float(values.std(ddof=1))
    upper_q, lower_q = stats.chi2.ppf([0.5 + level / 2, 0.5 - level / 2], dof)
    low, high = sd * np.sqrt(dof / upper_q), sd * np.sqrt(dof / lower_q)
    return Interval(sd, float(low), float(high), len(values))


def welch_interval(first, second, level: float = 0.95) -> Interval:
    """Mean of ``first`` minus mean of ``second`` (two independent groups of any sizes) and its
    Welch t-interval at ``level`` (unequal variances, Welch-Satterthwaite degrees of freedom;
    scipy's ``ttest_ind``). ``n`` is the two groups' total size."""
    from scipy import stats

    first, second = np.asarray(first, dtype=float), np.asarray(second, dtype=float)
    if first.ndim != 1 or second.ndim != 1 or min(len(first), len(second)) < 2:
        raise ValueError("first and second must be 1-D with at least 2 values each")
    if not 0 < level < 1:
        raise ValueError(f"level must be in (0, 1), got {level}")
    mean = float(first.mean() - second.mean())
    if np.ptp(first) == 0 and np.ptp(second) == 0:
        return Interval(mean, mean, mean, len(first) + len(second))
    result = stats.ttest_ind(first, second, equal_var=False)
    low, high = result.confidence_interval(level)
    return Interval(mean, float(low), float(high), len(first) + len(second))
