"""Word-level helpers shared by the composer and the retriever's lexical rerank."""

from __future__ import annotations

import re
from functools import lru_cache

WORD = re.compile(r"[a-z0-9]+")
STOPWORDS = set("""a an and are as at be by can do does for from how i in is it of on or should the to was what
when where which who will with you your my we our this that these those there their if not no yes may""".split())


def stem(word: str) -> str:
    """A light suffix stripper: enough for "edits"/"edit", "billed"/"bill", "reporting"/"report"."""
    for suffix in ("ing", "ed", "es", "s"):
        if len(word) > len(suffix) + 3 and word.endswith(suffix):
            return word[: -len(suffix)]
    return word


def words(text: str) -> list[str]:
    """Content words in order, stemmed; single digits count ("modifier indicator 0")."""
    return [stem(w) for w in WORD.findall(text.lower()) if w not in STOPWORDS and (len(w) > 1 or w.isdigit())]


def terms(text: str) -> set[str]:
    return set(words(text))


def bigrams(text: str) -> set[tuple[str, str]]:
    found = words(text)
    return set(zip(found, found[1:]))


@lru_cache(maxsize=8192)
def profile(text: str) -> tuple[frozenset[str], frozenset[tuple[str, str]]]:
    """(terms, bigrams) of a passage, computed once per distinct text: passages come back query after query."""
    found = words(text)
    return frozenset(found), frozenset(zip(found, found[1:]))
