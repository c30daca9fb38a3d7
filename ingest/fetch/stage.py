"""Staging one source: find its release on the CMS page, download every file of it into the cache, check them.

Only a source whose files all arrived and passed their checks goes on to be loaded."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from ingest.fetch.check import CheckFailed, check_zip
from ingest.fetch.download import (
    FetchError,
    HostUnreachable,
    discard,
    download,
    get_text,
)
from ingest.fetch.manifest import Manifest, Source
from ingest.fetch.pages import (
    FileLink,
    ReleaseNotFound,
    hrefs,
    matching_links,
    pick_release,
    release_pages,
)
from ingest.fetch.progress import Transfers


class StageFailed(Exception):
    """A source that could not be staged; ``links`` are the files found for it before the failure, if any."""

    def __init__(self, message: str, links: list[FileLink] | None = None):
        super().__init__(message)
        self.links = links or []


@dataclass
class Staged:
    source: Source
    quarter: str | None  # None for a current-only export
    links: list[FileLink]
    files: list[Path] = field(default_factory=list)
    transferred: int = 0  # bytes downloaded this run
    cached: int = 0  # files reused from the cache
    resumed: int = 0  # files continued with a Range request


class Pages:
    """Download pages read once per run (several sources share one), and hosts found unreachable: a later
    source on such a host fails at once with the first reason instead of waiting through its own retries."""

    def __init__(self, http: httpx.Client, manifest: Manifest, note: Callable[[str], None] | None = None):
        self.http, self.manifest, self.note = http, manifest, note
        self.links: dict[str, list[str]] = {}
        self.unreachable: dict[str, str] = {}  # host -> reason

    def links_on(self, url: str) -> list[str]:
        host = httpx.URL(url).host
        if host in self.unreachable:
            raise FetchError(f"{url}: not tried, {host} was unreachable earlier in this run "
                             f"({self.unreachable[host]})")
        if url not in self.links:
            try:
                html = get_text(self.http, url, self.manifest.download, self.note)
            except HostUnreachable as error:
                self.unreachable[error.host] = str(error).split(": ", 1)[-1]
                raise
            self.links[url] = [self.manifest.rebase(u) for u in hrefs(html, url)]
        return self.links[url]


def find_release(pages: Pages, source: Source, quarter: str | None) -> list[FileLink]:
    urls = pages.links_on(source.page)
    if source.follow is not None:
        listed = release_pages(urls, source.follow, quarter)
        if not listed:
            wanted = quarter or "any release"
            raise ReleaseNotFound(f"no release page for {wanted} on {source.page} matches {source.follow.pattern}")
        urls = pages.links_on(listed[0])
    links = matching_links(urls, source.link, source.current_only)
    return pick_release(links, None if source.current_only else quarter, source)


def stage(pages: Pages, source: Source, cache: Path, quarter: str | None, transfers: Transfers) -> Staged:
    """Raises StageFailed with the reason (a page or file that could not be fetched, a file that failed a check)."""
    http, manifest = pages.http, pages.manifest
    try:
        links = find_release(pages, source, quarter)
    except (FetchError, ReleaseNotFound) as error:
        raise StageFailed(str(error)) from error
    try:
        return _stage_files(http, source, manifest, cache, links, transfers)
    except (FetchError, CheckFailed, OSError) as error:
        raise StageFailed(str(error), links) from error


def _stage_files(http: httpx.Client, source: Source, manifest: Manifest, cache: Path, links: list[FileLink],
                 transfers: Transfers) -> Staged:
    release_quarter = None if source.current_only else links[0].quarter
    staged = Staged(source, release_quarter, links)
    folder = cache / source.name / (release_quarter or "current")
    for link in links:
        path = folder / link.filename
        transfers.start(f"{source.name} {link.filename}")
        result = download(http, link.url, path, manifest.download, progress=transfers.update,
                          revalidate=source.current_only)
        try:
            checked = check_zip(path, source)
        except Exception:
            discard(path)
            transfers.finish("rejected")
            raise
        staged.files.append(path)
        if result.cached:
            staged.cached += 1
            transfers.finish(f"cached, checked ({len(checked.members)} expected member(s))")
        else:
            staged.transferred += result.bytes
            staged.resumed += int(result.resumed)
            note = "resumed, " if result.resumed else ""
            transfers.finish(f"{note}{result.bytes:,} bytes, checked ({len(checked.members)} expected member(s))")
    return staged
