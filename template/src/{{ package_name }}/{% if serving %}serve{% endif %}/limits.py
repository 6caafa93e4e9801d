"""A cap on the size of request bodies, checked before anything reads or parses them."""

from __future__ import annotations

import json
from typing import Any

from starlette.exceptions import HTTPException

DEFAULT_MAX_BODY_BYTES = 1024 * 1024


class BodyTooLarge(HTTPException):
    """The body went over the limit while it was being received (the app answers 413)."""

    def __init__(self, max_bytes: int) -> None:
        super().__init__(413, f"body: larger than {max_bytes} bytes")


class BodyLimitMiddleware:  # pylint: disable=too-few-public-methods  # an ASGI callable
    """Answer 413 when a body exceeds ``max_bytes``: declared (Content-Length) or streamed."""

    def __init__(self, app: Any, max_bytes: int = DEFAULT_MAX_BODY_BYTES) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = dict(scope["headers"]).get(b"content-length", b"0")
        if declared.isdigit() and int(declared) > self.max_bytes:
            await self.reject(send)
            return
        received = 0
        started = False

        async def counting_receive() -> dict[str, Any]:
            nonlocal received
            message = await receive()
            received += len(message.get("body", b""))
            if received > self.max_bytes:
                raise BodyTooLarge(self.max_bytes)
            return message

        async def tracking_send(message: dict[str, Any]) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, counting_receive, tracking_send)
        except BodyTooLarge:  # not turned into a response by the app (e.g. no route)
            if started:
                raise
            await self.reject(send)

    async def reject(self, send: Any) -> None:
        """Send a 413 response with the service's error body."""
        body = json.dumps({"message": BodyTooLarge(self.max_bytes).detail, "detail": []}).encode()
        await send(
            {
                "type": "http.response.start",
                "status": 413,
                "headers": [
                    (b"content-type", b"application/json"),
                    (b"content-length", str(len(body)).encode()),
                ],
            }
        )
        await send({"type": "http.response.body", "body": body})
