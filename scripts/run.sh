#!/usr/bin/env bash
# The main job: install (if needed), bring the index in step with seeds/
# (only what changed is indexed: nothing, when nothing did), then serve the
# chat app on http://127.0.0.1:7860 (Ctrl-C stops it).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
export HF_HUB_OFFLINE=1 GRADIO_ANALYTICS_ENABLED=False
.venv/bin/rag ingest
echo "==> Starting the chat app on http://127.0.0.1:${RAG_APP_PORT:-7860}" >&2
exec .venv/bin/python app.py
