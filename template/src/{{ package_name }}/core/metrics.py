"""Classification metrics shared by the evaluate stage and the verification command."""

from __future__ import annotations

from typing import Any, get_args

import numpy as np
import pandas as pd
from sklearn.metrics import (
    accuracy_score,
    confusion_matrix,
    f1_score,
    precision_score,
    recall_score,
    roc_auc_score,
    roc_curve,
)

from ..params import GateMetric

# Metrics where higher is better, usable as the promotion metric (evaluate.metric).
GATE_METRICS: tuple[str, ...] = get_args(GateMetric)


def classification_metrics(
    actual: np.ndarray | pd.Series,
    predicted: np.ndarray | pd.Series,
    probability: np.ndarray | pd.Series,
) -> dict[str, Any]:
    """Scores and confusion counts of predictions against actuals (1 = heart disease).

    ``roc_auc`` is ``None`` when the actuals hold a single class, where it is undefined.
    """
    actual = np.asarray(actual, dtype=int)
    predicted = np.asarray(predicted, dtype=int)
    tn, fp, fn, tp = confusion_matrix(actual, predicted, labels=[0, 1]).ravel()
    roc_auc = None
    if len(np.unique(actual)) == 2:
        roc_auc = float(roc_auc_score(actual, np.asarray(probability, dtype=float)))
    return {
        "roc_auc": roc_auc,
        "accuracy": float(accuracy_score(actual, predicted)),
        "precision": float(precision_score(actual, predicted, zero_division=0)),
        "recall": float(recall_score(actual, predicted, zero_division=0)),
        "f1": float(f1_score(actual, predicted, zero_division=0)),
        "rows": len(actual),
        "positives": int(actual.sum()),
        "true_positives": int(tp),
        "false_positives": int(fp),
        "true_negatives": int(tn),
        "false_negatives": int(fn),
    }


def roc_points(actual: np.ndarray | pd.Series, probability: np.ndarray | pd.Series) -> list:
    """The ROC curve as ``{"fpr", "tpr", "threshold"}`` points (thresholds capped at 1)."""
    fpr, tpr, thresholds = roc_curve(np.asarray(actual, dtype=int), probability)
    return [
        {"fpr": round(float(f), 6), "tpr": round(float(t), 6), "threshold": round(min(h, 1.0), 6)}
        for f, t, h in zip(fpr, tpr, thresholds, strict=True)
    ]


def summary(metrics: dict[str, Any]) -> str:
    """One line with the scores and the confusion counts."""
    scores = ", ".join(
        f"{name} {metrics[name]:.3f}" for name in GATE_METRICS if metrics[name] is not None
    )
    return (
        f"{metrics['rows']} rows: {scores}; TP {metrics['true_positives']}, "
        f"FP {metrics['false_positives']}, TN {metrics['true_negatives']}, "
        f"FN {metrics['false_negatives']}"
    )
