"""Answer-level metrics: what a coder reading the answer sees, per item, over plain data.

An answer is given as its sentences, each (text, citation markers), the source id each marker stands for and
whether it abstained (:class:`PlainAnswer`), so the product's answers and the baselines' (eval/baselines.py)
are scored by the same functions. The definitions are eval's own, written apart from rag's composer and guard,
so that eval can catch either failing:

- direct answer: the first sentence holds the expected code or fact (or the answer abstains / asks back when
  it should);
- sentence precision: sentences citing a supporting source or stating an expected fact or code;
- fragments and duplicates: sentences that do not stand on their own, sentences said twice;
- abstention precision and recall;
- false statements: a code called current while deleted (or deleted while valid), two codes said to have no
  NCCI edit while the PTP table has an active one.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from itertools import combinations
from typing import Callable, Iterable, Mapping, Sequence

from eval.metrics import fact_presence, normalize_id, rate
from rag.codes import codes_in, find_modifiers, recognize
from rag.conversation import CLARIFY

CodeStatus = Callable[[str], str]  # code -> "valid" | "deleted" | "unknown"
PairEdited = Callable[[str, str], bool]  # (code, code) -> an active PTP edit pairs them

MIN_WORDS = 4
NEAR_DUPLICATE = 0.8  # word-set Jaccard at or above which two sentences say the same thing
ANAPHORIC_OPENERS = {"it", "this", "these", "they", "those", "that", "so", "such", "both", "also", "however"}

MARKERS = re.compile(r"\s*\[\d+(?:\s*,\s*\d+)*\]")
LIST_ITEM = re.compile(r"^(?:[-*•]|\d+[.)](?=\s|$))")
WORD = re.compile(r"\w+")
PAIRS = {"(": ")", "[": "]"}

CLAIMS_CURRENT = re.compile(r"\bis (?:a )?(?:current|active|valid)\b|\bstill (?:current|active|valid)\b"
                            r"|(?<!\bnot )(?<!\bno longer )\bin effect\b", re.I)
CLAIMS_DELETED = re.compile(r"\b(?:deleted|terminated|discontinued)\b", re.I)
DENIES_DELETED = re.compile(r"\b(?:not|never|n't)\s+(?:been\s+)?(?:deleted|terminated|discontinued)\b", re.I)
CLAIMS_NO_EDIT = re.compile(r"\bno\s+(?:ncci\s+ptp|ncci|ptp)\s+edits?\b|\bcan\s+be\s+billed\s+together\b", re.I)
MODIFIER_WORD = re.compile(r"\bmodifiers?\b", re.I)


@dataclass(frozen=True)
class PlainAnswer:
    sentences: Sequence[tuple[str, Sequence[int]]]  # (text, citation markers)
    citation_ids: Mapping[int, str] = field(default_factory=dict)  # marker -> source id (runner's Contexts)
    abstained: bool = False

    @property
    def texts(self) -> list[str]:
        return [text for text, _ in self.sentences]


# ---------------------------------------------------------------- text helpers


def strip_markers(text: str) -> str:
    return MARKERS.sub("", text).strip()


def normalized(text: str) -> str:
    """Lower case, citation markers and punctuation gone, whitespace folded: two spellings of one sentence meet."""
    return " ".join(WORD.findall(strip_markers(text).lower().replace("_", " ")))


def names_code(text: str, code: str) -> bool:
    """The code as a whole token (K35.3 is not named by "K35.30", modifier 59 not by "99259")."""
    return re.search(rf"(?<![\w.]){re.escape(code)}(?!\w|\.\w)", text, re.I) is not None


def first_named_code(text: str, expected: str) -> str | None:
    """The first code the text names; for a two-character expected code, the first modifier (modifiers are not
    codes to rag.codes.codes_in)."""
    if len(expected) == 2:
        named: list[str] | tuple[str, ...] = find_modifiers(text)
    else:  # a three-character ICD-10-CM category has no dot to be read by ("is I10:"): then read it bare
        named = codes_in(text) or [m.code for m in recognize(text).codes if len(m.code) == 3]
    return named[0] if named else None


def states_expected(text: str, item: Mapping) -> bool:
    """The text holds one of the item's expected facts or expected codes."""
    facts = item.get("expected_facts") or []
    return any(fact_presence(text, facts)) or any(names_code(text, code) for code in item.get("expected_codes") or [])


def must_abstain(item: Mapping) -> bool:
    return bool(item.get("must_abstain") or item.get("expect_refusal"))


# ---------------------------------------------------------------- direct answer


def direct_answer(item: Mapping, answer: PlainAnswer) -> bool | None:
    """Does the first sentence answer? None when the item has nothing to check."""
    if must_abstain(item):
        return answer.abstained
    if item.get("expect_clarification"):
        return " ".join(" ".join(answer.texts).split()) == " ".join(CLARIFY.split())
    first = answer.texts[0] if answer.texts else ""
    expected_code = item.get("expect_first_code")
    if expected_code:
        named = first_named_code(first, expected_code)
        return named is not None and named.upper() == expected_code.upper()
    facts = item.get("expected_facts") or []
    if facts:
        return any(fact_presence(first, facts))
    codes = item.get("expected_codes") or []
    if codes:
        return any(names_code(first, code) for code in codes)
    return None


# ---------------------------------------------------------------- sentence precision


def supporting_sentences(item: Mapping, answer: PlainAnswer) -> int | None:
    """How many sentences cite a supporting source or state an expected fact or code; None when the item has
    neither supporting ids nor expected facts, or the answer abstained."""
    if answer.abstained or not (item.get("supporting_ids") or item.get("expected_facts")):
        return None
    supporting = {normalize_id(i) for i in item.get("supporting_ids") or []}
    count = 0
    for text, markers in answer.sentences:
        cited = {normalize_id(answer.citation_ids[m]) for m in markers if m in answer.citation_ids}
        count += bool(cited & supporting) or any(is_icd10cm_ancestor(c, supporting) for c in cited) \
            or states_expected(text, item)
    return count


def is_icd10cm_ancestor(cited: str, supporting: set[str]) -> bool:
    """A tabular row above an expected ICD-10-CM code (J45 for J45.901) supports it: its notes ("use additional
    code", 7th characters) and its header status apply to the code below it."""
    source, _, code = cited.partition(":ICD10CM:")
    if source != "icd10cm" or not code:
        return False
    return any(s.startswith("icd10cm:ICD10CM:") and s.split(":ICD10CM:")[1].startswith(code) for s in supporting)


# ---------------------------------------------------------------- fragments and duplicates


def balanced(text: str) -> bool:
    stack: list[str] = []
    for char in text:
        if char in PAIRS:
            stack.append(PAIRS[char])
        elif char in PAIRS.values():
            if not stack or stack.pop() != char:
                return False
    return not stack


def fragment_reason(text: str) -> str | None:
    """Why a sentence cannot stand on its own, or None when it can."""
    body = strip_markers(text)
    words = [w for w in body.split() if WORD.search(w)]
    first_alnum = next((c for c in body if c.isalnum()), "")
    if body.endswith(":"):
        return "lead-in"
    if LIST_ITEM.match(body):
        return "list item"
    if first_alnum.islower():
        return "starts lower-case"
    if words and words[0].strip(".,;:!?\"'").lower() in ANAPHORIC_OPENERS:
        return "anaphoric opener"
    if not balanced(body):
        return "unbalanced brackets"
    if len(words) < MIN_WORDS:
        return "too short"
    return None


def jaccard(a: set[str], b: set[str]) -> float:
    return len(a & b) / len(a | b) if a | b else 0.0


def duplicates(texts: Sequence[str]) -> list[int]:
    """Indexes of sentences that repeat an earlier one, word for word or nearly (Jaccard >= NEAR_DUPLICATE)."""
    seen: list[tuple[str, set[str]]] = []
    repeated = []
    for index, text in enumerate(texts):
        norm = normalized(text)
        words = set(norm.split())
        if norm and any(norm == s or jaccard(words, w) >= NEAR_DUPLICATE for s, w in seen):
            repeated.append(index)
        seen.append((norm, words))
    return repeated


# ---------------------------------------------------------------- false statements


def false_statement_reason(text: str, code_status: CodeStatus, pair_edited: PairEdited) -> str | None:
    """What the sentence states against the reference data, or None. A question states nothing."""
    if strip_markers(text).endswith("?"):
        return None
    codes = codes_in(strip_markers(text))
    if len(codes) == 1:
        current = bool(CLAIMS_CURRENT.search(text))
        deleted = bool(CLAIMS_DELETED.search(text)) and not DENIES_DELETED.search(text)
        if current and not deleted and code_status(codes[0]) == "deleted":
            return f"{codes[0]} called current, but it is deleted"
        if deleted and not current and code_status(codes[0]) == "valid":
            return f"{codes[0]} called deleted, but it is valid"
    no_edit = CLAIMS_NO_EDIT.search(text)
    # "can be billed together with modifier 59" is true of an indicator-1 edit: only the bare claim is read
    if no_edit and not (no_edit.group(0).lower().startswith("can") and MODIFIER_WORD.search(text)):
        for a, b in combinations(codes, 2):
            if pair_edited(a, b):
                return f"no edit claimed, but an active PTP edit pairs {a} and {b}"
    return None


# ---------------------------------------------------------------- one item


def score_answer(item: Mapping, answer: PlainAnswer, code_status: CodeStatus, pair_edited: PairEdited) -> dict:
    """Every answer-level value of one item, as stored in results.json and aggregated by :func:`summarize`."""
    texts = answer.texts
    fragments = [[t, reason] for t in texts if (reason := fragment_reason(t))]
    false = [[t, reason] for t in texts if (reason := false_statement_reason(t, code_status, pair_edited))]
    return {
        "sentences": len(texts),
        "direct_answer": direct_answer(item, answer),
        "supporting_sentences": supporting_sentences(item, answer),
        "fragments": fragments,
        "duplicates": [texts[i] for i in duplicates(texts)],
        "false_statements": false,
        "abstain_expected": must_abstain(item),
        "abstained": answer.abstained,
    }


# ---------------------------------------------------------------- aggregation


def abstention_scores(pairs: Iterable[tuple[bool, bool]]) -> tuple[float | None, float | None]:
    """(precision, recall) over (must abstain, abstained) pairs."""
    pairs = list(pairs)
    correct = sum(truth and predicted for truth, predicted in pairs)
    return rate(correct, sum(p for _, p in pairs)), rate(correct, sum(t for t, _ in pairs))


def summarize(scores: Sequence[Mapping]) -> dict:
    """Pooled answer-level metrics over per-item values from :func:`score_answer`."""
    direct = [s["direct_answer"] for s in scores if s["direct_answer"] is not None]
    precise = [s for s in scores if s["supporting_sentences"] is not None]
    sentences = sum(s["sentences"] for s in scores)
    fragments = sum(len(s["fragments"]) for s in scores)
    repeated = sum(len(s["duplicates"]) for s in scores)
    false = sum(len(s["false_statements"]) for s in scores)
    precision, recall = abstention_scores((s["abstain_expected"], s["abstained"]) for s in scores)
    return {
        "answers": len(scores),
        "direct_answer_accuracy": rate(sum(direct), len(direct)),
        "direct_answer_items": len(direct),
        "sentence_precision": rate(sum(s["supporting_sentences"] for s in precise),
                                   sum(s["sentences"] for s in precise)),
        "precision_items": len(precise),
        "answer_sentences": sentences,
        "fragment_rate": rate(fragments, sentences),
        "answers_with_fragments": sum(bool(s["fragments"]) for s in scores),
        "duplicate_rate": rate(repeated, sentences),
        "answers_with_duplicates": sum(bool(s["duplicates"]) for s in scores),
        "abstention_precision": precision,
        "abstention_recall": recall,
        "abstentions": sum(s["abstained"] for s in scores),
        "must_abstain_items": sum(s["abstain_expected"] for s in scores),
        "false_statement_rate": rate(false, sentences),
        "false_statements": false,
    }
