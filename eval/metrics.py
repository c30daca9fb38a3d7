"""Metric functions: pure, small, and unit-tested with values computed by hand (tests/eval/test_metrics.py).

Retrieval: hit@k, MRR and recall@k use llama-index's retrieval metrics (HitRate, MRR, Recall) on the top-k
list; nDCG@k is computed here because llama-index's NDCG normalises by len(expected) rather than
min(len(expected), k), which is not the textbook nDCG@k when more items are expected than k.
Answer checks: fact presence, exact-intent correctness, refusal correctness, invented and ungrounded codes,
citation support. Cost: percentiles.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from typing import Callable, Iterable, Sequence

from rag.answer import Citation

# ---------------------------------------------------------------- ids


def normalize_id(identifier: str) -> str:
    """One spelling per source id: PTP pairs are unordered ("ptp_practitioner:22514|22511" ==
    "ptp_practitioner:22511|22514"), codes upper-case."""
    source, _, rest = identifier.partition(":")
    if "|" in rest:
        rest = "|".join(sorted(part.strip().upper() for part in rest.split("|")))
    elif source in {"cpt", "hcpcs", "icd10cm", "modifiers", "mue_practitioner", "mue_hospital", "mue_dme"}:
        rest = rest.upper()
    return f"{source}:{rest}"


def dedupe(ids: Iterable[str]) -> list[str]:
    return list(dict.fromkeys(ids))


# ---------------------------------------------------------------- retrieval


def _llama_score(metric, expected: Sequence[str], retrieved: Sequence[str]) -> float:
    if not expected or not retrieved:
        return 0.0
    return float(metric.compute(expected_ids=list(expected), retrieved_ids=list(retrieved)).score)


def hit_at_k(expected: Sequence[str], retrieved: Sequence[str], k: int) -> float:
    from llama_index.core.evaluation.retrieval.metrics import HitRate

    return _llama_score(HitRate(), expected, list(retrieved)[:k])


def reciprocal_rank(expected: Sequence[str], retrieved: Sequence[str], k: int | None = None) -> float:
    from llama_index.core.evaluation.retrieval.metrics import MRR

    ranked = list(retrieved) if k is None else list(retrieved)[:k]
    return _llama_score(MRR(), expected, ranked)


def recall_at_k(expected: Sequence[str], retrieved: Sequence[str], k: int) -> float:
    from llama_index.core.evaluation.retrieval.metrics import Recall

    return _llama_score(Recall(), expected, list(retrieved)[:k])


def ndcg_at_k(expected: Sequence[str], retrieved: Sequence[str], k: int) -> float:
    """Binary-relevance nDCG@k: DCG = sum over relevant ranks i of 1/log2(i+1); ideal = min(|expected|, k)
    relevant items at the top."""
    wanted = set(expected)
    if not wanted:
        return 0.0
    dcg = sum(1.0 / math.log2(i + 1) for i, doc in enumerate(list(retrieved)[:k], start=1) if doc in wanted)
    ideal = sum(1.0 / math.log2(i + 1) for i in range(1, min(len(wanted), k) + 1))
    return dcg / ideal


def retrieval_scores(expected: Sequence[str], retrieved: Sequence[str], ks: Sequence[int] = (1, 3, 5, 10)) -> dict:
    expected = dedupe(normalize_id(e) for e in expected)
    retrieved = dedupe(normalize_id(r) for r in retrieved)
    scores = {f"hit@{k}": hit_at_k(expected, retrieved, k) for k in ks}
    scores.update({f"recall@{k}": recall_at_k(expected, retrieved, k) for k in ks})
    scores["mrr"] = reciprocal_rank(expected, retrieved, max(ks))
    scores[f"ndcg@{max(ks)}"] = ndcg_at_k(expected, retrieved, max(ks))
    return scores


# ---------------------------------------------------------------- answers


def fact_presence(answer: str, facts: Sequence[str]) -> list[bool]:
    """Each expected fact, case-insensitively, with runs of whitespace made one space."""
    text = " ".join(answer.lower().split())
    return [" ".join(f.lower().split()) in text for f in facts]


def fact_recall(answer: str, facts: Sequence[str]) -> float | None:
    if not facts:
        return None
    found = fact_presence(answer, facts)
    return sum(found) / len(found)


def exact_correct(answer: str, facts: Sequence[str], expected_codes: Sequence[str],
                  valid_codes: Iterable[str]) -> bool:
    """All expected facts in the answer, and every expected code recognised and found valid."""
    valid = {c.upper() for c in valid_codes}
    return all(fact_presence(answer, facts)) and all(c.upper() in valid for c in expected_codes)


def refusal_correct(must_abstain: bool, abstained: bool, answer: str, has_citations: bool) -> bool:
    """An item that must be refused is handled correctly when the service abstained, or answered only with
    a "not found" note and no cited fact. Any other item is handled correctly when it was answered."""
    declined = abstained or (not has_citations and "not found" in answer.lower())
    return declined if must_abstain else not abstained


@dataclass
class CodeAudit:
    codes: list[str] = field(default_factory=list)  # every code printed in the answer
    invented: list[str] = field(default_factory=list)  # not in the reference data (and not the user's own)
    ungrounded: list[str] = field(default_factory=list)  # valid, but in no citation of its sentence


def audit_codes(sentences: Sequence[tuple[str, Sequence[int]]], citations: dict[int, tuple[Sequence[str], str]],
                question_codes: Iterable[str], is_known: Callable[[str], bool],
                codes_in: Callable[[str], Sequence[str]]) -> CodeAudit:
    """``sentences``: (text, citation markers); ``citations``: marker -> (codes, snippet).

    A code the user asked about and the answer reports as not found is not counted as invented. Every other
    code must exist in the reference data, and must be in one of its sentence's citations; a "did you mean"
    suggestion in an uncited not-found note needs no citation.
    """
    asked = {c.upper() for c in question_codes}
    audit = CodeAudit()
    for text, markers in sentences:
        not_found_note = "not found" in text.lower()
        for code in codes_in(text):
            audit.codes.append(code)
            if code.upper() in asked and not_found_note:
                continue  # the user's own code, reported back as not found
            if not is_known(code):
                audit.invented.append(code)
            elif markers:
                if not any(code in citations.get(m, ((), ""))[0] or code in citations.get(m, ((), ""))[1]
                           for m in markers):
                    audit.ungrounded.append(code)
            elif not not_found_note:
                audit.ungrounded.append(code)
    return audit


WORD = re.compile(r"[a-z0-9]+")
STOP = set("""a an and are as at be by can do does for from how i in is it of on or should the to was what when
where which who will with you your this that these those there their if not no yes may so its than then""".split())
PTP_CLAIM = re.compile(r"modifier indicator (\d)", re.I)
MUE_CLAIM = re.compile(r"the mue for (\S+) .*? is (\d+) units?", re.I)


def terms(text: str) -> set[str]:
    return {w for w in WORD.findall(text.lower()) if w not in STOP and len(w) > 1}


def citation_supports(sentence: str, citation: Citation, codes_in: Callable[[str], Sequence[str]],
                      min_overlap: float = 0.6) -> bool:
    """Does the cited source hold the fact the sentence states? The citation is read by its fields (the row's
    values, what kind of fact it cites), never by parsing its snippet back.

    - every code the sentence names is in the citation (its codes or its snippet);
    - a PTP sentence's modifier indicator and an MUE sentence's unit value equal the cited row's values;
    - a "no edit / no MUE" statement rests on the absence the citation records;
    - otherwise at least ``min_overlap`` of the sentence's content words are in the snippet (for exact
      reference sentences, the words after the first colon, i.e. the descriptor part).
    """
    kind, snippet, values = citation.kind, citation.snippet, citation.values
    if any(code not in citation.codes and code not in snippet for code in codes_in(sentence)):
        return False
    ptp = PTP_CLAIM.search(sentence)
    if ptp and citation.fact == "ptp_edit":
        return str(values.get("modifier_indicator")) == ptp.group(1)
    mue = MUE_CLAIM.search(sentence)
    if mue and citation.fact == "mue":
        return str(values.get("mue")) == mue.group(2)
    if citation.fact in ("no_ptp_edit", "no_mue", "absence"):
        return True
    body = sentence.split(":", 1)[1] if kind == "reference" and ":" in sentence else sentence
    wanted = terms(body)
    if not wanted:
        return True
    return len(wanted & terms(snippet)) / len(wanted) >= min_overlap


# ---------------------------------------------------------------- aggregation


def percentile(values: Sequence[float], q: float) -> float | None:
    """Linear-interpolation percentile (numpy's default), q in [0, 100]."""
    if not values:
        return None
    ordered = sorted(values)
    position = (len(ordered) - 1) * q / 100.0
    low, high = math.floor(position), math.ceil(position)
    if low == high:
        return float(ordered[low])
    return float(ordered[low] + (ordered[high] - ordered[low]) * (position - low))


def mean(values: Iterable[float | None]) -> float | None:
    kept = [float(v) for v in values if v is not None]
    return sum(kept) / len(kept) if kept else None


def rate(numerator: int, denominator: int) -> float | None:
    return numerator / denominator if denominator else None
