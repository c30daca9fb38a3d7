"""The project's own corpora: plain-language CPT descriptions and modifier guidance (JSON Lines)."""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Iterator
from pathlib import Path

from ingest.loaders.files import decode_text, split_lines
from ingest.records import IngestError, ParsedRelease, RowError
from rag.stores.schema import CodeRecord

CPT_CODE = re.compile(r"^\d{4}[0-9FT]$")
MODIFIER = re.compile(r"^[0-9A-Z]{2}$")
CPT_FIELDS = ("code", "section", "family", "range", "description")
MODIFIER_FIELDS = ("modifier", "code_set", "title", "description", "when_to_use", "when_not_to_use", "ncci")


def corpus_version(paths: list[Path]) -> str:
    """A content hash: the same files always make the same release, an edit makes a new one."""
    digest = hashlib.sha256()
    for path in sorted(paths):
        digest.update(path.name.encode())
        digest.update(path.read_bytes())
    return f"c{digest.hexdigest()[:10]}"


def _jsonl(path: Path, required: tuple[str, ...]) -> Iterator[tuple[int, dict] | RowError]:
    for number, line in enumerate(split_lines(decode_text(path.read_bytes())), start=1):
        if not line.strip():
            continue
        try:
            item = json.loads(line)
        except json.JSONDecodeError as error:
            yield RowError(str(path), number, f"not valid JSON: {error.msg}")
            continue
        if not isinstance(item, dict):
            yield RowError(str(path), number, "not a JSON object")
            continue
        missing = [key for key in required if not item.get(key)]
        if missing:
            yield RowError(str(path), number, f"missing {', '.join(missing)}")
            continue
        yield number, item


def _cpt_record(item: dict, number: int) -> CodeRecord:
    return CodeRecord(
        code=item["code"], code_set="CPT", lay_description=item["description"], family=item["family"],
        code_range=item["range"], row=number,
        attributes={"section": item["section"], "add_on_codes": item.get("add_on_codes", []),
                    "related_codes": item.get("related_codes", []), "lay_terms": item.get("lay_terms", [])},
    )


def _modifier_record(item: dict, number: int) -> CodeRecord:
    return CodeRecord(
        code=item["modifier"], code_set="MODIFIER", short_description=item["title"],
        lay_description=item["description"], family=f"{item['code_set']} modifier", row=number,
        attributes={key: item.get(key) for key in
                    ("code_set", "when_to_use", "when_not_to_use", "ncci", "related_modifiers", "lay_terms")},
    )


def _load(paths: list[Path], dataset: str, required, pattern, key, to_record) -> ParsedRelease:
    if not paths:
        raise IngestError(dataset, "no corpus files found")

    def items():
        seen: set[str] = set()
        for path in paths:
            for entry in _jsonl(path, required):
                if isinstance(entry, RowError):
                    yield entry
                    continue
                number, item = entry
                code = str(item[key]).strip().upper()
                if not pattern.match(code):
                    yield RowError(str(path), number, f"{code!r} is not a valid {key}")
                elif code in seen:
                    yield RowError(str(path), number, f"{code} is listed twice")
                else:
                    seen.add(code)
                    yield to_record({**item, key: code}, number)

    return ParsedRelease(dataset, corpus_version(paths), ", ".join(str(p) for p in paths), items(),
                         corpus_version(paths))


def load_cpt_corpus(folder: Path) -> ParsedRelease:
    return _load(sorted(Path(folder).glob("*.jsonl")), "cpt", CPT_FIELDS, CPT_CODE, "code", _cpt_record)


def load_modifier_corpus(folder: Path) -> ParsedRelease:
    return _load(sorted(Path(folder).glob("*.jsonl")), "modifiers", MODIFIER_FIELDS, MODIFIER, "modifier",
                 _modifier_record)
