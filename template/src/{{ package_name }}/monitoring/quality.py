"""Whole-window checks beside the per-feature tests: data quality and the predictions.

- duplicate rate: the share of records whose features repeat an earlier record's;
- out-of-schema rate: the share of records with a value outside data/contract.yaml (outside a
  range, not one of the categories, e.g. a string the contract does not list, or missing
  where the contract does not allow it);
- the predictions against the training split's target (:func:`prediction_check`), by task:
  binary, the share predicted positive against the prevalence (``positive_rate``);
  multiclass, the predicted class shares against the training class shares (``class_shares``:
  chi-squared test pooled as a categorical feature's, and the largest absolute share shift);
  regression, the predicted values against the trained model's predictions on the training
  split when the reference has them (a ``prediction`` column, ``monitor.py``), else against
  the training target (``prediction_distribution``: KS test and PSI, as a numerical
  feature's). Predictions spread less than the target they predict (by R²), so against the
  target a healthy window of a few hundred records already looks shifted.

Each feature's missing rate is reported beside them (:func:`missing_rates`).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from ..core.schema import TARGET
from ..core.tasks import TASK, Task
from ..params import MonitorParams
from .columns import SCHEMA, Features
from .drift import chi2_test, code_counts, ks_test, numeric_psi


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
    params: MonitorParams,
    features: Features = SCHEMA,
    task: Task = TASK,
) -> dict[str, dict[str, Any]]:
    """The three checks, each with its value, threshold and whether it failed."""
    duplicates = _rate(records.duplicated(subset=list(features.names)))
    outside = _rate(out_of_schema(records, features))
    name, predictions = prediction_check(records["prediction"], reference, params, task)
    return {
        "duplicate_rate": {
            "value": duplicates,
            "threshold": params.max_duplicate_rate,
            "failed": duplicates > params.max_duplicate_rate,
        },
        "out_of_schema_rate": {
            "value": outside,
            "threshold": params.max_out_of_schema_rate,
            "failed": outside > params.max_out_of_schema_rate,
        },
        name: predictions,
    }


def prediction_check(
    predicted: pd.Series, reference: pd.DataFrame, params: MonitorParams, task: Task = TASK
) -> tuple[str, dict[str, Any]]:
    """The check of the window's predictions against the reference, and its name."""
    target = reference[TARGET]
    if task.name == "multiclass":
        return "class_shares", class_shares(predicted, target, params, task)
    if task.name == "regression":
        if "prediction" in reference:
            against = "the model's predictions on the training split"
            check = prediction_distribution(predicted, reference["prediction"], params)
            return "prediction_distribution", {**check, "reference": against}
        check = prediction_distribution(predicted, target, params)
        return "prediction_distribution", {**check, "reference": "the training target"}
    positive = _rate(predicted == 1)
    prevalence = round(float(np.mean(target)), 6)
    shift = round(abs(positive - prevalence), 6)
    return "positive_rate", {
        "value": positive,
        "training_prevalence": prevalence,
        "shift": shift,
        "threshold": params.max_positive_rate_shift,
        "failed": shift > params.max_positive_rate_shift,
    }


def class_shares(
    predicted: pd.Series, target: pd.Series, params: MonitorParams, task: Task
) -> dict[str, Any]:
    """Predicted class shares against the training split's: a drift when the chi-squared test
    is significant (at ``alpha``) *and* a share moved more than ``max_class_share_shift``."""
    classes = [str(value) for value in getattr(task, "classes", ())]
    positions = tuple(range(len(classes)))
    window = code_counts(predicted.dropna(), positions)
    reference = code_counts(target.dropna(), positions)
    statistic, p_value = chi2_test(reference, window, params.min_expected)
    shares = (window / max(window.sum(), 1))[list(positions)].to_numpy()
    training = (reference / max(reference.sum(), 1))[list(positions)].to_numpy()
    shift = round(float(np.max(np.abs(shares - training))), 6)
    return {
        "value": shift,
        "shares": dict(zip(classes, np.round(shares, 6).tolist(), strict=True)),
        "training_shares": dict(zip(classes, np.round(training, 6).tolist(), strict=True)),
        "statistic": round(statistic, 6),
        "p_value": round(p_value, 6),
        "threshold": params.max_class_share_shift,
        "failed": bool(p_value < params.alpha and shift > params.max_class_share_shift),
    }


def prediction_distribution(
    predicted: pd.Series, expected: pd.Series, params: MonitorParams
) -> dict[str, Any]:
    """Predicted values against the reference values: a drift when the KS test is significant
    (at ``alpha``) *and* the PSI reaches ``max_prediction_psi``."""
    window, reference = predicted.dropna().to_numpy(float), expected.dropna().to_numpy(float)
    statistic, p_value, psi = 0.0, 1.0, 0.0
    if len(window) and len(reference):
        statistic, p_value = ks_test(reference, window)
        psi = numeric_psi(reference, window, params.psi_bins)
    return {
        "value": round(psi, 6),
        "mean": round(float(window.mean()), 6) if len(window) else None,
        "reference_mean": round(float(reference.mean()), 6) if len(reference) else None,
        "statistic": round(statistic, 6),
        "p_value": round(p_value, 6),
        "threshold": params.max_prediction_psi,
        "failed": bool(p_value < params.alpha and psi >= params.max_prediction_psi),
    }
