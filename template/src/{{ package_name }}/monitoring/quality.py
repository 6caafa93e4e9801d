"""Whole-window checks beside the per-feature tests: data quality and the predictions.

- duplicate rate: the share of records whose features repeat an earlier record's;
- out-of-schema rate: the share of records with a value outside data/contract.yaml (outside a
  range, not one of the categories, e.g. a string the contract does not list, or missing
  where the contract does not allow it);
- positive rate: the share predicted positive, against the training data's prevalence.

Each feature's missing rate is reported beside them (:func:`missing_rates`).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from ..core.schema import TARGET
from .columns import SCHEMA, Features


def out_of_schema(records: pd.DataFrame, features: Features = SCHEMA) -> pd.Series:
    """Whether each record has a value outside the contract: out of its range, not one of its
    categories, or missing where the contract does not allow it."""
    outside = pd.Series(False, index=records.index)
    for name in features.names:
        values = records[name]
        present = values.notna()
        if name in features.ranges:
            low, high = features.ranges[name]
            outside |= present & ~values.between(low, high)
        else:
            outside |= present & ~values.isin(features.codes[name])
        if name not in features.may_be_missing:
            outside |= ~present
    return outside


def missing_rates(records: pd.DataFrame, features: Features = SCHEMA) -> dict[str, float]:
    """Each feature's share of missing values."""
    return {name: _rate(records[name].isna()) for name in features.names}


def _rate(flags: pd.Series) -> float:
    return round(float(flags.mean()), 6) if len(flags) else 0.0


def window_checks(
    records: pd.DataFrame,
    reference: pd.DataFrame,
    *,
    max_duplicate_rate: float,
    max_out_of_schema_rate: float,
    max_positive_rate_shift: float,
) -> dict[str, dict[str, Any]]:
    """The three checks, each with its value, threshold and whether it failed."""
    duplicates = _rate(records.duplicated(subset=list(SCHEMA.names)))
    outside = _rate(out_of_schema(records))
    positive = _rate(records["prediction"] == 1)
    prevalence = round(float(np.mean(reference[TARGET])), 6)
    shift = round(abs(positive - prevalence), 6)
    return {
        "duplicate_rate": {
            "value": duplicates,
            "threshold": max_duplicate_rate,
            "failed": duplicates > max_duplicate_rate,
        },
        "out_of_schema_rate": {
            "value": outside,
            "threshold": max_out_of_schema_rate,
            "failed": outside > max_out_of_schema_rate,
        },
        "positive_rate": {
            "value": positive,
            "training_prevalence": prevalence,
            "shift": shift,
            "threshold": max_positive_rate_shift,
            "failed": shift > max_positive_rate_shift,
        },
    }
