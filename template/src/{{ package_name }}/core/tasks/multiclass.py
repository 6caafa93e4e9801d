"""Multiclass classification: the target is the class's position in the contract's list.

Scores: macro-averaged F1 (each class counts the same, however rare), log loss, accuracy,
and the confusion matrix. The predicted class is the most probable one.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar

import numpy as np
import pandas as pd
from sklearn.metrics import accuracy_score, confusion_matrix, f1_score, log_loss

from ...errors import StageError
from ..contract import Code, Target
from .base import Classifier, Predictions, scores_line

GATE_METRICS = {"f1_macro": True, "accuracy": True, "log_loss": False}


class Multiclass(Classifier):
    """Three or more classes, each answered with its probability."""

    name = "multiclass"
    cv_scoring: ClassVar[Mapping[str, str]] = {
        "f1_macro": "f1_macro",
        "accuracy": "accuracy",
        "log_loss": "neg_log_loss",
    }
    gate_metrics: ClassVar[Mapping[str, bool]] = GATE_METRICS

    def __init__(self, target: Target, classes: tuple[Code, ...]) -> None:
        self.target = target
        self.classes = classes

    def label(self, raw: pd.Series) -> pd.Series:
        """The class's position; <NA> where missing; a value not among the classes is refused."""
        positions = {str(value): position for position, value in enumerate(self.classes)}
        values = raw.astype("string")
        labels = values.map(positions).astype("Int64")
        unknown = values[values.notna() & labels.isna()]
        if len(unknown):
            shown = ", ".join(repr(value) for value in unknown.unique()[:5])
            raise StageError(
                f"{self.target.column}: {len(unknown)} row(s) hold a class the contract does not "
                f"list: {shown} (add it to the target's categories, or remove those rows)"
            )
        return labels

    def check_rows(self, labels: pd.Series) -> None:
        counts = labels.value_counts()
        few = [
            f"{value!r} ({counts.get(position, 0)})"
            for position, value in enumerate(self.classes)
            if counts.get(position, 0) < 2
        ]
        if few:
            raise StageError(
                f"need at least two rows of each class of {self.target.column}: "
                f"{', '.join(few)} (remove a class from the contract's categories to leave it out)"
            )

    def predict(self, model: Any, features: pd.DataFrame, threshold: float | None) -> Predictions:
        probabilities = model.predict_proba(features)
        return Predictions(np.argmax(probabilities, axis=1), probabilities)

    def metrics(self, actual: Any, predictions: Predictions) -> dict[str, Any]:
        actual = np.asarray(actual, dtype=int)
        positions = list(range(len(self.classes)))
        matrix = confusion_matrix(actual, predictions.labels, labels=positions)
        return {
            "f1_macro": float(
                f1_score(
                    actual, predictions.labels, labels=positions, average="macro", zero_division=0
                )
            ),
            "accuracy": float(accuracy_score(actual, predictions.labels)),
            "log_loss": float(log_loss(actual, predictions.scores, labels=positions)),
            "rows": len(actual),
            "classes": [str(value) for value in self.classes],
            "confusion": matrix.tolist(),
        }

    def summary(self, metrics: Mapping[str, Any]) -> str:
        return scores_line(metrics, tuple(GATE_METRICS))

    def plots(self, actual: Any, predictions: Predictions) -> dict[str, str]:
        """The confusion rows, each class by its name."""
        names = np.asarray([str(value) for value in self.classes], dtype=object)
        rows = pd.DataFrame(
            {
                "actual": names[np.asarray(actual, dtype=int)],
                "predicted": names[np.asarray(predictions.labels, dtype=int)],
            }
        )
        return {"confusion.csv": rows.to_csv(index=False)}

    def answer_columns(self) -> tuple[str, ...]:
        return ("prediction", *(f"probability_{position}" for position in range(len(self.classes))))

    def prediction_columns(self, predictions: Predictions) -> dict[str, Any]:
        assert predictions.scores is not None
        names = self.answer_columns()
        return dict(zip(names, [predictions.labels, *predictions.scores.T], strict=True))

    def read_predictions(self, frame: pd.DataFrame) -> Predictions:
        names = list(self.answer_columns()[1:])
        probabilities = frame[names].to_numpy(dtype=float)
        # Written to 6 places: each row sums to 1 again before log loss reads it.
        return Predictions(
            frame["prediction"].to_numpy(), probabilities / probabilities.sum(axis=1, keepdims=True)
        )
