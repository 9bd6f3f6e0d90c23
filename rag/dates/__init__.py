"""Dates in news text: an article's publication date, the dates it names, and
the span a question asks about. Swedish (sv), Norwegian Bokmål (nb), English (en).

Pure: strings in, `FoundDate`s and ISO strings out. Values are ISO at the
precision the words support: "2020-09-14" (day), "2020-09" (month), "2020"
(year). Month and weekday names, relative phrases ("i går", "forrige uke",
"last month") and number words come from dateparser's locale data, and
written dates are parsed by dateparser; a regex prefilter built from that data
finds the candidates first, so dateparser only sees short strings (its
`search_dates` is far too slow for every article). dateparser is imported on
first use (about 0.3 s to load), never by `import rag`; after that an article
takes about 1 ms.

Languages other than sv, nb, en (and "no" for nb) raise ValueError.

- `values.py`      `FoundDate`, ISO values at a precision, spans of days
- `words.py`       the words this package adds to dateparser's data
- `lang.py`        one language's vocabulary and patterns; dateparser, loaded lazily
- `scan.py`        date expressions in a text, as candidates
- `resolve.py`     a candidate resolved to a span, against an anchor
- `publication.py` `publication_date` (its rules are there)
- `mentioned.py`   `mentioned_dates` (its rules are there)
- `question.py`    `question_range` (its rules are there)

Known limits: a dated past event in the lead, with no later date in the text
and no cue word ("was sworn in on September 23, 2020, ..."), is taken for
the publication date; Swedish number words other than "en"/"två" are unknown
to dateparser ("de senaste tre åren"); "the 2000 people" would count as a
year; "this Sunday" is read as on or before the anchor.
"""

from rag.dates.mentioned import mentioned_dates
from rag.dates.publication import LEAD, publication_date
from rag.dates.question import question_range
from rag.dates.values import FoundDate, precision_of
from rag.dates.words import LANGUAGES

__all__ = [
    "LANGUAGES",
    "LEAD",
    "FoundDate",
    "mentioned_dates",
    "precision_of",
    "publication_date",
    "question_range",
]
