"""The folders of rag/ are layers, and imports only go down: a module may
import its own layer and those below it, never one above (docs/ARCHITECTURE.md).
Lazy imports inside functions count too."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent / "rag"
# Lowest first. The shared records come first; the entry points last.
LAYERS = [
    "errors",
    "records",
    "settings",
    "text",
    "dates",
    "embed",
    "store",
    "ingest",
    "search",
    "answers",
    "evaluation",
    "app",
    "langchain",
    "cli",
    "__init__",
    "__main__",
]
# Defaults that live with the code they configure, read lazily.
ALLOWED = {("rag.settings", "rag.answers.claims")}


def _layer(module: str) -> str:
    parts = module.split(".")
    return "__init__" if len(parts) == 1 else parts[1]


def _imports(path: Path) -> list[str]:
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            found += [node.module] + [f"{node.module}.{a.name}" for a in node.names]
        elif isinstance(node, ast.Import):
            found += [a.name for a in node.names]
    return [m for m in found if m == "rag" or m.startswith("rag.")]


def _modules() -> dict[str, Path]:
    out = {}
    for path in ROOT.rglob("*.py"):
        parts = path.relative_to(ROOT.parent).with_suffix("").parts
        name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
        out[name] = path
    return out


def test_every_module_sits_in_a_known_layer():
    unknown = sorted(m for m in _modules() if _layer(m) not in LAYERS)
    assert not unknown, f"modules outside the layers of tests/test_layers.py: {unknown}"


def test_imports_only_go_down():
    modules = _modules()
    upward = []
    for name, path in sorted(modules.items()):
        mine = LAYERS.index(_layer(name))
        for target in _imports(path):
            if target == "rag" or target not in modules and target.rpartition(".")[0] == "rag":
                continue  # `from rag import X` of a public name: checked below if a module
            if target not in modules:
                continue  # a name imported from a module (`from rag.x import f`)
            if LAYERS.index(_layer(target)) > mine and (name, target) not in ALLOWED:
                upward.append(f"{name} imports {target}")
    assert not upward, "imports that go up a layer:\n" + "\n".join(upward)


def test_the_check_sees_an_upward_import(tmp_path):
    """The test above would catch one (it is not vacuous)."""
    path = tmp_path / "x.py"
    path.write_text("def f():\n    from rag.app.render import esc\n")
    assert "rag.app.render" in _imports(path)
    assert LAYERS.index(_layer("rag.app.render")) > LAYERS.index(_layer("rag.search.query"))
