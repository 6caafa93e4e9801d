"""What ``POST /predict`` does, whichever way the request came in (the route or the fast lane):
read the body, validate it, score the records (with the champion, or in ``ab`` mode the
challenger for its share of the clients: ``challenger.py``), count and log them, and write the
answer.

Every answer comes from here, errors included (400, 413, 415, 422, 503): the service's error
body names the offending field, without echoing the input. The answer's JSON is serialised
once, without being validated again.
"""

from __future__ import annotations

import asyncio
import re
import secrets
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from operator import attrgetter
from typing import Any

import numpy as np
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel, ValidationError
from pydantic_core import to_json
from starlette.exceptions import HTTPException
from starlette.requests import ClientDisconnect
from starlette.types import Receive, Scope, Send

from .answers import ANSWERS
from .batching import MicroBatcher, Rows
from .challenger import Split
from .limits import is_json, read_body
from .model import LoadedModel
from .payloads import ATTRIBUTES, Status
from .prediction_log import PredictionLog
from .rows import COLUMNS
from .telemetry import CHALLENGER, CHAMPION, ServiceMetrics

REQUEST_ID_HEADER = "x-request-id"
# A client's own request id is kept when it is this safe to log and echo; else a new one.
REQUEST_ID = re.compile(r"[0-9A-Za-z._-]{1,128}")


def row_getter(attributes: Sequence[str]) -> Callable[[Any], tuple[Any, ...]]:
    """A record's values in feature order, as a tuple. ``attrgetter`` takes a third of the time
    of a loop of ``getattr`` (100 records of 13 features: 34 against 92 us, about 6 % of a
    batch request); of one name it would give the bare value."""
    if len(attributes) == 1:
        only = attributes[0]
        return lambda record: (getattr(record, only),)
    return attrgetter(*attributes)


features_of = row_getter(ATTRIBUTES)


class ModelState:
    """The model once loaded (with its batcher), or why it is not; ``settled`` either way."""

    def __init__(self, max_rows: int, batching: bool = True) -> None:
        self.max_rows = max_rows
        self.batching = batching
        self.model: LoadedModel | None = None
        self.batcher: MicroBatcher | None = None
        self.described: dict[str, Any] = {}  # the model's description, ready for to_json
        self.error: str | None = None
        self.settled = threading.Event()

    def loaded(self, model: LoadedModel) -> None:
        """Serve ``model`` from now on (through a batcher, unless ``batching`` is off)."""
        if self.batching:
            self.batcher = MicroBatcher(model.predict, self.max_rows, inline=model.quick)
        self.described = model.description.model_dump(mode="json")
        self.model = model

    def status(self) -> Status:
        """``ready`` with the model, or ``loading``/``failed`` with the reason."""
        if self.model is not None:
            return Status(status="ready", model=self.model.description)
        if self.error is not None:
            return Status(status="failed", reason=self.error)
        return Status(status="loading", reason="the model is still loading")


def request_id(given: str | None) -> str:
    """The client's ``X-Request-ID`` when it is a safe token, else a new random one (32 hex)."""
    if given and REQUEST_ID.fullmatch(given):
        return given
    return secrets.token_hex(16)


def error_response(
    status: int,
    message: str,
    detail: list[dict[str, Any]] | None = None,
    headers: Mapping[str, str] | None = None,
) -> JSONResponse:
    """The service's error body (see ``payloads.ErrorResponse``)."""
    body = {"message": message, "detail": detail or []}
    return JSONResponse(body, status_code=status, headers=headers)


def rejected(error: ValidationError, headers: dict[str, str]) -> JSONResponse:
    """422 naming every invalid field (400 for a body that is not JSON), without echoing input."""
    detail = [
        {"field": ".".join(map(str, e["loc"])) or "body", "message": e["msg"], "type": e["type"]}
        for e in error.errors(include_url=False, include_context=False, include_input=False)
    ]
    message = "; ".join(f"{d['field']}: {d['message']}" for d in detail[:10])
    if len(detail) > 10:
        message += f" (and {len(detail) - 10} more)"
    not_json = all(d["type"] == "json_invalid" for d in detail)
    return error_response(400 if not_json else 422, message, detail, headers)


class Unanswered(Response):
    """The response to a client that left before the end of its body: nothing is sent (the
    metrics count it as 499)."""

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        del scope, receive, send


@dataclass(frozen=True)
class Rollout:
    """The challenger beside the champion (``challenger.py``): its state and its mode, with the
    ``split`` of the clients in ``ab`` mode."""

    state: ModelState
    mode: str  # "shadow" or "ab"
    split: Split


# pylint: disable-next=too-few-public-methods,too-many-instance-attributes  # answer; its parts
class Predictor:
    """Scoring requests for the app's model (and challenger), metrics and prediction log."""

    def __init__(  # pylint: disable=too-many-arguments  # the app's shared parts
        self,
        state: ModelState,
        metrics: ServiceMetrics,
        body_model: type[BaseModel],
        log: PredictionLog | None,
        max_body_bytes: int,
        *,
        rollout: Rollout | None = None,
    ) -> None:
        self.state = state
        self.metrics = metrics
        self.body_model = body_model
        self.log = log
        self.max_body_bytes = max_body_bytes
        self.challenger = rollout.state if rollout is not None else None
        self.split = rollout.split if rollout is not None and rollout.mode == "ab" else None
        self.shadow = rollout is not None and rollout.mode == "shadow" and log is not None

    async def answer(  # pylint: disable=too-many-arguments  # the request's parts
        self,
        identity: str,
        content_type: str | None,
        length: str | None,
        receive: Receive,
        client: str | None = None,
    ) -> tuple[bytes | Response, str]:
        """The answer's JSON for the request ``identity`` whose body ``receive`` gives, or the
        error response (:class:`Unanswered` if the client leaves), and the variant that
        answered; ``client`` is the ``X-Client-Id`` header (``ab`` mode's key, if given)."""
        tag = {REQUEST_ID_HEADER: identity}
        try:
            if not is_json(content_type):
                raise HTTPException(415, "body: the content type must be application/json")
            raw = await read_body(receive, length, self.max_body_bytes)
            body: Any = self.body_model.model_validate_json(raw)
        except HTTPException as error:
            return error_response(error.status_code, str(error.detail), headers=tag), CHAMPION
        except ValidationError as error:
            return rejected(error, tag), CHAMPION
        except ClientDisconnect:
            return Unanswered(), CHAMPION
        model = self.state.model
        if model is None:
            reason = self.state.status().reason or "the model is not loaded"
            return error_response(503, reason, headers=tag), CHAMPION
        state, variant = self.state, CHAMPION
        if self.split is not None and self.split.to_challenger(client or identity):
            state, model, variant = self._challenger(model)
        sent = await self._predict(identity, raw, body.records, model=model, state=state)
        return sent, variant

    def _challenger(self, champion: LoadedModel) -> tuple[ModelState, LoadedModel, str]:
        """The challenger's state, model and variant, once it is loaded; else the champion's."""
        if self.challenger is not None and self.challenger.model is not None:
            return self.challenger, self.challenger.model, CHALLENGER
        return self.state, champion, CHAMPION

    async def _predict(  # pylint: disable=too-many-arguments  # the request and its model
        self,
        identity: str,
        raw: bytes,
        records: Sequence[Any],
        *,
        model: LoadedModel,
        state: ModelState,
    ) -> bytes:
        """Score ``records`` (the request body ``raw``) with ``model`` (of ``state``), count and
        log them: the answer's JSON (naming the variant when there is a challenger)."""
        rows = [features_of(record) for record in records]
        if COLUMNS.strings:
            self.metrics.observe_unlisted(COLUMNS.unlisted(rows))
        scored = await self._score(rows, state, model)
        labels: list[Any] = scored[0].tolist()
        scores: list[Any] = scored[1].tolist()
        variant = CHAMPION if state is self.state else CHALLENGER
        self.metrics.observe_predictions(labels, scores, variant)
        answer: dict[str, Any] = {"request_id": identity, "model": state.described}
        if self.challenger is not None:
            answer["variant"] = variant
        answer["predictions"] = ANSWERS.predictions(labels, scores)
        sent = to_json(answer)
        if self.log is not None:
            self._log(self.log, raw, sent, answer, labels=labels, scores=scores, rows=rows)
        return sent

    def _log(  # pylint: disable=too-many-arguments  # the exchange and its answers
        self,
        log: PredictionLog,
        raw: bytes,
        sent: bytes,
        answer: dict[str, Any],
        *,
        labels: list[Any],
        scores: list[Any],
        rows: Rows,
    ) -> None:
        """Hand the exchange to the prediction log (with its rows, for the shadow)."""
        logged = ANSWERS.logged(labels, scores)  # a multiclass log keeps class positions
        record = sent if logged is None else to_json({**answer, "predictions": logged})
        work = (answer["request_id"], rows) if self.shadow else None
        log.submit(time.time(), raw, record, len(rows), work)

    @staticmethod
    async def _score(
        rows: Rows, state: ModelState, model: LoadedModel
    ) -> tuple[np.ndarray, np.ndarray]:
        """The labels and scores of ``rows`` by ``model`` (of ``state``): through its batcher,
        or with batching off (to measure what it is worth) one call per request, on the event
        loop for a quick model, else in a worker thread."""
        if state.batcher is not None:
            return await state.batcher.predict(rows)
        if model.quick:
            return model.predict(rows)
        return await asyncio.to_thread(model.predict, rows)
