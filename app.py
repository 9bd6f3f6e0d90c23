"""The chat app: `python app.py` serves it on http://127.0.0.1:7860.

Uses the index under index/ (`rag ingest` builds it; `bash scripts/run.sh`
does everything). Settings come from RAG_* environment variables, e.g.
RAG_APP_PORT, RAG_APP_HOST, RAG_APP_PASSWORD, RAG_INDEX_DIR.
"""

import os

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")

from rag.app.webapp import build_demo, launch  # noqa: E402

demo = build_demo()

if __name__ == "__main__":
    launch(demo)
