"""Bounds on what the served app takes and what it keeps.

`BodyLimit`: Gradio parses a request's whole JSON body (and validates every
chat message in it) before any of the app's code runs, so a bound checked in
`respond()` comes too late for a 100 MB chat history: `BodyLimit` refuses
such a request at the door with 413, before a byte of it is parsed. A request
that declares its length is refused from its headers; one sent in chunks is
counted as it arrives and cut off once it passes the bound.

`housekeeping`: Gradio 6 keeps, per session, the set of its pending event
ids, and leaves the empty set behind when an API call's session ends (every
call without a session is a new one): ~250 bytes a request, never dropped,
and a list one of its routes searches in full. Every minute the app drops
the empty ones, on the server's event loop (where the queue adds to them),
so it never races a request being queued.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable, MutableMapping
from typing import Any

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]


# A refused body up to this size is read and dropped, so that the client can
# read the 413; past it the connection is closed (the client sees a reset).
DRAIN_BYTES = 64 * 1024 * 1024
UPLOAD_ROUTE = "/gradio_api/upload"


class BodyLimit:
    """ASGI middleware: answers 413 to an HTTP request whose body is over
    `limit` bytes (or whose Content-Length is not a number)."""

    def __init__(self, app: ASGIApp, limit: int, uploads: int | None = None) -> None:
        self.app = app
        self.limit = limit
        # Gradio's upload route (the Library tab's files) has its own bound;
        # None: the same as every other request.
        self.uploads = uploads

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        if self.uploads is not None and str(scope.get("path", "")).endswith(UPLOAD_ROUTE):
            await BodyLimit(self.app, self.uploads)(scope, receive, send)
            return
        declared = dict(scope.get("headers") or ()).get(b"content-length")
        if declared is not None:
            size = int(declared) if declared.isdigit() else None
            if size is None or size > self.limit:
                if size is not None and size <= DRAIN_BYTES:
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
        body = f"Request too large: the app takes at most {self.limit:,} bytes.\n".encode()
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


HOUSEKEEPING_SECONDS = 60.0


def drop_empty(sets: MutableMapping[str, set]) -> int:
    """Remove the keys whose set is empty; how many went.

    >>> pending = {"a": set(), "b": {"e1"}, "c": set()}
    >>> drop_empty(pending), pending
    (2, {'b': {'e1'}})
    """
    empty = [key for key, ids in list(sets.items()) if not ids]
    for key in empty:
        sets.pop(key, None)
    return len(empty)


def _pending_sets(app: Any) -> MutableMapping[str, set] | None:
    """The Gradio queue's per-session pending event ids, if this Gradio has them."""
    try:
        found = app.get_blocks()._queue.pending_event_ids_session
    except AttributeError:
        return None
    return found if isinstance(found, MutableMapping) else None


async def _sweep(app: Any, every: float) -> None:
    while True:
        await asyncio.sleep(every)
        pending = _pending_sets(app)
        if pending is not None:
            drop_empty(pending)


def housekeeping(every: float = HOUSEKEEPING_SECONDS):
    """A FastAPI lifespan that sweeps Gradio's empty per-session sets every
    `every` seconds while the server runs (pass as `app_kwargs["lifespan"]`)."""

    @contextlib.asynccontextmanager
    async def lifespan(app: Any) -> AsyncIterator[None]:
        task = asyncio.create_task(_sweep(app, every))
        try:
            yield
        finally:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    return lifespan
