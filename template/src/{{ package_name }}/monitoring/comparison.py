"""The statistics of an experiment: one metric of the champion against the challenger.

Two designs. **ab**: each request was answered by one variant, so the two samples are
independent; rates (accuracy) by the two-proportion z-test with Newcombe's interval of the
difference (statsmodels), per-row losses (log loss, absolute error) by Welch's t-test and its
interval (SciPy). **shadow**: the challenger scored the same records, so the samples are
paired: correctness by McNemar's test (exact below 25 discordant pairs, statsmodels) with the
paired t interval of the difference, per-row losses by the paired t-test. ROC AUC, in both
designs, by a permutation test (rows shuffled between the variants in ab, the two models'
scores swapped within a row in shadow) and a percentile bootstrap interval; RMSE by the t-test
on squared errors (the same null as equal RMSEs) and a bootstrap interval of the RMSE
difference (SciPy's ``permutation_test`` and ``bootstrap``).

The difference is always challenger minus champion, in the metric's unit. The sample size
needed to detect ``min_effect`` at ``power`` (level ``alpha``, two-sided) comes from
statsmodels' power classes (z-test: Cohen's h; t-tests: ``min_effect`` over the observed
standard deviation); for ROC AUC and RMSE, which they do not cover, the bootstrap standard
error is scaled as a normal test's: ``n * (se * (z(1 - alpha/2) + z(power)) / min_effect) ** 2``.
In ab it counts the labelled rows of both variants at the observed split; in shadow, pairs.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
from scipy import stats
from statsmodels.stats.contingency_tables import mcnemar
from statsmodels.stats.power import NormalIndPower, TTestIndPower, TTestPower
from statsmodels.stats.proportion import (
    confint_proportions_2indep,
    proportion_effectsize,
    proportions_ztest,
)

from ..params import ExperimentParams

Design = Literal["ab", "shadow"]
# Per metric: whether higher is better.
HIGHER_IS_BETTER = {
    "accuracy": True,
    "log_loss": False,
    "roc_auc": True,
    "mae": False,
    "rmse": False,
}
# Per task: the metrics compared, the first being the default primary metric.
TASK_METRICS = {
    "binary": ("accuracy", "log_loss", "roc_auc"),
    "multiclass": ("accuracy", "log_loss"),
    "regression": ("mae", "rmse"),
}
RESAMPLED = ("roc_auc", "rmse")  # tested by resampling; their size from the bootstrap's error
MIN_ROWS = 10  # per variant (or pairs), for a test; and of each class, for ROC AUC
RESAMPLES = 999
SEED = 0  # of the resamples: a report read twice says the same
PROBABILITY_FLOOR = 1e-15  # a logged probability of 0 for the actual class: a finite loss
EXACT_MCNEMAR_BELOW = 25  # discordant pairs


@dataclass(frozen=True)
class Sample:
    """One variant's labelled answers: the outcome and, per row, the answer's score (binary:
    the positive class's probability; multiclass: the probabilities; regression: the value)."""

    actual: np.ndarray
    labels: np.ndarray
    scores: np.ndarray

    def __len__(self) -> int:
        return len(self.actual)


@dataclass(frozen=True)
class Comparison:  # pylint: disable=too-many-instance-attributes  # a report's row
    """One metric: both values, the difference with its interval, the test and its p-value, and
    the sample size needed (``None`` where the rows do not allow it)."""

    metric: str
    design: Design
    test: str
    rows: int  # labelled rows (ab: both variants) or pairs (shadow)
    champion: float | None
    challenger: float | None
    difference: float | None
    low: float | None
    high: float | None
    p_value: float | None
    needed: int | None

    @property
    def higher_is_better(self) -> bool:
        """Whether a higher value of the metric is better."""
        return HIGHER_IS_BETTER[self.metric]

    def significant(self, alpha: float) -> bool:
        """Whether the test rejects equal values at level ``alpha``."""
        return self.p_value is not None and self.p_value < alpha

    def challenger_better(self) -> bool:
        """Whether the difference is in the challenger's favour."""
        return self.difference is not None and (self.difference > 0) == self.higher_is_better


def per_row(metric: str, sample: Sample) -> np.ndarray:
    """The metric's per-row values: correct (1/0), log loss, absolute or squared error."""
    if metric == "accuracy":
        return np.asarray(sample.labels == sample.actual, dtype=float)
    if metric == "log_loss":
        if sample.scores.ndim == 1:
            chosen = np.where(sample.actual == 1, sample.scores, 1 - sample.scores)
        else:
            rows = np.arange(len(sample.actual))
            chosen = sample.scores[rows, sample.actual.astype(int)]
        return np.asarray(-np.log(np.clip(chosen, PROBABILITY_FLOOR, 1.0)), dtype=float)
    error = sample.scores - sample.actual
    return np.abs(error) if metric == "mae" else np.asarray(error**2, dtype=float)


def auc(actual: np.ndarray, scores: np.ndarray) -> float:
    """ROC AUC as the Mann-Whitney U of the positives' scores over the negatives', normalised
    (NaN with one class only).

    U from the ranks (ties averaged), as scipy's `mannwhitneyu` computes it, without the cost
    of its test: the resampling tests call this thousands of times.
    """
    positives, negatives = scores[actual == 1], scores[actual == 0]
    if positives.size == 0 or negatives.size == 0:
        return math.nan
    count = len(positives)
    ranks = stats.rankdata(np.concatenate([positives, negatives]))
    u_statistic = float(ranks[:count].sum()) - count * (count + 1) / 2
    return u_statistic / (count * len(negatives))


def value(metric: str, sample: Sample) -> float | None:
    """The metric of one variant's rows."""
    if len(sample) == 0:
        return None
    if metric == "roc_auc":
        result = auc(sample.actual, sample.scores)
        return None if math.isnan(result) else result
    mean = float(per_row(metric, sample).mean())
    return math.sqrt(mean) if metric == "rmse" else mean


def testable(metric: str, *samples: Sample) -> bool:
    """Whether every sample has rows enough (and, for ROC AUC, of each class)."""
    if metric == "roc_auc":
        return all(min((s.actual == 1).sum(), (s.actual == 0).sum()) >= MIN_ROWS for s in samples)
    return all(len(s) >= MIN_ROWS for s in samples)


def compare(
    metric: str, design: Design, champion: Sample, challenger: Sample, params: ExperimentParams
) -> Comparison:
    """The comparison of ``metric``; in shadow, row ``i`` of both samples is the same record."""
    values = value(metric, champion), value(metric, challenger)
    rows = len(champion) if design == "shadow" else len(champion) + len(challenger)
    difference = None if None in values else float(values[1]) - float(values[0])  # type: ignore[arg-type]
    if not testable(metric, champion, challenger):
        needed = size(metric, design, champion, challenger, params)
        test = TESTS[design][metric]
        return Comparison(metric, design, test, rows, *values, difference, None, None, None, needed)
    run = PAIRED if design == "shadow" else INDEPENDENT
    low, high, p_value, needed = run[metric](metric, champion, challenger, params)
    return Comparison(
        metric,
        design,
        TESTS[design][metric],
        rows,
        *values,
        difference,
        _finite(low),
        _finite(high),
        _finite(p_value),
        needed,
    )


def _finite(number: float | None) -> float | None:
    return None if number is None or not math.isfinite(number) else float(number)


Result = tuple[float | None, float | None, float | None, int | None]


def size(metric: str, design: Design, a: Sample, b: Sample, params: ExperimentParams) -> int | None:
    """The rows needed (ab: both variants at the observed split; shadow: pairs) from as few
    rows as give a rate or a spread; ``None`` for ROC AUC and RMSE (their bootstrap's)."""
    if metric in RESAMPLED:
        return None
    if design == "shadow":
        return _paired_size(per_row(metric, b) - per_row(metric, a), params)
    if len(a) == 0 or len(b) == 0:
        return None
    ratio = len(b) / len(a)
    if metric == "accuracy":
        rate = float(per_row(metric, a).mean())
        target = (
            rate + params.min_effect if rate + params.min_effect <= 1 else rate - params.min_effect
        )
        needed = _solve(
            NormalIndPower(), abs(proportion_effectsize(target, rate)), params, ratio=ratio
        )
    else:
        losses = per_row(metric, a), per_row(metric, b)
        if min(len(losses[0]), len(losses[1])) < 2:
            return None
        spread = math.sqrt((losses[0].var(ddof=1) + losses[1].var(ddof=1)) / 2)
        needed = _solve(
            TTestIndPower(), _standardised(params.min_effect, spread), params, ratio=ratio
        )
    return None if needed is None else math.ceil(needed * (1 + ratio))


def _paired_size(differences: np.ndarray, params: ExperimentParams) -> int | None:
    """The pairs a paired t-test needs, from the differences' spread (none: no size)."""
    spread = float(differences.std(ddof=1)) if len(differences) > 1 else 0.0
    needed = _solve(TTestPower(), _standardised(params.min_effect, spread), params)
    return None if needed is None else math.ceil(needed)


def _rate_independent(_: str, a: Sample, b: Sample, params: ExperimentParams) -> Result:
    """Accuracy in ab: two-proportion z-test, Newcombe interval."""
    hits = int(per_row("accuracy", a).sum()), int(per_row("accuracy", b).sum())
    if sum(hits) in (0, len(a) + len(b)):  # every answer right (or wrong) in both: no spread
        p_value = 1.0
    else:
        _, p_value = proportions_ztest([hits[1], hits[0]], [len(b), len(a)])
    low, high = confint_proportions_2indep(
        hits[1], len(b), hits[0], len(a), compare="diff", alpha=params.alpha
    )
    return low, high, p_value, size("accuracy", "ab", a, b, params)


def _loss_independent(metric: str, a: Sample, b: Sample, params: ExperimentParams) -> Result:
    """Mean per-row loss in ab: Welch's t-test and interval."""
    result = stats.ttest_ind(per_row(metric, b), per_row(metric, a), equal_var=False)
    interval = result.confidence_interval(confidence_level=1 - params.alpha)
    needed = size(metric, "ab", a, b, params)
    return interval.low, interval.high, float(result.pvalue), needed


def _rate_paired(_: str, a: Sample, b: Sample, params: ExperimentParams) -> Result:
    """Accuracy in shadow: McNemar's test, the paired t interval."""
    right = per_row("accuracy", a).astype(bool), per_row("accuracy", b).astype(bool)
    table = [
        [int((right[0] & right[1]).sum()), int((right[0] & ~right[1]).sum())],
        [int((~right[0] & right[1]).sum()), int((~right[0] & ~right[1]).sum())],
    ]
    discordant = table[0][1] + table[1][0]
    p_value = float(mcnemar(table, exact=discordant < EXACT_MCNEMAR_BELOW).pvalue)
    return _paired_interval(right[1].astype(float) - right[0].astype(float), p_value, params)


def _loss_paired(metric: str, a: Sample, b: Sample, params: ExperimentParams) -> Result:
    """Mean per-row loss in shadow: the paired t-test."""
    differences = per_row(metric, b) - per_row(metric, a)
    if not differences.any():
        return _paired_interval(differences, 1.0, params)
    p_value = float(stats.ttest_1samp(differences, 0.0).pvalue)
    return _paired_interval(differences, p_value, params)


def _paired_interval(differences: np.ndarray, p_value: float, params: ExperimentParams) -> Result:
    """The t interval of the mean paired difference, and the pairs needed."""
    needed = _paired_size(differences, params)
    if not differences.std():  # every pair the same: no spread to build an interval on
        mean = float(differences.mean())
        return mean, mean, p_value, needed
    interval = stats.ttest_1samp(differences, 0.0).confidence_interval(1 - params.alpha)
    return float(interval.low), float(interval.high), p_value, needed


def _standardised(effect: float, spread: float) -> float | None:
    return effect / spread if spread > 0 else None


def _solve(
    power: NormalIndPower | TTestIndPower | TTestPower,
    effect: float | None,
    params: ExperimentParams,
    **extra: float,
) -> float | None:
    """The first group's size (pairs for a paired test) to detect ``effect``."""
    if not effect:
        return None
    return float(
        power.solve_power(effect_size=effect, alpha=params.alpha, power=params.power, **extra)
    )


def _difference_statistic(metric: str, a: Sample, b: Sample) -> Callable[..., float]:
    """``statistic(rows_a, rows_b)`` of the metric's difference on rows of the two samples."""

    def statistic(rows_a: np.ndarray, rows_b: np.ndarray) -> float:
        first = value(metric, _take(a, rows_a.astype(int)))
        second = value(metric, _take(b, rows_b.astype(int)))
        return math.nan if first is None or second is None else second - first

    return statistic


def _take(sample: Sample, rows: np.ndarray) -> Sample:
    return Sample(sample.actual[rows], sample.labels[rows], sample.scores[rows])


def _bootstrap(
    rows: tuple[np.ndarray, np.ndarray],
    statistic: Callable[..., float],
    params: ExperimentParams,
    rng: np.random.Generator,
    *,
    paired: bool = False,
) -> Any:
    """The percentile bootstrap of ``statistic`` over the two row sets, at 1 - alpha."""
    return stats.bootstrap(
        rows,
        statistic,
        paired=paired,
        vectorized=False,
        n_resamples=RESAMPLES,
        method="percentile",
        confidence_level=1 - params.alpha,
        random_state=rng,
    )


def _resampled_independent(metric: str, a: Sample, b: Sample, params: ExperimentParams) -> Result:
    """ROC AUC or RMSE in ab: a permutation test of rows between the variants (ROC AUC) or
    Welch's test of squared errors (RMSE), a bootstrap interval, the scaled standard error."""
    both = Sample(*(np.concatenate([x, y]) for x, y in zip(_fields(a), _fields(b), strict=True)))
    rows = np.arange(len(a)), np.arange(len(a), len(a) + len(b))
    statistic = _difference_statistic(metric, both, both)
    rng = np.random.default_rng(SEED)
    interval = _bootstrap(rows, statistic, params, rng)
    if metric == "rmse":
        squared = per_row(metric, a), per_row(metric, b)
        p_value = float(stats.ttest_ind(squared[1], squared[0], equal_var=False).pvalue)
    else:
        p_value = float(
            stats.permutation_test(
                rows, statistic, vectorized=False, n_resamples=RESAMPLES, random_state=rng
            ).pvalue
        )
    needed = _scaled(float(interval.standard_error), len(a) + len(b), params)
    ci = interval.confidence_interval
    return ci.low, ci.high, p_value, needed


def _resampled_paired(metric: str, a: Sample, b: Sample, params: ExperimentParams) -> Result:
    """ROC AUC or RMSE in shadow: the two models' answers swapped within rows (ROC AUC) or the
    paired t-test of squared errors (RMSE), a paired bootstrap interval, the scaled error."""
    rows = np.arange(len(a))
    statistic = _difference_statistic(metric, a, b)
    rng = np.random.default_rng(SEED)
    interval = _bootstrap((rows, rows), statistic, params, rng, paired=True)
    if metric == "rmse":
        differences = per_row(metric, b) - per_row(metric, a)
        p_value = float(stats.ttest_1samp(differences, 0.0).pvalue) if differences.any() else 1.0
    else:

        def swapped(first: np.ndarray, second: np.ndarray) -> float:
            return auc(a.actual, second) - auc(a.actual, first)

        p_value = float(
            stats.permutation_test(
                (a.scores, b.scores),
                swapped,
                permutation_type="samples",
                vectorized=False,
                n_resamples=RESAMPLES,
                random_state=rng,
            ).pvalue
        )
    needed = _scaled(float(interval.standard_error), len(a), params)
    ci = interval.confidence_interval
    return ci.low, ci.high, p_value, needed


def _fields(sample: Sample) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    return sample.actual, sample.labels, sample.scores


def _scaled(standard_error: float, rows: int, params: ExperimentParams) -> int | None:
    """The rows at which a normal test of this standard error reaches ``power``."""
    if not math.isfinite(standard_error) or standard_error <= 0:
        return None
    z = stats.norm.ppf(1 - params.alpha / 2) + stats.norm.ppf(params.power)
    return math.ceil(rows * (standard_error * z / params.min_effect) ** 2)


Runner = Callable[[str, Sample, Sample, ExperimentParams], Result]
INDEPENDENT: dict[str, Runner] = {
    "accuracy": _rate_independent,
    "log_loss": _loss_independent,
    "mae": _loss_independent,
    "roc_auc": _resampled_independent,
    "rmse": _resampled_independent,
}
PAIRED: dict[str, Runner] = {
    "accuracy": _rate_paired,
    "log_loss": _loss_paired,
    "mae": _loss_paired,
    "roc_auc": _resampled_paired,
    "rmse": _resampled_paired,
}
TESTS: dict[Design, dict[str, str]] = {
    "ab": {
        "accuracy": "two-proportion z-test",
        "log_loss": "Welch's t-test on per-row log loss",
        "mae": "Welch's t-test on absolute errors",
        "roc_auc": "permutation test, bootstrap interval",
        "rmse": "Welch's t-test on squared errors, bootstrap interval",
    },
    "shadow": {
        "accuracy": "McNemar's test, paired t interval",
        "log_loss": "paired t-test on per-row log loss",
        "mae": "paired t-test on absolute errors",
        "roc_auc": "paired permutation test, paired bootstrap interval",
        "rmse": "paired t-test on squared errors, paired bootstrap interval",
    },
}


def as_dict(comparison: Comparison) -> dict[str, Any]:
    """A JSON-ready mapping of a comparison, numbers rounded to 6 decimals."""
    fields = {
        name: getattr(comparison, name)
        for name in (
            "metric",
            "design",
            "test",
            "rows",
            "champion",
            "challenger",
            "difference",
            "low",
            "high",
            "p_value",
            "needed",
        )
    }
    return {
        name: round(item, 6) if isinstance(item, float) else item for name, item in fields.items()
    } | {"higher_is_better": comparison.higher_is_better}
