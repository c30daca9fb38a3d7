"""The fetch manifest (sources.toml): which CMS page holds each official file, and how to pick it there."""

from __future__ import annotations

import os
import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

MANIFEST = Path(__file__).with_name("sources.toml")
BASE_URLS_ENV = "CASEPILOT_FETCH_BASE_URLS"
Kind = Literal["ptp", "mue", "hcpcs", "mcd", "mpfs", "addon"]
KINDS = ("ptp", "mue", "hcpcs", "mcd", "mpfs", "addon")


class ManifestError(Exception):
    """The manifest (or a base URL override) cannot be used; the message says which entry and why."""


@dataclass(frozen=True)
class DownloadPolicy:
    connect_timeout: float = 20.0
    read_timeout: float = 120.0
    page_timeout: float = 30.0  # a download page: seconds without a byte before the attempt is abandoned
    attempts: int = 5
    max_seconds: float = 1800.0
    backoff_seconds: float = 2.0


@dataclass(frozen=True)
class Source:
    name: str
    title: str
    kind: Kind
    page: str  # full URL, bases substituted
    link: re.Pattern[str]
    members: tuple[re.Pattern[str], ...]
    manual: str
    files_hint: str
    dataset: str | None = None
    follow: re.Pattern[str] | None = None
    min_bytes: int = 1
    current_only: bool = False
    loader: str | None = None  # function name in the loader module (MCD)

    def manual_command(self, files: list[str] | None, quarter: str | None) -> str:
        # Local paths as they are; links (a file that could not be fetched) by the name the download will have.
        shown = " ".join(f.rsplit("/", 1)[-1] if "://" in f else f for f in files) if files else f"<{self.files_hint}>"
        return self.manual.format(files=shown, quarter=quarter or "<quarter, e.g. 2026Q3>",
                                  dataset=self.dataset or "")


@dataclass(frozen=True)
class Manifest:
    sources: tuple[Source, ...]
    bases: dict[str, str]  # name -> URL in effect
    default_bases: dict[str, str]  # name -> URL as the manifest has it
    download: DownloadPolicy = field(default_factory=DownloadPolicy)

    def select(self, names: list[str] | None) -> list[Source]:
        if not names:
            return list(self.sources)
        known = {s.name: s for s in self.sources}
        unknown = [n for n in names if n not in known]
        if unknown:
            raise ManifestError(f"unknown source(s) {', '.join(unknown)}; known: {', '.join(known)}")
        return [known[n] for n in names]

    def rebase(self, url: str) -> str:
        """A link to a base's default host, pointed at the base in effect (a mirror, a test server)."""
        for name, default in self.default_bases.items():
            current = self.bases[name]
            if current != default and url.startswith(default):
                return current + url[len(default):]
        return url


def parse_base_overrides(values: list[str] | None, known: dict[str, str]) -> dict[str, str]:
    """'NAME=URL' sets one base; a bare 'URL' sets every base (one mirror or test server for all)."""
    overrides: dict[str, str] = {}
    for value in values or []:
        for item in (v.strip() for v in value.split(",")):
            if not item:
                continue
            name, sep, url = item.partition("=")
            if not sep:
                overrides.update({base: item.rstrip("/") for base in known})
                continue
            if name not in known:
                raise ManifestError(f"unknown base {name!r} in {item!r}; known: {', '.join(known)}")
            if not url.startswith(("http://", "https://")):
                raise ManifestError(f"base {name!r}: {url!r} is not an http(s) URL")
            overrides[name] = url.rstrip("/")
    return overrides


def _pattern(entry: dict, key: str, where: str) -> re.Pattern[str]:
    try:
        return re.compile(entry[key])
    except re.error as error:
        raise ManifestError(f"{where}: {key} is not a valid regular expression: {error}") from error


def load_manifest(path: Path = MANIFEST, base_urls: list[str] | None = None) -> Manifest:
    """The manifest with base URLs overridden by ``base_urls`` (CLI) or else CASEPILOT_FETCH_BASE_URLS."""
    try:
        data = tomllib.loads(Path(path).read_text())
    except (OSError, tomllib.TOMLDecodeError) as error:
        raise ManifestError(f"{path}: cannot read the fetch manifest: {error}") from error
    defaults = {name: url.rstrip("/") for name, url in data.get("bases", {}).items()}
    env = os.environ.get(BASE_URLS_ENV)
    overrides = parse_base_overrides(base_urls if base_urls else ([env] if env else []), defaults)
    bases = {**defaults, **overrides}
    sources = []
    for number, entry in enumerate(data.get("source", []), start=1):
        where = f"{path} source {number} ({entry.get('name', '?')})"
        missing = [k for k in ("name", "title", "kind", "page", "link", "manual") if k not in entry]
        if missing:
            raise ManifestError(f"{where}: missing {', '.join(missing)}")
        if entry["kind"] not in KINDS:
            raise ManifestError(f"{where}: kind {entry['kind']!r} is not one of {', '.join(KINDS)}")
        try:
            page = entry["page"].format(**bases)
        except KeyError as error:
            raise ManifestError(f"{where}: page names an unknown base {error}") from error
        sources.append(Source(
            name=entry["name"], title=entry["title"], kind=entry["kind"], page=page,
            link=_pattern(entry, "link", where),
            members=tuple(re.compile(m) for m in entry.get("members", [])),
            manual=entry["manual"], files_hint=entry.get("files_hint", "the file"),
            dataset=entry.get("dataset"), follow=_pattern(entry, "follow", where) if "follow" in entry else None,
            min_bytes=int(entry.get("min_bytes", 1)), current_only=bool(entry.get("current_only", False)),
            loader=entry.get("loader"),
        ))
    policy = DownloadPolicy(**{k: type(getattr(DownloadPolicy, k))(v) for k, v in data.get("download", {}).items()
                               if hasattr(DownloadPolicy, k)})
    return Manifest(tuple(sources), bases, defaults, policy)
