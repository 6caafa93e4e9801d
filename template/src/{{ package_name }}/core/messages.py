"""The service's messages, built from the data contract's features and task: what ``POST
/predict`` takes and answers, and the prediction log's lines that monitoring reads.

Each message has two forms from one definition:

- as served (``logged=False``), strict: a record holds exactly the features, each under its
  column name in the contract (names that are not Python identifiers, such as ``age (years)``,
  are the fields' aliases): numbers within their range, integer codes from the contract's
  categories (``1`` and ``1.0`` are the same code), ``true``/``false`` or 0/1 for a boolean,
  any string for a string category (a value the contract does not list is scored as unknown
  to the model); ``null`` only for a feature that may be missing; anything else, extra fields
  included, is rejected (422, naming the field). The answer is the task's: binary
  ``prediction`` 0 or 1 and ``probability``; multiclass ``prediction`` the class as the
  contract writes it and ``probabilities`` by class; regression ``prediction`` a number.
- as logged (``logged=True``), what the monitor reads: any finite number, string or boolean of
  the feature's kind, and ``null`` anywhere (missing and out-of-range values are the monitor's
  to judge, not parse errors); other keys ignored. A multiclass answer is logged as the class's
  position (0 to K-1) and K probabilities in the contract's class order, summing to 1.

A log line (:func:`log_line_model`) is ``{"time", "request", "response"}``: the time with its
UTC offset, the request's body and the response's body; with a challenger, the response names
its ``variant`` (``champion`` when it does not) and in shadow mode the line has the
challenger's answer to the same records under ``shadow``. Pydantic only, so that the lean
serving image imports it.
"""

from __future__ import annotations

import keyword
from collections.abc import Collection, Mapping, Sequence
from types import GenericAlias
from typing import Annotated, Any, Literal, Protocol

from pydantic import (
    AfterValidator,
    AwareDatetime,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    JsonValue,
    StrictBool,
    StrictStr,
    WithJsonSchema,
    create_model,
    model_validator,
)
from pydantic_core import PydanticCustomError

from .contract import Code

STRICT = ConfigDict(extra="forbid")
LENIENT = ConfigDict(extra="ignore")
# The probabilities a service sends may be rounded: their sum is 1 within this.
SUM_TOLERANCE = 1e-3
FiniteNumber = Annotated[float, Field(strict=True, allow_inf_nan=False)]
Share = Annotated[float, Field(strict=True, allow_inf_nan=False, ge=0, le=1)]
Probability = Annotated[float, Field(ge=0, le=1)]
# A boolean in the OpenAPI document: JSON's true/false, or the 0/1 of the data files.
BOOLEAN_SCHEMA: dict[str, Any] = {
    "anyOf": [{"type": "boolean"}, {"type": "number", "enum": [0, 1]}]
}


class FeatureKinds(Protocol):
    """The features in order and what each may hold (``serve.rows.Columns`` and
    ``monitoring.columns.Features`` are two views of the contract that have them)."""

    @property
    def names(self) -> tuple[str, ...]:
        """The features' column names, in the contract's order."""

    @property
    def ranges(self) -> Mapping[str, tuple[float, float]]:
        """Each numeric feature's allowed range."""

    @property
    def codes(self) -> Mapping[str, tuple[Code, ...]]:
        """Each categorical or boolean feature's allowed values."""

    @property
    def strings(self) -> Collection[str]:
        """The categorical features written as words."""

    @property
    def booleans(self) -> Collection[str]:
        """The boolean features."""

    @property
    def may_be_missing(self) -> Collection[str]:
        """The features that may be missing."""


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


def _feature(features: FeatureKinds, name: str, logged: bool) -> Any:
    """The annotated type of one feature: a bounded number, a code, a boolean or a string
    (logged: a finite number, a boolean or a string, or null)."""
    if name in features.strings:
        examples: dict[str, JsonValue] = {"examples": [*features.codes[name]]}
        kind: Any = (
            StrictStr if logged else Annotated[str, Field(strict=True, json_schema_extra=examples)]
        )
    elif name in features.booleans:
        kind = (
            StrictBool | FiniteNumber
            if logged
            else Annotated[
                float,
                BeforeValidator(_boolean),
                Field(strict=True),
                _code_check(features.codes[name]),
                WithJsonSchema(BOOLEAN_SCHEMA),
            ]
        )
    elif logged:
        kind = FiniteNumber
    elif name in features.ranges:
        low, high = features.ranges[name]
        kind = Annotated[float, Field(strict=True, ge=low, le=high)]
    else:
        codes = features.codes[name]
        kind = Annotated[
            float, Field(strict=True, json_schema_extra={"enum": list(codes)}), _code_check(codes)
        ]
    return kind | None if logged or name in features.may_be_missing else kind


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


def example_record(features: FeatureKinds) -> dict[str, Any]:
    """A valid record for the docs: mid-range numbers, the first value of each category."""
    return {
        name: (
            round(sum(features.ranges[name]) / 2, 1)
            if name in features.ranges
            else features.codes[name][0]
        )
        for name in features.names
    }


def record_model(features: FeatureKinds, *, logged: bool = False) -> type[BaseModel]:
    """One record: every feature of ``features`` (logged: a feature that may be missing may
    be left out, other keys are ignored)."""
    fields: dict[str, Any] = {}
    for name, attribute in zip(features.names, attribute_names(features.names), strict=True):
        alias = None if attribute == name else name
        default = None if logged and name in features.may_be_missing else ...
        fields[attribute] = (_feature(features, name, logged), Field(default, alias=alias))
    if logged:
        return create_model("LoggedRecord", __config__=LENIENT, **fields)
    return create_model(
        "Record",
        __config__=ConfigDict(
            extra="forbid", json_schema_extra={"examples": [example_record(features)]}
        ),
        __doc__="One patient: every feature, nothing else.",
        **fields,
    )


def request_model(
    record: type[BaseModel], max_records: int | None = None, example: Any = None
) -> type[BaseModel]:
    """The body of ``POST /predict``: 1 to ``max_records`` records (served, with ``example``,
    a record for the docs), or at least one (``max_records`` None: as logged)."""
    records: Any = Annotated[_list_of(record), Field(min_length=1, max_length=max_records)]
    if max_records is None:
        return create_model("LoggedRequest", __base__=LoggedRecords, records=(records, ...))
    return create_model(
        "PredictRequest",
        __config__=ConfigDict(
            extra="forbid", json_schema_extra={"examples": [{"records": [example]}]}
        ),
        __doc__=f"Up to {max_records} patients to score.",
        records=(records, ...),
    )


def _list_of(model: type[BaseModel]) -> Any:
    """``list[model]`` for a model made at run time: a type no static type describes (a type
    checker reads ``list[model]`` as a type, where ``model`` must be a class it knows)."""
    return GenericAlias(list, model)


def _sums_to_one(shares: list[float]) -> list[float]:
    if abs(sum(shares) - 1) > SUM_TOLERANCE:
        raise ValueError("the probabilities must sum to 1")
    return shares


def answer_model(
    task: str, classes: Sequence[Code] = (), *, logged: bool = False
) -> type[BaseModel]:
    """One record's answer for ``task`` (``binary``, ``multiclass`` or ``regression``; the
    multiclass one needs the contract's ``classes``)."""
    if task == "regression":
        if logged:
            return create_model("LoggedAnswer", __config__=LENIENT, prediction=(FiniteNumber, ...))
        return create_model(
            "Prediction", __config__=STRICT, __doc__="The predicted value.", prediction=(float, ...)
        )
    position = Annotated[
        float, Field(strict=True, allow_inf_nan=False, ge=0, le=max(len(classes), 2) - 1)
    ]
    whole = Annotated[position, Field(multiple_of=1)]  # a class's position: 0, 1…
    if task == "multiclass":
        if logged:
            count = len(classes)
            shares = Annotated[
                list[Share], Field(min_length=count, max_length=count), AfterValidator(_sums_to_one)
            ]
            return create_model(
                "LoggedAnswer",
                __config__=LENIENT,
                prediction=(whole, ...),
                probabilities=(shares, ...),
            )
        class_names: dict[str, JsonValue] = {"enum": [str(value) for value in classes]}
        fields: dict[str, Any] = {  # the class is a Literal of the contract's classes
            "prediction": (Literal.__getitem__(tuple(classes)), ...),
            "probabilities": (  # the keys of probabilities, in JSON Schema
                dict[str, Probability],
                Field(..., json_schema_extra={"propertyNames": class_names}),
            ),
        }
        return create_model(
            "Prediction",
            __config__=STRICT,
            __doc__="The most probable class, as the data contract writes it, and the "
            "probability of each class, by class.",
            **fields,
        )
    if logged:
        return create_model(
            "LoggedAnswer",
            __config__=LENIENT,
            probability=(Share, ...),
            prediction=(whole, ...),
        )
    return create_model(
        "Prediction",
        __config__=STRICT,
        __doc__="The predicted class (1 = heart disease) and the model's probability of it.",
        prediction=(int, Field(ge=0, le=1)),
        probability=(Probability, ...),
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


def _text(value: Any) -> str | None:
    return None if value is None else str(value)


class LoggedModel(BaseModel):
    """The model of a logged answer: its name and version, as text when given."""

    model_config = LENIENT
    name: Annotated[str | None, BeforeValidator(_text)] = None
    version: Annotated[str | None, BeforeValidator(_text)] = None


class LoggedRecords(BaseModel):
    """A logged request: its records (each contract's model says what a record holds)."""

    model_config = LENIENT
    records: Sequence[BaseModel]


Variant = Literal["champion", "challenger"]  # the model that answered (see serve/challenger.py)


class LoggedAnswers(BaseModel):
    """A logged response: its answers (each task's model says what an answer holds), and the
    variant that gave them."""

    model_config = LENIENT
    variant: Variant = "champion"
    predictions: Sequence[BaseModel]


def response_model(answer: type[BaseModel], *, logged: bool = False) -> type[BaseModel]:
    """The body of ``POST /predict``'s answer: one ``answer`` per record."""
    if logged:
        return create_model(
            "LoggedResponse",
            __base__=LoggedAnswers,
            request_id=(Annotated[str, Field(strict=True, min_length=1)], ...),
            model=(LoggedModel, ...),
            predictions=(_list_of(answer), ...),
        )
    return create_model(
        "PredictResponse",
        __config__=STRICT,
        __doc__="One prediction per record, in the order of the request, and the request's id "
        "(also in the ``X-Request-ID`` header, and in the prediction log when there is one).",
        request_id=(str, ...),
        model=(ModelDescription, ...),
        # with a challenger only (docs/serving.md): which of the two answered
        variant=(Variant | None, Field(default=None, exclude_if=lambda value: value is None)),
        predictions=(_list_of(answer), ...),
    )


class LogLine(BaseModel):
    """A prediction-log line: the time (with its UTC offset), the request and the response;
    :func:`log_line_model` gives the request's and response's models of a contract."""

    model_config = LENIENT
    time: Annotated[AwareDatetime, Field(strict=True)]
    request: LoggedRecords
    response: LoggedAnswers
    shadow: LoggedAnswers | None = None  # the challenger's answer, in shadow mode

    @model_validator(mode="after")
    def _one_answer_per_record(self) -> LogLine:
        records = len(self.request.records)
        for part, answers in (("response", self.response), ("shadow", self.shadow)):
            if answers is not None and len(answers.predictions) != records:
                raise PydanticCustomError(
                    "answer_count",
                    "{part}.predictions must be a JSON array of {records} (one per record)",
                    {"part": part, "records": records},
                )
        return self


def log_line_model(
    features: FeatureKinds, task: str, classes: Sequence[Code] = ()
) -> type[LogLine]:
    """The prediction log's line for ``features`` and ``task``: every part in its logged form."""
    request = request_model(record_model(features, logged=True))
    response = response_model(answer_model(task, classes, logged=True), logged=True)
    shadow: Any = response | None
    return create_model(
        "LogLine",
        __base__=LogLine,
        request=(request, ...),
        response=(response, ...),
        shadow=(shadow, None),
    )
