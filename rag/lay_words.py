"""Everyday words read in the code sets' words: "broken shin bone" -> "fracture of tibia", "shot of ceftriaxone" ->
"injection ceftriaxone", "sudden kidney failure" -> "acute kidney failure".

The vocabulary is corpora/vocabulary/lay_words.csv (written for the project; its README gives the rules). Code
search reads a question both as typed and in this clinical reading, and keeps whichever matches a code better: a
lay word that a descriptor also uses ("knee cap" in an orthosis descriptor) loses nothing.
"""

from __future__ import annotations

import csv
import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

DEFAULT_TABLE = Path(__file__).resolve().parents[1] / "corpora" / "vocabulary" / "lay_words.csv"
HEADER = ["lay", "clinical"]


class LayWordsError(ValueError):
    """The vocabulary file is not what the project writes (said with the file and line)."""


@dataclass(frozen=True)
class LayWords:
    clinical: dict[str, tuple[str, ...]]  # lay phrase (lower case, no OPTIONAL_WORDS) -> renderings, most used first
    pattern: re.Pattern[str] | None

    def reading(self, text: str) -> str:
        """The text with every lay phrase replaced by its first clinical rendering, longest phrase first, in one
        pass (a rendering is never read again)."""
        if self.pattern is None:
            return text
        return self.pattern.sub(lambda found: self.clinical[_key(found.group(0))][0], text)


def read_lay_words(path: Path) -> LayWords:
    try:
        with open(path, encoding="utf-8", newline="") as handle:
            rows = list(csv.reader(handle))
    except OSError as error:
        raise LayWordsError(f"{path}: cannot read the lay-word vocabulary ({error.strerror})") from error
    if not rows or [cell.strip() for cell in rows[0]] != HEADER:
        raise LayWordsError(f"{path}: line 1 must be the header {','.join(HEADER)}")
    clinical: dict[str, tuple[str, ...]] = {}
    for line, row in enumerate(rows[1:], start=2):
        if not any(cell.strip() for cell in row):
            continue
        if len(row) != 2:
            raise LayWordsError(f"{path}: line {line} has {len(row)} fields, expected 2 (lay,clinical)")
        lay = " ".join(row[0].lower().split())
        renderings = tuple(" ".join(r.lower().split()) for r in row[1].split("|") if r.strip())
        if not lay or not renderings:
            raise LayWordsError(f"{path}: line {line} needs both a lay phrase and a clinical word")
        if lay in clinical:
            raise LayWordsError(f"{path}: line {line}: '{lay}' is listed twice")
        clinical[lay] = renderings
    if not clinical:
        return LayWords({}, None)
    phrases = sorted(clinical, key=lambda p: (-len(p), p))
    pattern = re.compile(r"(?<![\w-])(?:" + "|".join(_phrase_pattern(p) for p in phrases) + r")(?![\w-])", re.I)
    by_key = {_key(lay): renderings for lay, renderings in clinical.items()}
    return LayWords(by_key, pattern)


# Question words are taken off before code search ("pocket of pus" arrives as "pocket pus"): inside a lay phrase
# they are optional, and a phrase is looked up without them.
OPTIONAL_WORDS = {"of", "the", "a", "an", "for", "to"}


def _key(phrase: str) -> str:
    return " ".join(w for w in phrase.lower().split() if w not in OPTIONAL_WORDS) or phrase.lower()


def _phrase_pattern(phrase: str) -> str:
    words = phrase.split()
    if all(w in OPTIONAL_WORDS for w in words):
        return r"\s+".join(map(re.escape, words))
    parts, started = [], False
    for word in words:
        if word in OPTIONAL_WORDS:
            parts.append(rf"(?:\s+{re.escape(word)})?" if started else rf"(?:{re.escape(word)}\s+)?")
        else:
            parts.append(rf"\s+{re.escape(word)}" if started else re.escape(word))
            started = True
    return "".join(parts)


@lru_cache(maxsize=1)
def lay_words() -> LayWords:
    return read_lay_words(DEFAULT_TABLE)


@lru_cache(maxsize=65_536)  # descriptor matching asks for the same question's reading once per candidate
def clinical_reading(text: str) -> str:
    return lay_words().reading(text)
