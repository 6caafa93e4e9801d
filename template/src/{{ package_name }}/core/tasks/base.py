"""What every task provides: its models, its folds and scores, its label, its predictions.

A task is chosen by data/contract.yaml's ``task`` (:func:`.task_for`); the stages ask it
instead of assuming a 0/1 target, so that the same pipeline trains a binary classifier, a
multiclass classifier or a regressor.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np
import pandas as pd
from sklearn.ensemble import HistGradientBoostingClassifier, RandomForestClassifier
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import BaseCrossValidator, KFold, StratifiedKFold

from ...errors import StageError


@dataclass(frozen=True)
class Predictions:
    """A model's answers: ``labels`` (a class position or a value) and, for a classifier,
    ``scores`` (binary: the positive class's probability; multiclass: one column per class)."""

    labels: np.ndarray
    scores: np.ndarray | None = None


class Task(ABC):
    """One kind of prediction. Class attributes name the models, scores and gate metrics."""

    name: ClassVar[str]
    # params.yaml's train.model -> the scikit-learn estimator it builds for this task.
    models: ClassVar[Mapping[str, type]]
    # The cross-validated scores: our metric name -> scikit-learn's scorer name.
    cv_scoring: ClassVar[Mapping[str, str]]
    # The metrics evaluate.metric may name -> whether higher is better.
    gate_metrics: ClassVar[Mapping[str, bool]]
    stratified: ClassVar[bool] = False
    # What the logged MLflow model's pyfunc calls: probabilities for a classifier.
    pyfunc_predict_fn: ClassVar[str] = "predict"

    def folds(self, n_splits: int, seed: int) -> BaseCrossValidator:
        """The seeded cross-validation folds."""
        return KFold(n_splits=n_splits, shuffle=True, random_state=seed)

    @abstractmethod
    def label(self, raw: pd.Series) -> pd.Series:
        """The target from the raw column by the contract's rule; <NA> where it is missing."""

    def check_rows(self, labels: pd.Series) -> None:
        """Refuse a table the split and the model cannot use (e.g. a class with one row)."""
        if len(labels) < 4:
            raise StageError(f"need at least four rows with a target, found {len(labels)}")

    @abstractmethod
    def predict(self, model: Any, features: pd.DataFrame, threshold: float | None) -> Predictions:
        """The model's answers for ``features`` (``threshold``: binary only)."""

    @abstractmethod
    def metrics(self, actual: Any, predictions: Predictions) -> dict[str, Any]:
        """The held-back scores, as written to reports/metrics.json."""

    @abstractmethod
    def summary(self, metrics: Mapping[str, Any]) -> str:
        """One line with the scores."""

    @abstractmethod
    def answer_columns(self) -> tuple[str, ...]:
        """The names of :meth:`prediction_columns`."""

    @abstractmethod
    def prediction_columns(self, predictions: Predictions) -> dict[str, Any]:
        """The columns of a predictions file (besides the id)."""

    @abstractmethod
    def read_predictions(self, frame: pd.DataFrame) -> Predictions:
        """The predictions a predictions file holds (the inverse of :meth:`prediction_columns`)."""

    @abstractmethod
    def plots(self, actual: Any, predictions: Predictions) -> dict[str, str]:
        """The plot files of reports/plots/ (name -> text), for ``dvc plots show``."""

    def model_output(self, model: Any, features: pd.DataFrame) -> np.ndarray:
        """What the logged model's pyfunc returns (its signature's output)."""
        return np.asarray(getattr(model, self.pyfunc_predict_fn)(features))

    def check_metric(self, metric: str) -> None:
        """Refuse a gate metric the task does not compute."""
        if metric not in self.gate_metrics:
            raise StageError(
                f"params.yaml: evaluate.metric = {metric}: not a {self.name} metric "
                f"(one of {', '.join(self.gate_metrics)})"
            )

    def check_model(self, model: str) -> None:
        """Refuse a model the task cannot train."""
        if model not in self.models:
            raise StageError(
                f"params.yaml: train.model = {model}: not a {self.name} model "
                f"(one of {', '.join(self.models)})"
            )

    def check_threshold(self, threshold: float | None) -> None:
        """A decision threshold means something for a binary task only."""
        if threshold is not None:
            raise StageError(
                f"params.yaml: evaluate.threshold = {threshold}: a {self.name} task has no "
                "decision threshold (remove it)"
            )


class Classifier(Task, ABC):
    """A task whose answer is a class: stratified folds, probabilities from the pyfunc."""

    models: ClassVar[Mapping[str, type]] = {
        "logistic_regression": LogisticRegression,
        "random_forest": RandomForestClassifier,
        "hist_gradient_boosting": HistGradientBoostingClassifier,
    }
    stratified = True
    pyfunc_predict_fn = "predict_proba"

    def folds(self, n_splits: int, seed: int) -> BaseCrossValidator:
        return StratifiedKFold(n_splits=n_splits, shuffle=True, random_state=seed)


def scores_line(metrics: Mapping[str, Any], names: tuple[str, ...]) -> str:
    """``rows N: a 0.912, b 0.871`` for the metrics that are defined."""
    scores = ", ".join(
        f"{name} {metrics[name]:.3f}" for name in names if metrics.get(name) is not None
    )
    return f"{metrics['rows']} rows: {scores}"
