"""The chat app, started as users start it and driven as clients drive it:
through gradio_client, and in a real headless browser (Debian's chromium via
Playwright). The index holds the seeds plus a hostile article full of markup.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import shutil
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from rag.ingest.pipeline import build_index
from rag.settings import Settings
from tests.conftest import ROOT, SEEDS, free_port

HOSTILE = ROOT / "tests" / "data" / "hostile" / "hostile_markup.txt"
ARTIFACTS = ROOT / "tests" / "artifacts"
CHROMIUM = "/usr/bin/chromium"
ALL = ["sv", "nb", "en"]
TEN_QUESTIONS = [
    "Why did Russia back Lukashenko?",
    "Varför stöder Ryssland Lukasjenko?",
    "Hvorfor støtter Russland Lukasjenko?",
    "Who is Gustav Gressel?",
    "What did protesters chant at Lukashenko?",
] * 2

pytestmark = pytest.mark.model


@contextlib.contextmanager
def serve(index: Path, **env: str) -> Iterator[str]:
    """`rag serve` on a free port; yields its URL once it answers."""
    port = free_port()
    environ = {**os.environ, "GRADIO_ANALYTICS_ENABLED": "False", "HF_HUB_OFFLINE": "1", **env}
    proc = subprocess.Popen(
        [sys.executable, "-m", "rag", "serve", "--port", str(port), "--index", str(index)],
        cwd=ROOT,
        env=environ,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    url = f"http://127.0.0.1:{port}/"
    try:
        deadline = time.monotonic() + 180
        while True:
            if proc.poll() is not None:
                raise AssertionError(f"the app exited: {proc.stdout.read()}")
            try:
                with urllib.request.urlopen(url, timeout=2):
                    break
            except OSError as exc:
                if getattr(exc, "code", None) == 401:  # up, behind a password
                    break
                if time.monotonic() > deadline:
                    raise AssertionError("the app did not start within 180 s") from exc
                time.sleep(0.5)
        yield url
    finally:
        proc.terminate()
        try:
            output, _ = proc.communicate(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            output, _ = proc.communicate()
        assert "Traceback" not in output, output
        assert "share=True" not in output  # the app never shares; it does not hint at it


@pytest.fixture(scope="module")
def app_index(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("approot")
    shutil.copytree(SEEDS, root / "seeds")
    shutil.copy(HOSTILE, root / "seeds" / HOSTILE.name)
    settings = Settings(root=root)
    build_index(settings)
    return settings.index_path


@pytest.fixture(scope="module")
def app_url(app_index: Path) -> Iterator[str]:
    with serve(app_index) as url:
        yield url


def ask(url: str, question: str, chat: list | None = None, **kw):
    from gradio_client import Client

    client = kw.pop("client", None) or Client(url, verbose=False)
    generator = kw.get("generator", "extractive")
    args = (question, chat or [], kw.get("k", 5), kw.get("languages", ALL), generator)
    text, new_chat, panel, answer = client.predict(*args, api_name="/ask")
    unchanged = isinstance(answer, dict) and answer.get("__type__") == "update"
    return new_chat, panel, None if unchanged else answer


def _say(role: str, text: str) -> dict:
    """A chat message as Gradio 6 sends it: content is a list of blocks."""
    return {"role": role, "content": [{"type": "text", "text": text}]}


def _content(message: dict) -> str:
    content = message["content"]
    if isinstance(content, str):
        return content
    return " ".join(c.get("text", "") for c in content if isinstance(c, dict))


@pytest.mark.parametrize(
    "question, language",
    [
        ("Varför stöder Ryssland Lukasjenko?", "sv"),
        ("Hva krevde Erna Solberg etter møtet med Svetlana Tikhanovskaja?", "nb"),
        ("How many people did police detain at the Sunday protests?", "en"),
    ],
)
def test_a_question_in_each_language_gets_a_cited_answer(app_url, question, language):
    chat, panel, answer = ask(app_url, question)
    assert answer["question_language"] == language
    assert not answer["abstained"] and answer["citations"]
    html = _content(chat[-1])
    for c in answer["citations"]:
        assert f"[{c['n']}]" in answer["text"]
        assert "<mark>" in html and "Sources" in html
    assert panel.count('class="hit"') == len(answer["hits"])
    assert "score" in panel


def test_a_follow_up_is_searched_with_its_question(app_url):
    first, _, _ = ask(app_url, "Why did Russia back Lukashenko?")
    chat, panel, answer = ask(app_url, "And what did the EU do?", first)
    assert answer["search_query"] == "Why did Russia back Lukashenko? And what did the EU do?"
    notes = [m for m in chat if m.get("metadata") and m["metadata"].get("title")]
    assert notes and "standalone" in notes[-1]["metadata"]["title"]
    assert "Searched for" in panel and answer["citations"]


def test_an_unanswerable_question_abstains_and_shows_the_closest_passages(app_url):
    chat, panel, answer = ask(app_url, "Hur lagar man köttbullar?")
    assert answer["abstained"] and not answer["citations"]
    html = _content(chat[-1])
    assert "Artiklarna ger inget svar" in html and "Closest passages" in html
    assert answer["hits"]


def test_an_uncertain_answer_says_so_in_the_question_language(app_url):
    chat, _, answer = ask(app_url, "Hur stor var Belarus BNP år 2021?")
    assert answer["warned"] and not answer["abstained"] and answer["citations"]
    assert 0.0 <= answer["confidence"] <= 1.0
    html = _content(chat[-1])
    assert '<p class="note warning">Artiklarna svarar kanske inte direkt' in html
    assert "Sources" in html


def test_browser_shows_the_warning_above_the_quotes(browser, app_url):
    page = browser.new_page()
    _ask_in_page(page, app_url, "Where was Alexander Lukashenko born?")
    warning = page.locator("#chat .warning").first
    warning.wait_for(timeout=60_000)
    assert "may not answer this directly" in warning.inner_text()
    page.locator("#chat sup.cite").first.wait_for(timeout=60_000)
    page.close()


def test_a_hostile_history_from_the_client_is_bounded_before_any_work(app_url):
    """The chat comes from the client: a 300,000-character earlier question is
    not searched with (it could not have been asked), a chain of 2,000
    follow-ups keeps only its recent questions and the page only its last
    turns (Gradio itself refuses messages of the wrong shape)."""
    from rag.app.webapp import MAX_CHAT_MESSAGES

    huge = [
        _say("user", "Lukashenko " * 30_000),
        _say("assistant", "a"),
    ]
    _, _, answer = ask(app_url, "And what did the EU do?", huge)
    assert answer and answer["search_query"] == "And what did the EU do?"
    chain = [_say("user", "Why did Russia back Lukashenko?")]
    for _ in range(2000):
        chain += [_say("assistant", "b"), _say("user", "And then?")]
    chain.append(_say("assistant", "b"))
    new_chat, _, answer = ask(app_url, "And the EU?", chain)
    assert answer and answer["search_query"].endswith("And the EU?")
    assert len(answer["search_query"]) < 4000
    assert len(new_chat) <= MAX_CHAT_MESSAGES + 3  # + the question, the note, the answer
    assert _content(new_chat[-1]) and "And the EU?" in json.dumps(new_chat[-3:])


def test_a_request_larger_than_any_conversation_is_refused_before_it_is_read(app_url):
    import httpx

    url = f"{app_url.rstrip('/')}/gradio_api/call/ask"
    turn = _say("user", "And then? " * 10)
    body = {"data": ["And then?", [turn] * 40_000, 5, ALL, "extractive"]}  # ~5 MB
    refused = httpx.post(url, json=body, timeout=60)
    assert refused.status_code == 413, refused.status_code
    assert "too large" in refused.text
    chat, _, answer = ask(app_url, "Why did Russia back Lukashenko?")
    assert answer and answer["hits"]


def test_hostile_histories_beside_normal_questions_leave_them_answered(app_url):
    """A bounded load test on loopback: four clients send the costliest
    requests an attacker can (a 300,000-character history, 2,000 follow-ups,
    the largest request the app reads, one it refuses) while a user asks ten
    questions; every question is answered and every attack has its bounded
    outcome. Latency under attack is measured by bench/bench_load.py."""
    import threading

    import httpx

    attacks = {
        "huge": [_say("user", "Lukashenko " * 27_000), _say("assistant", "a")],
        "chain": [_say("user", "And then?"), _say("assistant", "b")] * 2000,
        "largest": [_say("user", "a")] * 15_000,
        "refused": [_say("user", "a")] * 100_000,
    }
    url = f"{app_url.rstrip('/')}/gradio_api/call/ask"
    outcomes: dict[str, set] = {name: set() for name in attacks}
    stop = threading.Event()

    def attack(name: str) -> None:
        with httpx.Client(timeout=120) as client:
            while not stop.is_set():
                body = {"data": ["And then?", attacks[name], 5, ALL, "extractive"]}
                r = client.post(url, json=body)
                if r.status_code != 200:
                    outcomes[name].add(r.status_code)
                    continue
                event = r.json()["event_id"]
                with client.stream("GET", f"{url}/{event}") as stream:
                    kinds = [
                        line.split(":", 1)[1].strip()
                        for line in stream.iter_lines()
                        if line.startswith("event:")
                    ]
                outcomes[name].add(kinds[-1] if kinds else "none")

    threads = [threading.Thread(target=attack, args=(name,)) for name in attacks]
    for t in threads:
        t.start()
    try:
        answers = [ask(app_url, q)[2] for q in TEN_QUESTIONS]
    finally:
        stop.set()
        for t in threads:
            t.join(timeout=180)
    assert all(a and a["hits"] for a in answers)
    assert outcomes == {
        "huge": {"complete"},
        "chain": {"complete"},
        "largest": {"complete"},
        "refused": {413},
    }


def test_the_upload_route_takes_files_up_to_the_librarys_limit(app_index):
    import httpx

    limits = {"RAG_APP_UPLOAD_BYTES": "100000", "RAG_APP_UPLOAD_FILES": "2"}
    with serve(app_index, **limits) as url:
        route = f"{url}gradio_api/upload"
        big = httpx.post(route, files={"files": ("a.txt", b"x" * 200_000)}, timeout=30)
        assert big.status_code >= 400, big.status_code
        fits = httpx.post(route, files={"files": ("a.txt", b"x" * 90_000)}, timeout=30)
        assert fits.status_code == 200, fits.status_code
    # without the library the app takes no files: nothing larger than a question
    with serve(app_index, RAG_APP_LIBRARY="0") as url:
        route = f"{url}gradio_api/upload"
        big = httpx.post(route, files={"files": ("a.txt", b"x" * 90_000)}, timeout=30)
        assert big.status_code >= 400, big.status_code
        small = httpx.post(route, files={"files": ("a.txt", b"x" * 1000)}, timeout=30)
        assert small.status_code == 200, small.status_code


def test_a_huge_question_gets_a_clear_message(app_url):
    chat, _, answer = ask(app_url, "Lukashenko " * 500)
    assert answer is None
    assert "2000" in _content(chat[-1]) or "2,000" in _content(chat[-1])


def test_a_refused_question_is_not_what_a_follow_up_leans_on(app_url):
    chat, _, _ = ask(app_url, "Lukashenko " * 500)
    chat, panel, answer = ask(app_url, "And what did the EU do?", chat=chat)
    assert answer["search_query"] == "And what did the EU do?"  # not joined to the refused one


def test_ten_users_at_once_all_get_answers(app_url):
    from gradio_client import Client

    questions = TEN_QUESTIONS
    clients = [Client(app_url, verbose=False) for _ in questions]
    with ThreadPoolExecutor(max_workers=len(questions)) as pool:
        results = list(
            pool.map(
                lambda qc: ask(app_url, qc[0], client=qc[1]), zip(questions, clients, strict=True)
            )
        )
    assert len(results) == 10
    assert all(answer and answer["hits"] for _, _, answer in results)


@pytest.mark.slow
def test_the_running_app_answers_from_an_article_added_after_it_started(app_index, tmp_path):
    from rag.ingest.index import Index

    index = tmp_path / "index"
    shutil.copytree(app_index, index, symlinks=True)
    article = tmp_path / "kaliningrad.txt"
    article.write_text(
        "Kaliningrad ferry resumes\n\nThe ferry between Kaliningrad and Ust-Luga carried "
        "4,200 trucks in March, the port authority said on Tuesday."
    )
    question = "How many trucks did the Kaliningrad ferry carry in March?"
    with serve(index) as url:
        _, _, before = ask(url, question)
        assert "4,200" not in json.dumps(before)
        Index(Settings(root=tmp_path, index_dir=index)).add(article)
        _, _, after = ask(url, question)
        assert "4,200 trucks" in after["text"]
        assert after["citations"][0]["doc_id"] == "kaliningrad"
        Index(Settings(root=tmp_path, index_dir=index)).remove("kaliningrad")
        _, _, gone = ask(url, question)
        assert "4,200" not in json.dumps(gone)


def test_missing_index_is_a_message_on_the_page(tmp_path):
    with serve(tmp_path / "no-index") as url:
        with urllib.request.urlopen(url) as page:
            assert page.status == 200
        chat, _, answer = ask(url, "Why did Russia back Lukashenko?")
        assert answer is None
        assert "rag ingest" in _content(chat[-1])


def test_a_password_keeps_strangers_out(app_index):
    from gradio_client import Client

    with serve(app_index, RAG_APP_PASSWORD="s3cret") as url:
        from gradio_client.exceptions import AuthenticationError

        with pytest.raises(AuthenticationError):
            Client(url, verbose=False)
        import httpx

        # the page's description, its API and the upload route are closed too
        for path in ("config", "gradio_api/info"):
            assert httpx.get(url + path, timeout=30).status_code in (401, 403), path
        upload = httpx.post(url + "gradio_api/upload", files={"files": ("a.txt", b"x")})
        assert upload.status_code in (401, 403)
        client = Client(url, auth=("rag", "s3cret"), verbose=False)
        _, _, answer = ask(url, "Why did Russia back Lukashenko?", client=client)
        assert answer["citations"]


def test_a_language_models_answer_is_checked_before_the_page_shows_it(app_index):
    """Gemma 3 270M writes the answer (a base model: its claims mostly fail
    the check); what the page shows is still only supported, cited text."""
    from rag.answers.generation import GEMMA

    with serve(app_index, RAG_MAX_NEW_TOKENS="32") as url:
        chat, _, answer = ask(url, "How many people did police detain?", generator=GEMMA)
        assert answer["generator"] == GEMMA
        assert answer["claims"] or answer["fallback"]
        shown = {int(n) for n in re.findall(r"\[(\d+)\]", answer["text"])}
        assert shown == {c["n"] for c in answer["citations"]}
        assert "Sources" in _content(chat[-1]) or answer["abstained"]


# --- in a real browser ---------------------------------------------------------


@pytest.fixture(scope="module")
def browser():
    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} is missing: scripts/setup.sh installs Debian's chromium")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(
            executable_path=CHROMIUM,
            args=["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"],
        )
        yield b
        b.close()


def _ask_in_page(page, url: str, question: str) -> None:
    page.goto(url)
    box = page.locator("#question textarea")
    box.fill(question)
    box.press("Enter")


def test_browser_shows_the_answer_with_highlighted_sources(browser, app_url):
    page = browser.new_page(viewport={"width": 1400, "height": 1000})
    _ask_in_page(page, app_url, "Why did Russia back Lukashenko?")
    mark = page.locator("#chat mark").first
    mark.wait_for(timeout=60_000)
    assert len(mark.inner_text()) > 20
    assert page.locator("#chat sup.cite").count() >= 1
    assert page.locator("#passages .hit").count() == 5
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "app.png"), full_page=True)
    page.close()


def test_browser_says_a_pasted_question_is_too_long_and_keeps_it(browser, app_url):
    """The page used to cut a long paste at 2,000 characters without a word."""
    page = browser.new_page(viewport={"width": 1400, "height": 1000})
    long_question = "Why did Russia back Lukashenko? " * 100  # 3,200 characters
    _ask_in_page(page, app_url, long_question)
    notice = page.locator("#chat .notice").first
    notice.wait_for(timeout=60_000)
    assert "2000" in notice.inner_text() or "2,000" in notice.inner_text()
    assert page.locator("#question textarea").input_value() == long_question
    page.close()


def test_browser_renders_a_hostile_article_as_text_and_loads_nothing(browser, app_url):
    page = browser.new_page(viewport={"width": 1400, "height": 1000})
    outside = []
    page.on("request", lambda r: outside.append(r.url) if "127.0.0.1" not in r.url else None)
    _ask_in_page(page, app_url, "How big was the loan Lukashenko asked the Kremlin for?")
    page.locator("#chat mark").first.wait_for(timeout=60_000)
    page.wait_for_timeout(1000)
    chat_text = page.locator("#chat").inner_text() + page.locator("#passages").inner_text()
    assert "<script>" in chat_text or "<img src=" in chat_text  # shown as text
    for tag in ("script", "img", "iframe", "style"):  # none inside answers, sources, passages
        where = f"#chat .answer {tag}, #chat .source {tag}, #passages {tag}"
        assert page.locator(where).count() == 0, tag
    assert page.locator("#chat .source").count() >= 1
    assert page.locator("#chat a[href^='javascript'], #passages a").count() == 0
    assert page.evaluate("window.__xss") is None
    assert outside == []
    page.screenshot(path=str(ARTIFACTS / "app-hostile.png"), full_page=True)
    page.close()


@pytest.fixture(scope="module")
def news_app_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The app over the seeds and the dated news of tests/data/news."""
    root = tmp_path_factory.mktemp("newsapp")
    shutil.copytree(SEEDS, root / "seeds")
    for f in (ROOT / "tests" / "data" / "news").iterdir():
        shutil.copy(f, root / "seeds" / f.name)
    settings = Settings(root=root)
    build_index(settings)
    with serve(settings.index_path) as url:
        yield url


def test_browser_timeline_puts_dated_passages_on_a_time_axis(browser, news_app_url):
    page = browser.new_page(viewport={"width": 1400, "height": 1000})
    _ask_in_page(page, news_app_url, "What happened between Lukashenko and his opponents?")
    page.locator("#chat mark").first.wait_for(timeout=60_000)
    page.get_by_role("tab", name="Timeline").click()
    chart = page.locator("#timeline svg.timeline")
    chart.wait_for(timeout=60_000)
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "app-timeline.png"), full_page=True)
    points = page.locator("#timeline svg.timeline a.event")
    assert points.count() >= 3
    # the axis is labelled with the months or years it spans
    labels = page.locator("#timeline svg.timeline text").all_text_contents()
    assert any(re.search(r"\b20\d\d\b", t) for t in labels), labels
    dates = [d.split(" · ")[0] for d in page.locator("#timeline li.event-item b").all_inner_texts()]
    assert dates == sorted(dates)
    # a point links to its source: the article's page when it has a URL, else its entry
    href = points.first.get_attribute("href")
    assert href.startswith(("https://", "#event-"))
    page.close()


def _type_into(box, text: str) -> None:
    """Type into a box the page has just shown, and wait until the page keeps it.

    A box in a just-opened accordion mounts and then takes its value from the
    app; on a loaded machine a fill can land in between and be reset (CI saw
    the date settings dropped once). A person types after the box is there;
    so does this: fill, leave the box, and fill again until the value stays.
    """
    from playwright.sync_api import expect

    box.wait_for(state="visible")
    for _ in range(5):
        box.fill(text)
        box.press("Tab")
        box.page.wait_for_timeout(200)
        if box.input_value() == text:
            break
    expect(box).to_have_value(text)


def test_browser_date_settings_filter_the_answer(browser, news_app_url):
    page = browser.new_page(viewport={"width": 1400, "height": 1000})
    from playwright.sync_api import expect

    page.goto(news_app_url)
    page.locator("button.label-wrap", has_text="Settings").click()
    since = page.locator("#since textarea, #since input").first
    _type_into(since, "2021")
    box = page.locator("#question textarea")
    box.fill("What did Lukashenko do?")
    expect(since).to_have_value("2021")
    with page.expect_request(lambda r: "/queue/join" in r.url) as sent:
        box.press("Enter")
    # the page sent the date (a failure here is the page's, not the filter's)
    assert '"2021"' in (sent.value.post_data or ""), sent.value.post_data
    page.locator("#chat .source").first.wait_for(timeout=60_000)
    heads = page.locator("#chat .source-head").all_inner_texts()
    found = [re.search(r"(\d{4})(?:-\d\d){0,2}$", h.strip()) for h in heads]
    assert heads and all(m and m.group(1) >= "2021" for m in found), heads
    page.locator("#since textarea, #since input").first.fill("14 Sept")
    box.fill("What did Lukashenko do?")
    box.press("Enter")
    notice = page.locator("#chat .notice").last
    notice.wait_for(timeout=60_000)
    assert "YYYY" in notice.inner_text()
    page.close()


FERRY = (
    "Kaliningrad ferry resumes\n\nThe ferry between Kaliningrad and Ust-Luga carried 4,200 "
    "trucks in March, the port authority said on Tuesday."
)


@pytest.fixture(scope="module")
def library_app(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Path]]:
    """The app over the seeds, behind a password, its library in a folder of its own."""
    root = tmp_path_factory.mktemp("libraryapp")
    shutil.copytree(SEEDS, root / "seeds")
    settings = Settings(root=root)
    build_index(settings)
    env = {"RAG_SEEDS_DIR": str(root / "seeds"), "RAG_APP_PASSWORD": "s3cret"}
    with serve(settings.index_path, **env) as url:
        yield url, root / "seeds"


def test_browser_library_adds_lists_and_removes_articles_behind_the_login(
    browser, library_app, tmp_path
):
    url, seeds = library_app
    (tmp_path / "kaliningrad.txt").write_text(FERRY, encoding="utf-8")
    page_file = ROOT / "tests" / "data" / "pages" / "sv_installation.html"
    page = browser.new_page(viewport={"width": 1400, "height": 1000})
    page.goto(url)
    page.locator("input").first.fill("rag")
    page.locator("input[type=password]").fill("s3cret")
    page.get_by_role("button", name="Login").click()
    page.get_by_role("tab", name="Library").click()
    summary = page.locator("#library-summary")
    summary.get_by_text("5 articles").wait_for(timeout=30_000)
    assert page.locator("#library-table").get_by_test_id("cell-4-0").is_visible()
    # several files at once (other types are refused: tests/test_library.py)
    files = [tmp_path / "kaliningrad.txt", page_file]
    page.locator("#library-upload input[type=file]").set_input_files([str(f) for f in files])
    page.locator("#library-add").click()
    status = page.locator("#library-status")
    status.get_by_text("Added 2").wait_for(timeout=120_000)
    summary.get_by_text("7 articles").wait_for(timeout=30_000)
    assert sorted(p.name for p in (seeds / "library").iterdir()) == [
        "kaliningrad.txt",
        "sv_installation.html",
    ]
    # the running app answers from it at once, without a restart
    from gradio_client import Client

    client = Client(url, auth=("rag", "s3cret"), verbose=False)
    _, _, answer = ask(url, "How many trucks did the Kaliningrad ferry carry?", client=client)
    assert answer["citations"][0]["doc_id"] == "library/kaliningrad"
    # searched, picked by a click, removed after a confirmation
    search = page.locator("#library-search textarea, #library-search input").first
    search.fill("kaliningrad")
    search.press("Enter")
    summary.get_by_text("1 match").wait_for(timeout=30_000)
    page.locator("#library-table").get_by_test_id("cell-0-0").click()
    from playwright.sync_api import expect

    picked = page.locator("#library-remove-ids textarea")
    expect(picked).to_have_value("library/kaliningrad", timeout=30_000)  # a round trip
    page.locator("#library-remove").click()
    page.locator("#library-confirm").click()
    status.get_by_text("Removed 1 article").wait_for(timeout=60_000)
    summary.get_by_text("6 articles").wait_for(timeout=30_000)
    assert (seeds / ".removed" / "library" / "kaliningrad.txt").read_text() == FERRY
    _, _, gone = ask(url, "How many trucks did the Kaliningrad ferry carry?", client=client)
    assert "4,200" not in json.dumps(gone)


def test_the_library_endpoints_add_and_remove_for_api_clients(library_app, tmp_path):
    from gradio_client import Client, handle_file

    url, seeds = library_app
    client = Client(url, auth=("rag", "s3cret"), verbose=False)
    article = tmp_path / "grodno.txt"
    article.write_text(
        "Grodno bridge reopens\n\nThe bridge in Grodno reopened on Monday after 14 months "
        "of repairs, the city council said.",
        encoding="utf-8",
    )
    status, table, summary = client.predict(
        [handle_file(str(article))], "grodno", "newest", api_name="/library_add"
    )
    assert "Added 1" in status, status
    assert [row[5] for row in table["data"]] == ["library/grodno"], table
    assert "1 match" in summary
    # (the confirm button's update is the page's, not part of the API's outputs)
    status, picked, table, summary = client.predict(
        "library/grodno", "grodno", "newest", api_name="/library_remove"
    )
    assert "Removed 1 article(s): library/grodno" in status and picked == ""
    assert all(len(row) < 6 or row[5] != "library/grodno" for row in table["data"])
    assert "0 match" in summary
    assert (seeds / ".removed" / "library" / "grodno.txt").exists()
