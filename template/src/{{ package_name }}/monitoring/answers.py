"""The service's answers per task, as the prediction log holds them and monitoring reads them.

A logged answer (``response.predictions[i]``) is, by the contract's task:

- binary: ``prediction`` 0 or 1 and ``probability`` (of class 1) from 0 to 1;
- multiclass: ``prediction`` the class's position (0 to K-1) and ``probabilities`` K numbers
  from 0 to 1, in the contract's class order, summing to 1;
- regression: ``prediction`` a finite number.

Read flat, one column each (:func:`answer_columns`): binary ``probability``, ``prediction``;
multiclass ``prediction``, ``probability_0`` … ``probability_<K-1>``; regression
``prediction``: the batch predictions file's columns (``Task.answer_columns``), so that
``Task.read_predictions`` reads a frame of logged records as it reads that file.
"""

from __future__ import annotations

from functools import cache
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, create_model

from ..core.tasks import Task

# The probabilities a service sends may be rounded: their sum is 1 within this.
SUM_TOLERANCE = 1e-3
Share = Annotated[float, Field(strict=True, allow_inf_nan=False, ge=0, le=1)]
FiniteNumber = Annotated[float, Field(strict=True, allow_inf_nan=False)]


def class_count(task: Task) -> int:
    """K, the number of classes of a multiclass task (0 for any other task)."""
    return len(getattr(task, "classes", ())) if task.name == "multiclass" else 0


def answer_columns(task: Task) -> tuple[str, ...]:
    """The flat columns of a logged answer (binary keeps its historical order)."""
    if task.name == "binary":
        return ("probability", "prediction")
    return task.answer_columns()


def problems(task: Task) -> dict[str, str]:
    """What each field of a logged answer must be, in words."""
    if task.name == "binary":
        return {
            "probability": "probability must be a number from 0 to 1",
            "prediction": "prediction must be 0 or 1",
        }
    if task.name == "multiclass":
        count = class_count(task)
        return {
            "prediction": f"prediction must be a class position from 0 to {count - 1}",
            "probabilities": f"probabilities must be {count} numbers from 0 to 1 summing to 1",
        }
    return {"prediction": "prediction must be a finite number"}


@cache
def answer_model(task: Task) -> type[BaseModel]:
    """The pydantic model of one logged answer of ``task`` (other keys are ignored); a class
    is a number here, :func:`parse_answer` checks that it is one of the classes."""
    fields: dict[str, Any] = {"prediction": (FiniteNumber, ...)}
    if task.name == "binary":
        fields = {"probability": (Share, ...), **fields}
    elif task.name == "multiclass":
        count = class_count(task)
        fields["probabilities"] = (list[Share], Field(min_length=count, max_length=count))
    return create_model(
        f"{task.name.capitalize()}Answer", __config__=ConfigDict(extra="ignore"), **fields
    )


def parse_answer(answer: Any, index: int, task: Task) -> dict[str, Any]:
    """One logged answer as its flat columns; ``ValueError`` says what is wrong with it."""
    where = f"response.predictions[{index}]"
    if not isinstance(answer, dict):
        raise ValueError(f"{where} must be a JSON object")
    said = problems(task)
    try:
        parsed = answer_model(task).model_validate(answer)
    except ValidationError as error:
        raise ValueError(f"{where}: {said[str(error.errors()[0]['loc'][0])]}") from None
    prediction = float(parsed.prediction)
    if task.name == "regression":
        return {"prediction": prediction}
    if not prediction.is_integer() or not 0 <= prediction < max(class_count(task), 2):
        raise ValueError(f"{where}: {said['prediction']}")
    if task.name == "binary":
        return {"probability": float(parsed.probability), "prediction": int(prediction)}
    shares = [float(share) for share in parsed.probabilities]
    if abs(sum(shares) - 1) > SUM_TOLERANCE:
        raise ValueError(f"{where}: {said['probabilities']}")
    return dict(zip(answer_columns(task), [int(prediction), *shares], strict=True))
