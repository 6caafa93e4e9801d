"""Regression: the target is the raw number.

Scores: root mean squared error, mean absolute error (both in the target's unit, lower is
better) and R² (share of the variance explained, higher is better).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar

import numpy as np
import pandas as pd
from sklearn.ensemble import HistGradientBoostingRegressor, RandomForestRegressor
from sklearn.linear_model import Ridge
from sklearn.metrics import mean_absolute_error, r2_score, root_mean_squared_error

from .base import Predictions, Task, scores_line

GATE_METRICS = {"rmse": False, "mae": False, "r2": True}


class Regression(Task):
    """A number, answered as a number."""

    name = "regression"
    models: ClassVar[Mapping[str, type]] = {
        "ridge": Ridge,
        "random_forest": RandomForestRegressor,
        "hist_gradient_boosting": HistGradientBoostingRegressor,
    }
    cv_scoring: ClassVar[Mapping[str, str]] = {
        "rmse": "neg_root_mean_squared_error",
        "mae": "neg_mean_absolute_error",
        "r2": "r2",
    }
    gate_metrics: ClassVar[Mapping[str, bool]] = GATE_METRICS

    def label(self, raw: pd.Series) -> pd.Series:
        return pd.to_numeric(raw, errors="coerce").astype("Float64")

    def predict(self, model: Any, features: pd.DataFrame, threshold: float | None) -> Predictions:
        return Predictions(np.asarray(model.predict(features), dtype=float))

    def metrics(self, actual: Any, predictions: Predictions) -> dict[str, Any]:
        actual = np.asarray(actual, dtype=float)
        predicted = predictions.labels
        return {
            "rmse": float(root_mean_squared_error(actual, predicted)),
            "mae": float(mean_absolute_error(actual, predicted)),
            "r2": float(r2_score(actual, predicted)) if len(actual) > 1 else None,
            "rows": len(actual),
            "mean_actual": float(actual.mean()),
            "mean_predicted": float(predicted.mean()),
        }

    def summary(self, metrics: Mapping[str, Any]) -> str:
        return scores_line(metrics, tuple(GATE_METRICS))

    def plots(self, actual: Any, predictions: Predictions) -> dict[str, str]:
        """Each held-back row's actual and predicted value."""
        rows = pd.DataFrame(
            {"actual": np.asarray(actual, dtype=float), "predicted": predictions.labels}
        )
        return {"predictions.csv": rows.to_csv(index=False)}

    def answer_columns(self) -> tuple[str, ...]:
        return ("prediction",)

    def prediction_columns(self, predictions: Predictions) -> dict[str, Any]:
        return {"prediction": predictions.labels}

    def read_predictions(self, frame: pd.DataFrame) -> Predictions:
        return Predictions(frame["prediction"].to_numpy(dtype=float))
