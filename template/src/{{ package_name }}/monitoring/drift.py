"""Per-feature drift between the training reference and recent traffic.

Numerical features: scipy's two-sample Kolmogorov-Smirnov test and the population stability
index (PSI) over quantile bins of the reference. Categorical features (integer codes or
strings): scipy's chi-squared test of the 2 x k table of counts, values outside the contract's
categories counted as one ``(other)`` value, values expected fewer than ``min_expected`` times
pooled into one cell (so that a rare value never raises an alarm on its own), and the PSI of
the shares. The p-values are adjusted for the number of features (Benjamini-Hochberg, scipy's
``false_discovery_control``). A feature drifts when its adjusted p-value is below ``alpha``
*and* its PSI reaches ``psi_threshold``: significant and large enough to matter.

Missing values are left out of both tests; each feature's missing rate is reported in the
reference and in the window, and a rise of it is a drift too: at least ``missing_rise`` more
(absolute) and significant (a one-sided binomial test against the reference's rate, at
``alpha``).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

from ..core.contract import Code
from .columns import OTHER, SCHEMA, Features

# Half a record added to every bin's count before the PSI's logarithm: an empty bin would
# otherwise weigh infinitely (Jeffreys' smoothing of a multinomial).
SMOOTHING = 0.5


@dataclass(frozen=True)
class DriftSettings:
    """The thresholds of :func:`feature_drift` (``monitor`` in params.yaml)."""

    alpha: float = 0.01
    psi_threshold: float = 0.2
    psi_bins: int = 10
    min_expected: float = 5.0
    missing_rise: float = 0.05


@dataclass(frozen=True)
class FeatureDrift:  # pylint: disable=too-many-instance-attributes  # one row of a report
    """One feature's test, statistic, p-values, PSI and verdict."""

    feature: str
    kind: str  # numerical or categorical
    test: str  # ks or chi2
    statistic: float
    p_value: float
    adjusted_p_value: float
    psi: float
    missing_reference: float  # the share of missing values
    missing_window: float
    missing_rose: bool
    drifted: bool

    def to_json(self) -> dict[str, Any]:
        """The fields, rounded for a report."""
        return {
            key: round(value, 6) if isinstance(value, float) else value
            for key, value in asdict(self).items()
        }


def quantile_edges(reference: np.ndarray, bins: int) -> np.ndarray:
    """Inner bin edges at the reference's quantiles (repeated values merge bins)."""
    edges = np.quantile(reference, np.linspace(0, 1, bins + 1)[1:-1])
    return np.unique(edges)


def psi_from_counts(reference: np.ndarray, current: np.ndarray) -> float:
    """Population stability index of two count vectors over the same bins (smoothed)."""
    expected = (reference + SMOOTHING) / (reference.sum() + SMOOTHING * len(reference))
    actual = (current + SMOOTHING) / (current.sum() + SMOOTHING * len(current))
    return float(np.sum((actual - expected) * np.log(actual / expected)))


def numeric_psi(reference: np.ndarray, current: np.ndarray, bins: int) -> float:
    """PSI over the reference's quantile bins (values beyond the ends fall in the end bins)."""
    edges = quantile_edges(reference, bins)
    count = len(edges) + 1
    ref_counts = np.bincount(np.searchsorted(edges, reference, side="right"), minlength=count)
    cur_counts = np.bincount(np.searchsorted(edges, current, side="right"), minlength=count)
    return psi_from_counts(ref_counts.astype(float), cur_counts.astype(float))


def ks_test(reference: np.ndarray, current: np.ndarray) -> tuple[float, float]:
    """Two-sample Kolmogorov-Smirnov statistic and p-value (scipy)."""
    result = stats.ks_2samp(reference, current)
    return float(result.statistic), float(result.pvalue)


def code_counts(values: pd.Series, codes: tuple[Code, ...]) -> pd.Series:
    """How often each code occurs, and ``(other)`` for values outside the codes (give it the
    values present: a missing value is not counted)."""
    canonical: dict[Any, Code] = {code: code for code in codes}  # 1.0 is the code 1
    labels = values.map(lambda value: canonical.get(value, OTHER))
    return labels.value_counts().reindex([*codes, OTHER], fill_value=0)


def pooled_table(reference: pd.Series, current: pd.Series, min_expected: float) -> np.ndarray:
    """The 2 x k table of counts, the codes seen or expected fewer than ``min_expected`` times
    (expected in the current sample from the reference's shares) pooled into one column."""
    expected = reference / reference.sum() * current.sum()
    rare = (reference < min_expected) | (expected < min_expected)
    columns = [[reference[code], current[code]] for code in reference.index[~rare]]
    if rare.any():
        columns.append([reference[rare].sum(), current[rare].sum()])
    return np.array(columns, dtype=float).T


def chi2_test(reference: pd.Series, current: pd.Series, min_expected: float) -> tuple[float, float]:
    """Chi-squared test of homogeneity on the pooled table; (0, 1) when one column is left."""
    table = pooled_table(reference, current, min_expected)
    table = table[:, table.sum(axis=0) > 0]
    if table.shape[1] < 2:
        return 0.0, 1.0
    result = stats.chi2_contingency(table, correction=False)
    return float(result.statistic), float(result.pvalue)


def missing_rose(
    reference: pd.Series, current: pd.Series, settings: DriftSettings
) -> tuple[float, float, bool]:
    """The missing rates of both samples, and whether the current one rose by at least
    ``missing_rise`` and significantly (binomial test against the reference's smoothed rate)."""
    ref_missing, cur_missing = int(reference.isna().sum()), int(current.isna().sum())
    ref_rate = ref_missing / reference.size if reference.size else 0.0
    cur_rate = cur_missing / current.size if current.size else 0.0
    if current.empty or cur_rate < ref_rate + settings.missing_rise:
        return ref_rate, cur_rate, False
    expected = (ref_missing + SMOOTHING) / (reference.size + 2 * SMOOTHING)
    test = stats.binomtest(cur_missing, current.size, expected, alternative="greater")
    return ref_rate, cur_rate, bool(test.pvalue < settings.alpha)


def _one_feature(
    name: str,
    reference: pd.Series,
    current: pd.Series,
    settings: DriftSettings,
    features: Features,
) -> dict[str, Any]:
    """Kind, test, statistic, p-value and PSI of the values present (no test: p-value 1)."""
    reference, current = reference.dropna(), current.dropna()
    if name in features.codes:
        codes = features.codes[name]
        ref_counts, cur_counts = code_counts(reference, codes), code_counts(current, codes)
        statistic, p_value = chi2_test(ref_counts, cur_counts, settings.min_expected)
        psi = psi_from_counts(ref_counts.to_numpy(float), cur_counts.to_numpy(float))
        return {
            "kind": "categorical",
            "test": "chi2",
            "statistic": statistic,
            "p_value": p_value,
            "psi": psi,
        }
    statistic, p_value, psi = 0.0, 1.0, 0.0
    if not (reference.empty or current.empty):
        ref, cur = reference.to_numpy(float), current.to_numpy(float)
        statistic, p_value = ks_test(ref, cur)
        psi = numeric_psi(ref, cur, settings.psi_bins)
    return {
        "kind": "numerical",
        "test": "ks",
        "statistic": statistic,
        "p_value": p_value,
        "psi": psi,
    }


def feature_drift(
    reference: pd.DataFrame,
    current: pd.DataFrame,
    settings: DriftSettings,
    features: Features = SCHEMA,
) -> list[FeatureDrift]:
    """Every feature's drift, p-values adjusted over the features (Benjamini-Hochberg)."""
    tests = [
        _one_feature(name, reference[name], current[name], settings, features)
        for name in features.names
    ]
    adjusted = stats.false_discovery_control([test["p_value"] for test in tests], method="bh")
    results = []
    for name, test, adjusted_p in zip(features.names, tests, adjusted, strict=True):
        ref_rate, cur_rate, rose = missing_rose(reference[name], current[name], settings)
        shifted = bool(adjusted_p < settings.alpha and test["psi"] >= settings.psi_threshold)
        results.append(
            FeatureDrift(
                feature=name,
                **test,
                adjusted_p_value=float(adjusted_p),
                missing_reference=ref_rate,
                missing_window=cur_rate,
                missing_rose=rose,
                drifted=shifted or rose,
            )
        )
    return results
