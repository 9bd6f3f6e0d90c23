"""The bound on a request's size: refused at the door with 413, whether the
client declares its length or streams it in chunks; smaller ones pass whole."""

from __future__ import annotations

import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse
from starlette.routing import Route
from starlette.testclient import TestClient

from rag.app.guards import BodyLimit

LIMIT = 1000


def _client() -> tuple[TestClient, list[int]]:
    seen: list[int] = []

    async def echo(request: Request) -> PlainTextResponse:
        body = await request.body()
        seen.append(len(body))
        return PlainTextResponse(f"read {len(body)}")

    app = Starlette(routes=[Route("/", echo, methods=["POST"])])
    return TestClient(BodyLimit(app, limit=LIMIT)), seen


def _chunks(n: int, size: int = 100):
    """A body sent in `n` chunks (the test client reads it whole: one message)."""
    for _ in range(n):
        yield b"x" * size


def test_a_request_within_the_bound_reaches_the_app_whole():
    client, seen = _client()
    assert client.post("/", content=b"x" * LIMIT).text == f"read {LIMIT}"
    assert client.post("/", content=_chunks(9)).text == "read 900"
    assert seen == [LIMIT, 900]


def test_a_declared_length_over_the_bound_is_refused_before_the_app_runs():
    client, seen = _client()
    response = client.post("/", content=b"x" * (LIMIT + 1))
    assert response.status_code == 413
    assert f"{LIMIT:,} bytes" in response.text
    assert seen == []


@pytest.mark.parametrize("chunks", [11, 500])
def test_a_chunked_body_is_cut_off_once_it_passes_the_bound(chunks):
    client, seen = _client()
    response = client.post("/", content=_chunks(chunks))
    assert response.status_code == 413
    assert seen == []  # the app saw a client that went away, and answered nothing
    # and the next request is served as usual
    assert client.post("/", content=b"ok").text == "read 2"


def test_a_body_arriving_in_many_chunks_is_refused_and_read_to_its_end():
    """As a server delivers a chunked upload: the app stops at the bound, the
    rest is read and dropped, and the client gets the 413 (not a reset)."""
    import asyncio

    messages = [{"type": "http.request", "body": b"x" * 100, "more_body": True}] * 30
    messages.append({"type": "http.request", "body": b"", "more_body": False})
    inbox = list(messages)
    sent: list[dict] = []
    app_saw: list[dict] = []

    async def app(scope, receive, send):
        while True:
            message = await receive()
            app_saw.append(message)
            if message["type"] == "http.disconnect" or not message.get("more_body"):
                return

    async def receive():
        return inbox.pop(0)

    async def send(message):
        sent.append(message)

    scope = {"type": "http", "headers": [(b"transfer-encoding", b"chunked")]}
    asyncio.run(BodyLimit(app, limit=LIMIT)(scope, receive, send))
    assert sent[0]["status"] == 413
    assert app_saw[-1]["type"] == "http.disconnect"
    assert sum(len(m.get("body", b"")) for m in app_saw) <= LIMIT
    assert inbox == []  # read to its end


def test_housekeeping_drops_the_empty_sets_gradio_leaves_behind():
    """On a real Gradio app: the queue's per-session pending ids are where
    the sweep looks, and it keeps a session with an event still pending."""
    import asyncio

    import gradio as gr
    from gradio.routes import App

    from rag.app.guards import _pending_sets, housekeeping

    with gr.Blocks() as demo:
        gr.Markdown("x")
    demo.queue()
    app = App.create_app(demo)
    pending = _pending_sets(app)
    assert pending is not None  # a Gradio that moved it would make this a no-op
    pending.update({"done-1": set(), "done-2": set(), "waiting": {"event-7"}})

    async def run() -> None:
        async with housekeeping(every=0.01)(app):
            await asyncio.sleep(0.1)

    asyncio.run(run())
    assert pending == {"waiting": {"event-7"}}


def test_the_upload_route_has_its_own_bound():
    seen: list[int] = []

    async def echo(request: Request) -> PlainTextResponse:
        seen.append(len(await request.body()))
        return PlainTextResponse("ok")

    routes = [Route(p, echo, methods=["POST"]) for p in ("/", "/gradio_api/upload")]
    client = TestClient(BodyLimit(Starlette(routes=routes), limit=LIMIT, uploads=5 * LIMIT))
    assert client.post("/gradio_api/upload", content=b"x" * 4 * LIMIT).status_code == 200
    assert client.post("/gradio_api/upload", content=b"x" * 6 * LIMIT).status_code == 413
    assert client.post("/", content=b"x" * 2 * LIMIT).status_code == 413  # elsewhere: the bound
    assert client.post("/", content=_chunks(20)).status_code == 413
    assert seen == [4 * LIMIT]
