"""Prometheus metrics of the service, in a registry of its own (one per app, so tests and
several apps in one process never collide): requests by endpoint and status, latency, and the
distribution of predictions (requests and predictions by ``variant``: the champion's, or the
challenger's, see ``challenger.py``), by task: a binary classifier's predictions by class (0, 1) and
its probabilities; a multiclass one's predictions by class (the contract's values); a
regressor's predicted values (a histogram across the target's range when the contract gives
one, else their sum and count). ``GET /metrics`` exposes them in the text format.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np
from prometheus_client import (
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    Summary,
    generate_latest,
)

from .answers import ANSWERS, Answers, MulticlassAnswers, RegressionAnswers

if TYPE_CHECKING:
    from starlette.types import Receive, Scope, Send

# Latency buckets (seconds) around the service's expected range: sub-millisecond to seconds.
LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5)
PROBABILITY_BUCKETS = tuple(round(0.1 * step, 1) for step in range(1, 11))
VALUE_BUCKETS = 10  # a regressor's predicted values: this many buckets across the target's range
# Labels outside these sets become "other", so that scanners cannot create new series.
OTHER = "other"
METHODS = frozenset({"DELETE", "GET", "HEAD", "OPTIONS", "PATCH", "POST", "PUT"})
# The status of a request left unanswered because its client went away (nginx's convention).
CLIENT_CLOSED = 499
CHAMPION, CHALLENGER = "champion", "challenger"  # the variants: which model answered
VARIANT = "variant"  # the ASGI scope's key for the variant that answered, when not the champion


class ServiceMetrics:  # pylint: disable=too-many-instance-attributes  # one per instrument
    """The service's instruments, registered in a private :class:`CollectorRegistry`."""

    def __init__(
        self,
        string_features: Iterable[str] = (),
        answers: Answers = ANSWERS,
        challenger: bool = False,
    ) -> None:
        """The instruments; with ``challenger``, those of the challenger's predictions too."""
        self.registry = CollectorRegistry()
        self.requests = Counter(
            "http_requests_total",
            "HTTP requests by endpoint, method, status code and the variant that answered",
            ("endpoint", "method", "status", VARIANT),
            registry=self.registry,
        )
        self.latency = Histogram(
            "http_request_duration_seconds",
            "Time from the request to the end of the response, by endpoint",
            ("endpoint",),
            buckets=LATENCY_BUCKETS,
            registry=self.registry,
        )
        variants = (CHAMPION, CHALLENGER) if challenger else (CHAMPION,)
        self._observe = prediction_instruments(answers, self.registry, variants)
        # String features' values that the contract does not list: scored (the model knows
        # them not), counted so that a new category in the live data shows.
        self.out_of_schema = Counter(
            "out_of_schema_values",
            "Values of a string feature that the data contract does not list, by feature",
            ("feature",),
            registry=self.registry,
        )
        for feature in string_features:
            self.out_of_schema.labels(feature)
        self.model_loaded = Gauge(
            "model_loaded", "1 once the model is loaded, else 0", registry=self.registry
        )
        self.model_info = Gauge(
            "model_info",
            "1 for the model being served: its registered name, version and runtime",
            ("name", "version", "runtime"),
            registry=self.registry,
        )
        self.challenger_loaded: Gauge | None = None
        self.shadow_dropped: Counter | None = None
        if challenger:
            self.challenger_loaded = Gauge(
                "model_challenger_loaded",
                "1 once the challenger is loaded, else 0 (the champion answers alone)",
                registry=self.registry,
            )
            self.shadow_dropped = Counter(
                "challenger_shadow_dropped",
                "Records the challenger did not score in shadow mode, by reason: "
                "loading, failed (not loaded) or error (its call failed)",
                ("reason",),
                registry=self.registry,
            )
        # The prediction log (see prediction_log.py): records written, dropped when its queue
        # was full, and lost to a failing sink. None of them ever fails a request.
        self.log_records = Counter(
            "prediction_log_records",
            "Prediction records written to the prediction log",
            registry=self.registry,
        )
        self.log_dropped = Counter(
            "prediction_log_dropped",
            "Prediction records dropped because the log's queue was full",
            registry=self.registry,
        )
        self.log_errors = Counter(
            "prediction_log_errors",
            "Prediction records lost because the log's sink failed (e.g. a full disk)",
            registry=self.registry,
        )

    def model_served(self, name: str | None, version: str | None, runtime: str | None) -> None:
        """Mark the model being served (``model_loaded`` 1, ``model_info`` with its labels)."""
        self.model_loaded.set(1)
        self.model_info.labels(name or "", version or "", runtime or "").set(1)

    def observe_predictions(
        self, labels: Sequence[Any], scores: Sequence[Any], variant: str = CHAMPION
    ) -> None:
        """Count and record a batch of predictions of ``variant``: the labels and scores of
        ``answers.py``."""
        self._observe[variant](labels, scores)

    def observe_unlisted(self, features: Iterable[str]) -> None:
        """Count values outside the contract's categories, one ``feature`` name for each."""
        for feature in features:
            self.out_of_schema.labels(feature).inc()

    def exposition(self) -> bytes:
        """Every metric in Prometheus' text format."""
        return generate_latest(self.registry)


Observe = Callable[[Sequence[Any], Sequence[Any]], None]


def prediction_instruments(
    answers: Answers, registry: CollectorRegistry, variants: Sequence[str]
) -> dict[str, Observe]:
    """Register the task's instruments of the predictions, labelled by variant; for each
    variant, the function that observes a batch of them (labels and scores, see
    ``answers.py``)."""
    if isinstance(answers, RegressionAnswers):
        return _value_instruments(answers, registry, variants)
    predictions = Counter(
        "predictions_total",
        "Records scored, by predicted class and variant",
        ("prediction", VARIANT),
        registry=registry,
    )
    if isinstance(answers, MulticlassAnswers):
        return {
            variant: _class_observer(predictions, answers.classes, variant) for variant in variants
        }
    probability = Histogram(
        "prediction_probability",
        "Predicted probability of the positive class, by variant",
        (VARIANT,),
        buckets=PROBABILITY_BUCKETS,
        registry=registry,
    )
    return {variant: _binary_observer(predictions, probability, variant) for variant in variants}


def _class_observer(predictions: Counter, classes: Sequence[Any], variant: str) -> Observe:
    """A multiclass variant's predictions counted by class."""
    by_class = [predictions.labels(str(value), variant) for value in classes]

    def observe_classes(positions: Sequence[int], probabilities: Sequence[Any]) -> None:
        del probabilities
        counts = np.bincount(np.asarray(positions, dtype=np.intp), minlength=len(by_class))
        for child, count in zip(by_class, counts.tolist(), strict=True):
            if count:
                child.inc(count)

    return observe_classes


def _binary_observer(predictions: Counter, probability: Histogram, variant: str) -> Observe:
    """A binary variant's predictions counted by class, and its probabilities."""
    positive, negative = predictions.labels("1", variant), predictions.labels("0", variant)
    probabilities_of = probability.labels(variant)

    def observe_binary(classes: Sequence[int], probabilities: Sequence[float]) -> None:
        positives = sum(classes)
        positive.inc(positives)
        negative.inc(len(classes) - positives)
        for value in probabilities:
            probabilities_of.observe(value)

    return observe_binary


def _value_instruments(
    answers: RegressionAnswers, registry: CollectorRegistry, variants: Sequence[str]
) -> dict[str, Observe]:
    """A regressor's records scored and predicted values, by variant: a histogram across the
    target's range, or without one a summary (their sum and count: the mean)."""
    predictions = Counter("predictions_total", "Records scored", (VARIANT,), registry=registry)
    low, high = answers.value_range or (0.0, 0.0)
    values: Histogram | Summary
    if high > low:
        step = (high - low) / VALUE_BUCKETS
        edges = [low + step * i for i in range(VALUE_BUCKETS + 1)]
        values = Histogram(
            "prediction_value", "Predicted values", (VARIANT,), buckets=edges, registry=registry
        )
    else:
        values = Summary("prediction_value", "Predicted values", (VARIANT,), registry=registry)

    def observer(variant: str) -> Observe:
        counted, observed = predictions.labels(variant), values.labels(variant)

        def observe_values(predicted: Sequence[float], scores: Sequence[Any]) -> None:
            del scores
            counted.inc(len(predicted))
            for value in predicted:
                observed.observe(value)

        return observe_values

    return {variant: observer(variant) for variant in variants}


class MetricsMiddleware:  # pylint: disable=too-few-public-methods  # an ASGI callable
    """Count and time every HTTP request (a plain ASGI middleware: cheap, and streaming-safe)."""

    def __init__(self, app: Any, metrics: ServiceMetrics, endpoints: Iterable[str]) -> None:
        self.app = app
        self.metrics = metrics
        self.endpoints = frozenset(endpoints)
        self._children: dict[tuple[str, str, str, str], tuple[Any, Any]] = {}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        start = time.perf_counter()
        status = 0  # until the response starts

        async def send_with_status(message: dict[str, Any]) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, send_with_status)
        except BaseException:
            status = status or 500  # what the client gets if the app fails before answering
            raise
        finally:
            variant = scope.get(VARIANT, CHAMPION)
            key = (scope["path"], scope["method"], str(status or CLIENT_CLOSED), variant)
            children = self._children.get(key) or self._labelled(*key)
            children[0].inc()
            children[1].observe(time.perf_counter() - start)

    def _labelled(self, path: str, method: str, status: str, variant: str) -> tuple[Any, Any]:
        """The request counter and latency histogram of a request's labels (kept for reuse).

        Only known endpoints and methods are kept: the others share the ``other`` series, so
        that scanners cannot grow the cache or the metrics.
        """
        endpoint = path if path in self.endpoints else OTHER
        method = method if method in METHODS else OTHER
        children = (
            self.metrics.requests.labels(endpoint, method, status, variant),
            self.metrics.latency.labels(endpoint),
        )
        if OTHER not in (endpoint, method):
            self._children[(path, method, status, variant)] = children
        return children
