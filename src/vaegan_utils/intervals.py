"""Intervals over seeds: a paired t-interval, the verdict word it supports, an equivalence test
against a declared margin and the smallest effect a design of that many seeds could detect."""

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

    def word(self, above: str = "higher", below: str = "lower", margin: float | None = None) -> str:
        """The verdict this interval supports (for a Fréchet distance: ``above="worse",
        below="better"``).

        With no ``margin``: ``above`` when the whole interval lies above 0, ``below`` when
        below, otherwise "no measurable difference". With a ``margin`` declared before the
        runs, the interval is also read against (-margin, margin): inside it, "equivalent
        within ±margin" when it holds 0 and "differs, but within ±margin" when it does not;
        reaching past the margin, ``above`` or ``below`` when it excludes 0 and "inconclusive"
        when it holds 0 (too wide to say either). Equivalence read from a 95% interval is the
        two one-sided tests at 2.5% each (:func:`equivalence_p` below 0.025).
        """
        if margin is not None and margin <= 0:
            raise ValueError(
                f"margin must be positive (the declared equivalence bound), got {margin}"
            )
        holds_zero = self.low <= 0 <= self.high
        if margin is not None and -margin < self.low and self.high < margin:
            within = "equivalent" if holds_zero else "differs, but"
            return f"{within} within ±{margin:g}"
        if self.low > 0:
            return above
        if self.high < 0:
            return below
        return "no measurable difference" if margin is None else "inconclusive"

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


def equivalence_p(values, margin: float) -> float:
    """The p-value of the two one-sided t-tests (TOST) that the mean of ``values`` (paired
    differences, ddof = 1) lies inside (-margin, margin): the larger of the two one-sided
    p-values. Below 0.05 exactly when the 90% t-interval lies inside the margin."""
    from scipy import stats

    values = np.asarray(values, dtype=float)
    if values.ndim != 1 or len(values) < 2:
        raise ValueError(f"need a 1-D array of at least 2 values, got shape {values.shape}")
    if margin <= 0:
        raise ValueError(f"margin must be positive (the declared equivalence bound), got {margin}")
    if np.ptp(values) == 0:
        return 0.0 if abs(values[0]) < margin else 1.0
    above_low = stats.ttest_1samp(values, -margin, alternative="greater").pvalue
    below_high = stats.ttest_1samp(values, margin, alternative="less").pvalue
    return float(max(above_low, below_high))


def detectable_effect(n: int, sd: float, level: float = 0.95, power: float = 0.8) -> float:
    """The smallest true mean difference that a two-sided paired t-test of ``n`` seeds at
    ``level`` detects with probability ``power``, when differences scatter with standard
    deviation ``sd``: solved on the noncentral t distribution (no normal approximation)."""
    from scipy import optimize, stats

    if n < 2:
        raise ValueError(f"n must be at least 2 seeds, got {n}")
    if sd < 0:
        raise ValueError(f"sd must be non-negative, got {sd}")
    if not 0 < level < 1 or not 0 < power < 1:
        raise ValueError(f"level and power must be in (0, 1), got {level}, {power}")
    if sd == 0:
        return 0.0
    dof = n - 1
    critical = stats.t.ppf(0.5 + level / 2, dof)

    def shortfall(effect: float) -> float:
        shift = effect * np.sqrt(n) / sd  # the noncentrality
        # both tails; P(T < -c | shift) = P(T > c | -shift) stays finite where cdf gives NaN
        reject = stats.nct.sf(critical, dof, shift) + stats.nct.sf(critical, dof, -shift)
        return reject - power

    # widen the bracket until it holds the answer (few degrees of freedom: heavy tails)
    high = (critical + 8.0) * sd / np.sqrt(n)
    while shortfall(high) < 0:
        high *= 2.0
    return float(optimize.brentq(shortfall, 0.0, high))
