"""The fast lane: ``POST /predict`` answered straight from the ASGI events, past FastAPI.

The route in ``app.py`` answers it as well, through FastAPI's per-request machinery: the
exception middleware, the router trying each route in turn, a ``Request`` object, the
endpoint's dependency solving and exit stack, a ``Response`` object. For a model that answers
in tens of microseconds (ONNX Runtime) that machinery costs about as much as the answer. In
front of it (an ordinary middleware), this lane reads the three headers it needs from the
ASGI scope, gives the body to the same :class:`~.predictor.Predictor` and sends its JSON in
two events; every other request goes on to FastAPI (this one too when the app is mounted
under a prefix: its path is then longer). Measured with ``bench/serve --pieces`` (requests/s
with the lane / without, one record, 2 shared cores): 1.42x for a single client, 1.36x at 8
connections and 1.91x at 32 for the heart-disease contract; 1.37x, 1.77x and 1.71x for 50
columns (``--contract wide``). Inside FastAPI's middleware stack it still pays for FastAPI's
own entry (about 15 us of CPU per request, measured in-process) to keep the app plain.
"""

from __future__ import annotations

from starlette.types import ASGIApp, Receive, Scope, Send

from .predictor import REQUEST_ID_HEADER, Predictor, request_id

HEADERS = (b"content-type", b"content-length", REQUEST_ID_HEADER.encode())


class FastLane:  # pylint: disable=too-few-public-methods  # an ASGI middleware
    """``POST /predict`` to the predictor, without FastAPI; everything else on to ``app``."""

    def __init__(self, app: ASGIApp, predictor: Predictor) -> None:
        self.app = app
        self.predictor = predictor

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if not (
            scope["type"] == "http" and scope["path"] == "/predict" and scope["method"] == "POST"
        ):
            await self.app(scope, receive, send)
            return
        found: dict[bytes, str] = {}
        for name, value in scope["headers"]:
            if name in HEADERS and name not in found:  # the first of each, as Starlette reads
                found[name] = value.decode("latin-1")
        content_type, length, given = (found.get(name) for name in HEADERS)
        identity = request_id(given)
        answer = await self.predictor.answer(identity, content_type, length, receive)
        if not isinstance(answer, bytes):  # an error response
            await answer(scope, receive, send)
            return
        headers = [
            (b"content-type", b"application/json"),
            (b"content-length", str(len(answer)).encode()),
            (HEADERS[2], identity.encode()),
        ]
        await send({"type": "http.response.start", "status": 200, "headers": headers})
        await send({"type": "http.response.body", "body": answer})
