"""Readers for formats whose main text must be found by an extractor: saved
web pages (`html`) and RSS/Atom feeds (`feed`).

Each turns decoded file content into `rag.records.Document`s with
`extracted=True`, so the plain-text cleaner is not run on text that an
extractor has already separated from navigation, banners and comments.
They never touch the network or the file system: the caller reads the file.
"""
