"""Downloading one file: resumed with an HTTP Range request after a drop, time-limited, retried with backoff.

The bytes go to ``<name>.part`` beside the cached file and are renamed into place only when complete, so a
cached file is always a whole download (whether it is a sound zip is checked separately, in ``check``).
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import httpx
from tenacity import (
    RetryCallState,
    Retrying,
    retry_if_exception_type,
    stop_after_attempt,
    stop_after_delay,
    wait_exponential,
)

from ingest.fetch.manifest import DownloadPolicy

USER_AGENT = "casepilot-ingest-fetch (+https://github.com/casepilot)"
TRANSIENT_STATUS = {408, 425, 429, 500, 502, 503, 504}
_CONTENT_RANGE = re.compile(r"^bytes (\d+)-(\d+)/(\d+|\*)$")

Progress = Callable[[int, int | None], None]  # (bytes so far, total or None)


class FetchError(Exception):
    """A file that could not be fetched; the message says which URL and why."""


class TransientFetchError(FetchError):
    """Worth another attempt: a drop, a timeout, a 5xx."""


class HostUnreachable(TransientFetchError):
    """No connection could be made (offline, DNS, refused, blocked): later files on that host are not tried."""

    def __init__(self, message: str, host: str):
        super().__init__(message)
        self.host = host


@dataclass(frozen=True)
class Downloaded:
    path: Path
    bytes: int
    cached: bool  # already complete on disk: nothing was transferred
    resumed: bool = False  # continued from a partial file with a Range request


def client(policy: DownloadPolicy) -> httpx.Client:
    timeout = httpx.Timeout(policy.read_timeout, connect=policy.connect_timeout)
    return httpx.Client(timeout=timeout, follow_redirects=True, headers={"User-Agent": USER_AGENT})


def retrying(policy: DownloadPolicy, note: Callable[[str], None] | None = None) -> Retrying:
    """Attempts with backoff; ``note`` is told of each failed attempt before the wait, so a log is never silent
    through minutes of retries."""

    def before_sleep(state: RetryCallState) -> None:
        if note is not None and state.outcome is not None and state.next_action is not None:
            note(f"fetch {state.outcome.exception()} (attempt {state.attempt_number} of {max(1, policy.attempts)}); "
                 f"trying again in {state.next_action.sleep:.0f} s")

    return Retrying(
        stop=stop_after_attempt(max(1, policy.attempts)) | stop_after_delay(policy.max_seconds),
        wait=wait_exponential(multiplier=policy.backoff_seconds, max=60),
        retry=retry_if_exception_type(TransientFetchError),
        before_sleep=before_sleep,
        reraise=True,
    )


def get_text(http: httpx.Client, url: str, policy: DownloadPolicy, note: Callable[[str], None] | None = None) -> str:
    """A download page, retried like a file but given up sooner (``page_timeout``). A host that cannot be
    connected to, or that accepts and never answers (a blocking proxy), is unreachable: later sources on it are
    not tried."""
    timeout = httpx.Timeout(policy.page_timeout, connect=policy.connect_timeout)

    def attempt() -> str:
        try:
            response = http.get(url, timeout=timeout)
        except (httpx.ConnectError, httpx.TimeoutException) as error:
            raise HostUnreachable(f"{url}: {_reason(error)}", httpx.URL(url).host) from error
        except httpx.TransportError as error:
            raise TransientFetchError(f"{url}: {_reason(error)}") from error
        _raise_for_status(response, url)
        return response.text

    return retrying(policy, note)(attempt)


def _reason(error: Exception) -> str:
    text = str(error) or type(error).__name__
    return f"{type(error).__name__}: {text}" if type(error).__name__ not in text else text


def _raise_for_status(response: httpx.Response, url: str) -> None:
    if response.status_code in TRANSIENT_STATUS:
        raise TransientFetchError(f"{url}: HTTP {response.status_code}")
    if response.status_code >= 400:
        raise FetchError(f"{url}: HTTP {response.status_code}")


def _meta_path(path: Path) -> Path:
    return path.with_name(path.name + ".json")


def _partial(path: Path) -> Path:
    return path.with_name(path.name + ".part")


def download(http: httpx.Client, url: str, path: Path, policy: DownloadPolicy, *,
             progress: Progress | None = None, revalidate: bool = False) -> Downloaded:
    """``url`` into ``path``. A complete cached file is reused; with ``revalidate`` (a file CMS replaces under
    the same name) only while the server reports the same size and Last-Modified/ETag."""
    path.parent.mkdir(parents=True, exist_ok=True)
    if path.exists():
        if not revalidate or _still_current(http, url, path):
            return Downloaded(path, path.stat().st_size, cached=True)
        path.unlink()
    partial = _partial(path)
    resumed = partial.exists() and partial.stat().st_size > 0

    # One bound across every attempt: a server that dribbles bytes never trips the read timeout.
    deadline = time.monotonic() + policy.max_seconds

    def attempt() -> Downloaded:
        return _transfer(http, url, path, partial, progress, deadline, policy.max_seconds)

    result = retrying(policy)(attempt)  # reraise: the last attempt's own error, not tenacity's wrapper
    return Downloaded(result.path, result.bytes, cached=False, resumed=resumed or result.resumed)


def _transfer(http: httpx.Client, url: str, path: Path, partial: Path, progress: Progress | None,
              deadline: float, max_seconds: float) -> Downloaded:
    have = partial.stat().st_size if partial.exists() else 0
    # Identity encoding: a Range offset counts the bytes of the file itself, and those are what is written.
    headers = {"Accept-Encoding": "identity", **({"Range": f"bytes={have}-"} if have else {})}
    resumed = False
    try:
        with http.stream("GET", url, headers=headers) as response:
            if response.status_code == 416 and have:
                # Nothing after what we have: either it is complete, or the file changed; start again.
                partial.unlink()
                raise TransientFetchError(f"{url}: the server refused to resume at byte {have}")
            _raise_for_status(response, url)
            total: int | None
            if response.status_code == 206:
                match = _CONTENT_RANGE.match(response.headers.get("content-range", ""))
                if not match or int(match.group(1)) != have:
                    partial.unlink(missing_ok=True)
                    raise TransientFetchError(f"{url}: the server resumed at the wrong byte")
                total = None if match.group(3) == "*" else int(match.group(3))
                mode, resumed = "ab", True
            else:
                length = response.headers.get("content-length")
                total = int(length) if length and length.isdigit() else None
                mode, have = "wb", 0
            with open(partial, mode) as handle:
                written = have
                if progress:
                    progress(written, total)
                for chunk in response.iter_raw():  # as they arrive: bytes read before a drop are kept
                    if time.monotonic() > deadline:
                        raise FetchError(f"{url}: not complete after {max_seconds:.0f} s ({written:,} bytes kept "
                                         "for the next run to resume)")
                    handle.write(chunk)
                    written += len(chunk)
                    if progress:
                        progress(written, total)
            meta = {"url": url, "etag": response.headers.get("etag"),
                    "last_modified": response.headers.get("last-modified"), "size": total}
    except httpx.TransportError as error:
        # A drop mid-file keeps what arrived: the next attempt asks only for the rest.
        raise TransientFetchError(f"{url}: {_reason(error)}") from error
    size = partial.stat().st_size
    if total is not None and size != total:
        raise TransientFetchError(f"{url}: got {size:,} of {total:,} bytes")
    partial.replace(path)
    meta["size"] = size
    meta["fetched_at"] = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    _meta_path(path).write_text(json.dumps(meta, indent=2))
    return Downloaded(path, size, cached=False, resumed=resumed)


def _still_current(http: httpx.Client, url: str, path: Path) -> bool:
    """Whether the cached copy of a file CMS replaces under the same name is still the one it serves."""
    meta_path = _meta_path(path)
    try:
        meta = json.loads(meta_path.read_text())
        response = http.head(url)
    except (OSError, ValueError, httpx.HTTPError):
        return True  # cannot tell (offline, no record): the cached copy keeps serving
    if response.status_code >= 400:
        return True
    length = response.headers.get("content-length")
    same_size = not length or not length.isdigit() or int(length) == path.stat().st_size
    same_tag = all(not response.headers.get(h) or response.headers.get(h) == meta.get(k)
                   for h, k in (("etag", "etag"), ("last-modified", "last_modified")))
    return same_size and same_tag


def discard(path: Path) -> None:
    """Drop a cached file that failed its checks, so the next run downloads it again."""
    for candidate in (path, _partial(path), _meta_path(path)):
        candidate.unlink(missing_ok=True)
