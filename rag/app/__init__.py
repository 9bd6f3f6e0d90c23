"""The chat app: Gradio Blocks (`webapp`), its HTML (`render`), the Library
tab (`library_page`) and the bounds on what it takes (`guards`). The top
layer, beside `rag.cli`.
"""
