"""Binary classification: target 1 when the raw value is the positive class, else 0.

Scores: ROC AUC, log loss, Brier score (calibration), and at ``evaluate.threshold`` accuracy,
precision, recall, F1 and the confusion counts. The predicted class is 1 where the positive
class's probability reaches the threshold (:mod:`..decision`, shared with the service).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any, ClassVar

import numpy as np
import pandas as pd
from sklearn.metrics import (
    accuracy_score,
    brier_score_loss,
    confusion_matrix,
    f1_score,
    log_loss,
    precision_score,
    recall_score,
    roc_auc_score,
    roc_curve,
)

from ...errors import StageError
from ..contract import Target
from ..decision import DEFAULT_THRESHOLD, classify
from .base import Classifier, Predictions, scores_line

# Higher is better for all but the two losses.
GATE_METRICS = {
    "roc_auc": True,
    "accuracy": True,
    "precision": True,
    "recall": True,
    "f1": True,
    "log_loss": False,
    "brier": False,
}


class Binary(Classifier):
    """Two classes, 1 (positive) and 0, with a decision threshold."""

    name = "binary"
    cv_scoring: ClassVar[Mapping[str, str]] = {
        "roc_auc": "roc_auc",
        "accuracy": "accuracy",
        "f1": "f1",
    }
    gate_metrics: ClassVar[Mapping[str, bool]] = GATE_METRICS

    def __init__(self, target: Target) -> None:
        self.target = target

    def label(self, raw: pd.Series) -> pd.Series:
        if self.target.positive is not None:
            values = raw.astype("string")
            return (values == str(self.target.positive)).astype("Int64").where(values.notna())
        numbers = pd.to_numeric(raw, errors="coerce")
        return (numbers > self.target.positive_when_above).astype("Int64").where(numbers.notna())

    def check_rows(self, labels: pd.Series) -> None:
        counts = labels.value_counts()
        if min(counts.get(0, 0), counts.get(1, 0)) < 2:
            raise StageError(
                f"need at least two rows of each class ({self.target.name} = 1 when "
                f"{self.target.rule()}): found {counts.get(1, 0)} of class 1 and "
                f"{counts.get(0, 0)} of class 0"
            )

    def predict(self, model: Any, features: pd.DataFrame, threshold: float | None) -> Predictions:
        probability = model.predict_proba(features)[:, 1]
        chosen = DEFAULT_THRESHOLD if threshold is None else threshold
        return Predictions(classify(probability, chosen), probability)

    def metrics(self, actual: Any, predictions: Predictions) -> dict[str, Any]:
        return classification_metrics(actual, predictions.labels, predictions.scores)

    def summary(self, metrics: Mapping[str, Any]) -> str:
        return (
            f"{scores_line(metrics, tuple(GATE_METRICS))}; TP {metrics['true_positives']}, "
            f"FP {metrics['false_positives']}, TN {metrics['true_negatives']}, "
            f"FN {metrics['false_negatives']}"
        )

    def plots(self, actual: Any, predictions: Predictions) -> dict[str, str]:
        """The ROC curve and the confusion rows."""
        roc = {"roc": roc_points(actual, predictions.scores)}
        return {
            "roc.json": json.dumps(roc, indent=2) + "\n",
            "confusion.csv": pd.DataFrame(
                {"actual": actual, "predicted": predictions.labels}
            ).to_csv(index=False),
        }

    def answer_columns(self) -> tuple[str, ...]:
        return ("prediction", "probability")

    def prediction_columns(self, predictions: Predictions) -> dict[str, Any]:
        return {"prediction": predictions.labels, "probability": predictions.scores}

    def read_predictions(self, frame: pd.DataFrame) -> Predictions:
        return Predictions(frame["prediction"].to_numpy(), frame["probability"].to_numpy())

    def check_threshold(self, threshold: float | None) -> None:
        return None  # any threshold in (0, 1), as params.yaml checks it


def classification_metrics(actual: Any, predicted: Any, probability: Any) -> dict[str, Any]:
    """Scores and confusion counts of predictions against actuals (1 = the positive class).

    ``roc_auc`` is ``None`` when the actuals hold a single class, where it is undefined.
    """
    actual = np.asarray(actual, dtype=int)
    predicted = np.asarray(predicted, dtype=int)
    probability = np.asarray(probability, dtype=float)
    tn, fp, fn, tp = confusion_matrix(actual, predicted, labels=[0, 1]).ravel()
    roc_auc = None
    if len(np.unique(actual)) == 2:
        roc_auc = float(roc_auc_score(actual, probability))
    return {
        "roc_auc": roc_auc,
        "accuracy": float(accuracy_score(actual, predicted)),
        "precision": float(precision_score(actual, predicted, zero_division=0)),
        "recall": float(recall_score(actual, predicted, zero_division=0)),
        "f1": float(f1_score(actual, predicted, zero_division=0)),
        "log_loss": float(log_loss(actual, probability, labels=[0, 1])),
        "brier": float(brier_score_loss(actual, probability, pos_label=1)),
        "rows": len(actual),
        "positives": int(actual.sum()),
        "true_positives": int(tp),
        "false_positives": int(fp),
        "true_negatives": int(tn),
        "false_negatives": int(fn),
    }


def roc_points(actual: Any, probability: Any) -> list[dict[str, float]]:
    """The ROC curve as ``{"fpr", "tpr", "threshold"}`` points (thresholds capped at 1)."""
    fpr, tpr, thresholds = roc_curve(np.asarray(actual, dtype=int), probability)
    return [
        {"fpr": round(float(f), 6), "tpr": round(float(t), 6), "threshold": round(min(h, 1.0), 6)}
        for f, t, h in zip(fpr, tpr, thresholds, strict=True)
    ]
