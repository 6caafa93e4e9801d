"""What ``POST /predict`` accepts before parsing: a JSON media type and a capped body size."""

from __future__ import annotations

from starlette.exceptions import HTTPException
from starlette.requests import ClientDisconnect
from starlette.types import Receive

DEFAULT_MAX_BODY_BYTES = 1024 * 1024


class BodyTooLarge(HTTPException):
    """The body is over the limit, declared or as received (the app answers 413)."""

    def __init__(self, max_bytes: int) -> None:
        super().__init__(413, f"body: larger than {max_bytes} bytes")


def is_json(content_type: str | None) -> bool:
    """``application/json`` or ``application/<something>+json``, parameters aside."""
    if not content_type:
        return False
    media_type = content_type.partition(";")[0].strip().lower()
    return media_type == "application/json" or (
        media_type.startswith("application/") and media_type.endswith("+json")
    )


async def read_body(
    receive: Receive, declared: str | None, max_bytes: int = DEFAULT_MAX_BODY_BYTES
) -> bytes:
    """The request body from ASGI ``receive``; :class:`BodyTooLarge` once it exceeds ``max_bytes``.

    A ``declared`` Content-Length over the limit is refused before anything is read; a body
    streamed without one is counted as it arrives and refused at the first byte too many.
    :class:`~starlette.requests.ClientDisconnect` if the client leaves before the end.
    """
    if declared and declared.isdigit() and int(declared) > max_bytes:
        raise BodyTooLarge(max_bytes)
    chunks: list[bytes] = []
    received = 0
    more = True
    while more:
        message = await receive()
        if message["type"] != "http.request":
            raise ClientDisconnect()
        chunk: bytes = message.get("body", b"")
        received += len(chunk)
        if received > max_bytes:
            raise BodyTooLarge(max_bytes)
        chunks.append(chunk)
        more = message.get("more_body", False)
    return chunks[0] if len(chunks) == 1 else b"".join(chunks)
