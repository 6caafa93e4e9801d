"""Per-feature drift between the training reference and recent traffic.

Numerical features: scipy's two-sample Kolmogorov-Smirnov test and the population stability
index (PSI) over quantile bins of the reference. Categorical codes: scipy's chi-squared test
of the 2 x k table of counts, codes expected fewer than ``min_expected`` times pooled into one
cell (so that a rare code never raises an alarm on its own), and the PSI of the code shares.
The p-values are adjusted for the number of features (Benjamini-Hochberg, scipy's
``false_discovery_control``). A feature drifts when its adjusted p-value is below ``alpha``
*and* its PSI reaches ``psi_threshold``: significant and large enough to matter.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

from ..core.schema import CATEGORY_CODES, FEATURES

# Half a record added to every bin's count before the PSI's logarithm: an empty bin would
# otherwise weigh infinitely (Jeffreys' smoothing of a multinomial).
SMOOTHING = 0.5
OTHER = "other"  # a value outside the schema's codes


@dataclass(frozen=True)
class DriftSettings:
    """The thresholds of :func:`feature_drift` (``monitor`` in params.yaml)."""

    alpha: float = 0.01
    psi_threshold: float = 0.2
    psi_bins: int = 10
    min_expected: float = 5.0


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


def code_counts(values: pd.Series, codes: tuple[int, ...]) -> pd.Series:
    """How often each code occurs, and ``other`` for values outside the codes."""
    labels = values.map(lambda value: int(value) if value in codes else OTHER)
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


def _one_feature(
    name: str, reference: pd.Series, current: pd.Series, settings: DriftSettings
) -> tuple[str, str, float, float, float]:
    if name in CATEGORY_CODES:
        codes = CATEGORY_CODES[name]
        ref_counts, cur_counts = code_counts(reference, codes), code_counts(current, codes)
        statistic, p_value = chi2_test(ref_counts, cur_counts, settings.min_expected)
        psi = psi_from_counts(ref_counts.to_numpy(float), cur_counts.to_numpy(float))
        return "categorical", "chi2", statistic, p_value, psi
    ref, cur = reference.to_numpy(float), current.to_numpy(float)
    statistic, p_value = ks_test(ref, cur)
    return "numerical", "ks", statistic, p_value, numeric_psi(ref, cur, settings.psi_bins)


def feature_drift(
    reference: pd.DataFrame, current: pd.DataFrame, settings: DriftSettings
) -> list[FeatureDrift]:
    """Every feature's drift, p-values adjusted over the features (Benjamini-Hochberg)."""
    raw = [_one_feature(name, reference[name], current[name], settings) for name in FEATURES]
    adjusted = stats.false_discovery_control([p_value for *_, p_value, _ in raw], method="bh")
    return [
        FeatureDrift(
            feature=name,
            kind=kind,
            test=test,
            statistic=statistic,
            p_value=p_value,
            adjusted_p_value=float(adjusted_p),
            psi=psi,
            drifted=bool(adjusted_p < settings.alpha and psi >= settings.psi_threshold),
        )
        for name, (kind, test, statistic, p_value, psi), adjusted_p in zip(
            FEATURES, raw, adjusted, strict=True
        )
    ]
