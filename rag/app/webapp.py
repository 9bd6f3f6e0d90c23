"""The chat app: Gradio 6 Blocks on top of `rag.stream_answer`.

`build_demo()` loads the index and the embedder once, at start-up, and builds
the page: a chat whose answers stream in with their numbered sources (the
supporting sentence highlighted), a side panel with every retrieved passage
and its scores, a Timeline tab that puts the question's dated passages on a
time axis (`rag.timeline`), example questions in three languages, and settings
(passages, languages, generator, article dates); a Library tab lists, adds
and removes articles (`rag.library_page`, unless `app_library` is off). A
missing or invalid index is shown on the page, not a crash. Every text that
reaches the page is escaped by `rag.render`.

Clients can call the `/ask` endpoint (gradio_client): inputs question, chat
history, k, languages, generator; `/ask_dated` takes since and until too
("" for no bound). Outputs: the question box, the chat, the passages panel
and the answer as JSON. `/library_add` and `/library_remove` are the
Library's changes.
"""

from __future__ import annotations

import html
import logging
import os
from collections.abc import Iterator
from typing import Any

from rag.answers.answer import stream_answer
from rag.answers.conversation import standalone_query
from rag.answers.generation import EXTRACTIVE, available, check_spec
from rag.answers.timeline import PANEL_K, timeline
from rag.app import render
from rag.app.guards import BodyLimit, housekeeping
from rag.app.library_page import library_tab
from rag.errors import RagError
from rag.records import Answer
from rag.search.query import MAX_HISTORY, date_range, validate_question
from rag.search.retrieval import Retriever, get_retriever
from rag.settings import Settings

log = logging.getLogger(__name__)

# Messages of a conversation the page keeps (100 questions and answers).
MAX_CHAT_MESSAGES = 200
ANALYTICS_EVENTS = 1000

EXAMPLES = [
    "Varför stöder Ryssland Lukasjenko?",
    "Hva krevde Erna Solberg etter møtet med Svetlana Tikhanovskaja?",
    "Why did Russia back Lukashenko?",
    "How many people did police detain at the Sunday protests?",
]
TITLE = "rag · cited answers from the news"
INTRO = (
    "Ask about the articles in Swedish, Norwegian or English. Every sentence of an answer "
    "is quoted from an article and followed by its source [n]; when the articles do not "
    "answer, the assistant says so."
)


def load(settings: Settings) -> tuple[Retriever | None, str | None]:
    """The retriever, warmed up (one query embedded), or the reason there is none."""
    try:
        retriever = get_retriever(settings)
        retriever._embed_query("warm-up")
        return retriever, None
    except RagError as exc:
        return None, str(exc)


def user_text(message: dict) -> str:
    """The question a user message holds (the chat stores it escaped).

    >>> user_text({"role": "user", "content": [{"type": "text", "text": "A &amp; B?"}]})
    'A & B?'
    """
    return html.unescape(_text(message))


def _text(message: dict) -> str:
    """A message's text as stored: a string, or Gradio 6's list of blocks."""
    content = message.get("content")
    if isinstance(content, str):
        return content
    if not isinstance(content, list):
        return ""
    texts = [c.get("text", "") for c in content if isinstance(c, dict)]
    return " ".join(t for t in texts if isinstance(t, str) and t)


def earlier_questions(chat: list[dict]) -> list[str]:
    """The questions asked so far, without the ones that were refused (too
    long, empty): a follow-up must not be joined to a question nobody answered.

    >>> refused = {"role": "assistant", "content": '<p class="notice">too long</p>'}
    >>> answered = {"role": "assistant", "content": "b"}
    >>> ask = [{"role": "user", "content": q} for q in ("A?", "B?")]
    >>> earlier_questions([ask[0], refused, ask[1], answered])
    ['B?']
    >>> blocks = {"role": "assistant", "content": [{"type": "text", "text": refused["content"]}]}
    >>> earlier_questions([ask[0], blocks])
    []
    """
    questions = []
    for i, m in enumerate(chat):
        if m.get("role") != "user":
            continue
        reply = chat[i + 1] if i + 1 < len(chat) else None
        if reply is not None and _text(reply).startswith(render.NOTICE_START):
            continue
        questions.append(user_text(m))
    return questions


def respond(
    settings: Settings,
    retriever: Retriever | None,
    error: str | None,
    message: str,
    chat: list[dict] | None,
    k: float | None,
    languages: list[str] | None,
    generator: str | None,
    since: str | None = None,
    until: str | None = None,
) -> Iterator[tuple[str, list[dict], str | None, dict | None]]:
    """One turn: yields (textbox value, chat, side panel or None to keep it,
    the answer as a dict or None). `since` / `until` ("" or None: no bound)
    answer only from articles dated then."""
    chat = [m for m in (chat if isinstance(chat, list) else []) if isinstance(m, dict)]
    # The page keeps the last MAX_CHAT_MESSAGES (the oldest turns scroll
    # away): every turn sends the whole chat back, so its work stays bounded.
    chat = chat[-MAX_CHAT_MESSAGES:]
    # The chat comes from the client: only the recent questions of a size that
    # could have been asked are searched with; nothing longer is embedded.
    history = [q for q in earlier_questions(chat) if len(q) <= settings.max_question_chars]
    history = history[-MAX_HISTORY:]
    try:
        question = validate_question(message, settings.max_question_chars)
        if error:
            raise RagError(error)
        if generator:
            check_spec(generator)
        dates = _dates(since, until)
    except RagError as exc:
        if message and message.strip():
            chat.append({"role": "user", "content": render.esc(message.strip()[:500])})
        chat.append({"role": "assistant", "content": render.notice_html(str(exc))})
        yield message, chat, None, None
        return
    chat.append({"role": "user", "content": render.esc(question)})
    query = standalone_query(question, history)
    note = None  # where the collapsible "searched as" note sits in the chat
    if query != question:
        note = len(chat)
        chat.append(
            {
                "role": "assistant",
                "content": render.esc(query),
                "metadata": {"title": "Follow-up: searched as a standalone question"},
            }
        )
    pending = ""
    if generator and generator != EXTRACTIVE:  # seconds, not milliseconds: say why
        pending = render.pending_html(
            f"{generator} is writing. Each claim appears once a sentence it cites is "
            "found to state it; if none is, the quoted answer appears instead."
        )
    chat.append({"role": "assistant", "content": pending})
    yield "", chat, None, None
    wanted = list(languages) if languages else None
    try:
        for part in stream_answer(
            question,
            int(k) if k else None,
            wanted,
            history,
            generator=generator or None,
            settings=settings,
            **dates,
        ):
            if isinstance(part, Answer):
                if note is not None and part.rewritten_by not in (None, "extractive"):
                    chat[note] = {
                        "role": "assistant",
                        "content": render.esc(part.search_query),
                        "metadata": {"title": f"Follow-up: rewritten by {part.rewritten_by}"},
                    }
                chat[-1] = {"role": "assistant", "content": render.answer_html(part)}
                panel = render.passages_html(part.hits, part.search_query, part.rewritten_by)
                yield "", chat, panel, _payload(part)
            else:
                chat[-1] = {"role": "assistant", "content": render.streaming_html(part)}
                yield "", chat, None, None
    except RagError as exc:
        chat[-1] = {"role": "assistant", "content": render.notice_html(str(exc))}
        yield "", chat, None, None


def _dates(since: str | None, until: str | None) -> dict[str, str | None]:
    """The app's date fields as `answer()`'s arguments (blank: no bound);
    a malformed date is a UsageError with the message to show."""
    dates = {
        "since": (since or "").strip() or None,
        "until": (until or "").strip() or None,
    }
    date_range(**dates)
    return dates


def timeline_panel(
    settings: Settings,
    retriever: Retriever | None,
    payload: dict | None,
    languages: list[str] | None,
    since: str | None,
    until: str | None,
) -> str:
    """The Timeline panel for the last answer: its search query's dated
    passages on a time axis (see `rag.timeline`)."""
    if retriever is None or not isinstance(payload, dict) or not payload.get("search_query"):
        return render.timeline_html(())
    query = str(payload["search_query"])
    try:
        dates = _dates(since, until)
        items = timeline(
            query,
            PANEL_K,
            languages=list(languages) if languages else None,
            settings=settings,
            **dates,
        )
    except RagError as exc:
        return render.notice_html(str(exc))
    return render.timeline_html(items, query)


def _payload(answer: Answer) -> dict[str, Any]:
    data = answer.to_dict()
    data["timings"] = {stage: round(s, 4) for stage, s in answer.timings.items()}
    return data


def build_demo(settings: Settings | None = None):
    """The app, ready to `launch()`; loads the index and model now, once."""
    import gradio as gr

    settings = settings or Settings.from_env()
    # Gradio keeps timing records of the last 10,000 requests by default (and
    # summarises them with pandas); 1,000 say as much and fill up sooner.
    os.environ.setdefault("GRADIO_ANALYTICS_MAX_EVENTS", str(ANALYTICS_EVENTS))
    retriever, error = load(settings)
    languages = retriever.languages if retriever else ["sv", "nb", "en"]
    choices = [(f"{render.language_name(code)} ({code})", code) for code in languages]
    generators = available(settings)

    def ask_undated(message, chat, k, langs, generator):
        yield from turn(message, chat, k, langs, generator)

    def show_timeline(payload, langs, since, until):
        return timeline_panel(settings, retriever, payload, langs, since, until)

    def turn(message, chat, k, langs, generator, since=None, until=None):
        for text, new_chat, panel, payload in respond(
            settings, retriever, error, message, chat, k, langs, generator, since, until
        ):
            yield (
                text,
                new_chat,
                gr.skip() if panel is None else panel,
                gr.skip() if payload is None else payload,
            )

    with gr.Blocks(
        title=TITLE,
        analytics_enabled=False,
        # Uploaded files are copied into seeds/library when they are added;
        # Gradio's temporary copies (and any upload never added) go within the hour.
        delete_cache=(UPLOAD_SWEEP_SECONDS, UPLOAD_SWEEP_SECONDS),
    ) as demo:
        gr.Markdown(f"## {TITLE}\n{INTRO}")
        gr.HTML(render.notice_html(error) if error else "", visible=bool(error), elem_id="error")
        with gr.Tabs(elem_id="pages"):
            with gr.Tab("Ask", id="ask-tab"), gr.Row(equal_height=False):
                with gr.Column(scale=3):
                    chatbot = gr.Chatbot(
                        label="Conversation",
                        elem_id="chat",
                        render_markdown=False,  # answers are HTML made (and escaped) by render
                        sanitize_html=True,
                        latex_delimiters=[],  # "$" in an article is money, not maths
                        allow_tags=False,
                        feedback_options=None,
                        height=560,
                        placeholder="Answers appear here, each claim with its source [n].",
                    )
                    question = gr.Textbox(
                        label="Question",
                        placeholder="Ask in Swedish, Norwegian or English…",
                        # No max_length: the browser would cut a pasted question
                        # silently; the server says it is too long and keeps it
                        # in the box to shorten.
                        submit_btn="Ask",
                        autofocus=True,
                        elem_id="question",
                    )
                    gr.Examples(EXAMPLES, inputs=question, label="Examples")
                    with gr.Accordion("Settings", open=False):
                        k = gr.Slider(
                            1, 10, value=settings.k, step=1, label="Passages to draw from"
                        )
                        langs = gr.CheckboxGroup(
                            choices,
                            value=list(languages),
                            label="Languages of the passages (none ticked: all)",
                        )
                        generator = gr.Dropdown(
                            generators,
                            value=settings.generator
                            if settings.generator in generators
                            else generators[0],
                            label="Generator (a language model writes the answer; each claim is "
                            "checked against its source)",
                            visible=len(generators) > 1,
                        )
                        with gr.Row():
                            since = gr.Textbox(
                                "",  # a value: API clients may leave the dates out
                                label="Articles dated from",
                                placeholder="YYYY, YYYY-MM or YYYY-MM-DD",
                                elem_id="since",
                            )
                            until = gr.Textbox(
                                "",
                                label="until (inclusive)",
                                placeholder="e.g. 2020-12",
                                elem_id="until",
                            )
                    clear = gr.Button("New conversation", variant="secondary")
                with gr.Column(scale=2), gr.Tabs():
                    with gr.Tab("Retrieved passages", id="passages-tab"):
                        panel = gr.HTML(render.passages_html(()), elem_id="passages")
                    with gr.Tab("Timeline", id="timeline-tab"):
                        dated = gr.HTML(render.timeline_html(()), elem_id="timeline")
            if settings.app_library:
                with gr.Tab("Library", id="library-tab") as library:
                    refresh, listing, shown = library_tab(gr, settings, retriever)
                # filled when the tab is opened, not at every page load
                library.select(refresh, listing, shown, api_visibility="private")
        last_answer = gr.JSON(visible=False, label="Answer")
        timeline_inputs = [last_answer, langs, since, until]
        # The page asks through `/ask_dated` (with the Settings' dates); `/ask`
        # keeps the five inputs API clients already send (a hidden trigger).
        question.submit(
            turn,
            [question, chatbot, k, langs, generator, since, until],
            [question, chatbot, panel, last_answer],
            api_name="ask_dated",
            concurrency_limit=settings.app_concurrency,
            concurrency_id="answers",  # one limit for both endpoints
        ).then(
            show_timeline,
            timeline_inputs,
            [dated],
            api_visibility="private",
            concurrency_limit=settings.app_concurrency,
        )
        gr.Button(visible=False, elem_id="api-ask").click(
            ask_undated,
            [question, chatbot, k, langs, generator],
            [question, chatbot, panel, last_answer],
            api_name="ask",
            concurrency_limit=settings.app_concurrency,
            concurrency_id="answers",
        )
        clear.click(
            lambda: ([], render.passages_html(()), None, render.timeline_html(())),
            None,
            [chatbot, panel, last_answer, dated],
            api_visibility="private",
        )
    demo.queue(max_size=settings.app_queue, default_concurrency_limit=settings.app_concurrency)
    return demo


def launch(
    demo, settings: Settings | None = None, host: str | None = None, port: int | None = None
):
    """Serve the app: on 127.0.0.1 unless told otherwise, never a share link,
    behind a password when `app_password` (RAG_APP_PASSWORD) is set."""
    from starlette.middleware import Middleware

    settings = settings or Settings.from_env()
    host = host or settings.app_host
    if host not in ("127.0.0.1", "localhost", "::1") and not settings.app_password:
        log.warning("serving on %s without a password: set RAG_APP_PASSWORD", host)
    auth = (settings.app_user, settings.app_password) if settings.app_password else None
    demo.launch(
        server_name=host,
        server_port=port or settings.app_port,
        share=False,
        # Gradio's own lines would suggest `share=True`, which this app never
        # uses; it says where it listens itself, below.
        quiet=True,
        prevent_thread_lock=True,
        auth=auth,
        show_error=False,
        css=render.CSS,
        # The Library tab's uploads have their own bound; without the
        # library the app takes no files, and Gradio's upload route (which
        # still exists) accepts nothing larger than a question could be.
        max_file_size=settings.app_upload_bytes if settings.app_library else MAX_UPLOAD,
        # Sessions are kept to a bound (their state is Gradio's, not ours:
        # without one the server grows ~50 KB a request up to 10,000 of them).
        state_session_capacity=settings.app_sessions,
        # A request larger than any conversation the page keeps is refused
        # before Gradio parses it.
        app_kwargs={
            "middleware": [
                Middleware(
                    BodyLimit,
                    limit=settings.app_max_request_bytes,
                    uploads=_upload_bound(settings),
                )
            ],
            "lifespan": housekeeping(),  # what Gradio leaves behind per request
        },
    )
    print(f"* Running on local URL:  {demo.local_url}", flush=True)
    demo.block_thread()


def _upload_bound(settings: Settings) -> int | None:
    """The largest upload request: every file the library takes at once, at
    its largest, with room for the form around them (None: no library)."""
    if not settings.app_library:
        return None
    return settings.app_upload_bytes * settings.app_upload_files + 1_000_000


MAX_UPLOAD = "16kb"
UPLOAD_SWEEP_SECONDS = 3600
