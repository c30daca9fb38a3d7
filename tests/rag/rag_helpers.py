"""Small builders shared by the rag tests: passages, hits, citations and facts made in memory."""

from __future__ import annotations

from rag.answer import Citation, CodeCheck
from rag.exact import Fact
from rag.stores.schema import Passage
from rag.stores.vectors import Hit


def passage(text: str, *, doc_id: str = "doc", source: str = "guidelines", chunk: int = 0, codes=(),
            title: str = "A document", section: str = "A section", kind: str = "guidance") -> Passage:
    return Passage(source=source, doc_id=doc_id, version="v1", chunk=chunk, text=text, title=title, kind=kind,
                   section=section, codes=tuple(codes), url="https://example.org/doc", edition="2026")


def hit(text: str, similarity: float = 0.6, score: float = 0.5, **kwargs) -> Hit:
    p = passage(text, **kwargs)
    return Hit(p, score, p.point_id, similarity)


def reference_citation(snippet: str = "", codes=(), source: str = "cpt", locator: str = "row 1") -> Citation:
    return Citation(marker=0, kind="reference", source=source, title="A table", version="2026Q2",
                    locator=locator, snippet=snippet, codes=list(codes))


def fact(text: str, codes=(), **kwargs) -> Fact:
    return Fact(text, reference_citation(**kwargs), tuple(codes))


def checker(valid=(), deleted: dict | None = None):
    """A stand-in for QueryService.check: codes in ``valid`` exist, ``deleted`` maps code -> termination date."""
    deleted = deleted or {}

    def check(code: str) -> CodeCheck:
        if code in deleted:
            return CodeCheck(code=code, status="deleted", termination_date=deleted[code])
        if code in valid:
            return CodeCheck(code=code, status="valid")
        return CodeCheck(code=code, status="unknown")

    return check
