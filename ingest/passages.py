"""Turning parsed sources into passages: one per code descriptor, one or more per document section."""

from __future__ import annotations

from typing import Iterable

from ingest.chunking import split_text
from ingest.loaders.documents import Document
from rag.codes import codes_in
from rag.stores.schema import CodeRecord, Passage

CODE_SET_LABEL = {"CPT": "CPT", "HCPCS": "HCPCS Level II", "ICD10CM": "ICD-10-CM", "MODIFIER": "Modifier"}


def code_text(record: CodeRecord) -> str:
    """The passage text for one code: what a coder would read on a code page."""
    label = CODE_SET_LABEL.get(record.code_set, record.code_set)
    attrs = record.attributes
    if record.code_set == "MODIFIER":
        parts = [f"Modifier {record.code} ({attrs.get('code_set') or 'HCPCS'}): {record.short_description}.",
                 record.lay_description or record.long_description]
        parts += [f"{name}: {attrs[key]}" for key, name in (("when_to_use", "When to use"),
                  ("when_not_to_use", "When not to use"), ("ncci", "NCCI")) if attrs.get(key)]
        return " ".join(p for p in parts if p)
    description = record.lay_description or record.long_description or record.short_description
    parts = [f"{label} {record.code}" + (f" ({record.family}, {record.code_range})" if record.family else "")
             + f": {description}"]
    if attrs.get("add_on_codes"):
        parts.append(f"Add-on codes reported with it: {', '.join(attrs['add_on_codes'])}.")
    if attrs.get("lay_terms"):
        parts.append(f"Also called: {', '.join(attrs['lay_terms'])}.")
    if record.termination_date:
        parts.append(f"Terminated {record.termination_date}.")
    return " ".join(parts)


def code_passages(records: Iterable[CodeRecord], source: str, version: str, url: str, source_file: str,
                  edition: str = "") -> list[Passage]:
    passages = []
    for record in records:
        label = CODE_SET_LABEL.get(record.code_set, record.code_set)
        related = record.attributes.get("add_on_codes", []) + record.attributes.get("related_modifiers", []) or []
        passages.append(Passage(
            source=source, doc_id=f"{record.code_set}:{record.code}", version=version, chunk=0,
            text=code_text(record), title=f"{label} {record.code}",
            kind="modifier" if record.code_set == "MODIFIER" else "code",
            section=record.family, codes=tuple(dict.fromkeys([record.code, *related])), url=url,
            source_file=f"{source_file} row {record.row}" if record.row else source_file,
            edition=edition or version,
        ))
    return passages


def document_passages(document: Document, source: str, version: str) -> list[Passage]:
    kind = "coverage" if document.meta.get("topic") == "coverage" else "guidance"
    passages, chunk = [], 0
    for section in document.sections:
        for text in split_text(section.text):
            heading = section.heading or (f"page {section.page}" if section.page else "")
            passages.append(Passage(
                source=source, doc_id=document.doc_id, version=version, chunk=chunk, text=text,
                title=document.title, kind=kind, section=heading, page=section.page,
                codes=tuple(dict.fromkeys([*document.codes, *codes_in(text)])) if not section.page
                else codes_in(text),
                url=document.url, source_file=str(document.path), edition=document.version or version,
            ))
            chunk += 1
    return passages
