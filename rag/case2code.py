"""Case2Code: find codes from a code, a typo'd code, a descriptor or lay words, across all code sets.

Lexical half: SQLite FTS5 (BM25) over every descriptor, with unknown words corrected against the index's
own vocabulary. Semantic half: dense search over code passages. The two rankings are fused (RRF).
"""

from __future__ import annotations

import math
import re
import threading
from collections import Counter
from functools import lru_cache
from typing import Any, Callable, Sequence

from rapidfuzz import fuzz, process
from rapidfuzz.distance import OSA

from rag.abbreviations import expand
from rag.answer import CodeHit
from rag.codes import recognize
from rag.findings.codes import check_code, describe
from rag.lay_words import clinical_reading
from rag.retrieve import HybridRetriever
from rag.stores.reference import ReferenceStore
from rag.stores.schema import DATASETS

WORD = re.compile(r"[A-Za-z0-9]+")
RRF_K = 60
FTS_STOP = {"and", "or", "not", "near", "the", "of", "a", "an", "for", "with", "to", "in", "on", "by", "per"}


def code_shape(code: str) -> str:
    """"22514" -> "99999", "J1885" -> "A9999", "M80.08XA" -> "A99.99AA"."""
    return "".join("9" if ch.isdigit() else "A" if ch.isalpha() else ch for ch in code.upper())


def _common_prefix(a: str, b: str) -> int:
    length = 0
    for x, y in zip(a, b):
        if x != y:
            break
        length += 1
    return length


class CodeSearch:
    """Code search over one reference store. Its indexes are built from the tables on first use (or by
    ``warm``); a search over a newer store takes over the indexes whose tables did not change."""

    def __init__(self, store: ReferenceStore, retriever: HybridRetriever | None = None, *,
                 carry_from: "CodeSearch | None" = None):
        self.store, self.retriever = store, retriever
        self._lock = threading.Lock()
        self._vocabulary: list[str] | None = None
        self._known: frozenset[str] = frozenset()  # the vocabulary as a set, built with it
        self._by_length: dict[int, list[str]] = {}  # and by length, for a typo compared with the stems
        self._codes: dict[str, list[str]] | None = None
        self._descriptors: dict[str, list[tuple[str, str, bool]]] | None = None
        self._df: Counter[str] = Counter()
        self._documents = 1
        # Per store, so never stale: a question's words and candidates recur across its two searches and across
        # questions; reading them once saves SQLite lookups and JSON decoding on every search.
        self._corrections: dict[str, list[str]] = {}
        self._records: dict[str, tuple[CodeHit, list[str]] | None] = {}
        if carry_from is not None:
            self._carry(carry_from)

    def _tables(self, *kinds: str) -> tuple:
        """The releases an index is built from (all reference tables when no kind is named)."""
        return tuple(sorted((name, r.version, r.loaded_at) for name, r in self.store.releases().items()
                            if not kinds or DATASETS[name].kind in kinds))

    def _carry(self, other: "CodeSearch") -> None:
        with other._lock:
            if other._tables("codes") == self._tables("codes"):
                self._vocabulary, self._known, self._by_length = other._vocabulary, other._known, other._by_length
                self._descriptors = other._descriptors
                self._df, self._documents = other._df, other._documents
            if other._tables() == self._tables():
                self._codes = other._codes

    def warm(self) -> None:
        self._vocab()
        self._codes_by_shape()
        self._descriptor_index()

    # ------------------------------------------------------------ lazily built indexes

    def _vocab(self) -> list[str]:
        with self._lock:
            if self._vocabulary is None:
                self._vocabulary = sorted(self.store.vocabulary())
                self._known = frozenset(self._vocabulary)
                for term in self._vocabulary:
                    self._by_length.setdefault(len(term), []).append(term)
            return self._vocabulary

    def _codes_by_shape(self) -> dict[str, list[str]]:
        with self._lock:
            if self._codes is None:
                grouped: dict[str, list[str]] = {}
                for code in sorted(self.store.all_code_strings()):
                    grouped.setdefault(code_shape(code), []).append(code)
                self._codes = grouped
            return self._codes

    # ------------------------------------------------------------ suggestions for unknown codes

    def closest_codes(self, code: str, limit: int = 5) -> list[str]:
        """Valid codes of the same shape (digits, letters and dot in the same places) one or two edits away: a
        mistyped character, or two swapped neighbours (one edit). Nearest first; among equals, the longest shared
        prefix first."""
        code = code.upper()
        same_shape = self._codes_by_shape().get(code_shape(code), [])
        found = process.extract(code, same_shape, scorer=OSA.distance, score_cutoff=2, limit=None)
        ranked = sorted(found, key=lambda item: (item[1], -_common_prefix(code, item[0]), item[0]))
        return [c for c, _, _ in ranked if c != code][:limit]

    # ------------------------------------------------------------ text search

    def _correct(self, words: list[str]) -> list[str]:
        vocab = self._vocab()
        known = self._known
        corrected = []
        for word in words:
            lower = word.lower()
            if lower in known or len(lower) < 4 or lower.isdigit() or self.store.descriptors_contain(lower):
                corrected.append(lower)
                continue
            match = process.extractOne(lower, vocab, scorer=fuzz.ratio, score_cutoff=80) or self._stem_match(lower)
            corrected.append(match[0] if match else lower)
        return corrected

    def _stem_match(self, word: str) -> tuple[str, float, int] | None:
        """The index stems its terms ("fatigue" is "fatigu"), so a typo of a whole word ("fatique") is compared
        with the stems as long as its first letters; the closest wins."""
        best = None
        for length in range(max(STEM_MIN, len(word) - 3), len(word)):
            found = process.extractOne(word[:length], self._by_length.get(length, []), scorer=fuzz.ratio,
                                       score_cutoff=80)
            if found and (best is None or found[1] > best[1]):
                best = found
        return best

    def corrected_words(self, text: str) -> list[str]:
        corrected = self._corrections.get(text)
        if corrected is None:
            words = [w for w in WORD.findall(text) if w.lower() not in FTS_STOP]
            corrected = self._correct(words) if words else []
            _bounded(self._corrections)[text] = corrected
        return corrected

    def lexical(self, text: str, limit: int, code_sets: Sequence[str] | None = None,
                words: list[str] | None = None):
        words = self.corrected_words(text) if words is None else words
        if not words:
            return []
        unique = list(dict.fromkeys(words))
        ranked = " OR ".join(f'"{w}"' for w in unique)
        # BM25 ranks every title that has any of the words: "fracture", "right" or "unspecified" are in 20,000
        # ICD-10-CM titles each (20-40 ms a query). Only titles with one of the informative words are ranked, by
        # all the words; words that are all common must all be there. A word no title has (a search term's, or an
        # uncorrected typo) gathers nothing and so gates nothing.
        rare = [f'"{w}"' for w in unique if 0 < self.documents_with(w) <= GATE_DOCUMENTS]
        if rare and len(rare) < len(unique):
            return self.store.search_descriptors(f"({' OR '.join(rare)}) AND ({ranked})", limit, code_sets)
        if not rare and len(unique) > 1:
            found = self.store.search_descriptors(" AND ".join(f'"{w}"' for w in unique), limit, code_sets)
            if found:
                return found
        return self.store.search_descriptors(ranked, limit, code_sets)

    def documents_with(self, word: str) -> int:
        """How many descriptors have the word (cut as ``word_keys`` cuts it), across all code sets."""
        self._descriptor_index()
        keys = word_keys(word)
        return self._df.get(keys[0], 0) if keys else 0

    # ------------------------------------------------------------ descriptors, exactly

    def _descriptor_index(self) -> dict[str, list[tuple[str, str, bool]]]:
        """normalised descriptor -> [(code, code set, terminated)], over every loaded code table."""
        with self._lock:
            if self._descriptors is None:
                index: dict[str, list[tuple[str, str, bool]]] = {}
                df: Counter[str] = Counter()
                for code, code_set, long, short, terminated in self.store.iter_descriptors():
                    if code_set == "MODIFIER":
                        continue
                    df.update(set(word_keys(f"{long} {short}")))
                    for text in {long, short}:
                        key = normalize_descriptor(text)
                        if len(key) >= 8:
                            entry = (code, code_set, terminated)
                            if entry not in index.setdefault(key, []):
                                index[key].append(entry)
                self._descriptors = index
                self._df, self._documents = df, max(1, sum(1 for _ in index))
            return self._descriptors

    def typed_descriptor(self, question: str, code_sets: Sequence[str] | None = None,
                         request: Callable[[str], bool] | None = None) -> list[CodeHit]:
        """The codes whose descriptor the question ends with word for word ("what is the hcpcs code for <the
        descriptor>?"): the coder pasted it, so it names its code (active codes first). ``request`` says whether
        the words before it only ask for a code ("type 2 diabetes with diabetic" before N18.32's title do not)."""
        for reading in dict.fromkeys((question, clinical_reading(question))):  # "shot of X" pastes "Injection, X"
            words = reading.strip().rstrip("?!. ").split()
            for start in range(min(len(words), MAX_REQUEST_WORDS + 1)):
                if start and request is not None and not request(" ".join(words[:start])):
                    continue
                found = self._descriptor_hits(" ".join(words[start:]), code_sets)
                if found:
                    return found
        return []

    def _descriptor_hits(self, text: str, code_sets: Sequence[str] | None) -> list[CodeHit]:
        """The codes whose descriptor is ``text`` word for word (active before terminated), as hits that lead."""
        hits = []
        for code, code_set, _terminated in sorted(self._descriptor_index().get(normalize_descriptor(text), []),
                                                 key=lambda entry: (entry[2], entry[0])):
            if code_set_allowed(code_set, code_sets) and (found := self._record_hit(code)):
                hits.append(found[0].model_copy(update={"score": 1.0, "source": "descriptor"}))
        return hits

    def idf(self, key: str) -> float:
        self._descriptor_index()
        return math.log((self._documents + 1) / (self._df.get(key, 0) + 1)) + 1.0

    def _has_passages(self, code_sets: Sequence[str] | None) -> bool:
        """Whether a dense search can find anything in these code sets: ICD-10-CM has no code passages (98,000
        codes are searched by their words), so an ICD-10-CM-only search skips the query's vector search."""
        if code_sets is None or self.retriever is None:
            return True
        sources = self.retriever.sources()
        return any(code_set.lower() in sources for code_set in code_sets)

    def texts(self, code: str) -> list[str]:
        """Every text a code is described by: descriptors, plain-language description, search terms."""
        found = self._record_hit(code)
        return found[1] if found else []

    def _record_hit(self, code: str, source_hint: str = "") -> tuple[CodeHit, list[str]] | None:
        found = self._records.get(code, UNREAD)
        if found is UNREAD:
            found = self._read_record_hit(code)
            _bounded(self._records)[code] = found
        if found is None or not source_hint:
            return found
        return found[0].model_copy(update={"source": source_hint}), found[1]

    def _read_record_hit(self, code: str) -> tuple[CodeHit, list[str]] | None:
        found = [s for s in self.store.lookup_code(code) if s.fact.code_set != "MODIFIER"]
        if not found:
            return None
        record = found[0].fact
        # Each search term is matched on its own ("kidney stone" is N20.0's term; N23's "kidney stone pain" only
        # contains it), as written and spelt out: questions arrive with abbreviations spelt out ("IM injection" is
        # asked as "intramuscular injection").
        terms = [t for s in found for term in s.fact.attributes.get("lay_terms", []) for t in (term, expand(term))]
        texts = [t for s in found for t in (s.fact.long_description, s.fact.short_description,
                                             own_sentences(s.fact.lay_description, code)) if t]
        texts = list(dict.fromkeys([*texts, *terms]))
        terminated = any(s.fact.termination_date for s in found)
        return CodeHit(code=code, code_set=record.code_set, description=describe(record)[:200], score=0.0,
                       status="deleted" if terminated else "valid", source=found[0].release.dataset), texts

    def search(self, query: str, limit: int = 10, code_sets: Sequence[str] | None = None,
               semantic: bool = True) -> list[CodeHit]:
        """Codes whose descriptor is the query word for word first (active before terminated); then codes named
        in the query; then the fused lexical + dense ranking, reranked by how closely each candidate's
        descriptors match the query: word overlap, the rare words it shares ("kyphoplasty" over "one"), and
        negations ("without ultrasound" must not pick the ultrasound code)."""
        query = query.strip()
        if not query:
            return []
        # Read as typed and in the code sets' words ("shin bone" is "tibia"): each reading gathers candidates, and
        # a candidate is ranked by the reading it matches better. Only the words as typed can be a pasted descriptor.
        readings = list(dict.fromkeys((query, clinical_reading(query))))
        # A descriptor pasted word for word names its code, even when it mentions another ("alternative to G0105").
        hits: dict[str, CodeHit] = {hit.code: hit for hit in self._descriptor_hits(query, code_sets)}
        for mention in recognize(query).codes:
            check = check_code(self.store, mention.code, mention.code_set)
            if check.status != "unknown" and check.code not in hits and code_set_allowed(check.code_set, code_sets):
                hits[check.code] = CodeHit(code=check.code, code_set=check.code_set, description=check.description,
                                           score=1.0, status=check.status, source="exact")
        scores: dict[str, float] = {}
        words = {reading: self.corrected_words(reading) for reading in readings}
        lexical = []
        for reading in readings:  # a code both readings find is found once: its better rank counts
            found = self.lexical(reading, limit * 3, code_sets, words[reading])
            for rank, (sourced, _) in enumerate(found):
                code = sourced.fact.code
                scores[code] = max(scores.get(code, 0.0), 1 / (RRF_K + rank))
            lexical += found[:LEXICAL_CHECKED]
        matched: dict[str, float] = {}  # each candidate's descriptor match: the certainty check and the rerank

        def match(code: str, texts: Sequence[str]) -> float:
            if code not in matched:
                matched[code] = reading_match(query, texts, words[query],
                                              words[readings[-1]] if len(readings) > 1 else None)
            return matched[code]

        # Words that match a code's descriptor or search term closely need no query embedding: the dense half then
        # seldom adds a better candidate, and it costs more than the rest of the search.
        certain = any(match(s.fact.code, self.texts(s.fact.code)) >= LEXICALLY_CERTAIN for s, _ in lexical)
        if semantic and not certain and self.retriever is not None and len(query) > 3 and \
                self._has_passages(code_sets):
            # One embedding, of the words as typed: the model knows lay words, and a reading can lose one ("pap").
            retrieved = self.retriever.retrieve(query, limit=limit * 2, kinds=["code"], mode="dense")
            for rank, hit in enumerate(retrieved.hits):
                hit_code = hit.passage.codes[0] if hit.passage.codes else None
                if hit_code and (code_sets is None or hit.passage.doc_id.split(":")[0] in code_sets):
                    scores[hit_code] = scores.get(hit_code, 0.0) + 1 / (RRF_K + rank)
        candidates = sorted(scores, key=lambda c: -scores[c])[:max(limit * 3, 20)]
        final: dict[str, float] = {}
        records: dict[str, CodeHit] = {}
        for code in candidates:
            found = self._record_hit(code)
            if found is None:
                continue
            records[code], texts = found
            covered = max(coverage(words[reading] or WORD.findall(reading), texts, self.idf) for reading in readings)
            final[code] = scores[code] + MATCH_WEIGHT * (match(code, texts) + covered) / 2
        ranked = sorted(final, key=lambda c: (-final[c], records[c].status != "valid", c))
        for code in ranked:
            if code not in hits:
                hits[code] = records[code].model_copy(update={"score": round(final[code], 5)})
        return list(hits.values())[:limit]


MEMO_SIZE = 20_000
UNREAD: Any = object()


def _bounded(memo: dict) -> dict:
    if len(memo) >= MEMO_SIZE:
        memo.clear()  # a crude bound: the working set of a busy service refills it in a few questions
    return memo


def code_set_allowed(code_set: str, code_sets: Sequence[str] | None) -> bool:
    return code_sets is None or code_set in code_sets or "/" in code_set  # "CPT/HCPCS": listed in NCCI only


def own_sentences(text: str, code: str) -> str:
    """A plain-language description without its sentences about other codes: 77066's "routine asymptomatic
    screening is 77067" describes 77067, and would otherwise make 77066 the answer to "screening mammogram"."""
    if not text:
        return text
    sentences = re.split(r"(?<=[.;])\s+", text)
    kept = [s for s in sentences if not any(found != code for found in CODE_TOKEN.findall(s))]
    return " ".join(kept) or sentences[0]


CODE_TOKEN = re.compile(r"\b(?:\d{4}[0-9A-Z]|[A-V]\d{4})\b")  # a CPT or HCPCS code named in a sentence


def word_keys(text: str) -> list[str]:
    """Words cut to six characters: a cheap stem that puts "vertebra" and "vertebral" together."""
    return [w[:6] for w in re.findall(r"[a-z0-9]+", text.lower()) if len(w) > 1 and w not in FTS_STOP]


def coverage(words: Sequence[str], texts: Sequence[str], idf) -> float:
    """The share of the query's information (its words weighted by rarity across all descriptors) that the
    candidate's descriptors contain: "kyphoplasty" weighs far more than "one"."""
    wanted = dict.fromkeys(k for w in words for k in word_keys(w))
    if not wanted:
        return 0.0
    present = set(word_keys(" ".join(texts)))
    weights = {k: idf(k) for k in wanted}
    return sum(v for k, v in weights.items() if k in present) / sum(weights.values())


STEM_MIN = 5  # shorter cut-offs of a typo match too many stems by chance
GATE_DOCUMENTS = 4000  # a word in more descriptors than this does not by itself make a title a candidate
LEXICALLY_CERTAIN = 0.9  # measured: from 0.97 to 0.9 the generated and coder sets lose nothing, a third fewer embeddings
LEXICAL_CHECKED = 5
MAX_REQUEST_WORDS = 8  # "what is the hcpcs level ii code for": the words before a pasted descriptor
MATCH_WEIGHT = 0.06  # a perfect descriptor match outweighs a few ranks of the fused lists (0.03 let short titles that merely contain the words lead)
NUMBER_MISSING, NUMBER_CAP = 0.15, 0.3
PART_ONLY_PENALTY = 0.05  # ranks the whole service first among close matches; a clearly better part still wins
NEGATION = re.compile(r"\b(?:without|w/o|no|not)\s+(\w+)", re.I)


COMPARISONS = ((">=", " ge "), ("\u2265", " ge "), ("<=", " le "), ("\u2264", " le "), (">", " gt "), ("<", " lt "))


@lru_cache(maxsize=65_536)  # the same descriptors are compared with every question's words
def normalize_descriptor(text: str) -> str:
    """Lower-case words and numbers only; a comparison keeps its sense (G8752 is "< 140 mmhg", G8753 ">= 140")."""
    text = (text or "").lower()
    for sign, word in COMPARISONS:
        text = text.replace(sign, word)
    return " ".join(re.findall(r"[a-z0-9]+(?:\.[0-9]+)?", text))


READING_WEIGHT = 0.97  # the words as typed are the evidence; the clinical reading is an interpretation of them


def reading_match(query: str, texts: Sequence[str], words: Sequence[str] = (),
                  reading_words: Sequence[str] | None = None) -> float:
    """``descriptor_match`` of the words as typed, or of their clinical reading ("shin bone" as "tibia") a little
    discounted: "pink eye", a search term of H10.9, is not outdone by "Other conjunctivitis"."""
    typed = descriptor_match(query, texts, words)
    reading = clinical_reading(query)
    if reading == query:
        return typed
    return max(typed, READING_WEIGHT * descriptor_match(reading, texts, reading_words or ()))


def _said_plainly(word: str, leads: str) -> bool:
    """Whether the descriptors also name ``word`` without negating it ("first without contrast and then repeated
    after intravenous contrast" is a study both ways)."""
    for found in re.finditer(rf"\b{re.escape(word)}\b", leads):
        before = leads[max(0, found.start() - 60):found.start()]
        if not re.search(r"\b(?:without|no|not|non)\s+(?:(?!with\b)\w+\s+){0,3}$", before):
            return True
    return False


def descriptor_match(query: str, texts: Sequence[str], words: Sequence[str] = ()) -> float:
    """How well a candidate's descriptors match the query, 0..1: word overlap both ways (token sort and token
    set ratios, on the query as typed and as spell-corrected), then a step up or down when the query says
    "without X" and the descriptor's own first sentence agrees or not (later sentences often point elsewhere:
    "Without ultrasound guidance, use 20610")."""
    if not texts:
        return 0.0
    queries = {normalize_descriptor(query), normalize_descriptor(" ".join(words))} - {""}
    best = 0.0
    for text in texts:
        t = normalize_descriptor(text)
        for q in queries:
            best = max(best, (fuzz.token_sort_ratio(q, t) + fuzz.token_set_ratio(q, t)) / 200)
    leads = " | ".join(normalize_descriptor(re.split(r"(?<=\.)\s", t, maxsplit=1)[0]) for t in texts)
    for word in NEGATION.findall(query):
        word = word.lower()
        # the words between may not say "with" ("without cholecystitis with obstruction" has the obstruction), and a
        # descriptor with the word both ways ("first without contrast and then with contrast") earns nothing
        says_without = re.search(rf"\b(?:without|no|not)\s+(?:(?!with\b)\w+\s+){{0,3}}{re.escape(word)}", leads)
        both_ways = re.search(rf"\bwith\s+(?:(?!without\b)\w+\s+){{0,2}}{re.escape(word)}", leads) or \
            (says_without and _said_plainly(word, leads))
        if says_without and not both_ways:
            best += 0.25
        elif re.search(rf"\bwith\s+(?:\w+\s+){{0,2}}{re.escape(word)}", leads):
            best -= 0.25
    # "non-emergency" is not "emergency": a word the query asks for plainly, negated by the descriptor's "non".
    plain = normalize_descriptor(query)
    # A number the words give and no descriptor has is a different code's ("stage 5" is not "stage 1 through
    # stage 4"; "type 1" is not "type 2").
    numbers = {w for w in plain.split() if w.isdigit()}
    if numbers:  # most words carry none: the descriptors' words are gathered only for those that do
        said = set().union(*(normalize_descriptor(t).split() for t in texts))
        best -= min(NUMBER_CAP, NUMBER_MISSING * len(numbers - said))
    # A service named plainly is the whole service: "ECG with interpretation and report" is the global 93000, not
    # 93010's "interpretation and report only"; a part alone is asked for by saying so.
    if "only" not in plain.split() and re.search(r"\bonly\b", leads):
        best -= PART_ONLY_PENALTY
    negated = {w.lower() for w in NEGATION.findall(query)}  # "without contrast" is what "non-contrast" says
    for word in set(plain.split()) - {"non"} - negated:
        if len(word) > 3 and f"non {word}" in leads and f"non {word}" not in plain:
            best -= 0.25
    return best
