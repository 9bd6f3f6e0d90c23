"""A bound on the size of what a client may send the app.

Gradio parses a request's whole JSON body (and validates every chat message
in it) before any of the app's code runs, so a bound checked in `respond()`
comes too late for a 100 MB chat history: `BodyLimit` refuses such a request
at the door with 413, before a byte of it is parsed. A request that declares
its length is refused from its headers; one sent in chunks is counted as it
arrives and cut off once it passes the bound.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]


# A refused body up to this size is read and dropped, so that the client can
# read the 413; past it the connection is closed (the client sees a reset).
DRAIN_BYTES = 64 * 1024 * 1024


class BodyLimit:
    """ASGI middleware: answers 413 to an HTTP request whose body is over
    `limit` bytes (or whose Content-Length is not a number)."""

    def __init__(self, app: ASGIApp, limit: int) -> None:
        self.app = app
        self.limit = limit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = dict(scope.get("headers") or ()).get(b"content-length")
        if declared is not None and (not declared.isdigit() or int(declared) > self.limit):
            if declared.isdigit() and int(declared) <= DRAIN_BYTES:
                await self._drain(receive)
            await self._refuse(send)
            return
        received = 0
        over = False
        rest = False  # more of a refused body is still to come
        started = False

        async def counted() -> Message:
            nonlocal received, over, rest
            if over:
                return {"type": "http.disconnect"}
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.limit:
                    # The app sees a client that went away, and stops reading.
                    over = True
                    rest = message.get("more_body", False)
                    return {"type": "http.disconnect"}
            return message

        async def watched(message: Message) -> None:
            nonlocal started
            if over:
                return  # the 413 below is the answer
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, counted, watched)
        except Exception:
            if not over:
                raise
        if over and not started:
            if rest:
                await self._drain(receive, received)
            await self._refuse(send)

    async def _drain(self, receive: Receive, received: int = 0) -> None:
        """Read (and drop) the rest of a refused body, up to DRAIN_BYTES, so
        the client gets to read the 413 instead of a reset connection."""
        more = True
        while more and received <= DRAIN_BYTES:
            message = await receive()
            if message["type"] != "http.request":
                return
            received += len(message.get("body", b""))
            more = message.get("more_body", False)

    async def _refuse(self, send: Send) -> None:
        body = (
            f"Request too large: the app takes at most {self.limit:,} bytes "
            "(a question and its recent conversation).\n"
        ).encode()
        await send(
            {
                "type": "http.response.start",
                "status": 413,
                "headers": [
                    (b"content-type", b"text/plain; charset=utf-8"),
                    (b"content-length", str(len(body)).encode()),
                    (b"connection", b"close"),
                ],
            }
        )
        await send({"type": "http.response.body", "body": body})
