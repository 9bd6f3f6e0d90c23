"""The languages supported, and the words this package adds to dateparser's data.

dateparser gives month and weekday names, relative phrases and number words
(see `lang.py`); what it lacks is here, per language, as regex alternations.
"""

LANGUAGES = ("sv", "nb", "en")

_YEAR = r"(?:1[89]\d\d|20\d\d)"
_YEAR_END = r"(?![\d%]|[.,]\d|s\b|[’']s\b|-ta|\s*%)"
_DASH = r"[—–-]"

# Words this package adds to dateparser's data, per language: what may stand
# before a year or a bare month, weekday modifiers (before: strictly before the
# anchor; after: strictly after), "last February", "earlier this week", "the
# last N years" and its units, and relative days dateparser lacks.
_WORDS = {
    "en": {
        "year_pre": r"in|since|from|until|till|by|before|after|during|early|late|mid-?|through"
        r"|around|between|the|year|(?:spring|summer|autumn|fall|winter)(?:\s+of)?",
        "month_pre": r"in|since|from|until|till|by|before|after|during|early|late|mid-?|through"
        r"|of",
        "wd_mod": {
            "last": "before",
            "this past": "before",
            "next": "after",
            "this coming": "after",
            "coming": "after",
        },
        "rel_month": {"last": -1, "this": 0},
        "so_far": r"earlier (?:this|in the) week",
        "last_n": r"(?:the\s+)?(?:last|past)\s+(?P<n>NUM)\s+(?P<u>days|weeks|months|years)",
        "units": {"days": "day", "weeks": "week", "months": "month", "years": "year"},
    },
    "sv": {
        "year_pre": r"i|sedan|från|till|under|före|efter|inför|mellan|tills|år|året"
        r"|våren|sommaren|hösten|vintern|början\s+av|slutet\s+av|mitten\s+av",
        "month_pre": r"i|sedan|från|till|under|före|efter|inför|och|eller|tills|av",
        "wd_mod": {
            "i": "before",
            "förra": "before",
            "nästa": "after",
            "kommande": "after",
            "på": "after",
        },
        "rel_month": {"förra": -1},
        "so_far": r"tidigare (?:i|denna|den här) veckan?",
        "last_n": r"(?:de|det|den)\s+senaste\s+(?:(?P<n>NUM)\s+)?"
        r"(?P<u>dagarna|dygnen|veckorna|månaderna|åren|året|veckan|månaden|dygnet)",
        "units": {
            "dagarna": "day",
            "dygnen": "day",
            "dygnet": "day",
            "veckorna": "week",
            "veckan": "week",
            "månaderna": "month",
            "månaden": "month",
            "åren": "year",
            "året": "year",
        },
        "single": {"året", "veckan", "månaden", "dygnet"},  # "det senaste året": N is 1
        "extra_rel": {"i förrgår": ("day", -2)},
    },
    "nb": {
        "year_pre": r"i|siden|fra|til|under|før|etter|innen|mellom|år|året"
        r"|våren|sommeren|høsten|vinteren|starten\s+av|slutten\s+av|midten\s+av",
        "month_pre": r"i|siden|fra|til|under|før|etter|innen|og|eller|av",
        "wd_mod": {
            "i": "before",
            "forrige": "before",
            "sist": "before",
            "neste": "after",
            "førstkommende": "after",
            "kommende": "after",
        },
        "rel_month": {"forrige": -1},
        "so_far": r"tidligere (?:i|denne) uken?",
        "last_n": r"(?:de|det|den)\s+siste\s+(?:(?P<n>NUM)\s+)?"
        r"(?P<u>dagene|døgnene|ukene|månedene|årene|året|uken|måneden|døgnet)",
        "units": {
            "dagene": "day",
            "døgnene": "day",
            "døgnet": "day",
            "ukene": "week",
            "uken": "week",
            "månedene": "month",
            "måneden": "month",
            "årene": "year",
            "året": "year",
        },
        "single": {"året", "uken", "måneden", "døgnet"},
        "extra_rel": {"i forgårs": ("day", -2)},
    },
}
