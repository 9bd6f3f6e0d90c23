"""Passages in, a cited answer out: `answer` (`answer()`, `stream_answer()`),
extractive answers (`extractive`), generators and their claim check
(`generation`, `generative`, `gen_transformers`, `gen_openai`, `claims`,
`facts`, `citations`), abstention (`answerability`), follow-ups
(`conversation`), corroboration (`corroborate`), hostile passages
(`hostile`), prompts (`prompts`) and the timeline (`timeline`). Sits on
`rag.search`.
"""
