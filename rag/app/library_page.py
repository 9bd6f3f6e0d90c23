"""The app's Library tab: the indexed articles, uploads and removals.

Built inside `rag.app.webapp.build_demo` (call `library_tab` within its Blocks).
The table lists what the current commit holds (`View.catalog()`, no article
text read), searched and sorted on the server and at most `rag.ingest.library.SHOWN`
rows at a time; a click on a row picks its article for removal. Uploads and
removals go through `rag.library`, one at a time (a queue of their own), with
a progress bar, and a running app answers from the new commit at once.
"""

import logging
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from rag.app import render
from rag.errors import RagError
from rag.ingest.library import (
    SORTS,
    UPLOAD_SUFFIXES,
    Added,
    Entry,
    Removed,
    add_uploads,
    entries,
    remove,
    select,
)
from rag.search.retrieval import Retriever
from rag.settings import Settings

log = logging.getLogger(__name__)

HEADERS = ["Title", "Outlet", "Language", "Date", "Passages", "Id", "File"]
WAIT_SECONDS = 30.0  # for another ingest holding the index, before saying so


class Catalog:
    """The library rows of the retriever's current commit, worked out once
    per commit."""

    def __init__(self, settings: Settings, retriever: Retriever | None) -> None:
        self.settings = settings
        self.retriever = retriever
        self._rows: tuple[str, list[Entry]] | None = None

    def rows(self) -> list[Entry]:
        if self.retriever is None:
            return []
        view = self.retriever.snapshot
        if self._rows is None or self._rows[0] != view.target:
            self._rows = (view.target, entries(view.catalog(), self.settings.seeds_path))
        return self._rows[1]

    def table(self, search: str | None, sort: str | None) -> tuple[list[list[Any]], str]:
        """(table rows, the line above them)."""
        rows = self.rows()
        shown, matched = select(rows, search or "", sort if sort in SORTS else "newest")
        table = [[r.title, r.outlet, r.language, r.date, r.passages, r.id, r.file] for r in shown]
        passages = sum(r.passages for r in rows)
        line = f"{len(rows):,} articles, {passages:,} passages in the index."
        if search and search.strip():
            line += f" {matched:,} match {search.strip()!r}."
        if matched > len(shown):
            line += f" Showing the first {len(shown):,}: search to narrow them."
        return table, line


def added_html(added: Added) -> str:
    """What an upload did, for the page (escaped)."""
    parts = []
    report = added.report
    if report is not None:
        parts.append(
            f"Added {report.added} and updated {report.updated} article(s) from "
            f"{len(added.kept)} file(s) (kept in seeds/library); {report.embedded} texts "
            f"embedded in {report.seconds:.1f} s. The index now holds {report.articles} "
            f"articles."
        )
    problems = [*added.refused, *(report.skipped if report is not None else ())]
    if problems:
        parts.append(f"Not added ({len(problems)}):")
    body = "".join(f"<p>{render.esc(p)}</p>" for p in parts)
    items = "".join(f"<li>{render.esc(str(s))}</li>" for s in problems)
    return f'<div class="library-status">{body}{f"<ul>{items}</ul>" if items else ""}</div>'


def removed_html(removed: Removed) -> str:
    """What a removal did, for the page (escaped)."""
    lines = [f"Removed {len(removed.removed)} article(s): {', '.join(removed.removed)}."]
    lines += [f"Moved {a} to {b} (move it back to restore it)." for a, b in removed.moved]
    lines += [
        f"{f} still holds other articles and stays; a rebuild (`rag ingest --rebuild`) "
        f"would read the removed ones from it again."
        for f in removed.still_in
    ]
    lines += [f"{s.source} {s.reason}." for s in removed.failed]
    body = "".join(f"<p>{render.esc(line)}</p>" for line in lines)
    return f'<div class="library-status">{body}</div>'


def picked_ids(text: str | None) -> list[str]:
    """The article ids in the removal box (one per line or comma-separated).

    >>> picked_ids("library/a, b\\n  c ")
    ['library/a', 'b', 'c']
    """
    return [p.strip() for line in (text or "").splitlines() for p in line.split(",") if p.strip()]


def library_tab(gr, settings: Settings, retriever: Retriever | None):
    """The Library tab's components and events (inside a `gr.Blocks`).
    Returns (the refresh function, its inputs, its outputs) for the page to
    fill the table when its tab is opened."""
    catalog = Catalog(settings, retriever)

    def refresh(search, sort):
        try:
            table, line = catalog.table(search, sort)
        except RagError as exc:
            return [], render.notice_html(str(exc))
        return table, render.esc(line)

    def upload(files, search, sort, progress=gr.Progress(track_tqdm=True)):  # noqa: B008
        paths = [Path(f) for f in (files or []) if f]
        if not paths:
            return render.notice_html("Choose one or more files first."), *refresh(search, sort)
        progress(0, desc="adding")
        try:
            added = add_uploads(
                settings,
                [(p, p.name) for p in paths],
                max_bytes=settings.app_upload_bytes,
                max_files=settings.app_upload_files,
                embedder=retriever.embedder if retriever else None,
                progress=True,
                wait=WAIT_SECONDS,
            )
        except RagError as exc:
            return render.notice_html(str(exc)), *refresh(search, sort)
        return added_html(added), *refresh(search, sort)

    # (no `from __future__ import annotations` here: Gradio reads this
    # annotation to pass the clicked row)
    def pick(current: str, evt: gr.SelectData):
        row = evt.row_value if isinstance(evt.row_value, Sequence) else None
        if not row or len(row) < 6:
            return current
        ids = picked_ids(current)
        if str(row[5]) not in ids:
            ids.append(str(row[5]))
        return "\n".join(ids)

    def ask_to_remove(text):
        ids = picked_ids(text)
        if not ids:
            return gr.update(visible=False), render.notice_html(
                "Pick articles first: click their rows, or type their ids."
            )
        label = f"Yes, remove {len(ids)} article(s)"
        return gr.update(visible=True, value=label), ""

    def confirm_remove(text, search, sort):
        ids = picked_ids(text)
        try:
            status = removed_html(remove(settings, ids, wait=WAIT_SECONDS))
            text = ""
        except RagError as exc:
            status = render.notice_html(str(exc))
        return gr.update(visible=False), status, text, *refresh(search, sort)

    gr.Markdown(
        "The articles the assistant answers from. Add saved web pages (.html), feeds "
        "(RSS or Atom: .xml, .rss, .atom) or text (.txt, .md, .jsonl): they are kept in "
        "seeds/library and indexed at once. Click rows to pick articles to remove."
    )
    with gr.Row():
        search = gr.Textbox(
            label="Search", placeholder="title, outlet, id, date…", elem_id="library-search"
        )
        sort = gr.Dropdown(list(SORTS), value="newest", label="Sort by", elem_id="library-sort")
    summary = gr.HTML(elem_id="library-summary")
    table = gr.Dataframe(
        headers=HEADERS,
        datatype=["str", "str", "str", "str", "number", "str", "str"],
        interactive=False,
        wrap=True,
        column_widths=["34%", "15%", "8%", "10%", "8%", "13%", "12%"],
        max_height=420,
        elem_id="library-table",
    )
    with gr.Row(equal_height=False):
        with gr.Column():
            files = gr.File(
                label=(
                    f"Add files (up to {settings.app_upload_files} at once, "
                    f"{settings.app_upload_bytes // 1_000_000} MB each)"
                ),
                file_count="multiple",
                file_types=list(UPLOAD_SUFFIXES),
                type="filepath",
                elem_id="library-upload",
            )
            add = gr.Button("Add to the index", variant="primary", elem_id="library-add")
        with gr.Column():
            picked = gr.Textbox(
                label="Articles to remove (ids; click rows to pick them)",
                lines=3,
                elem_id="library-remove-ids",
            )
            with gr.Row():
                ask = gr.Button("Remove…", variant="secondary", elem_id="library-remove")
                confirm = gr.Button(
                    "Yes, remove", variant="stop", visible=False, elem_id="library-confirm"
                )
    status = gr.HTML(elem_id="library-status")

    listing = [search, sort]
    shown = [table, summary]
    private = {"api_visibility": "private"}
    changes = {"concurrency_limit": 1, "concurrency_id": "library"}
    search.submit(refresh, listing, shown, **private)
    sort.change(refresh, listing, shown, **private)
    table.select(pick, [picked], [picked], **private)
    add.click(upload, [files, *listing], [status, *shown], api_name="library_add", **changes).then(
        lambda: None, None, [files], **private
    )
    ask.click(ask_to_remove, [picked], [confirm, status], **private)
    confirm.click(
        confirm_remove,
        [picked, *listing],
        [confirm, status, picked, *shown],
        api_name="library_remove",
        **changes,
    )
    return refresh, listing, shown
