"""Loading a staged source with the project's loaders for its format (the same as the manual commands)."""

from __future__ import annotations

import importlib
import importlib.util
import json
import re
import time
from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING

from ingest.fetch.stage import Staged
from ingest.records import ParsedRelease

if TYPE_CHECKING:
    from ingest.session import Run

MCD_MODULE = "ingest.loaders.mcd"
LOADER_NOT_AVAILABLE = "downloaded, loader not available"


def load_staged(run: Run, staged: Staged, reference_only: bool = False) -> str:
    """Load ``staged`` into the stores; returns what happened, in a few words."""
    source, files, version = staged.source, staged.files, staged.quarter
    if source.kind == "ptp":
        from ingest.loaders.ncci import load_ptp_txt

        run.reference(load_ptp_txt(files, version, source.dataset))
    elif source.kind == "mue":
        from ingest.loaders.ncci import load_mue

        for path in files:
            run.reference(load_mue(path, version, source.dataset))
    elif source.kind == "hcpcs":
        from ingest.session import hcpcs_lay_terms, ingest_hcpcs
        from ingest.loaders.hcpcs import load_hcpcs

        for path in files:  # the release label comes from CMS's file name ("october-2026-..." -> 2026-10)
            if reference_only:
                run.reference(load_hcpcs(path, lay_terms=hcpcs_lay_terms()))
            else:
                ingest_hcpcs(run, path, None)
    elif source.kind == "mpfs":
        from ingest.session import cpt_licensed
        from ingest.loaders.mpfs import load_pprrvu

        for path in files:
            run.reference(load_pprrvu(path, version, keep_cpt_descriptions=cpt_licensed(run.settings)))
    elif source.kind == "addon":
        from ingest.loaders.addon import load_addon

        for path in files:
            run.reference(load_addon(path, version))
    elif source.kind == "mcd":
        return _load_mcd(run, staged)
    return "loaded"


def _load_mcd(run: Run, staged: Staged) -> str:
    """The Medicare Coverage Database loader is its own module, called with the folder holding the exports and the
    download date as the release; without it the download is kept for later."""
    if importlib.util.find_spec(MCD_MODULE) is None:
        return LOADER_NOT_AVAILABLE
    module = importlib.import_module(MCD_MODULE)
    loader = getattr(module, staged.source.loader or "", None)
    if loader is None:
        return f"{LOADER_NOT_AVAILABLE} ({MCD_MODULE} has no {staged.source.loader})"
    folder = staged.files[0].parent
    result = loader(folder, download_date(staged.files[0]))
    releases: Iterable[ParsedRelease] = [result] if isinstance(result, ParsedRelease) else (result or [])
    for parsed in releases:
        run.reference(parsed)
    return "loaded"


def download_date(path: Path) -> str:
    """YYYY-MM-DD the file was fetched (its download record), else its modification date."""
    try:
        fetched = json.loads(path.with_name(path.name + ".json").read_text()).get("fetched_at", "")
    except (OSError, ValueError):
        fetched = ""
    if re.match(r"^\d{4}-\d{2}-\d{2}", fetched):
        return fetched[:10]
    return time.strftime("%Y-%m-%d", time.gmtime(path.stat().st_mtime))
