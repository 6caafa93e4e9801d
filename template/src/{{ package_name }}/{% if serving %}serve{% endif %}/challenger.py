"""The challenger: a second model beside the champion, to compare them on live traffic.

``CHALLENGER_MODE`` (``environment.py``) says what it does: ``off``, nothing (it is not even
loaded); ``ab``, it answers a share of the requests (``CHALLENGER_SHARE``), each client always
the same model: the key is the ``X-Client-Id`` header, else the request id, and
:class:`Split` sends it to the challenger when the first 8 bytes of its BLAKE2b digest, as a
big-endian integer modulo 10 000, fall under the share; ``shadow``, the champion answers every
request and the challenger scores the same records in the prediction log's writer thread
(:class:`Shadow`), off the answer's path: its answer goes under ``"shadow"`` in the request's
log line. It loads in the background after the champion, so it never delays ``/ready``; until
it is loaded, or when it cannot be, the champion answers alone, and ``/ready`` and
``/metrics`` (``model_challenger_loaded``) say why.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from pydantic_core import to_json

from .answers import ANSWERS
from .payloads import ChallengerStatus
from .telemetry import CHALLENGER, ServiceMetrics

if TYPE_CHECKING:
    from .predictor import ModelState

LOG = logging.getLogger(__name__)
MODES = ("off", "shadow", "ab")  # CHALLENGER_MODE's values
DEFAULT_SHARE = 0.1
BUCKETS = 10_000
CLIENT_ID_HEADER = "x-client-id"
SHADOW_KEY = b', "shadow": '
# A logged request the challenger is to score: its request id and its rows of features.
ShadowWork = tuple[str, Sequence[Sequence[Any]]]


def bucket(key: str) -> int:
    """The key's bucket, 0 to 9 999: BLAKE2b's 8-byte digest, big-endian, modulo 10 000."""
    digest = hashlib.blake2b(key.encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big") % BUCKETS


@dataclass(frozen=True)
class Split:
    """Which requests the challenger answers in ``ab`` mode: a share of the keys, always the
    same ones."""

    share: float

    @property
    def cut(self) -> int:
        """The buckets below this one go to the challenger."""
        return round(self.share * BUCKETS)

    def to_challenger(self, key: str) -> bool:
        """Whether the challenger answers the requests of ``key``."""
        return bucket(key) < self.cut


def challenger_status(state: ModelState) -> ChallengerStatus:
    """The challenger's part of ``/ready``'s body: its status, model and load error."""
    model = state.model
    return ChallengerStatus(
        status=state.status().status,
        model=None if model is None else model.description,
        error=state.error,
    )


class Shadow:  # pylint: disable=too-few-public-methods  # one verb: attach
    """The challenger's answers to logged requests, scored in the log's writer thread."""

    def __init__(self, state: ModelState, metrics: ServiceMetrics) -> None:
        if metrics.shadow_dropped is None:
            raise ValueError("a shadow needs the metrics' challenger instruments")
        self.state = state
        self.metrics = metrics
        self.dropped = metrics.shadow_dropped

    def attach(self, responses: Sequence[bytes], work: Sequence[ShadowWork]) -> list[bytes]:
        """Each logged response followed by the challenger's answer to the same records
        (``, "shadow": {...}``, so that the line holds both), all scored in one call; the
        responses as they were, the records counted as dropped, when the challenger is not
        loaded or fails."""
        model = self.state.model
        records = sum(len(rows) for _, rows in work)
        if model is None:
            self.dropped.labels(self.state.status().status).inc(records)
            return list(responses)
        try:
            scored = model.predict([row for _, rows in work for row in rows])
        except Exception as error:  # pylint: disable=broad-exception-caught  # counted, logged
            self.dropped.labels("error").inc(records)
            LOG.warning("challenger: %d record(s) not scored in shadow: %s", records, error)
            return list(responses)
        labels: list[Any] = scored[0].tolist()
        scores: list[Any] = scored[1].tolist()
        self.metrics.observe_predictions(labels, scores, CHALLENGER)
        return self._attached(responses, work, labels, scores)

    def _attached(
        self,
        responses: Sequence[bytes],
        work: Sequence[ShadowWork],
        labels: list[Any],
        scores: list[Any],
    ) -> list[bytes]:
        """Each response followed by the challenger's answer, cut from ``labels``/``scores``."""
        attached, start = [], 0
        for response, (identity, rows) in zip(responses, work, strict=True):
            end = start + len(rows)
            answer = self._answer(identity, labels[start:end], scores[start:end])
            attached.append(response + SHADOW_KEY + answer)
            start = end
        return attached

    def _answer(self, identity: str, labels: list[Any], scores: list[Any]) -> bytes:
        """The challenger's answer to one request, as the log holds answers."""
        logged = ANSWERS.logged(labels, scores)  # a multiclass log keeps class positions
        answer = {
            "request_id": identity,
            "model": self.state.described,
            "variant": CHALLENGER,
            "predictions": ANSWERS.predictions(labels, scores) if logged is None else logged,
        }
        return to_json(answer)
