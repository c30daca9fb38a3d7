"""Recognising codes, modifiers, units and dates of service in free text.

Recognition is deliberately generous (a token *shaped* like a code); whether a code exists is decided
later against the reference store, never here.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field
from datetime import date
from functools import lru_cache

CPT = re.compile(r"(?<![\w.])(\d{5})(?!\w|\.\w)")
CPT_CAT2 = re.compile(r"(?<![\w.])(\d{4}F)(?!\w|\.\w)", re.IGNORECASE)
CPT_CAT3 = re.compile(r"(?<![\w.])(\d{4}T)(?!\w|\.\w)", re.IGNORECASE)
# PLA (U), multianalyte (M) and vaccine administration (A) codes: four digits and a letter, CPT like Cat II/III.
CPT_PLA = re.compile(r"(?<![\w.])(\d{4}[AUM])(?!\w|\.\w)", re.IGNORECASE)
HCPCS = re.compile(r"(?<![\w.])([A-V]\d{4})(?!\w|\.\w)", re.IGNORECASE)
# With its dot an ICD-10-CM code is unambiguous, so U (U07.1, U09.9) is allowed; bare U tokens are left out.
ICD10_DOTTED = re.compile(r"(?<![\w.])([A-Z]\d[0-9A-Z]\.[0-9A-Z]{1,4})(?!\w|\.\w)", re.IGNORECASE)
ICD10_BARE = re.compile(r"(?<![\w.])([A-TV-Z]\d[0-9A-Z][0-9A-Z]{0,4})(?!\w|\.\w)", re.IGNORECASE)

MODIFIER_TOKEN = r"(\d{2}|[A-Z][A-Z0-9]|[0-9][A-Z])"
MODIFIER_PATTERNS = [
    re.compile(rf"\b(?:modifiers?|mod\.?)\s*[-#:]?\s*{MODIFIER_TOKEN}\b", re.IGNORECASE),
    re.compile(rf"\b{MODIFIER_TOKEN}\s+modifiers?\b", re.IGNORECASE),
    re.compile(rf"(?<=\d{{4}}[0-9FT])\s*-\s*{MODIFIER_TOKEN}\b", re.IGNORECASE),
    re.compile(rf"(?<=[A-V]\d{{4}})\s*-\s*{MODIFIER_TOKEN}\b", re.IGNORECASE),
    re.compile(rf"(?:^|\s)-{MODIFIER_TOKEN}\b", re.IGNORECASE),
    # "put 59 on the E/M", "append 25 to 99213", "bill it with 59": a bare NCCI-associated or global-surgery
    # modifier number after a verb that attaches a modifier (a bare "59" alone is not read as one)
    re.compile(r"\b(?:put|add|append|attach|use|using|with|w/)\s+(25|57|58|59|76|77|78|79|91|24|50|51|XE|XP|XS|XU)"
               r"\s+(?:on|to|onto)\b", re.IGNORECASE),
]
# "modifiers 59 and 25", "modifier XS or 59": pick up the tokens that follow in a short list.
LIST_JOIN = r"\s*(?:,|and|or|/|vs\.?|versus|instead of)\s*"
MODIFIER_LIST = re.compile(rf"\bmodifiers?\s+{MODIFIER_TOKEN}((?:{LIST_JOIN}-?{MODIFIER_TOKEN}\b)+)", re.IGNORECASE)
# "LT and RT modifiers", "XE, XS or XU modifier": the list stands before the word.
MODIFIER_LIST_BEFORE = re.compile(rf"\b{MODIFIER_TOKEN}((?:{LIST_JOIN}-?{MODIFIER_TOKEN}\b)+)\s+modifiers?\b", re.IGNORECASE)
# "which modifiers split surgical care: 54, 55 and 56": in a text about modifiers, a list of two-character
# tokens (upper case when letters) elsewhere in the sentence.
LOOSE_LIST = re.compile(r"(?<![\w.-])(\d{2}|[A-Z][A-Z0-9]|[0-9][A-Z])((?:\s*(?:,|and|or|/)\s*(?:\d{2}|[A-Z][A-Z0-9]|"
                        r"[0-9][A-Z])(?![\w.-]))+)")
NOT_MODIFIERS = {"IS", "IN", "ON", "OR", "TO", "OF", "AN", "AT", "BE", "BY", "DO", "IF", "IT", "MY", "NO", "SO",
                 "UP", "US", "WE", "ME", "HE", "GO", "AM", "PM"}

# "4 units", "4u", "x4", "4x"; a four-digit number needs a space before "u", or PLA codes (0001U) would read as units.
UNITS = re.compile(r"\b(\d{1,4})\s*units?\b|\b(\d{1,3})\s*u\b|\b(\d{4})\s+u\b|\bx\s*(\d{1,3})\b|\b(\d{1,3})\s*x\b", re.IGNORECASE)
DATE_ISO = re.compile(r"\b(20\d{2})-(\d{1,2})-(\d{1,2})\b")
DATE_US = re.compile(r"\b(\d{1,2})/(\d{1,2})/(20\d{2}|\d{2})\b")
MONTHS = {name: number for number, names in enumerate(
    [("jan", "january"), ("feb", "february"), ("mar", "march"), ("apr", "april"), ("may",), ("jun", "june"),
     ("jul", "july"), ("aug", "august"), ("sep", "sept", "september"), ("oct", "october"), ("nov", "november"),
     ("dec", "december")], start=1) for name in names}
DATE_WORDS = re.compile(r"\b(" + "|".join(sorted(MONTHS, key=len, reverse=True)) + r")\.?\s+(\d{1,2})(?:st|nd|rd|th)?,?"
                        r"\s+(20\d{2})\b", re.IGNORECASE)


# Letters that look like the Latin ones codes are written with (Cyrillic, Greek). A token that reads as a code
# only once they are taken for Latin (Cyrillic "Ј1885") is kept as written, so it is checked, found unknown and
# answered "not found" with the closest codes, instead of being skipped and the question answered about nothing.
CONFUSABLES = str.maketrans({
    "А": "A", "В": "B", "С": "C", "Е": "E", "Н": "H", "І": "I", "Ј": "J", "К": "K", "М": "M", "О": "O",
    "Р": "P", "Ѕ": "S", "Т": "T", "Х": "X", "Ү": "Y", "а": "a", "с": "c", "е": "e", "і": "i", "ј": "j",
    "о": "o", "р": "p", "ѕ": "s", "х": "x", "у": "y", "Α": "A", "Β": "B", "Ε": "E", "Ζ": "Z", "Η": "H",
    "Ι": "I", "Κ": "K", "Μ": "M", "Ν": "N", "Ο": "O", "Ρ": "P", "Τ": "T", "Υ": "Y", "Χ": "X", "ο": "o",
})
NON_ASCII_TOKEN = re.compile(r"(?<![\w.])([^\W_][\w.]{2,9})(?![\w])")
CODE_SHAPES = ((CPT, "CPT"), (CPT_CAT2, "CPT"), (CPT_CAT3, "CPT"), (CPT_PLA, "CPT"), (HCPCS, "HCPCS"),
               (ICD10_DOTTED, "ICD10CM"))


def look_alike_codes(text: str) -> list[tuple[str, str, int]]:
    """(token as written, code set, offset) for each non-ASCII token shaped like a code once its look-alike
    letters and full-width characters are read as ASCII."""
    if text.isascii():
        return []
    found = []
    for m in NON_ASCII_TOKEN.finditer(text):
        token = m.group(1).rstrip(".")
        if token.isascii():
            continue
        mapped = unicodedata.normalize("NFKC", token).translate(CONFUSABLES)
        if not mapped.isascii():
            continue
        for pattern, code_set in CODE_SHAPES:
            if pattern.fullmatch(mapped):
                found.append((token.upper(), code_set, m.start()))
                break
    return found


@dataclass(frozen=True)
class CodeMention:
    code: str
    code_set: str  # CPT | HCPCS | ICD10CM
    start: int
    alternative: bool = False  # a second reading of the same token (J1885 as ICD J18.85): dropped if unknown


@dataclass
class Recognized:
    codes: list[CodeMention] = field(default_factory=list)
    modifiers: list[str] = field(default_factory=list)
    units: list[int] = field(default_factory=list)
    dates: list[int] = field(default_factory=list)  # YYYYMMDD

    @property
    def code_strings(self) -> list[str]:
        return list(dict.fromkeys(m.code for m in self.codes))


def normalize_icd10(token: str) -> str:
    token = token.upper().replace(".", "")
    return token if len(token) == 3 else f"{token[:3]}.{token[3:]}"


def _mentions(text: str, bare_icd10: bool = True) -> list[CodeMention]:
    return list(_mentions_cached(text, bare_icd10))


# An answer's sentences are read for codes by the fact builder, the composer and the guard alike: read once.
@lru_cache(maxsize=8192)
def _mentions_cached(text: str, bare_icd10: bool) -> tuple[CodeMention, ...]:
    found: dict[tuple[str, str], CodeMention] = {}

    starts: set[int] = set()

    def add(code: str, code_set: str, start: int) -> None:
        alternative = start in starts and code_set == "ICD10CM"
        found.setdefault((code, code_set), CodeMention(code, code_set, start, alternative))
        starts.add(start)

    for pattern in (CPT, CPT_CAT2, CPT_CAT3, CPT_PLA):
        for m in pattern.finditer(text):
            add(m.group(1).upper(), "CPT", m.start())
    for m in HCPCS.finditer(text):
        add(m.group(1).upper(), "HCPCS", m.start())
    for m in ICD10_DOTTED.finditer(text):
        add(normalize_icd10(m.group(1)), "ICD10CM", m.start())
    for token, code_set, start in look_alike_codes(text):
        add(token, code_set, start)
    for m in ICD10_BARE.finditer(text) if bare_icd10 else ():
        token = m.group(1)
        # Bare tokens are ambiguous with HCPCS (J1885) and words; require a digit-rich shape.
        if len(token) >= 4 and sum(c.isdigit() for c in token) >= 2:
            add(normalize_icd10(token), "ICD10CM", m.start())
        elif len(token) == 3 and token[0].isupper() and token[1:].isdigit():
            add(token.upper(), "ICD10CM", m.start())
    return tuple(sorted(found.values(), key=lambda mention: mention.start))


def find_modifiers(text: str) -> list[str]:
    """Modifiers in the order they are written, each once."""
    found: list[tuple[int, str]] = []
    for pattern in MODIFIER_PATTERNS:
        for m in pattern.finditer(text):
            found.append((m.start(1), m.group(1).upper()))
    for pattern in (MODIFIER_LIST, MODIFIER_LIST_BEFORE):
        for m in pattern.finditer(text):
            found.append((m.start(1), m.group(1).upper()))
            found += [(m.start(2) + t.start(1), t.group(1).upper())
                      for t in re.finditer(rf"\b{MODIFIER_TOKEN}\b", m.group(2), re.IGNORECASE)]
    if re.search(r"\bmodifiers\b", text, re.IGNORECASE):
        for m in LOOSE_LIST.finditer(text):
            found.append((m.start(1), m.group(1).upper()))
            found += [(m.start(2) + t.start(1), t.group(1).upper())
                      for t in re.finditer(rf"\b{MODIFIER_TOKEN}\b", m.group(2))]
    found += [(m.start(1), m.group(1).upper()) for m in UNAMBIGUOUS_MODIFIER.finditer(text)]
    ordered = [mod for _, mod in sorted(found)]
    return [mod for mod in dict.fromkeys(ordered) if mod not in NOT_MODIFIERS]


# The X{EPSU} modifiers name nothing else a coder writes in capitals: "resubmit with XU" means the modifier.
UNAMBIGUOUS_MODIFIER = re.compile(r"(?<![\w-])(X[EPSU])(?![\w-])")


def _dates(text: str) -> list[int]:
    found = []
    for y, mo, d in DATE_ISO.findall(text):
        found.append((int(y), int(mo), int(d)))
    for mo, d, y in DATE_US.findall(text):
        found.append((int(y) if len(y) == 4 else 2000 + int(y), int(mo), int(d)))
    for month, d, y in DATE_WORDS.findall(text):
        found.append((int(y), MONTHS[month.lower()], int(d)))
    valid = []
    for y, mo, d in found:
        try:
            date(y, mo, d)
        except ValueError:
            continue
        valid.append(y * 10000 + mo * 100 + d)
    return valid


def recognize(text: str) -> Recognized:
    return Recognized(
        codes=_mentions(text),
        modifiers=find_modifiers(text),
        units=[int(next(g for g in m.groups() if g)) for m in UNITS.finditer(text)],
        dates=_dates(text),
    )


def codes_in(text: str) -> tuple[str, ...]:
    """Code-shaped tokens in a passage or answer. ICD-10-CM only with its dot: written text uses the dot, and
    bare forms collide with document ids such as LCD L33569."""
    return tuple(dict.fromkeys(m.code for m in _mentions(text, bare_icd10=False)))


def code_position(text: str, code: str) -> int | None:
    """Where ``code`` is first written in ``text`` as a whole token (not inside "K35.30" or "99259"), or None.
    A string search, not a regular expression: a pattern per code would be compiled anew for every code an
    answer names (Python caches only so many)."""
    start = text.find(code)
    while start != -1:
        end = start + len(code)
        before = text[start - 1] if start else " "
        after = text[end] if end < len(text) else " "
        if not (before.isalnum() or before in "._") and not (after.isalnum() or after == "_"):
            return start
        start = text.find(code, start + 1)
    return None

