"""Prometheus metrics of the service, in a registry of its own (one per app, so tests and
several apps in one process never collide): requests by endpoint and status, latency, and the
distribution of predictions, by task: a binary classifier's predictions by class (0, 1) and
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


class ServiceMetrics:  # pylint: disable=too-many-instance-attributes  # one per instrument
    """The service's instruments, registered in a private :class:`CollectorRegistry`."""

    def __init__(self, string_features: Iterable[str] = (), answers: Answers = ANSWERS) -> None:
        self.registry = CollectorRegistry()
        self.requests = Counter(
            "http_requests_total",
            "HTTP requests by endpoint, method and status code",
            ("endpoint", "method", "status"),
            registry=self.registry,
        )
        self.latency = Histogram(
            "http_request_duration_seconds",
            "Time from the request to the end of the response, by endpoint",
            ("endpoint",),
            buckets=LATENCY_BUCKETS,
            registry=self.registry,
        )
        self._observe = prediction_instruments(answers, self.registry)
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

    def observe_predictions(self, labels: Sequence[Any], scores: Sequence[Any]) -> None:
        """Count and record a batch of predictions: the labels and scores of ``answers.py``."""
        self._observe(labels, scores)

    def observe_unlisted(self, features: Iterable[str]) -> None:
        """Count values outside the contract's categories, one ``feature`` name for each."""
        for feature in features:
            self.out_of_schema.labels(feature).inc()

    def exposition(self) -> bytes:
        """Every metric in Prometheus' text format."""
        return generate_latest(self.registry)


Observe = Callable[[Sequence[Any], Sequence[Any]], None]


def prediction_instruments(answers: Answers, registry: CollectorRegistry) -> Observe:
    """Register the task's instruments of the predictions; the function that observes a batch
    of them (labels and scores, see ``answers.py``)."""
    if isinstance(answers, RegressionAnswers):
        return _value_instruments(answers, registry)
    predictions = Counter(
        "predictions_total",
        "Records scored, by predicted class",
        ("prediction",),
        registry=registry,
    )
    if isinstance(answers, MulticlassAnswers):
        by_class = [predictions.labels(str(value)) for value in answers.classes]

        def observe_classes(classes: Sequence[int], probabilities: Sequence[Any]) -> None:
            del probabilities
            counts = np.bincount(np.asarray(classes, dtype=np.intp), minlength=len(by_class))
            for child, count in zip(by_class, counts.tolist(), strict=True):
                if count:
                    child.inc(count)

        return observe_classes
    positive, negative = predictions.labels("1"), predictions.labels("0")
    probability = Histogram(
        "prediction_probability",
        "Predicted probability of the positive class",
        buckets=PROBABILITY_BUCKETS,
        registry=registry,
    )

    def observe_binary(classes: Sequence[int], probabilities: Sequence[float]) -> None:
        positives = sum(classes)
        positive.inc(positives)
        negative.inc(len(classes) - positives)
        for value in probabilities:
            probability.observe(value)

    return observe_binary


def _value_instruments(answers: RegressionAnswers, registry: CollectorRegistry) -> Observe:
    """A regressor's records scored and predicted values: a histogram across the target's
    range, or without one a summary (their sum and count: the mean)."""
    predictions = Counter("predictions_total", "Records scored", registry=registry)
    low, high = answers.value_range or (0.0, 0.0)
    values: Histogram | Summary
    if high > low:
        step = (high - low) / VALUE_BUCKETS
        edges = [low + step * i for i in range(VALUE_BUCKETS + 1)]
        values = Histogram("prediction_value", "Predicted values", buckets=edges, registry=registry)
    else:
        values = Summary("prediction_value", "Predicted values", registry=registry)

    def observe_values(predicted: Sequence[float], scores: Sequence[Any]) -> None:
        del scores
        predictions.inc(len(predicted))
        for value in predicted:
            values.observe(value)

    return observe_values


class MetricsMiddleware:  # pylint: disable=too-few-public-methods  # an ASGI callable
    """Count and time every HTTP request (a plain ASGI middleware: cheap, and streaming-safe)."""

    def __init__(self, app: Any, metrics: ServiceMetrics, endpoints: Iterable[str]) -> None:
        self.app = app
        self.metrics = metrics
        self.endpoints = frozenset(endpoints)
        self._children: dict[tuple[str, str, str], tuple[Any, Any]] = {}

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
            key = (scope["path"], scope["method"], str(status or CLIENT_CLOSED))
            children = self._children.get(key) or self._labelled(*key)
            children[0].inc()
            children[1].observe(time.perf_counter() - start)

    def _labelled(self, path: str, method: str, status: str) -> tuple[Any, Any]:
        """The request counter and latency histogram of a request's labels (kept for reuse).

        Only known endpoints and methods are kept: the others share the ``other`` series, so
        that scanners cannot grow the cache or the metrics.
        """
        endpoint = path if path in self.endpoints else OTHER
        method = method if method in METHODS else OTHER
        children = (
            self.metrics.requests.labels(endpoint, method, status),
            self.metrics.latency.labels(endpoint),
        )
        if OTHER not in (endpoint, method):
            self._children[(path, method, status)] = children
        return children
