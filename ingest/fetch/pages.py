"""Finding a release's files on a CMS download page: links, the quarter each one belongs to, the pick."""

from __future__ import annotations

import re
from dataclasses import dataclass
from urllib.parse import parse_qs, urljoin, urlsplit

from bs4 import BeautifulSoup

from ingest.fetch.manifest import Source

_MONTHS = {name: number for number, name in enumerate(
    ["jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"], start=1)}
QUARTER = re.compile(r"^(\d{4})Q([1-4])$")


class ReleaseNotFound(Exception):
    """The page was read but holds no link for the release asked for."""


@dataclass(frozen=True)
class FileLink:
    url: str
    quarter: str | None  # "2026Q3"; None for a current-only export
    part: int = 0
    revision: str = ""

    @property
    def filename(self) -> str:
        return urlsplit(self.url).path.rsplit("/", 1)[-1]


def normalise_quarter(text: str) -> str:
    """'2026q3', '2026-Q3', '2026Q3' -> '2026Q3'; anything else is a ValueError."""
    compact = text.strip().upper().replace("-", "").replace("_", "")
    if not QUARTER.match(compact):
        raise ValueError(f"{text!r} is not a quarter such as 2026Q3")
    return compact


def quarter_of(groups: dict[str, str | None]) -> str | None:
    """The quarter a link's named groups name: year with quarter, month (number or name) or letter (A-D)."""
    year = groups.get("year")
    if not year:
        return None
    year = f"20{year}" if len(year) == 2 else year
    if groups.get("quarter"):
        return f"{year}Q{int(groups['quarter'])}"
    if groups.get("month"):
        month_text = groups["month"].lower()
        month = int(month_text) if month_text.isdigit() else _MONTHS.get(month_text[:3], 0)
        if 1 <= month <= 12:
            return f"{year}Q{(month - 1) // 3 + 1}"
        return None
    if groups.get("letter"):
        return f"{year}Q{'abcd'.index(groups['letter'].lower()) + 1}"
    return None


def unwrap(href: str, page_url: str) -> str:
    """An absolute URL; CMS's AMA licence click-through (/license/ama?file=/files/zip/x.zip) -> the file."""
    absolute = urljoin(page_url, href.strip())
    parts = urlsplit(absolute)
    if "/license/" in parts.path:
        target = parse_qs(parts.query).get("file")
        if target:
            path = re.sub(r"/{2,}", "/", target[0])
            absolute = urljoin(f"{parts.scheme}://{parts.netloc}/", path)
    return absolute


def hrefs(html: str, page_url: str) -> list[str]:
    soup = BeautifulSoup(html, "html.parser")
    return [unwrap(a["href"], page_url) for a in soup.find_all("a", href=True)]


def matching_links(urls: list[str], pattern: re.Pattern[str], current_only: bool = False) -> list[FileLink]:
    links, seen = [], set()
    for url in urls:
        path = urlsplit(url).path
        match = pattern.search(path)
        if not match or url in seen:
            continue
        seen.add(url)
        groups = match.groupdict()
        quarter = None if current_only else quarter_of(groups)
        if quarter is None and not current_only:
            continue
        part = int(groups["part"]) if groups.get("part") else 0
        links.append(FileLink(url, quarter, part, groups.get("rev") or ""))
    return links


def _revision_key(revision: str) -> tuple[int, ...]:
    return tuple(int(n) for n in re.findall(r"\d+", revision))


def pick_release(links: list[FileLink], quarter: str | None, source: Source) -> list[FileLink]:
    """The files of the quarter asked for (else the newest), newest revision only, in part order."""
    if not links:
        raise ReleaseNotFound(f"no link on {source.page} matches {source.link.pattern}")
    if source.current_only:
        return links  # each export once (matching_links dropped repeats)
    quarters = sorted({link.quarter for link in links if link.quarter}, reverse=True)
    wanted = quarter or quarters[0]
    chosen = [link for link in links if link.quarter == wanted]
    if not chosen:
        raise ReleaseNotFound(f"{source.page} no longer lists {wanted} (it lists {', '.join(quarters)})")
    newest = max(_revision_key(link.revision) for link in chosen)
    chosen = [link for link in chosen if _revision_key(link.revision) == newest]
    by_part: dict[int, FileLink] = {}
    for link in chosen:
        by_part.setdefault(link.part, link)
    return [by_part[part] for part in sorted(by_part)]


def release_pages(urls: list[str], pattern: re.Pattern[str], quarter: str | None) -> list[str]:
    """Release pages a listing links to (``follow``), the quarter asked for first, else newest first."""
    found = matching_links(urls, pattern)
    ordered = sorted(found, key=lambda link: link.quarter or "", reverse=True)
    if quarter:
        ordered = [link for link in ordered if link.quarter == quarter]
    return [link.url for link in ordered]
