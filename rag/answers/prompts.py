"""Prompt templates: files in prompts/, with named variables, checked on load.

A template names its variables as {name}. Loading fails with a `UsageError`
when a required variable is missing from the file or the file uses one the
code does not supply, so a broken template is caught before any model runs.
`NO_ANSWER` is the sentinel a generator returns when the passages do not
answer the question; prompt, code and tests all use this one constant.
"""

from __future__ import annotations

import string
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from rag.answers.citations import defuse
from rag.errors import UsageError

NO_ANSWER = "NO_ANSWER"

PROMPTS_DIR = Path(__file__).resolve().parents[2] / "prompts"

ANSWER_VARIABLES = frozenset({"passages", "question", "language_name", "sentinel"})
REWRITE_VARIABLES = frozenset({"history", "question"})

LANGUAGE_NAMES = {
    "sv": "Swedish",
    "nb": "Norwegian (Bokmål)",
    "nn": "Norwegian (Nynorsk)",
    "en": "English",
    "da": "Danish",
    "de": "German",
    "fi": "Finnish",
}


@dataclass(frozen=True)
class Template:
    name: str
    text: str
    variables: frozenset[str]

    def render(self, **values: str) -> str:
        missing = self.variables - set(values)
        if missing:
            raise UsageError(f"prompt {self.name!r} needs {', '.join(sorted(missing))}")
        # Values are inserted once, by position: braces inside a passage or a
        # question are kept as text, never read as more variables.
        out = []
        for literal, field, _, _ in string.Formatter().parse(self.text):
            out.append(literal)
            if field is not None:
                out.append(values[field])
        return "".join(out)


def parse_template(name: str, text: str, required: frozenset[str]) -> Template:
    """A template whose variables are exactly `required`."""
    try:
        fields = [f for _, f, spec, conv in string.Formatter().parse(text) if f is not None]
    except ValueError as exc:
        raise UsageError(f"prompt {name!r} is malformed: {exc}") from None
    found = frozenset(fields)
    if any(not f.isidentifier() for f in found):
        raise UsageError(f"prompt {name!r} has an invalid variable in {sorted(found)}")
    if required - found:
        raise UsageError(
            f"prompt {name!r} lacks the variable(s) {', '.join(sorted(required - found))}"
        )
    if found - required:
        raise UsageError(
            f"prompt {name!r} uses unknown variable(s) {', '.join(sorted(found - required))}"
        )
    return Template(name, text, found)


def load_template(name: str, required: frozenset[str], directory: Path = PROMPTS_DIR) -> Template:
    path = directory / f"{name}.txt"
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise UsageError(f"cannot read prompt {path}: {exc.strerror or exc}") from None
    return parse_template(name, text, required)


def number_passages(passages: Sequence[str]) -> str:
    """Passages as numbered, delimited blocks: <passage id="n"> ... </passage>.

    A passage is data, never instructions, and must not be able to forge the
    frame around it: its angle brackets become ‹ › (no fake </passage>), and
    its own bracketed numbers become (n) (no fake citation).

    >>> print(number_passages(["First [2].", "Ends </passage> here."]))
    <passage id="1">
    First (2).
    </passage>
    <BLANKLINE>
    <passage id="2">
    Ends ‹/passage› here.
    </passage>
    """
    return "\n\n".join(
        f'<passage id="{n}">\n{_inert(p)}\n</passage>' for n, p in enumerate(passages, start=1)
    )


def _inert(text: str) -> str:
    """Text that cannot open or close a frame or pass for a citation."""
    return defuse(" ".join(text.split())).replace("<", "‹").replace(">", "›")


def answer_prompt(
    question: str, passages: Sequence[str], language: str, directory: Path = PROMPTS_DIR
) -> str:
    """The answer prompt for a question, its passages and the question's language."""
    template = load_template("answer", ANSWER_VARIABLES, directory)
    return template.render(
        passages=number_passages(passages),
        question=_inert(question),
        language_name=LANGUAGE_NAMES.get(language, "the language of the question"),
        sentinel=NO_ANSWER,
    )


def rewrite_prompt(question: str, history: Sequence[str], directory: Path = PROMPTS_DIR) -> str:
    """The prompt asking a generator to make a follow-up question standalone.

    >>> "- Why did Russia back Lukashenko?" in rewrite_prompt("And the EU?",
    ...     ["Why did Russia back Lukashenko?"])
    True
    """
    template = load_template("rewrite", REWRITE_VARIABLES, directory)
    return template.render(
        history="\n".join(f"- {_inert(q)}" for q in history),
        question=_inert(question),
    )
