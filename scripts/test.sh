#!/usr/bin/env bash
# The whole test suite: install (if needed), lint, then every test, including
# the ones that run the real models.
set -euo pipefail
cd "$(dirname "$0")/.."
RAG_SETUP_EXTRAS=dev,llama bash scripts/setup.sh
export HF_HUB_OFFLINE=1 GRADIO_ANALYTICS_ENABLED=False
.venv/bin/ruff check --quiet .
set +e
.venv/bin/python -m pytest "$@"
code=$?
set -e
if [ "$code" -eq 5 ]; then
    echo "error: pytest collected no tests" >&2
    exit 1
fi
exit "$code"
