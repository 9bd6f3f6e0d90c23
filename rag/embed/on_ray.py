"""Embedding on a Ray cluster: an `Embedder` whose documents go to Ray actors.

Embedding is 99.5-99.8% of ingest time (docs/PERFORMANCE.md), so this is the
part `rag ingest --ray` spreads: each actor loads the embedder the spec names
once, with its own threads, and embeds blocks of texts; the driver reads the
files, cleans and chunks (pure and fast), reuses earlier vectors, and writes
to whichever store `settings.store` names. Questions are embedded on the
driver (one at a time, where a round trip would cost more than the work).

    rag ingest --ray                       # a local Ray instance on this machine
    rag ingest --ray ray://head:10001      # a cluster (rag installed on its workers)

Every worker needs rag and the model package installed (the same versions as
the driver: the embedder id is checked against the index's).
"""

from __future__ import annotations

import contextlib
import logging
import os
import sys
from collections.abc import Iterator, Sequence

import numpy as np

from rag.embed.base import make_embedder
from rag.errors import EmbedderError, StoreUnavailableError, UsageError

log = logging.getLogger(__name__)

BLOCK = 256  # texts per actor call: large enough to hide a round trip (~1 ms)
BATCH_TEXTS = 8192  # texts the ingest hands over at a time (rag.ingest.pipeline.embed_texts)
# seconds to wait for the first worker (a busy cluster may have no free CPU)
START_TIMEOUT = float(os.environ.get("RAG_RAY_START_TIMEOUT", "300"))


class RayEmbedder:
    """`spec`'s embedder, run by `workers` Ray actors with `threads` threads each.

    `address`: None or "" starts a local Ray instance (the machine's cores);
    "auto" joins the cluster this machine belongs to; "ray://host:10001" or
    "host:6379" a remote one. `workers` None: the cluster's CPUs / threads.
    """

    batch_texts = BATCH_TEXTS

    def __init__(
        self,
        spec: str,
        threads: int = 2,
        address: str | None = None,
        workers: int | None = None,
    ) -> None:
        self.spec = spec
        self.threads = max(1, threads)
        self.address = address or None
        self.workers = workers
        self._actors: list = []
        self._pool = None
        self._local = None
        self._info: tuple[str, int] | None = None

    # ------------------------------------------------------------ Embedder

    @property
    def id(self) -> str:
        return self._describe()[0]

    @property
    def dim(self) -> int:
        return self._describe()[1]

    def embed_queries(self, texts: Sequence[str]) -> np.ndarray:
        if self._local is None:
            self._local = make_embedder(self.spec, self.threads)
        return self._local.embed_queries(texts)

    def embed_documents(self, texts: Sequence[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        pool = self._start()
        blocks = [list(texts[i : i + BLOCK]) for i in range(0, len(texts), BLOCK)]
        try:
            parts = list(pool.map(lambda actor, block: actor.embed.remote(block), blocks))
        except Exception as exc:  # a worker that died or could not load the model
            raise EmbedderError(f"embedding on Ray failed: {_reason(exc)}") from None
        return np.concatenate(parts).astype(np.float32)

    # ------------------------------------------------------------ Ray

    def _describe(self) -> tuple[str, int]:
        if self._info is None:
            self._start()
            import ray

            try:
                self._info = tuple(
                    ray.get(self._actors[0].describe.remote(), timeout=START_TIMEOUT)
                )
            except ray.exceptions.GetTimeoutError:
                free = int(ray.available_resources().get("CPU", 0))
                raise EmbedderError(
                    f"Ray did not start a worker with {self.threads} CPU(s) within "
                    f"{START_TIMEOUT:.0f} s ({free} of the cluster's CPUs free). Wait for "
                    f"other jobs, or ask for fewer threads (RAG_THREADS)."
                ) from None
            except Exception as exc:
                raise EmbedderError(
                    f"the Ray workers cannot load embedder {self.spec!r}: {_reason(exc)}"
                ) from None
        return self._info

    def _start(self):
        if self._pool is not None:
            return self._pool
        ray = _ray()
        _connect(ray, self.address)
        cpus = int(ray.cluster_resources().get("CPU", 1))
        workers = self.workers or max(1, cpus // self.threads)
        if workers * self.threads > cpus:
            raise UsageError(
                f"{workers} Ray workers with {self.threads} threads each need "
                f"{workers * self.threads} CPUs; the cluster has {cpus}"
            )
        actor = ray.remote(num_cpus=self.threads)(_EmbedActor)
        self._actors = [actor.remote(self.spec, self.threads) for _ in range(workers)]
        from ray.util import ActorPool

        self._pool = ActorPool(self._actors)
        log.info("embedding with %d Ray worker(s), %d thread(s) each", workers, self.threads)
        return self._pool

    def close(self) -> None:
        """Stop the actors (the Ray instance stays up for the process)."""
        if self._actors:
            import ray

            for a in self._actors:
                ray.kill(a)
        self._actors, self._pool = [], None


class _EmbedActor:
    """One embedder, loaded once, in one Ray worker."""

    def __init__(self, spec: str, threads: int) -> None:
        os.environ.setdefault("HF_HUB_OFFLINE", "1")
        self.embedder = make_embedder(spec, threads)

    def describe(self) -> tuple[str, int]:
        return self.embedder.id, self.embedder.dim

    def embed(self, texts: list[str]) -> np.ndarray:
        return self.embedder.embed_documents(texts)


def _ray():
    # gRPC's core logs each fork Ray makes at INFO level; nothing is wrong.
    os.environ.setdefault("GRPC_VERBOSITY", "ERROR")
    os.environ.setdefault("RAY_BACKEND_LOG_LEVEL", "fatal")  # its retries, each a warning
    try:
        import ray
    except ImportError:
        raise UsageError(
            "`--ray` needs Ray: pip install 'ray[data]' (scripts/setup.sh installs it)"
        ) from None
    return ray


def _connect(ray, address: str | None) -> None:
    if ray.is_initialized():
        return
    if address and address != "auto":
        _reachable(address)
    # what the workers need to load models offline; no RAG_* (it may hold tokens)
    env = {k: v for k, v in os.environ.items() if k.startswith(("HF_", "OMP_"))}
    env.setdefault("HF_HUB_OFFLINE", "1")
    try:
        with _quiet_stderr(bool(address)):  # Ray's core prints each retry to fd 2
            ray.init(
                address=address,
                ignore_reinit_error=True,
                include_dashboard=False,
                log_to_driver=False,
                logging_level=logging.ERROR,
                configure_logging=True,
                runtime_env={"env_vars": env},
            )
    except (ConnectionError, TimeoutError, ValueError, RuntimeError) as exc:
        where = address or "a local instance"
        raise StoreUnavailableError(
            f"cannot reach Ray at {where}: {_reason(exc)}. Give the head's address "
            f"(ray://HOST:10001 or HOST:6379), or no address for a local instance."
        ) from None


@contextlib.contextmanager
def _quiet_stderr(enabled: bool) -> Iterator[None]:
    """File descriptor 2 pointed at /dev/null while the block runs (C++ code
    writes there directly); a failure is reported by the caller."""
    if not enabled:
        yield
        return
    sys.stderr.flush()
    saved = os.dup(2)
    with open(os.devnull, "w") as null:
        os.dup2(null.fileno(), 2)
        try:
            yield
        finally:
            os.dup2(saved, 2)
            os.close(saved)


def _reachable(address: str) -> None:
    """Fail in seconds, not after Ray's minute of retries, when nothing listens."""
    import socket

    hostport = address.split("://", 1)[-1].rstrip("/")
    host, _, port = hostport.rpartition(":")
    if not host or not port.isdigit():
        raise UsageError(f"a Ray address is HOST:PORT or ray://HOST:PORT, not {address!r}")
    try:
        socket.create_connection((host, int(port)), timeout=5).close()
    except OSError as exc:
        raise StoreUnavailableError(
            f"cannot reach Ray at {address}: {exc.strerror or exc}. Check the address and that "
            f"the cluster is running."
        ) from None


def _reason(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return text[-1][:300] if text else type(exc).__name__
