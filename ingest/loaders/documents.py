"""Coverage, manual and guideline documents: markdown (with a small header), PDF and HTML.

Each loader returns ``Section``s: a piece of text with its heading or page, ready for the chunker.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

from ingest.records import IngestError

HEADER = re.compile(r"\A---\s*\n(.*?)\n---\s*\n", re.S)


@dataclass
class Section:
    text: str
    heading: str = ""
    page: int | None = None


@dataclass
class Document:
    doc_id: str
    title: str
    path: Path
    sections: list[Section]
    meta: dict[str, str] = field(default_factory=dict)

    @property
    def codes(self) -> tuple[str, ...]:
        listed = [c.strip() for c in self.meta.get("codes", "").split(",") if c.strip()]
        return tuple(dict.fromkeys(listed))

    @property
    def url(self) -> str:
        return self.meta.get("url", "")

    @property
    def version(self) -> str:
        return self.meta.get("version", "")


def parse_header(text: str, path: Path) -> tuple[dict[str, str], str]:
    match = HEADER.match(text)
    if not match:
        return {}, text
    meta = {}
    for number, line in enumerate(match.group(1).splitlines(), start=2):
        if not line.strip():
            continue
        if ":" not in line:
            raise IngestError(path, f"header line is not 'key: value': {line!r}", number)
        key, value = line.split(":", 1)
        meta[key.strip().lower()] = value.strip()
    return meta, text[match.end():]


def load_markdown(path: Path) -> Document:
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as error:
        raise IngestError(path, f"not UTF-8 text: {error}") from error
    meta, body = parse_header(text, path)
    title = meta.get("title") or _first_heading(body) or path.stem.replace("-", " ")
    sections, heading, lines = [], "", []
    for line in body.splitlines():
        if line.startswith("## "):
            _close_section(sections, heading, lines)
            heading, lines = line[3:].strip(), []
        elif line.startswith("# "):
            continue
        else:
            lines.append(line)
    _close_section(sections, heading, lines)
    if not sections:
        raise IngestError(path, "document has no text")
    return Document(path.stem, title, path, sections, meta)


def _first_heading(body: str) -> str:
    match = re.search(r"^# (.+)$", body, re.M)
    return match.group(1).strip() if match else ""


def _close_section(sections: list[Section], heading: str, lines: list[str]) -> None:
    text = "\n".join(lines).strip()
    if text:
        sections.append(Section(text, heading))


def load_pdf(path: Path, meta: dict[str, str] | None = None) -> Document:
    from pypdf import PdfReader
    from pypdf.errors import PdfReadError

    try:
        reader = PdfReader(str(path))
        pages = [(number, page.extract_text() or "") for number, page in enumerate(reader.pages, start=1)]
    except (PdfReadError, OSError, ValueError) as error:
        raise IngestError(path, f"not a readable PDF: {error}") from error
    sections = [Section(_clean(text), page=number) for number, text in pages if text.strip()]
    if not sections:
        raise IngestError(path, "PDF has no extractable text (scanned image?)")
    title = (meta or {}).get("title") or (reader.metadata.title if reader.metadata and reader.metadata.title
                                            else path.stem.replace("-", " "))
    return Document(path.stem, str(title), path, sections, meta or {})


def load_html(path: Path, meta: dict[str, str] | None = None) -> Document:
    from bs4 import BeautifulSoup

    soup = BeautifulSoup(path.read_bytes(), "html.parser")
    for tag in soup(["script", "style", "nav", "footer", "header"]):
        tag.decompose()
    title = (meta or {}).get("title") or (soup.title.get_text(strip=True) if soup.title else path.stem)
    sections, heading, parts = [], "", []
    for element in soup.find_all(["h1", "h2", "h3", "p", "li", "td", "pre"]):
        if element.name in ("h1", "h2", "h3"):
            _close_section(sections, heading, parts)
            heading, parts = element.get_text(" ", strip=True), []
        else:
            parts.append(element.get_text(" ", strip=True))
    _close_section(sections, heading, parts)
    if not sections:
        raise IngestError(path, "HTML page has no text")
    return Document(path.stem, title, path, sections, meta or {})


def load_document(path: Path, meta: dict[str, str] | None = None) -> Document:
    suffix = path.suffix.lower()
    if suffix in (".md", ".markdown", ".txt"):
        return load_markdown(path)
    if suffix == ".pdf":
        return load_pdf(path, meta)
    if suffix in (".html", ".htm"):
        return load_html(path, meta)
    raise IngestError(path, f"unsupported document type {suffix!r} (markdown, text, PDF or HTML)")


def _clean(text: str) -> str:
    return re.sub(r"[ \t]+", " ", re.sub(r"\n{3,}", "\n\n", text)).strip()
