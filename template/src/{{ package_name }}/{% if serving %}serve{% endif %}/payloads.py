"""Request and response bodies of the service, derived from the data contract (``rows.py``).

A record holds exactly the features, each under its column name in the contract (names that
are not Python identifiers, such as ``age (years)``, are the fields' aliases): numbers within
their range, integer codes from the contract's categories (``1`` and ``1.0`` are the same
code), ``true``/``false`` or 0/1 for a boolean, and any string for a string category: a value
the contract does not list is scored as unknown to the model (and counted in the metrics,
see ``app.py``). ``null`` is accepted only for a feature that may be missing. Anything else,
extra fields included, is rejected before the model sees it, so a change to the data contract
(data/contract.yaml) changes the API.
"""

from __future__ import annotations

import keyword
from functools import cache
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    WithJsonSchema,
    create_model,
)

from .answers import ANSWERS, Answers, MulticlassAnswers, RegressionAnswers
from .rows import COLUMNS, Columns

STRICT = ConfigDict(extra="forbid")


def _code_check(codes: tuple[Any, ...]) -> AfterValidator:
    """A validator that accepts the given codes only."""
    allowed = ", ".join(map(str, codes))

    def check(value: float) -> float:
        if value not in codes:
            raise ValueError(f"must be one of {allowed}")
        return value

    return AfterValidator(check)


def _boolean(value: Any) -> Any:
    """``true``/``false`` as the codes 1.0/0.0 that the data files hold."""
    return float(value) if isinstance(value, bool) else value


# A boolean in the OpenAPI document: JSON's true/false, or the 0/1 of the data files.
BOOLEAN_SCHEMA: dict[str, Any] = {
    "anyOf": [{"type": "boolean"}, {"type": "number", "enum": [0, 1]}]
}


def _field(columns: Columns, name: str) -> Any:
    """The annotated type of one feature: a bounded number, a code, a boolean or a string."""
    if name in columns.ranges:
        low, high = columns.ranges[name]
        kind: Any = Annotated[float, Field(strict=True, ge=low, le=high)]
    elif name in columns.strings:
        values = list(columns.codes[name])
        kind = Annotated[str, Field(strict=True, json_schema_extra={"examples": values})]
    elif name in columns.booleans:
        codes = columns.codes[name]
        kind = Annotated[
            float,
            BeforeValidator(_boolean),
            Field(strict=True),
            _code_check(codes),
            WithJsonSchema(BOOLEAN_SCHEMA),
        ]
    else:
        codes = columns.codes[name]
        kind = Annotated[
            float, Field(strict=True, json_schema_extra={"enum": list(codes)}), _code_check(codes)
        ]
    return kind | None if name in columns.may_be_missing else kind


def attribute_names(names: tuple[str, ...]) -> tuple[str, ...]:
    """The record's attribute for each column: its name when that is a plain identifier,
    else ``feature_<position>`` (the name is then the field's alias)."""
    reserved = set(dir(BaseModel))
    attributes: list[str] = []
    for position, name in enumerate(names):
        plain = name.isascii() and name.isidentifier() and not keyword.iskeyword(name)
        attribute = name if plain and not name.startswith("_") and name not in reserved else ""
        if not attribute:
            attribute = f"feature_{position}"
            while attribute in names or attribute in attributes:
                attribute += "_"
        attributes.append(attribute)
    return tuple(attributes)


def example_record(columns: Columns = COLUMNS) -> dict[str, Any]:
    """A valid record for the docs: mid-range numbers, the first value of each category."""
    return {
        name: (
            round(sum(columns.ranges[name]) / 2, 1)
            if name in columns.ranges
            else columns.codes[name][0]
        )
        for name in columns.names
    }


def record_model(columns: Columns) -> type[BaseModel]:
    """The model of one record: every feature of ``columns``, nothing else."""
    fields: dict[str, Any] = {}
    for name, attribute in zip(columns.names, attribute_names(columns.names), strict=True):
        alias = {} if attribute == name else {"alias": name}
        fields[attribute] = (_field(columns, name), Field(..., **alias))
    return create_model(
        "Record",
        __config__=ConfigDict(
            extra="forbid", json_schema_extra={"examples": [example_record(columns)]}
        ),
        __doc__="One patient: every feature, nothing else.",
        **fields,
    )


Record = record_model(COLUMNS)
# The record's attributes in feature order (the column names, or their stand-ins).
ATTRIBUTES = attribute_names(COLUMNS.names)


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
    threshold: float | None = None  # a binary classifier's decision threshold
    runtime: str | None = None


class Prediction(BaseModel):
    """The predicted class (1 = heart disease) and the model's probability of it."""

    model_config = STRICT
    prediction: int = Field(ge=0, le=1)
    probability: float = Field(ge=0, le=1)


Probability = Annotated[float, Field(ge=0, le=1)]


def prediction_model(answers: Answers) -> type[BaseModel]:
    """One record's answer for the task of ``answers`` (see ``answers.py``)."""
    if isinstance(answers, MulticlassAnswers):
        keys = [str(value) for value in answers.classes]
        class_names = {"enum": keys}  # the keys of probabilities, in JSON Schema
        return create_model(
            "Prediction",
            __config__=STRICT,
            __doc__="The most probable class, as the data contract writes it, and the "
            "probability of each class, by class.",
            prediction=(Literal[answers.classes], ...),
            probabilities=(
                dict[str, Probability],
                Field(..., json_schema_extra={"propertyNames": class_names}),
            ),
        )
    if isinstance(answers, RegressionAnswers):
        return create_model(
            "Prediction", __config__=STRICT, __doc__="The predicted value.", prediction=(float, ...)
        )
    return Prediction


def response_model(answers: Answers) -> type[BaseModel]:
    """The body of ``POST /predict``'s answer for the task of ``answers``."""
    return create_model(
        "PredictResponse",
        __config__=STRICT,
        __doc__="One prediction per record, in the order of the request, and the request's id "
        "(also in the ``X-Request-ID`` header, and in the prediction log when there is one).",
        request_id=(str, ...),
        model=(ModelDescription, ...),
        predictions=(list[prediction_model(answers)], ...),
    )


PredictResponse = response_model(ANSWERS)


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
