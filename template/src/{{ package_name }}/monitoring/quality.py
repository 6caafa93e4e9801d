"""Whole-window checks beside the per-feature tests: data quality and the predictions.

- duplicate rate: the share of records whose 13 features repeat an earlier record's;
- out-of-schema rate: the share of records with a value outside core/schema.py (a range, or
  not one of the codes);
- positive rate: the share predicted positive, against the training data's prevalence.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from ..core.schema import CATEGORY_CODES, FEATURES, NUMERIC_RANGES, TARGET


def out_of_schema(records: pd.DataFrame) -> pd.Series:
    """Whether each record has a value outside the schema's ranges and codes."""
    outside = pd.Series(False, index=records.index)
    for name, (low, high) in NUMERIC_RANGES.items():
        outside |= ~records[name].between(low, high)
    for name, codes in CATEGORY_CODES.items():
        outside |= ~records[name].isin(codes)
    return outside


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
    duplicates = _rate(records.duplicated(subset=list(FEATURES)))
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
