"""Staging one source: find its release on the CMS page, download every file of it into the cache, check them.

Only a source whose files all arrived and passed their checks goes on to be loaded."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import httpx

from ingest.fetch.check import CheckFailed, check_zip
from ingest.fetch.download import FetchError, discard, download, get_text
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


def _links_on(http: httpx.Client, url: str, manifest: Manifest) -> list[str]:
    return [manifest.rebase(u) for u in hrefs(get_text(http, url, manifest.download), url)]


def find_release(http: httpx.Client, source: Source, manifest: Manifest, quarter: str | None) -> list[FileLink]:
    urls = _links_on(http, source.page, manifest)
    if source.follow is not None:
        pages = release_pages(urls, source.follow, quarter)
        if not pages:
            wanted = quarter or "any release"
            raise ReleaseNotFound(f"no release page for {wanted} on {source.page} matches {source.follow.pattern}")
        urls = _links_on(http, pages[0], manifest)
    links = matching_links(urls, source.link, source.current_only)
    return pick_release(links, None if source.current_only else quarter, source)


def stage(http: httpx.Client, source: Source, manifest: Manifest, cache: Path, quarter: str | None,
          transfers: Transfers) -> Staged:
    """Raises StageFailed with the reason (a page or file that could not be fetched, a file that failed a check)."""
    try:
        links = find_release(http, source, manifest, quarter)
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
