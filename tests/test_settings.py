"""Settings: defaults, RAG_* environment variables, overrides and derived paths."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from pathlib import Path

import pytest

from rag.errors import UsageError
from rag.settings import Settings


@dataclass(frozen=True)
class _WithFlag(Settings):
    # Settings has no bool field today; a subclass exercises bool parsing.
    debug: bool = False


def test_empty_environment_gives_defaults() -> None:
    assert Settings.from_env({}) == Settings()


def test_rag_k_parsed_as_int() -> None:
    settings = Settings.from_env({"RAG_K": "8"})
    assert settings.k == 8
    assert isinstance(settings.k, int)


def test_rag_embedder_kept_as_string() -> None:
    spec = "sentence-transformers:all-MiniLM-L6-v2"
    assert Settings.from_env({"RAG_EMBEDDER": spec}).embedder == spec


def test_rag_lexical_weight_parsed_as_float() -> None:
    assert Settings.from_env({"RAG_LEXICAL_WEIGHT": "0.25"}).lexical_weight == 0.25


def test_rag_index_dir_parsed_as_path(tmp_path: Path) -> None:
    settings = Settings.from_env({"RAG_INDEX_DIR": str(tmp_path / "idx")})
    assert settings.index_dir == tmp_path / "idx"
    assert isinstance(settings.index_dir, Path)
    assert settings.index_path == tmp_path / "idx"


def test_path_expands_user_home(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("HOME", str(tmp_path))
    assert Settings.from_env({"RAG_ROOT": "~/proj"}).root == tmp_path / "proj"


def test_empty_variable_ignored() -> None:
    assert Settings.from_env({"RAG_K": ""}).k == Settings().k


def test_unrelated_variables_ignored() -> None:
    assert Settings.from_env({"K": "9", "RAG_NOT_A_FIELD": "1"}) == Settings()


@pytest.mark.parametrize(("name", "raw"), [("K", "five"), ("K", "5.0"), ("THREADS", "two")])
def test_invalid_int_raises_usage_error(name: str, raw: str) -> None:
    with pytest.raises(UsageError) as info:
        Settings.from_env({f"RAG_{name}": raw})
    assert f"RAG_{name}" in str(info.value)
    assert raw in str(info.value)


def test_invalid_float_raises_usage_error() -> None:
    with pytest.raises(UsageError, match="RAG_LEXICAL_WEIGHT"):
        Settings.from_env({"RAG_LEXICAL_WEIGHT": "half"})


@pytest.mark.parametrize("raw", ["1", "true", "YES", "On"])
def test_bool_true_spellings(raw: str) -> None:
    assert _WithFlag.from_env({"RAG_DEBUG": raw}).debug is True


@pytest.mark.parametrize("raw", ["0", "false", "No", "OFF"])
def test_bool_false_spellings(raw: str) -> None:
    assert _WithFlag.from_env({"RAG_DEBUG": raw}, debug=None).debug is False


def test_invalid_bool_raises_usage_error() -> None:
    with pytest.raises(UsageError, match="RAG_DEBUG"):
        _WithFlag.from_env({"RAG_DEBUG": "maybe"})


def test_overrides_win_over_environment() -> None:
    assert Settings.from_env({"RAG_K": "8"}, k=3).k == 3


def test_none_overrides_ignored() -> None:
    settings = Settings.from_env({"RAG_K": "8"}, k=None, embedder=None)
    assert settings.k == 8
    assert settings.embedder == Settings().embedder


def test_reads_process_environment_by_default(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RAG_CANDIDATES", "77")
    assert Settings.from_env().candidates == 77


def test_paths_derive_from_root(tmp_path: Path) -> None:
    settings = Settings.from_env({"RAG_ROOT": str(tmp_path)})
    assert settings.index_path == tmp_path / "index"
    assert settings.seeds_path == tmp_path / "seeds"


def test_explicit_dirs_win_over_root(tmp_path: Path) -> None:
    settings = Settings(root=tmp_path, seeds_dir=tmp_path / "a", index_dir=tmp_path / "b")
    assert settings.seeds_path == tmp_path / "a"
    assert settings.index_path == tmp_path / "b"


def test_settings_are_frozen() -> None:
    with pytest.raises(dataclasses.FrozenInstanceError):
        Settings().k = 3  # type: ignore[misc]


def test_resolved_threads_zero_means_all_cores(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("os.cpu_count", lambda: 7)
    assert Settings(threads=0).resolved_threads() == 7
    assert Settings(threads=3).resolved_threads() == 3


@pytest.mark.parametrize(
    "overrides, words",
    [
        ({"chunk_chars": 0}, "chunk_chars must be at least 1"),
        ({"k": 0}, "k must be at least 1"),
        ({"lexical_weight": -1.0}, "lexical_weight must not be negative"),
        ({"fusion": "magic"}, "unknown fusion"),
        ({"near_duplicate_cosine": 1.5}, "near_duplicate_cosine"),
    ],
)
def test_out_of_range_settings_are_usage_errors(overrides, words):
    with pytest.raises(UsageError, match=words):
        Settings(**overrides)


def test_out_of_range_environment_variable_is_a_usage_error():
    with pytest.raises(UsageError, match="chunk_chars"):
        Settings.from_env({"RAG_CHUNK_CHARS": "0"})


@pytest.mark.parametrize("name", ["RAG_LEXICAL_WEIGHT", "RAG_CALIBRATION_PRIOR"])
@pytest.mark.parametrize("value", ["nan", "inf", "-inf"])
def test_non_finite_numbers_are_refused(name, value):
    with pytest.raises(UsageError, match="finite"):
        Settings.from_env({name: value})


@pytest.mark.parametrize("env", [{"RAG_THREADS": "-3"}, {"RAG_K": "500"}])
def test_negative_threads_and_huge_k_are_refused(env):
    with pytest.raises(UsageError):
        Settings.from_env(env)


def test_paths_may_be_given_as_strings() -> None:
    settings = Settings(root="proj", index_dir="~/idx", seeds_dir="articles")
    assert settings.index_path == Path("~/idx").expanduser()
    assert settings.seeds_path == Path("articles") and settings.root == Path("proj")
    with pytest.raises(UsageError, match="index_dir must be a path"):
        Settings(index_dir=3)
