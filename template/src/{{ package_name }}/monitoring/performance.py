"""Labelled performance of logged predictions: discrimination, accuracy and calibration.

ROC AUC (``None`` with one class only), log loss, accuracy and the Brier score of the
predictions that have an outcome, and how many predictions still have none; per time window
for the feedback report, and calibration bins (scikit-learn's ``calibration_curve``).
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import numpy as np
import pandas as pd
from sklearn.calibration import calibration_curve
from sklearn.metrics import accuracy_score, brier_score_loss, log_loss, roc_auc_score

CALIBRATION_BINS = 10


def scores(labelled: pd.DataFrame) -> dict[str, Any]:
    """The scores of rows with ``actual``, ``probability`` and ``prediction`` (None if none)."""
    if labelled.empty:
        return {"roc_auc": None, "log_loss": None, "accuracy": None, "brier_score": None}
    actual = labelled["actual"].to_numpy(dtype=int)
    probability = labelled["probability"].to_numpy(dtype=float)
    roc_auc = None
    if len(np.unique(actual)) == 2:
        roc_auc = round(float(roc_auc_score(actual, probability)), 6)
    return {
        "roc_auc": roc_auc,
        "log_loss": round(float(log_loss(actual, probability, labels=[0, 1])), 6),
        "accuracy": round(float(accuracy_score(actual, labelled["prediction"])), 6),
        "brier_score": round(float(brier_score_loss(actual, probability)), 6),
    }


def join_labels(records: pd.DataFrame, labels: pd.DataFrame) -> pd.DataFrame:
    """The logged records with their ``actual`` outcome (missing where none arrived yet), and
    the labelled records that the log no longer holds (rotated away)."""
    key = ["request_id", "index"]
    joined = records.merge(labels[[*key, "actual"]], on=key, how="left", validate="one_to_one")
    logged = pd.MultiIndex.from_frame(records[key])
    gone = labels[~pd.MultiIndex.from_frame(labels[key]).isin(logged)]
    if gone.empty:
        return joined
    return pd.concat([joined, gone[joined.columns]], ignore_index=True)


def window_report(joined: pd.DataFrame, start: datetime, end: datetime) -> dict[str, Any]:
    """Counts and scores of the records logged after ``start``, up to ``end`` included."""
    chosen = joined[(joined["time"] > start) & (joined["time"] <= end)]
    labelled = chosen[chosen["actual"].notna()]
    return {
        "start": start.isoformat(),
        "end": end.isoformat(),
        "predictions": len(chosen),
        "labelled": len(labelled),
        "unlabelled": len(chosen) - len(labelled),
        **scores(labelled),
    }


def windows(joined: pd.DataFrame, end: datetime, days: int) -> list[dict[str, Any]]:
    """One report per window of ``days`` days, newest first, back to the oldest record."""
    reports: list[dict[str, Any]] = []
    if joined.empty:
        return reports
    oldest = joined["time"].min()
    stop = end
    while stop >= oldest:
        start = stop - timedelta(days=days)
        reports.append(window_report(joined, start, stop))
        stop = start
    return reports


def calibration(labelled: pd.DataFrame) -> list[dict[str, float]]:
    """Observed rate against mean predicted probability, per non-empty probability decile."""
    if labelled.empty:
        return []
    observed, predicted = calibration_curve(
        labelled["actual"].to_numpy(dtype=int),
        labelled["probability"].to_numpy(dtype=float),
        n_bins=CALIBRATION_BINS,
    )
    return [
        {"mean_predicted": round(float(p), 6), "observed": round(float(o), 6)}
        for p, o in zip(predicted, observed, strict=True)
    ]
