"""The `rag` command: output, exit codes, and no tracebacks on bad input."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from rag.cli import main
from rag.settings import Settings
from tests.conftest import TINY_ARTICLES, run_rag

run = run_rag


def test_help_lists_the_commands():
    proc = run("--help")
    assert proc.returncode == 0
    for command in ("ingest", "search", "status"):
        assert command in proc.stdout


@pytest.mark.parametrize(
    "args, code, words",
    [
        (["search", ""], 2, "empty"),
        (["search", "x" * 100_000], 2, "100,000 characters"),
        (["search", "why\x1b[31m now"], 2, "control character"),
        (["search", "Belarus", "--k", "0"], 2, "at least 1"),
        (["search", "Belarus", "--k", "many"], 2, "not a whole number"),
        (["frobnicate"], 2, "invalid choice"),
    ],
)
def test_bad_usage_exits_2_with_a_message(tmp_path: Path, args, code, words):
    proc = run(*args, "--index", str(tmp_path / "none")) if args[0] == "search" else run(*args)
    assert proc.returncode == code
    assert words in proc.stderr


def test_missing_index_exits_3_and_says_to_ingest(tmp_path: Path):
    proc = run("search", "Why did Russia back Lukashenko?", "--index", str(tmp_path / "none"))
    assert proc.returncode == 3
    assert "rag ingest" in proc.stderr


def test_status_without_index_exits_3(tmp_path: Path):
    assert run("status", "--index", str(tmp_path / "none")).returncode == 3


def test_ingest_missing_directory_exits_2(tmp_path: Path):
    proc = run("ingest", "--seeds", str(tmp_path / "nope"), "--index", str(tmp_path / "i"))
    assert proc.returncode == 2
    assert "does not exist" in proc.stderr


def test_ingest_with_nothing_readable_exits_4(tmp_path: Path):
    seeds = tmp_path / "seeds"
    seeds.mkdir()
    (seeds / "empty.txt").write_text("")
    (seeds / "binary.txt").write_bytes(b"\x00\x01\x02" * 100)
    proc = run("ingest", "--seeds", str(seeds), "--index", str(tmp_path / "i"))
    assert proc.returncode == 4
    assert "no readable articles" in proc.stderr
    assert "empty.txt" in proc.stderr and "binary.txt" in proc.stderr


@pytest.mark.model
def test_ingest_then_search_with_the_real_model(tmp_path: Path):
    seeds = tmp_path / "seeds"
    seeds.mkdir()
    for name, text in TINY_ARTICLES.items():
        (seeds / name).write_text(text, encoding="utf-8")
    (seeds / "broken.txt").write_bytes(b"\x00\xff" * 50)
    index = str(tmp_path / "index")
    proc = run("ingest", "--seeds", str(seeds), "--index", index)
    assert proc.returncode == 0, proc.stderr
    assert "3 articles (1 en, 1 nb, 1 sv)" in proc.stdout
    # said once, on stderr: the report's skip list, not a warning as well
    assert proc.stderr.count("broken.txt") == 1 and "broken.txt" not in proc.stdout

    proc = run("search", "Vilka sanktioner förbereder EU?", "--index", index, "--json")
    assert proc.returncode == 0, proc.stderr
    payload = json.loads(proc.stdout)
    assert payload["question_language"] == "sv"
    hits = payload["hits"]
    assert 1 <= len(hits) <= 5
    assert set(hits[0]) >= {
        "chunk_id",
        "doc_id",
        "title",
        "language",
        "date",
        "text",
        "start",
        "end",
        "score",
    }
    assert "en_sanctions" in {h["doc_id"] for h in hits}

    proc = run("search", "sanctions", "--index", index, "--lang", "nb", "--k", "2")
    assert proc.returncode == 0
    assert "[nb]" in proc.stdout and "[en]" not in proc.stdout

    proc = run("status", "--index", index)
    assert proc.returncode == 0
    assert "3 articles, 3 passages" in proc.stdout
    proc = run("verify", "--index", index)
    assert proc.returncode == 0
    assert "match their checksums" in proc.stdout


@pytest.mark.model
def test_search_prints_numbered_hits(seed_index: Settings, capsys):
    code = main(
        ["search", "Why did Russia back Lukashenko?", "--index", str(seed_index.index_path)]
    )
    out = capsys.readouterr().out
    assert code == 0
    assert out.startswith("1. [")
    assert "\n5. [" in out


def test_index_built_with_another_embedder_exits_3(tiny_index: Settings):
    proc = run("search", "Belarus", "--index", str(tiny_index.index_path))
    assert proc.returncode == 3
    assert "fake-hash/1" in proc.stderr and "rag ingest" in proc.stderr


def test_python_dash_m_and_console_script_agree():
    script = Path(sys.executable).parent / "rag"
    proc = subprocess.run([str(script), "--help"], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0
    assert proc.stdout == run("--help").stdout.replace("__main__.py", "rag")


def test_a_file_given_as_the_index_is_bad_usage_for_every_command(tmp_path):
    """Reading or writing, a file where the index folder should be exits 2."""
    not_a_folder = tmp_path / "index.txt"
    not_a_folder.write_text("x", encoding="utf-8")
    article = tmp_path / "a.txt"
    article.write_text("Putin met Lukashenko in Sochi.", encoding="utf-8")
    for args in (
        ("add", str(article)),
        ("search", "Why did Russia back Lukashenko?"),
        ("status",),
        ("verify",),
    ):
        proc = run(*args, "--index", str(not_a_folder))
        assert proc.returncode == 2, (args, proc.stderr)
        assert "is a file, not a directory" in proc.stderr and "Traceback" not in proc.stderr


def test_an_index_folder_that_cannot_be_made_is_bad_usage_before_any_work(tmp_path):
    """A folder under a file (or on a read-only disk) cannot hold an index:
    said at once, naming it, before a single article is embedded."""
    blocker = tmp_path / "file.txt"
    blocker.write_text("x", encoding="utf-8")
    seeds = tmp_path / "seeds"
    seeds.mkdir()
    (seeds / "a.txt").write_text("Putin met Lukashenko in Sochi.", encoding="utf-8")
    where = blocker / "index"
    proc = run("ingest", "--seeds", str(seeds), "--index", str(where))
    assert proc.returncode == 2, proc.stderr
    assert f"cannot write an index in {where}" in proc.stderr
    assert "unexpected" not in proc.stderr and "Embedding" not in proc.stderr


def test_help_lists_the_exit_codes_and_every_command_says_what_it_does():
    import argparse

    from rag.cli import _parser

    proc = run("--help")
    assert "exit codes:" in proc.stdout and "130" in proc.stdout and "  8 " in proc.stdout
    parser = _parser()
    [sub] = [a for a in parser._actions if isinstance(a, argparse._SubParsersAction)]
    quiet = [name for name, p in sub.choices.items() if not (p.description or "").strip()]
    assert quiet == []


def test_no_color_and_the_color_option_decide_the_escape_codes(monkeypatch):
    import io

    from rag.cli import use_color

    class Terminal(io.StringIO):
        def isatty(self) -> bool:
            return True

    monkeypatch.delenv("NO_COLOR", raising=False)
    assert use_color("auto", Terminal()) and not use_color("auto", io.StringIO())
    monkeypatch.setenv("NO_COLOR", "1")
    assert not use_color("auto", Terminal()) and use_color("always", io.StringIO())
    monkeypatch.setenv("NO_COLOR", "")  # set but empty: no effect (no-color.org)
    assert use_color("auto", Terminal())


@pytest.mark.model
def test_ask_prints_escape_codes_only_when_asked(seed_index: Settings):
    question = "How many people did police detain at the Sunday protests?"
    index = str(seed_index.index_path)
    piped = run("ask", question, "--index", index)
    assert "\x1b[" not in piped.stdout and "»" in piped.stdout
    forced = run("--color", "always", "ask", question, "--index", index)
    assert "\x1b[1m" in forced.stdout


def test_list_shows_the_indexed_articles_searched_and_sorted(tiny_index):
    index = str(tiny_index.index_path)
    proc = run("list", "--index", index, "--sort", "title")
    assert proc.returncode == 0, proc.stderr
    assert len(proc.stdout.splitlines()) == 3 and "3 of 3 articles" in proc.stderr
    listed = json.loads(run("list", "--index", index, "--sort", "title", "--json").stdout)
    titles = [a["title"] for a in listed["articles"]]
    assert len(titles) == 3 and titles == sorted(titles, key=str.casefold)
    assert all(a["title"] in proc.stdout for a in listed["articles"])
    found = json.loads(run("list", "sanctions", "--index", index, "--json").stdout)
    assert found["matched"] == 1 and found["articles"][0]["id"] == "en_sanctions"
    assert found["articles"][0]["passages"] >= 1
    assert run("list", "--index", index, "--limit", "0").returncode == 2
    assert run("list", "--index", str(tiny_index.index_path.parent / "none")).returncode == 3
