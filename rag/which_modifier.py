"""Which modifier, from words: "bilateral procedure modifier", "left side modifier", "ABN on file modifier".

A modifier named in words is found among the modifiers the data holds (the project's guidance and the HCPCS
file's Level II modifiers) by two signals added together: how closely its title and descriptions match the words
(rag.case2code.descriptor_match), and the dense similarity of its passage. Either alone picked the wrong one about
a third of the time ("distinct procedural service" read as a demonstration-project modifier; "bilateral" as RT).
"""

from __future__ import annotations

import re
import threading
from dataclasses import dataclass, field

from rag.case2code import descriptor_match, normalize_descriptor
from rag.findings.codes import code_citation, to_compare
from rag.findings.common import CodeToCompare, Fact
from rag.findings.modifiers import first_sentence, modifier_records
from rag.retrieve import HybridRetriever
from rag.stores.reference import ReferenceStore, Sourced
from rag.stores.schema import CodeRecord
from rag.which_code import description_words

MODIFIER_WORD = re.compile(r"\b(modifiers?|mod)\b", re.I)
# A request for a modifier, as opposed to a question about modifiers' rules ("which modifiers can bypass an
# edit?", "what does modifier indicator 0 mean?").
ASKS_FOR_MODIFIER = re.compile(
    r"\b(?:what|which)\s+(?:\w+\s+){0,2}(?:modifiers?|mod)\b(?!\s+(?:can|do|does|mean\w*|bypass\w*|apply|are used|"
    r"indicators?))|\b(?:modifiers?|mod)\s+(?:for|to use)\b|\b(?:modifiers?|mod)\s*\??\s*$", re.I)
GUIDANCE_BONUS = 0.15  # the project's guidance covers the modifiers coders use; the HCPCS list has 300 rarer ones
NAMED_BONUS = 1.0  # more than the dense similarity (at most 1) can give another modifier
ALTERNATIVES = 2
ALTERNATIVE_SHARE = 0.85
CANDIDATES = 10


@dataclass
class WhichModifierResult:
    facts: list[Fact] = field(default_factory=list)
    compare: list[CodeToCompare] = field(default_factory=list)  # other modifiers named after the answer
    modifiers: list[str] = field(default_factory=list)
    query: str = ""


class ModifierSearch:
    def __init__(self, store: ReferenceStore, retriever: HybridRetriever | None):
        self.store, self.retriever = store, retriever
        self._texts: dict[str, list[str]] | None = None
        self._guidance: set[str] = set()  # modifiers the project's guidance describes
        self._lock = threading.Lock()

    def texts(self) -> dict[str, list[str]]:
        """modifier -> the words that describe it, read once per data snapshot."""
        with self._lock:
            if self._texts is None:
                texts: dict[str, list[str]] = {}
                codes = {code for code, code_set, *_ in self.store.iter_descriptors() if code_set == "MODIFIER"}
                for code in sorted(codes):
                    for sourced in modifier_records(self.store, code):
                        record = sourced.fact
                        if sourced.release.dataset == "modifiers":
                            self._guidance.add(code)
                        # each search term on its own, as code search matches them: joined into one text, a
                        # term ("decision for surgery" at 57) is lost among the others' words
                        terms = record.attributes.get("lay_terms", []) or []
                        texts.setdefault(code, []).extend(
                            t for t in (record.short_description, record.long_description,
                                        first_sentence(record.lay_description), *terms) if t)
                self._texts = texts
            return self._texts

    def ranked(self, words: str) -> list[tuple[float, str]]:
        texts = self.texts()
        scores = {code: descriptor_match(words, described) for code, described in texts.items() if described}
        if self.retriever is not None:
            for hit in self.retriever.retrieve(f"{words} modifier", limit=CANDIDATES, kinds=["modifier"]).hits:
                for code in hit.passage.codes[:1]:
                    if code in scores:
                        scores[code] += max(0.0, hit.similarity)
        for code in scores.keys() & self._guidance:
            scores[code] += GUIDANCE_BONUS
        # words that are a modifier's title or search term word for word name it, as a pasted descriptor names its
        # code: "distinct procedural service" is 59, however close the X modifiers' passages are to the words
        asked = normalize_descriptor(words)
        for code, described in texts.items():
            if code in scores and any(normalize_descriptor(text) == asked for text in described):
                scores[code] += NAMED_BONUS
        return sorted(((score, code) for code, score in scores.items()), reverse=True)

    def answer(self, question: str) -> WhichModifierResult:
        words = " ".join(MODIFIER_WORD.sub(" ", description_words(question)).split())
        result = WhichModifierResult(query=words)
        if len(words) < 3:
            return result
        scored = self.ranked(words)[:1 + ALTERNATIVES]
        if not scored:
            return result
        best = scored[0][0]
        # An alternative is named only when it matches about as well as the lead (not E1 beside 50 for "bilateral").
        ranked = [scored[0][1]] + [code for score, code in scored[1:] if score >= ALTERNATIVE_SHARE * best]
        lead = modifier_records(self.store, ranked[0])[0]
        result.facts.append(Fact(f"The modifier for {_as_asked(question) or words} is modifier {_described(lead)}.",
                                 code_citation(lead, lead.fact.lay_description or None), (ranked[0],)))
        result.compare = [to_compare(modifier_records(self.store, code)[0], lead.fact) for code in ranked[1:]]
        result.modifiers = ranked
        return result


def _as_asked(question: str) -> str:
    """The service as the question words it ("bilateral procedure"), without the asking around it."""
    text = MODIFIER_WORD.sub(" ", question)
    text = re.sub(r"^\s*(?:what|which)\s+(?:is\s+the\s+|do\s+i\s+use\s+)?", "", text, flags=re.I)
    text = re.sub(r"^\s*(?:for|to use for)\s+", "", " ".join(text.split()), flags=re.I)
    return text.strip(" ?.!")


def _described(sourced: Sourced[CodeRecord]) -> str:
    record = sourced.fact
    title = record.short_description or record.long_description
    if not record.lay_description:
        return f"{record.code} ({title.rstrip('.')})"
    return f"{record.code} ({title.rstrip('.')}): {first_sentence(record.lay_description).rstrip('.')}"
