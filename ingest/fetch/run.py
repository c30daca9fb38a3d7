"""`casepilot-ingest fetch`: stage every source (download + check), then load the ones that staged.

A source that cannot be fetched, or whose files fail their checks, is skipped with its reason and the manual
command that loads it by hand; whatever was loaded before keeps serving."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Literal

from rich.console import Console

from ingest.fetch.download import client
from ingest.fetch.load import LOADER_NOT_AVAILABLE, load_staged
from ingest.fetch.manifest import Manifest, Source
from ingest.fetch.progress import transfers_for
from ingest.fetch.stage import Pages, Staged, StageFailed, stage
from ingest.records import IngestError
from rag.stores.vectors import VectorStoreBusy

if TYPE_CHECKING:
    from ingest.session import Run

State = Literal["loaded", "downloaded", "not fetched", "not loaded"]


@dataclass
class Outcome:
    source: Source
    state: State
    detail: str = ""
    quarter: str | None = None
    files: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return self.state in ("loaded", "downloaded")


@dataclass
class FetchReport:
    outcomes: list[Outcome]

    @property
    def failed(self) -> list[Outcome]:
        return [o for o in self.outcomes if not o.ok]

    @property
    def exit_code(self) -> int:
        return 3 if self.failed else 0


def fetch(run: Run, manifest: Manifest, sources: list[Source], cache: Path, console: Console,
          quarter: str | None = None, reference_only: bool = False) -> FetchReport:
    outcomes: list[Outcome] = []
    staged_sources: list[Staged] = []
    transfers = transfers_for(console)
    try:
        with client(manifest.download) as http:
            pages = Pages(http, manifest, transfers.note)
            for source in sources:
                try:
                    staged_sources.append(stage(pages, source, cache, quarter, transfers))
                except StageFailed as error:
                    found = error.links[0].quarter if error.links else quarter
                    outcomes.append(Outcome(source, "not fetched", str(error), found,
                                            [link.url for link in error.links]))
    finally:
        transfers.close()
    with run.progress:
        for staged in staged_sources:
            files = [str(p) for p in staged.files]
            before = len(run.rows)
            try:
                state = load_staged(run, staged, reference_only)
            except (IngestError, VectorStoreBusy) as error:
                outcomes.append(Outcome(staged.source, "not loaded", str(error), staged.quarter, files))
                continue
            if state.startswith(LOADER_NOT_AVAILABLE):
                outcomes.append(Outcome(staged.source, "downloaded", f"{state}; kept in {files[0]}", staged.quarter,
                                        files))
                continue
            loaded = "; ".join(f"{dataset} {version}: {rows:,} {'rows' if store == 'reference' else 'passages'}, "
                               f"{result}" for store, dataset, version, rows, _, result, _ in run.rows[before:])
            outcomes.append(Outcome(staged.source, "loaded", loaded or state, staged.quarter, files))
    order = {s.name: i for i, s in enumerate(sources)}
    outcomes.sort(key=lambda o: order[o.source.name])
    return FetchReport(outcomes)


def print_report(report: FetchReport, console: Console) -> None:
    for outcome in report.outcomes:
        if outcome.ok:
            release = outcome.quarter or "current"
            console.print(f"[green]{outcome.state}[/] {outcome.source.name} {release}: {outcome.detail}",
                          highlight=False)
    if not report.failed:
        return
    lines = [(f"[red]Could not fetch or load {len(report.failed)} of {len(report.outcomes)} sources[/]; "
              "what was loaded before keeps serving.")]
    for outcome in report.failed:
        lines.append(f"  - {outcome.source.title} ({outcome.source.name}) {outcome.state}: {outcome.detail}")
        lines.append(f"    by hand: download from {outcome.source.page}, then")
        lines.append(f"      {outcome.source.manual_command(outcome.files or None, outcome.quarter)}")
    console.print("\n".join(lines), highlight=False, soft_wrap=True)
