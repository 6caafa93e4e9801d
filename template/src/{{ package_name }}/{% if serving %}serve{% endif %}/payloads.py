"""Request and response bodies of the service, derived from the feature schema (``schema.py``).

A record holds exactly the features: numbers within ``NUMERIC_RANGES`` and categorical codes
from ``CATEGORY_CODES`` (``1`` and ``1.0`` are the same code). Anything else, extra fields
included, is rejected before the model sees it, so a change to the data contract
(data/contract.yaml, which ``schema.py`` reads) changes the API.
"""

from __future__ import annotations

from functools import cache
from typing import Annotated, Any

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, create_model

from ..core.schema import (
    CATEGORY_CODES,
    FEATURES,
    NUMERIC_RANGES,
)

STRICT = ConfigDict(extra="forbid")


def _code_check(codes: tuple[int, ...]) -> AfterValidator:
    """A validator that accepts the given codes only."""
    allowed = ", ".join(map(str, codes))

    def check(value: float) -> float:
        if value not in codes:
            raise ValueError(f"must be one of {allowed}")
        return value

    return AfterValidator(check)


def _field(name: str) -> Any:
    """The annotated type of one feature: a bounded number or one of its codes."""
    if name in NUMERIC_RANGES:
        low, high = NUMERIC_RANGES[name]
        return Annotated[float, Field(strict=True, ge=low, le=high)]
    codes = CATEGORY_CODES[name]
    return Annotated[
        float, Field(strict=True, json_schema_extra={"enum": list(codes)}), _code_check(codes)
    ]


def example_record() -> dict[str, float]:
    """A valid record for the docs: mid-range numbers, the first code of each category."""
    return {
        name: (
            round(sum(NUMERIC_RANGES[name]) / 2, 1)
            if name in NUMERIC_RANGES
            else CATEGORY_CODES[name][0]
        )
        for name in FEATURES
    }


Record: type[BaseModel] = create_model(
    "Record",
    __config__=ConfigDict(extra="forbid", json_schema_extra={"examples": [example_record()]}),
    __doc__="One patient: every feature, nothing else.",
    **{name: (_field(name), ...) for name in FEATURES},
)


@cache
def request_model(max_records: int) -> type[BaseModel]:
    """The body of ``POST /predict``: 1 to ``max_records`` records."""
    records = Annotated[list[Record], Field(min_length=1, max_length=max_records)]
    return create_model(
        "PredictRequest",
        __config__=ConfigDict(
            extra="forbid", json_schema_extra={"examples": [{"records": [example_record()]}]}
        ),
        __doc__=f"Up to {max_records} patients to score.",
        records=(records, ...),
    )


class ModelDescription(BaseModel):
    """Which model answered: registered name and version when known, where it came from, and
    the runtime that scores it (``onnxruntime 1.x`` or ``scikit-learn 1.x``) once loaded."""

    model_config = STRICT
    name: str | None = None
    version: str | None = None
    run_id: str | None = None
    uri: str
    threshold: float
    runtime: str | None = None


class Prediction(BaseModel):
    """The predicted class (1 = heart disease) and the model's probability of it."""

    model_config = STRICT
    prediction: int = Field(ge=0, le=1)
    probability: float = Field(ge=0, le=1)


class PredictResponse(BaseModel):
    """One prediction per record, in the order of the request, and the request's id (also in
    the ``X-Request-ID`` header, and in the prediction log when there is one)."""

    model_config = STRICT
    request_id: str
    model: ModelDescription
    predictions: list[Prediction]


class Status(BaseModel):
    """Liveness and readiness: ``ok``/``ready``, or why the service is not ready."""

    model_config = STRICT
    status: str
    reason: str | None = None
    model: ModelDescription | None = None


class ErrorResponse(BaseModel):
    """A rejected request: a summary naming the offending field(s), and each problem."""

    model_config = STRICT
    message: str
    detail: list[dict[str, Any]] = Field(default_factory=list)
