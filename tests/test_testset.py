"""Test-set loading: the real dev set, and each malformed file naming its line."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from rag.errors import UsageError
from rag.evaluation.testset import TestQuestion, load_testset

DEV = Path(__file__).parent / "data" / "dev.jsonl"


def row(**fields: object) -> str:
    base = {
        "id": "q1",
        "question": "Why did Russia back Lukashenko?",
        "language": "en",
        "gold_ids": ["004"],
        "key_phrases": ["Putin"],
        "answerable": True,
    }
    base.update(fields)
    return json.dumps({k: v for k, v in base.items() if v is not ...}, ensure_ascii=False)


def write(tmp_path: Path, *lines: str, name: str = "set.jsonl") -> Path:
    path = tmp_path / name
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def assert_usage_error_at(path: Path, line: int, *words: str) -> None:
    with pytest.raises(UsageError) as info:
        load_testset(path)
    message = str(info.value)
    assert path.name in message
    assert f":{line}" in message
    for word in words:
        assert word in message


def test_dev_set_loads() -> None:
    questions = load_testset(DEV)
    assert len(questions) >= 50
    assert all(isinstance(q, TestQuestion) for q in questions)


def test_dev_set_has_unanswerable_questions() -> None:
    assert sum(1 for q in load_testset(DEV) if not q.answerable) >= 8


def test_dev_set_languages() -> None:
    assert {q.language for q in load_testset(DEV)} <= {"sv", "nb", "en"}


def test_dev_set_ids_unique_and_answerable_have_gold() -> None:
    questions = load_testset(DEV)
    assert len({q.id for q in questions}) == len(questions)
    assert all(q.gold_ids for q in questions if q.answerable)


def test_fields_are_parsed_into_tuples(tmp_path: Path) -> None:
    path = write(tmp_path, row(key_facts=["26"], reference="Since 1994."))
    (q,) = load_testset(path)
    assert q == TestQuestion(
        id="q1",
        question="Why did Russia back Lukashenko?",
        language="en",
        gold_ids=("004",),
        key_phrases=("Putin",),
        reference="Since 1994.",
        key_facts=("26",),
        answerable=True,
    )


def test_blank_lines_skipped_and_counted(tmp_path: Path) -> None:
    path = write(tmp_path, row(id="a"), "", "   ", row(id="a"))
    assert_usage_error_at(path, 4, "'a'")


def test_unanswerable_question_needs_no_gold(tmp_path: Path) -> None:
    path = write(tmp_path, row(gold_ids=..., key_phrases=..., answerable=False))
    (q,) = load_testset(path)
    assert q.answerable is False
    assert q.gold_ids == ()


def test_invalid_json_names_line(tmp_path: Path) -> None:
    path = write(tmp_path, row(id="a"), '{"id": "b", "question": ')
    assert_usage_error_at(path, 2, "JSON")


def test_non_object_line_names_line(tmp_path: Path) -> None:
    path = write(tmp_path, "[1, 2]")
    assert_usage_error_at(path, 1, "object")


def test_missing_question_names_line(tmp_path: Path) -> None:
    path = write(tmp_path, row(id="a"), row(id="b"), row(id="c", question=...))
    assert_usage_error_at(path, 3, "question")


def test_blank_question_names_line(tmp_path: Path) -> None:
    path = write(tmp_path, row(question="   "))
    assert_usage_error_at(path, 1, "question")


def test_non_list_key_phrases_names_line(tmp_path: Path) -> None:
    path = write(tmp_path, row(id="a"), row(id="b", key_phrases="Putin"))
    assert_usage_error_at(path, 2, "key_phrases")


def test_non_string_gold_id_names_line(tmp_path: Path) -> None:
    path = write(tmp_path, row(gold_ids=[4]))
    assert_usage_error_at(path, 1, "gold_ids")


def test_non_bool_answerable_names_line(tmp_path: Path) -> None:
    path = write(tmp_path, row(id="a"), row(id="b", answerable="yes"))
    assert_usage_error_at(path, 2, "answerable")


def test_integer_answerable_is_not_bool(tmp_path: Path) -> None:
    path = write(tmp_path, row(answerable=1))
    assert_usage_error_at(path, 1, "answerable")


def test_answerable_without_gold_ids_names_line(tmp_path: Path) -> None:
    path = write(tmp_path, row(id="a"), row(id="b", gold_ids=[]))
    assert_usage_error_at(path, 2, "gold_ids")


def test_answerable_by_default_needs_gold_ids(tmp_path: Path) -> None:
    path = write(tmp_path, row(gold_ids=..., answerable=...))
    assert_usage_error_at(path, 1, "gold_ids")


def test_duplicate_id_names_second_line(tmp_path: Path) -> None:
    path = write(tmp_path, row(id="q7"), row(id="q8"), row(id="q7"))
    assert_usage_error_at(path, 3, "'q7'")


def test_empty_file_names_file(tmp_path: Path) -> None:
    path = tmp_path / "empty.jsonl"
    path.write_text("\n\n", encoding="utf-8")
    with pytest.raises(UsageError, match="no questions") as info:
        load_testset(path)
    assert "empty.jsonl" in str(info.value)


def test_missing_file_is_usage_error(tmp_path: Path) -> None:
    with pytest.raises(UsageError, match="missing.jsonl"):
        load_testset(tmp_path / "missing.jsonl")


def test_non_utf8_file_is_usage_error(tmp_path: Path) -> None:
    path = tmp_path / "latin1.jsonl"
    path.write_bytes(row(question="Varför stöder Ryssland Lukasjenko?").encode("latin-1"))
    with pytest.raises(UsageError, match="latin1.jsonl"):
        load_testset(path)


def test_unicode_line_separator_inside_string_is_valid(tmp_path: Path) -> None:
    # U+2028 is legal unescaped inside a JSON string, and json.dumps with
    # ensure_ascii=False writes it raw: it must not split the line.
    path = write(tmp_path, row(id="a", reference="First line\u2028second line"), row(id="b"))
    questions = load_testset(path)
    assert [q.id for q in questions] == ["a", "b"]
    assert questions[0].reference == "First line\u2028second line"


def test_cross_lingual_when_no_gold_in_question_language() -> None:
    q = TestQuestion(id="q", question="?", language="sv", gold_ids=("a", "b"))
    assert q.cross_lingual({"a": "en", "b": "nb"}) is True
    assert q.cross_lingual({"a": "en", "b": "sv"}) is False
    assert TestQuestion(id="q", question="?", language="sv").cross_lingual({}) is False


def test_unknown_field_names_line_and_field(tmp_path: Path) -> None:
    path = write(tmp_path, row(key_phrase=["typo"]))
    with pytest.raises(UsageError, match=r":1: unknown field\(s\) key_phrase"):
        load_testset(path)


def test_gold_passages_are_read(tmp_path: Path) -> None:
    (q,) = load_testset(write(tmp_path, row(gold_passages=["c1", "c2"])))
    assert q.gold_passages == ("c1", "c2")


def test_non_string_reference_names_line(tmp_path: Path) -> None:
    with pytest.raises(UsageError, match=r":1: field 'reference' must be a string"):
        load_testset(write(tmp_path, row(reference=["not", "text"])))


def test_dates_and_period_are_read_and_checked(tmp_path: Path):
    path = tmp_path / "t.jsonl"
    row = {"id": "q", "question": "?", "language": "en", "gold_ids": ["a"]}
    path.write_text(
        json.dumps({**row, "since": "2020-09", "until": "2020"})
        + "\n"
        + json.dumps({**row, "id": "r", "period": ["2023", None]})
        + "\n"
    )
    q, r = load_testset(path)
    assert (q.since, q.until, q.period) == ("2020-09", "2020", None)
    assert q.dates("2019", None) == {"since": "2020-09", "until": "2020"}  # its own win
    assert r.dates("2019", None) == {"since": "2019", "until": None}
    assert q.expected_range() == ("2020-09", "2021")
    assert r.expected_range() == ("2023", "\uffff")  # named, not filtered
    assert r.expected_range(since="2021") == ("2021", "\uffff")  # the filter wins
    for bad, words in [
        ({"since": "Sept 2020"}, "YYYY"),
        ({"since": 2020}, "date string"),
        ({"period": ["2020"]}, "[since, until]"),
        ({"period": [None, None]}, "[since, until]"),
        ({"since": "2021", "until": "2020"}, "empty"),
    ]:
        path.write_text(json.dumps({**row, **bad}) + "\n")
        with pytest.raises(UsageError, match=re.escape(words)):
            load_testset(path)
