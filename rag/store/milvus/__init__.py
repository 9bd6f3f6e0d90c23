"""The Milvus backend: one index as a few collections, versioned by generation.

- `schema.py`  the collections, connecting, the meta row, versioning filters
- `sparse.py`  BM25 as sparse vectors of the project's own stemmed terms (pure)
- `view.py`    one committed generation, for reading
- `writer.py`  adding and deleting articles, publishing a generation, the lease
- `store.py`   `MilvusStore`: the `rag.store.base.Store` over all of it
"""
