"""Labelled performance of logged predictions, scored by the task (``Task.metrics``).

Binary: ROC AUC (``None`` with one class only), log loss, accuracy and the Brier score, and
calibration bins (scikit-learn's ``calibration_curve``); multiclass: macro-averaged F1,
accuracy and log loss; regression: RMSE, MAE and R². For the predictions that have an
outcome, with how many still have none; per time window for the feedback report. The
alarms (:func:`alarms`): binary ROC AUC and Brier score, multiclass macro F1, regression RMSE.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pandas as pd
from sklearn.calibration import calibration_curve

from ..core.tasks import TASK, Predictions, Task
from ..params import MonitorParams

CALIBRATION_BINS = 10
# Per task: each reported score -> its name in Task.metrics, and its label in a log line.
SCORES: dict[str, dict[str, tuple[str, str]]] = {
    "binary": {
        "roc_auc": ("roc_auc", "ROC AUC"),
        "log_loss": ("log_loss", "log loss"),
        "accuracy": ("accuracy", "accuracy"),
        "brier_score": ("brier", "Brier score"),
    },
    "multiclass": {
        "f1_macro": ("f1_macro", "macro F1"),
        "accuracy": ("accuracy", "accuracy"),
        "log_loss": ("log_loss", "log loss"),
    },
    "regression": {"rmse": ("rmse", "RMSE"), "mae": ("mae", "MAE"), "r2": ("r2", "R²")},
}
# Without monitor.max_rmse, the RMSE alarm is this many times the held-back RMSE.
HELD_BACK_RMSE_FACTOR = 1.5


def score_labels(task: Task = TASK) -> dict[str, str]:
    """The task's reported scores and their labels (``{"roc_auc": "ROC AUC", ...}``)."""
    return {key: label for key, (_, label) in SCORES[task.name].items()}


def _predictions(labelled: pd.DataFrame, task: Task) -> Predictions:
    """The logged answers as the task reads them (multiclass probabilities renormalised: a
    logged answer sums to 1 only within its rounding)."""
    predictions = task.read_predictions(labelled)
    if predictions.scores is not None and predictions.scores.ndim == 2:
        shares = predictions.scores / predictions.scores.sum(axis=1, keepdims=True)
        return Predictions(predictions.labels, shares)
    return predictions


def scores(labelled: pd.DataFrame, task: Task = TASK) -> dict[str, Any]:
    """The task's scores of rows with ``actual`` and the logged answer (None if none)."""
    names = SCORES[task.name]
    if labelled.empty:
        return dict.fromkeys(names)
    metrics = task.metrics(labelled["actual"].to_numpy(), _predictions(labelled, task))
    return {
        key: None if metrics[name] is None else round(float(metrics[name]), 6)
        for key, (name, _) in names.items()
    }


@dataclass(frozen=True)
class Alarm:
    """A performance alarm: the score, its ``monitor`` key and threshold (None: not judged)."""

    score: str
    key: str
    threshold: float | None
    source: str | None = None  # where a threshold not in params.yaml came from

    def failed(self, value: float | None) -> bool:
        """Whether ``value`` is on the wrong side of the threshold (``min_``: below it)."""
        if value is None or self.threshold is None:
            return False
        return value < self.threshold if self.key.startswith("min_") else value > self.threshold


def held_back_rmse(path: Path) -> float | None:
    """The held-back RMSE in reports/metrics.json (``evaluate``), None when there is none."""
    try:
        value = json.loads(path.read_text(encoding="utf-8")).get("rmse")
    except (OSError, ValueError, AttributeError):
        return None
    is_number = isinstance(value, int | float) and not isinstance(value, bool)
    return float(value) if is_number and math.isfinite(value) and value > 0 else None


def alarms(params: MonitorParams, task: Task = TASK, held_back: float | None = None) -> list[Alarm]:
    """The task's alarms; regression's ``max_rmse`` defaults to 1.5 x ``held_back``."""
    if task.name == "binary":
        return [
            Alarm("roc_auc", "min_roc_auc", params.min_roc_auc),
            Alarm("brier_score", "max_brier_score", params.max_brier_score),
        ]
    if task.name == "multiclass":
        return [Alarm("f1_macro", "min_f1_macro", params.min_f1_macro)]
    if params.max_rmse is not None:
        return [Alarm("rmse", "max_rmse", params.max_rmse, "params.yaml")]
    if held_back is None:
        return [Alarm("rmse", "max_rmse", None)]
    source = f"{HELD_BACK_RMSE_FACTOR} x the held-back rmse {held_back:.4g} (reports/metrics.json)"
    return [Alarm("rmse", "max_rmse", round(HELD_BACK_RMSE_FACTOR * held_back, 6), source)]


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


def window_report(
    joined: pd.DataFrame, start: datetime, end: datetime, task: Task = TASK
) -> dict[str, Any]:
    """Counts and scores of the records logged after ``start``, up to ``end`` included."""
    chosen = joined[(joined["time"] > start) & (joined["time"] <= end)]
    labelled = chosen[chosen["actual"].notna()]
    return {
        "start": start.isoformat(),
        "end": end.isoformat(),
        "predictions": len(chosen),
        "labelled": len(labelled),
        "unlabelled": len(chosen) - len(labelled),
        **scores(labelled, task),
    }


def windows(
    joined: pd.DataFrame, end: datetime, days: int, task: Task = TASK
) -> list[dict[str, Any]]:
    """One report per window of ``days`` days, newest first, back to the oldest record."""
    reports: list[dict[str, Any]] = []
    if joined.empty:
        return reports
    oldest = joined["time"].min()
    stop = end
    while stop >= oldest:
        start = stop - timedelta(days=days)
        reports.append(window_report(joined, start, stop, task))
        stop = start
    return reports


def calibration(labelled: pd.DataFrame, task: Task = TASK) -> list[dict[str, float]]:
    """Observed rate against mean predicted probability, per non-empty probability decile
    (binary; none for another task)."""
    if labelled.empty or task.name != "binary":
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
