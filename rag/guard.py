"""Code guard, for every generator: each code in an answer must exist in the reference data and appear in
a citation of its sentence. Unknown or ungrounded codes are removed and reported; deleted ones are flagged."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Callable, Sequence

from rag.answer import Citation, CodeCheck, Sentence
from rag.codes import codes_in
from rag.exact import format_date

REMOVED = "[code removed]"


@dataclass
class Guarded:
    sentences: list[Sentence]
    removed: list[str] = field(default_factory=list)
    checks: dict[str, CodeCheck] = field(default_factory=dict)


def guard_codes(sentences: Sequence[Sentence], citations: Sequence[Citation],
                check: Callable[[str], CodeCheck]) -> Guarded:
    by_marker = {c.marker: c for c in citations}
    result = Guarded(sentences=[])
    for sentence in sentences:
        text = sentence.text
        cited = [by_marker[m] for m in sentence.citations if m in by_marker]
        for code in codes_in(text):
            status = result.checks.get(code) or check(code)
            result.checks[code] = status
            grounded = any(code in c.codes or code in c.snippet for c in cited)
            if status.status == "unknown" or not grounded:
                text = re.sub(rf"(?<![\w.]){re.escape(code)}(?![\w])", REMOVED, text)
                result.removed.append(code)
            elif status.status == "deleted" and "terminated" not in text:
                text += f" (Note: {code} was terminated on {format_date(status.termination_date)}.)"
        if text.replace(REMOVED, "").strip(" .,;:"):
            result.sentences.append(sentence.model_copy(update={"text": text}))
    result.removed = list(dict.fromkeys(result.removed))
    return result
