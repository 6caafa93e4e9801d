"""The service's request and response bodies for the project's contract and task, as
``core/messages.py`` defines them (so a change to data/contract.yaml changes the API), and its
status and error bodies."""

from __future__ import annotations

from functools import cache
from typing import Any

from pydantic import BaseModel, Field

from ..core import schema
from ..core.messages import (
    STRICT,
    ModelDescription,
    answer_model,
    attribute_names,
    example_record,
    record_model,
    response_model,
)
from ..core.messages import (
    request_model as request_body,
)
from .rows import COLUMNS

Record = record_model(COLUMNS)
# The record's attributes in feature order (the column names, or their stand-ins).
ATTRIBUTES = attribute_names(COLUMNS.names)
PredictResponse = response_model(answer_model(schema.TASK_NAME, schema.CLASSES))


@cache
def request_model(max_records: int) -> type[BaseModel]:
    """The body of ``POST /predict``: 1 to ``max_records`` records."""
    return request_body(Record, max_records, example_record(COLUMNS))


class ChallengerStatus(BaseModel):
    """The challenger's readiness (``challenger.py``): ``loading``, ``ready`` with its model, or
    ``failed`` with the error (the champion then answers alone)."""

    model_config = STRICT
    status: str
    model: ModelDescription | None = None
    error: str | None = None


class Status(BaseModel):
    """Liveness and readiness: ``ok``/``ready``, or why the service is not ready; with a
    challenger, its own status (absent without one)."""

    model_config = STRICT
    status: str
    reason: str | None = None
    model: ModelDescription | None = None
    challenger: ChallengerStatus | None = Field(default=None, exclude_if=lambda item: item is None)


class ErrorResponse(BaseModel):
    """A rejected request: a summary naming the offending field(s), and each problem."""

    model_config = STRICT
    message: str
    detail: list[dict[str, Any]] = Field(default_factory=list)
