#!/usr/bin/env bash
# Installs everything the project needs into .venv at the project root.
# Idempotent and quick when nothing changed: a stamp records the hash of the
# files that define the installation.
set -euo pipefail
cd "$(dirname "$0")/.."

PYTHON="${PYTHON:-python3}"
if ! "$PYTHON" -c 'import sys; sys.exit(sys.version_info < (3, 10))' 2>/dev/null; then
    echo "error: Python 3.10 or newer is needed (found: $("$PYTHON" --version 2>&1))." >&2
    echo "       Set PYTHON=/path/to/python3.11 and run again." >&2
    exit 1
fi

# Debian's chromium, for the browser tests (Playwright drives it; never
# `playwright install`). Needs root or sudo; without them the app still runs
# and only the browser tests fail, saying what is missing.
if [ ! -x /usr/bin/chromium ] && command -v apt-get >/dev/null 2>&1; then
    SUDO=""
    [ "$(id -u)" -eq 0 ] || SUDO="sudo -n"
    echo "==> Installing chromium with apt-get (for the browser tests)" >&2
    if ! { $SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq chromium >/dev/null; }; then
        echo "warning: could not install chromium; the browser tests will fail" >&2
    fi
fi

# Extras of pyproject.toml to install: dev (tests, lint) by default;
# scripts/test.sh adds llama (llama.cpp's OpenAI-compatible server, built from
# source in about 10 minutes, for the tests of the openai: generator).
extras="${RAG_SETUP_EXTRAS:-dev}"
stamp=".venv/.rag-setup-${extras//,/-}"
want=$(cat pyproject.toml scripts/setup.sh | sha256sum | cut -d' ' -f1)
if [ -x .venv/bin/python ] && [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ]; then
    exit 0
fi

echo "==> Creating .venv and installing (first run takes a few minutes)" >&2
[ -x .venv/bin/python ] || "$PYTHON" -m venv .venv
export PIP_DISABLE_PIP_VERSION_CHECK=1
# torch first, pinned: here it resolves to a local CPU build; unpinned, pip
# would pull the newest release with several GB of CUDA packages.
.venv/bin/python -m pip install --quiet "torch==2.13.0"
case "$extras" in *llama*) echo "==> Building llama-cpp-python (about 10 minutes, once)" >&2 ;; esac
.venv/bin/python -m pip install --quiet -e ".[${extras}]"
echo "$want" > "$stamp"
echo "==> Installed into .venv" >&2
