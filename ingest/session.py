"""One ingest run and the loads it makes: the bundled corpora, ../shared/data, HCPCS, documents, the MCD.

The CLI (ingest/cli.py), the fetch job, the test fixtures, eval and the benchmarks all load data through this
module; none of them goes through the command line's argument handling to do it.
"""


from __future__ import annotations

import os
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING

from rich.console import Console
from rich.markup import escape
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TextColumn,
    TimeElapsedColumn,
)
from rich.table import Table

from ingest.records import ParsedRelease, RowError
from ingest.write_reference import (
    LoadReport,
    ReleaseLimits,
    ReleaseRefused,
    activate_staged,
    remove_leftovers,
    write_release,
)
from rag.settings import Settings
from rag.stores.catalog import Catalog
from rag.stores.schema import DATASETS, Passage

if TYPE_CHECKING:  # the pipeline imports the embedder: only runs that write passages load it
    from ingest.pipeline import PassageReport

# Not a terminal (CI logs, files): rich would assume 80 columns and fold the summary table into slivers.
# emoji=False: a row cited as "file.csv:100:" must not print as an emoji.
console = Console(stderr=True, width=None if sys.stderr.isatty() else 140, emoji=False)
REPO_ROOT = Path(__file__).resolve().parents[1]
DEFAULT_CORPORA = REPO_ROOT / "corpora"
DEFAULT_SHARED = REPO_ROOT.parent / "shared" / "data"
DEFAULT_HCPCS_LAY_TERMS = DEFAULT_CORPORA / "hcpcs" / "lay_terms.csv"  # ingest.loaders.hcpcs.DEFAULT_LAY_TERMS
HCPCS_LAY_TERMS_ENV = "CASEPILOT_HCPCS_LAY_TERMS"  # another lay-term table for HCPCS loads; empty for none


class Run:
    """One ingest run: opens stores lazily, shows progress, collects the summary table."""

    def __init__(self, settings: Settings, strict: bool = False, force: bool = False,
                 limits: ReleaseLimits | None = None):
        self.settings, self.strict, self.force = settings, strict, force
        self.limits = limits or ReleaseLimits(settings.ingest_max_row_drop, settings.ingest_max_rejected_share)
        self.catalog = Catalog(settings.data_dir)
        for leftover in remove_leftovers(settings.data_dir):
            console.print(f"removed {leftover.name} (left by an ingest that did not finish)")
        self.rows: list[tuple[str, str, str, int, int, str, float]] = []
        self._writer = None
        self.progress = Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                                 TimeElapsedColumn(), console=console, transient=False)

    # ------------------------------------------------------------ reference facts

    def reference(self, parsed: ParsedRelease, total: int | None = None, activate: bool = True) -> LoadReport:
        task = self.progress.add_task(f"{parsed.dataset} {parsed.version}", total=total)
        if not console.is_terminal:  # no live bars in a log: say what is being loaded, and when it is done
            console.print(f"loading {parsed.dataset} {parsed.version} from {parsed.source_file}", highlight=False)
        try:
            report = write_release(self.settings.data_dir, parsed, strict=self.strict, force=self.force,
                                   limits=self.limits, progress=lambda n: self.progress.advance(task, n),
                                   activate=activate)
        except ReleaseRefused as refused:
            if refused.report is not None:
                self._reference_row(refused.report, "refused")
            raise
        if not console.is_terminal:
            console.print(f"loaded {parsed.dataset} {parsed.version}: {report.rows:,} rows, "
                          f"{report.rejected} malformed, {report.seconds:.1f} s", highlight=False)
        self.progress.update(task, total=report.rows, completed=report.rows)
        if activate:
            self._reference_row(report)
        for error in report.errors[:5]:
            console.print(f"[yellow]malformed row[/] {escape(str(error))}")
        if report.rejected > len(report.errors[:5]):
            console.print(f"[yellow]{report.rejected} malformed rows in {parsed.dataset} (use --strict to fail)[/]")
        return report

    def _reference_row(self, report: LoadReport, state: str | None = None) -> None:
        state = state or ("unchanged" if report.skipped else
                          f"replaced {report.replaced}" if report.replaced else "loaded")
        self.rows.append(("reference", report.dataset, report.version, report.rows, report.rejected, state,
                          report.seconds))

    # ------------------------------------------------------------ a dataset's reference rows and passages

    def dataset(self, parsed: ParsedRelease, source: str, passages: list[Passage]) -> None:
        """Reference rows and passages of one release, activated in one catalog write or not at all."""
        reference = self.reference(parsed, activate=False)
        try:
            task = self.progress.add_task(f"passages {source}", total=len(passages))
            staged = self.writer.stage(source, parsed.version, passages,
                                       progress=lambda n: self.progress.advance(task, n))
        except BaseException:
            if reference.staged is not None:
                reference.staged.discard()
            self._reference_row(reference, "not activated")
            raise
        replaced = activate_staged(self.catalog, [reference.staged] if reference.staged else [], [staged.release])
        if reference.staged is not None:
            previous = replaced[0]
            reference.replaced = previous.version if previous and previous.version != parsed.version else None
        self.writer.retire(staged, replaced[-1])
        self._reference_row(reference)
        self._passage_row(staged)

    # ------------------------------------------------------------ passages

    @property
    def writer(self):
        if self._writer is None:
            from ingest.pipeline import PassageWriter
            from rag.providers.factory import make_embedder, make_vector_store

            self._writer = PassageWriter(make_vector_store(self.settings), make_embedder(self.settings), self.catalog)
            removed = self._writer.remove_inactive()
            if removed:
                console.print(f"removed {removed:,} points of inactive passage releases")
        return self._writer

    def passages(self, source: str, version: str, passages: list) -> None:
        task = self.progress.add_task(f"passages {source}", total=len(passages))
        if not console.is_terminal:
            console.print(f"embedding passages {source} {version}: {len(passages):,} passages", highlight=False)
        report = self.writer.write(source, version, passages, progress=lambda n: self.progress.advance(task, n))
        if not console.is_terminal:
            console.print(f"passages {source} {version}: {report.embedded:,} embedded, {report.unchanged:,} "
                          f"unchanged, {report.seconds:.1f} s", highlight=False)
        self._passage_row(report)

    def _passage_row(self, report: PassageReport) -> None:
        state = f"embedded {report.embedded}, unchanged {report.unchanged}, removed {report.removed}"
        self.rows.append(("passages", report.source, report.version, report.passages, 0, state, report.seconds))

    def close(self) -> None:
        if self._writer is not None:
            self._writer.store.close()

    def summary(self, started: float) -> None:
        table = Table(title=f"Ingest summary ({time.perf_counter() - started:.1f} s)")
        for column in ("store", "dataset", "version", "rows", "malformed", "result", "seconds"):
            table.add_column(column, justify="right" if column in ("rows", "malformed", "seconds") else "left")
        for store, dataset, version, rows, bad, state, seconds in self.rows:
            table.add_row(store, dataset, version, f"{rows:,}", str(bad), state, f"{seconds:.1f}")
        console.print(table)


# ---------------------------------------------------------------- commands

def ingest_corpora(run: Run, corpora: Path, hcpcs: Path | None = None, icd10cm: bool = True) -> None:
    from ingest.loaders.corpora import (
        corpus_version,
        load_cpt_corpus,
        load_modifier_corpus,
    )
    from ingest.loaders.documents import load_markdown
    from ingest.passages import code_passages, document_passages

    for loader, folder, source in ((load_cpt_corpus, corpora / "cpt", "cpt"),
                                   (load_modifier_corpus, corpora / "modifiers", "modifiers")):
        parsed = loader(folder)
        records = _records_of(parsed)
        run.dataset(parsed, source, code_passages(records, source, parsed.version,
                                                  DATASETS[parsed.dataset].official_url, parsed.source_file))
    deleted_table = corpora / "cpt" / "deleted_codes.csv"
    if deleted_table.is_file():  # reference facts only: deleted codes get no passage of their own
        from ingest.loaders.deleted_codes import load_deleted_cpt

        run.reference(load_deleted_cpt(deleted_table))
    if (corpora / "coverage").is_dir():
        ingest_coverage_corpora(run, corpora / "coverage")
    guideline_files = sorted((corpora / "guidelines").glob("*.md"))
    guideline_files = [p for p in guideline_files if p.name.lower() != "readme.md"]
    version = corpus_version(guideline_files)
    passages = [p for path in guideline_files for p in document_passages(load_markdown(path), "guidelines", version)]
    run.passages("guidelines", version, passages)
    if hcpcs:
        table = corpora / "hcpcs" / "lay_terms.csv"  # the project's everyday names for Level II codes
        ingest_hcpcs(run, hcpcs, None, table if table.is_file() else False)
    if icd10cm:
        from ingest.loaders.icd10cm import LAY_TERMS_FILE, load_icd10cm

        lay_terms = corpora / "icd10cm" / LAY_TERMS_FILE  # the project's lay words for the tabular's codes
        run.reference(load_icd10cm(lay_terms=lay_terms if lay_terms.is_file() else None))


# ---------------------------------------------------------------- Medicare coverage (MCD, NCDs, MACs)

def ingest_coverage_corpora(run: Run, folder: Path) -> None:
    """The project's NCD summaries (reference rows and passages) and its MAC jurisdiction table."""
    from ingest.loaders.mcd import load_mac_jurisdictions, load_ncd_corpus, ncd_passages

    parsed = load_ncd_corpus(folder)
    run.dataset(parsed, "ncds", ncd_passages(_records_of(parsed), parsed.version))
    run.reference(load_mac_jurisdictions(folder))


def ingest_mcd_index(run: Run, path: Path, version: str | None = None) -> None:
    from ingest.loaders.mcd import load_mcd_index

    run.reference(load_mcd_index(path, version))


def ingest_mcd_download(run: Run, path: Path, version: str) -> None:
    from ingest.loaders.mcd import load_mcd_download

    for parsed in load_mcd_download(path, version):
        run.reference(parsed)


# ---------------------------------------------------------------- end of Medicare coverage


def _records_of(parsed: ParsedRelease) -> list:
    """The release's records, for its passages; its row errors stay in ``parsed`` for the writer to count."""
    items = list(parsed.items)
    parsed.items = items
    return [item for item in items if not isinstance(item, RowError)]


def hcpcs_lay_terms() -> Path | None:
    """The lay-term table HCPCS loads merge in unless told otherwise: $CASEPILOT_HCPCS_LAY_TERMS (empty: none, for
    CMS excerpts and test files that lack the table's codes), else the repository's where a copy of the code has it."""
    value = os.environ.get(HCPCS_LAY_TERMS_ENV)
    if value is not None:
        return Path(value) if value.strip() else None
    return DEFAULT_HCPCS_LAY_TERMS if DEFAULT_HCPCS_LAY_TERMS.is_file() else None


def ingest_hcpcs(run: Run, path: Path, version: str | None, lay_terms: Path | bool = True) -> None:
    """The HCPCS file at ``path`` with a lay-term table merged in: ``lay_terms`` names it, True takes
    ``hcpcs_lay_terms()``, False none (CMS's descriptors only)."""
    from ingest.loaders.hcpcs import load_hcpcs
    from ingest.passages import code_passages

    table = lay_terms if isinstance(lay_terms, Path) else hcpcs_lay_terms() if lay_terms else None
    parsed = load_hcpcs(path, version, lay_terms=table)
    records = _records_of(parsed)
    run.dataset(parsed, "hcpcs", code_passages(records, "hcpcs", parsed.version, DATASETS["hcpcs"].official_url,
                                               parsed.source_file))


def ingest_documents(run: Run, paths: list[Path], source: str, version: str | None) -> None:
    from ingest.loaders.corpora import corpus_version
    from ingest.loaders.documents import load_document
    from ingest.passages import document_passages

    files = [f for p in paths for f in (sorted(p.rglob("*")) if p.is_dir() else [p]) if f.is_file()]
    version = version or corpus_version(files)
    passages = [p for f in files for p in document_passages(load_document(f), source, version)]
    run.passages(source, version, passages)


def ingest_shared(run: Run, shared: Path, missing_only: bool = False) -> None:
    """The real CMS/CDC files beside the repository (read in place, never copied). With ``missing_only``, only
    datasets that have no active release yet (after `fetch`, the newer official files stay active)."""
    from ingest.loaders.ncci import load_mue_derived_json, load_ptp_derived_json

    active = run.catalog.active("reference") if missing_only else {}
    derived = shared / "ncci_practitioner_2026q2_derived"
    if derived.exists():
        if "ptp_practitioner" not in active:
            run.reference(load_ptp_derived_json(sorted(derived.glob("ptp-*.json.gz")), "2026Q2"), total=2_140_693)
        if "mue_practitioner" not in active:
            run.reference(load_mue_derived_json(derived / "mue.json.gz", "2026Q2"))
    hcpcs_zip = shared / "hcpcs_level2_2020_cms" / "2020-Alpha-Numeric-HCPCS-File.zip"
    if hcpcs_zip.exists() and "hcpcs" not in active:
        ingest_hcpcs(run, hcpcs_zip, "2020")
    mcd_index = shared / "mcd_lcd_article_index_2025-08"
    if (mcd_index / "documents_latest.csv").exists():
        ingest_mcd_index(run, mcd_index)
    pdfs = sorted((shared / "hcpcs_level2_2019_cms").glob("*.pdf"))
    if pdfs:
        ingest_documents(run, pdfs, "cms-hcpcs-2019-pdf", "2019")


def cpt_licensed(settings: Settings) -> bool:
    """A licensed CPT descriptor file is loaded: only then may AMA descriptor text (PPRRVU's) be stored."""
    return "cpt_licensed" in Catalog(settings.data_dir).active("reference")
