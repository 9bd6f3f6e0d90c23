"""A question in, ranked passages out: the question's checks and date range
(`query`), dense and lexical candidates per language fused (`retrieval`,
`fusion`), and the times a question names (`chronology`). Sits on
`rag.store` and `rag.embed`.
"""
