#!/usr/bin/env bash
# The main job: install (if needed), build the index from seeds/ (if missing),
# then answer a sample question.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
export HF_HUB_OFFLINE=1 GRADIO_ANALYTICS_ENABLED=False
if ! .venv/bin/rag status >/dev/null 2>&1; then
    .venv/bin/rag ingest
fi
.venv/bin/rag search "Why did Russia back Lukashenko?"
