"""Files in, commits out: reading article files (`loaders`, pages and feeds in
`readers/`), cleaning (`clean`), what changed (`sync`), wire copies (`copies`),
the pipeline that embeds and stages them (`pipeline`: `build_index`,
`add_files`, `remove_articles`), the operations on an index (`index`:
`rag.Index`), copying between stores (`copying`) and the app's library
(`library`). Sits on `rag.store`, `rag.text`, `rag.dates` and `rag.embed`.
"""
