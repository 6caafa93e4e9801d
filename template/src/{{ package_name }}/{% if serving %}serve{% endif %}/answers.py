"""What the service answers for the contract's task, from the scores a model route gives.

A route (``model.py``) turns rows into scores: a classifier's probabilities, one column per
class, or a regressor's values. :data:`ANSWERS` decides the labels from them and writes each
record's answer and its prediction-log record:

- binary: ``prediction`` 1 where the positive class's probability reaches the threshold, else
  0, and that ``probability``; the log record is the answer;
- multiclass: ``prediction`` the most probable class's value as the contract writes it (a
  string or an integer) and ``probabilities`` by class value; the log record holds the class's
  position and the probabilities as a list in the contract's order instead;
- regression: ``prediction`` the predicted value; the log record is the answer.

NumPy and the contract only: the service imports it without the training stack.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np

from ..core import schema
from ..core.contract import Code
from ..core.decision import classify

Labels = np.ndarray  # binary: 0/1; multiclass: class positions; regression: values
Scores = np.ndarray  # binary: P(class 1); multiclass: (n, K) probabilities; regression: values


@dataclass(frozen=True)
class Answers:
    """The task's answers. Subclasses say how labels are decided and answers written."""

    name: ClassVar[str]
    method: ClassVar[str] = "predict_proba"  # the scikit-learn pipeline's scoring method
    output: ClassVar[str] = "probabilities"  # the ONNX graph's output with the scores

    def decide(self, scores: np.ndarray, threshold: float | None) -> tuple[Labels, Scores]:
        """The labels and the scores kept from a route's output for ``rows``."""
        raise NotImplementedError

    def predictions(self, labels: list[Any], scores: list[Any]) -> list[dict[str, Any]]:
        """Each record's answer (``labels`` and ``scores`` as lists)."""
        raise NotImplementedError

    # pylint: disable-next=useless-return  # mypy wants the None said (no implicit return)
    def logged(self, labels: list[Any], scores: list[Any]) -> list[dict[str, Any]] | None:
        """Each record's prediction-log record, or None when it is the answer itself."""
        del labels, scores
        return None


@dataclass(frozen=True)
class BinaryAnswers(Answers):
    """A class, 0 or 1, and the positive class's probability."""

    name = "binary"

    def decide(self, scores: np.ndarray, threshold: float | None) -> tuple[Labels, Scores]:
        probability = scores[:, 1]
        return classify(probability, 0.5 if threshold is None else threshold), probability

    def predictions(self, labels: list[Any], scores: list[Any]) -> list[dict[str, Any]]:
        return [{"prediction": c, "probability": p} for c, p in zip(labels, scores, strict=True)]


@dataclass(frozen=True)
class MulticlassAnswers(Answers):
    """The most probable class, by its value, and every class's probability, for each record."""

    name = "multiclass"
    classes: tuple[Code, ...] = ()

    def decide(self, scores: np.ndarray, threshold: float | None) -> tuple[Labels, Scores]:
        return np.argmax(scores, axis=1), scores

    def predictions(self, labels: list[Any], scores: list[Any]) -> list[dict[str, Any]]:
        keys = [str(value) for value in self.classes]
        return [
            {"prediction": self.classes[c], "probabilities": dict(zip(keys, row, strict=True))}
            for c, row in zip(labels, scores, strict=True)
        ]

    def logged(self, labels: list[Any], scores: list[Any]) -> list[dict[str, Any]] | None:
        return [
            {"prediction": c, "probabilities": row} for c, row in zip(labels, scores, strict=True)
        ]


@dataclass(frozen=True)
class RegressionAnswers(Answers):
    """The predicted value, for each record."""

    name = "regression"
    method = "predict"
    output = "variable"  # skl2onnx's name for a regressor's output
    value_range: tuple[float, float] | None = None  # the target's range, when the contract has one

    def decide(self, scores: np.ndarray, threshold: float | None) -> tuple[Labels, Scores]:
        values = np.asarray(scores, dtype=np.float64).reshape(-1)
        return values, values

    def predictions(self, labels: list[Any], scores: list[Any]) -> list[dict[str, Any]]:
        return [{"prediction": value} for value in labels]


def answers_for(
    task: str, classes: Sequence[Code] = (), value_range: tuple[float, float] | None = None
) -> Answers:
    """The answers of a task (``binary``, ``multiclass`` or ``regression``)."""
    if task == "multiclass":
        return MulticlassAnswers(tuple(classes))
    if task == "regression":
        return RegressionAnswers(value_range)
    return BinaryAnswers()


ANSWERS = answers_for(schema.TASK_NAME, schema.CLASSES, schema.TARGET_RANGE)
