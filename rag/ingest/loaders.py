"""Reading articles from disk: .txt, .md and .jsonl files, saved web pages
(.html, .htm) and RSS/Atom feeds (.xml, .rss, .atom) under a directory.
Pages and feeds go through `rag.readers` (an extractor finds their main text
and metadata); text files through the cleaner at ingest.

I/O at the edge. Decodes UTF-8, falls back to a detected charset with a
warning, and skips binary, empty, undecodable or oversized files, each
returned as a `Skipped` record that names the file and says why (the caller
reports them, once; they are not logged as well). One bad file (or one bad
JSONL line) never stops the rest.
"""

from __future__ import annotations

import json
import logging
import re
import unicodedata
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from rag.records import Document
from rag.text.language import known_codes, normalize_code

log = logging.getLogger(__name__)

HTML_SUFFIXES = (".html", ".htm")
FEED_SUFFIXES = (".xml", ".rss", ".atom")
SUFFIXES = (".txt", ".md", ".jsonl", *HTML_SUFFIXES, *FEED_SUFFIXES)
# Files that hold many articles, each with an id of its own
MANY = (".jsonl", *FEED_SUFFIXES)
# Under a seeds folder: where the app's library moves the files of articles
# it removed (`rag.library`); never read, so a rebuild does not bring them back.
REMOVED = ".removed"
MAX_FILE_BYTES = 200 * 1024 * 1024
WESTERN = ("cp1252", "latin_1", "iso8859_15")


@dataclass(frozen=True)
class Skipped:
    """A file (or file:line) that was not ingested, and why."""

    source: str
    reason: str

    def __str__(self) -> str:
        """How every report says it: `source: reason`."""
        return f"{self.source}: {self.reason}"


def list_files(directory: Path) -> list[Path]:
    """The article files under `directory`, sorted (see `scan`)."""
    return scan(directory)[0]


def scan(directory: Path) -> tuple[list[Path], list[Skipped]]:
    """The article files under `directory` (`.txt`, `.md`, `.jsonl`), sorted,
    and the entries with those names that are skipped, each with its reason:
    hidden ones, links that lead out of the folder or nowhere, folders, and
    anything that is not a regular file (a FIFO would block the read)."""
    root = directory.resolve()
    files, skipped = [], []
    for p in sorted(directory.rglob("*")):
        if p.suffix.lower() not in SUFFIXES:
            continue
        relative = p.relative_to(directory)
        if relative.parts[0] == REMOVED:
            continue  # files of articles removed in the app's library: not read
        if any(part.startswith(".") for part in relative.parts):
            skipped.append(Skipped(printable(str(p)), "is hidden (its name starts with a dot)"))
            continue
        try:
            target = p.resolve(strict=True)
        except (OSError, RuntimeError):  # missing target, or a loop of links
            skipped.append(Skipped(printable(str(p)), "is a link that leads nowhere"))
            continue
        if p.is_symlink() and not target.is_relative_to(root):
            reason = f"is a link out of the folder (to {printable(str(target))}); not read"
            skipped.append(Skipped(printable(str(p)), reason))
        elif target.is_dir():
            skipped.append(Skipped(printable(str(p)), "is a folder, not a file"))
        elif not target.is_file():
            skipped.append(Skipped(printable(str(p)), "is not a regular file (a pipe or device)"))
        else:
            files.append(p)
    return files, skipped


def read_file(path: Path, directory: Path | None = None) -> tuple[list[Document], list[Skipped]]:
    """The documents in one file, and what was skipped in it. Ids are the file
    stem, relative to `directory` when given (see `document_id`)."""
    try:
        size = path.stat().st_size
        if size > MAX_FILE_BYTES:
            return [], [_skip(path, f"too large ({size} bytes; limit {MAX_FILE_BYTES})")]
        data = path.read_bytes()
    except OSError as exc:
        return [], [_skip(path, f"cannot be read ({exc.strerror or exc})")]
    suffix = path.suffix.lower()
    doc_id = document_id(path, directory) if directory is not None else printable(path.stem)
    source = printable(str(path))
    if suffix in FEED_SUFFIXES and data.strip() and not _looks_binary(data):
        from rag.ingest.readers.feed import feed_documents

        # bytes: the feed's own XML declaration says how it is encoded
        docs, passed = feed_documents(data, stem=doc_id, source=source)
        return docs, [_skip(where, reason) for where, reason in passed]
    text, problem = decode(data, str(path))
    if text is None:
        return [], [_skip(path, problem or "cannot be decoded")]
    if not text.strip():
        return [], [_skip(path, "is empty")]
    if suffix == ".jsonl":
        return _read_jsonl(path, text)
    if suffix in HTML_SUFFIXES:
        from rag.ingest.readers.html import html_document

        page = html_document(text, doc_id=doc_id, source=source)
        if page is None:
            return [], [_skip(path, "is a web page without an article (no main text found)")]
        return [page], []
    return [Document(id=doc_id, text=text, source=source)], []


def document_id(path: Path, directory: Path) -> str:
    """The article id of a file: its stem, with its folder when it is nested,
    so that a/x.txt and b/x.txt stay distinct (see `printable`)."""
    relative = path.relative_to(directory).with_suffix("")
    return printable(relative.as_posix())


def printable(name: str) -> str:
    r"""A file name as text that is safe to store and to print: bytes that are
    not UTF-8 (which Python keeps as lone surrogates) and control or
    formatting characters (a newline, an ANSI escape) become %XX.

    >>> printable("caf\udce9"), printable("a\nb\x1b[31m")
    ('caf%E9', 'a%0Ab%1B[31m')
    """
    out = []
    for ch in name:
        code = ord(ch)
        if 0xDC80 <= code <= 0xDCFF:
            out.append(f"%{code - 0xDC00:02X}")
        elif unicodedata.category(ch) in ("Cc", "Cf", "Cs", "Zl", "Zp"):
            out.append(f"%{code:02X}")
        else:
            out.append(ch)
    return "".join(out)


def decode(data: bytes, name: str) -> tuple[str | None, str | None]:
    """(text, None) on success, (None, reason) for binary or undecodable data."""
    if not data.strip():
        return None, "is empty"
    if (wide := _utf16(data)) is not None:
        text = data.decode(wide, errors="replace").lstrip("\ufeff")
        if "\x00" in text:
            return None, "holds NUL characters"
        if _WORDS.search(text):  # text, not binary that happens to fit the pattern
            return text, None
    if _looks_binary(data):
        return None, "looks binary, not text"
    if b"\x00" in data:
        return None, "holds NUL bytes after its start: binary data, not text"
    try:
        return data.decode("utf-8-sig"), None
    except UnicodeDecodeError:
        pass
    from charset_normalizer import from_bytes

    matches = list(from_bytes(data))
    if not matches:
        return None, "is not UTF-8 and its encoding could not be detected"
    best = matches[0]
    # Among equally plausible guesses prefer the Western European code page:
    # Swedish, Norwegian and English legacy text is cp1252/latin-1, and a short
    # sample often fits cp1250 just as well ("å" would become "ĺ").
    for match in matches:
        if (
            match.encoding in WESTERN
            and match.chaos <= best.chaos
            and (match.coherence >= best.coherence)
        ):
            best = match
            break
    log.warning("%s: not UTF-8; decoded as %s", name, best.encoding)
    return str(best), None


_WORDS = re.compile(r"[^\W\d_]{2,}\s+[^\W\d_]{2,}")


def _utf16(data: bytes) -> str | None:
    """ "utf-16" when the data is UTF-16 text: a byte-order mark, or (without
    one) NUL in every other byte of a mostly ASCII text."""
    if data[:2] in (b"\xff\xfe", b"\xfe\xff"):
        return "utf-16"
    head = data[:4096]
    if len(head) >= 16:
        even, odd = head[0::2], head[1::2]
        if odd.count(0) > 0.7 * len(odd) and even.count(0) == 0:
            return "utf-16-le"
        if even.count(0) > 0.7 * len(even) and odd.count(0) == 0:
            return "utf-16-be"
    return None


def _looks_binary(data: bytes) -> bool:
    head = data[:8192]
    if b"\x00" in head:
        return True
    controls = sum(1 for b in head if b < 32 and b not in (9, 10, 12, 13))
    return controls > len(head) * 0.1


def _read_jsonl(path: Path, text: str) -> tuple[list[Document], list[Skipped]]:
    docs: list[Document] = []
    skipped: list[Skipped] = []
    # split on "\n" only: JSON strings may hold U+2028 and other line breaks
    for lineno, line in enumerate(text.split("\n"), start=1):
        if not line.strip():
            continue
        where = f"{path}:{lineno}"
        try:
            obj = json.loads(line)
        except json.JSONDecodeError as exc:
            skipped.append(_skip(where, f"is not valid JSON ({exc.msg})"))
            continue
        if (
            not isinstance(obj, dict)
            or not isinstance(obj.get("text"), str)
            or not obj["text"].strip()
        ):
            skipped.append(_skip(where, 'has no "text" string'))
            continue
        fields = {k: obj.get(k) for k in ("title", "date", "lang", "url", "outlet")}
        bad = [k for k, v in fields.items() if v is not None and not isinstance(v, str)]
        if bad:
            skipped.append(_skip(where, f"field {bad[0]!r} must be a string"))
            continue
        if not all(_valid_unicode(v) for v in (obj["text"], *fields.values()) if v):
            skipped.append(_skip(where, "holds invalid Unicode (a lone surrogate escape)"))
            continue
        given = obj.get("id")
        if given is not None and (isinstance(given, bool) or not isinstance(given, str | int)):
            skipped.append(_skip(where, f'"id" must be a string or a number, not {_kind(given)}'))
            continue
        if fields["lang"] and normalize_code(fields["lang"]) not in known_codes():
            log.warning("%s: unknown language %r; detecting it instead", where, fields["lang"])
            fields["lang"] = None
        doc_id = printable(str(given if given not in (None, "") else f"{path.stem}-{lineno}"))
        docs.append(
            Document(
                id=doc_id,
                text=obj["text"],
                source=where,
                title=fields["title"],
                date=fields["date"],
                language=fields["lang"],
                url=fields["url"],
                outlet=fields["outlet"],
            )
        )
    return docs, skipped


def _kind(value: object) -> str:
    return {dict: "an object", list: "a list"}.get(type(value), type(value).__name__)


def _valid_unicode(text: str) -> bool:
    """False for strings JSON escapes can make but UTF-8 cannot hold."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def read_directory(directory: Path) -> Iterator[tuple[Path, list[Document], list[Skipped]]]:
    """Each article file under `directory` with its documents and skips."""
    for path in list_files(directory):
        docs, skipped = read_file(path, directory)
        yield path, docs, skipped


def _skip(source: object, reason: str) -> Skipped:
    return Skipped(printable(str(source)), reason)
