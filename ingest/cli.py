"""casepilot-ingest: load official sources and the bundled corpora into the stores.

    casepilot-ingest all                      bundled corpora, ICD-10-CM, and ../shared/data when present
    casepilot-ingest shared [--missing-only]  only ../shared/data (missing-only: datasets fetch did not load)
    casepilot-ingest corpora [--hcpcs FILE]   the project's corpora (CPT, modifiers, guidelines) + ICD-10-CM
    casepilot-ingest ptp FILE... --version 2026Q3 [--dataset ptp_hospital] [--strict]
    casepilot-ingest mue FILE --version 2026Q3 [--dataset mue_dme] [--strict]
    casepilot-ingest ncci-derived DIR --version 2026Q2
    casepilot-ingest hcpcs FILE [--version 2026-10]
    casepilot-ingest cpt-descriptors FILE --version 2026   (your licensed file; never commit it)
    casepilot-ingest mpfs FILE [--version 2026Q3]           (PPRRVU: RVUyyX zip or PPRRVU*.csv)
    casepilot-ingest addon FILE [--version 2026Q3]          (NCCI add-on code edits: zip, XLSX or CSV)
    casepilot-ingest documents PATH... --source NAME [--version V]
    casepilot-ingest fetch [--quarter 2026Q3] [--only NAME...] [--base-url [NAME=]URL] [--reference-only]
    casepilot-ingest status                   every release kept (the active one marked)
    casepilot-ingest prune [--keep 4] [--dry-run]
    casepilot-ingest mcd-index PATH [--version 2025-08]   (the MCD catalogue of LCDs and articles)
    casepilot-ingest mcd-download PATH --version 2026-11  (CMS current_lcd.zip / current_article.zip)

A release that drops more than --max-row-drop of the active release's rows, or whose own rows are more than
--max-rejected-share malformed, is refused (exit 3) unless --force. Other failures exit 2. Either way nothing
of the failed release is activated: a dataset's reference rows and passages are activated together.
"""

from __future__ import annotations

import argparse
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

from ingest.records import IngestError, ParsedRelease, RowError
from ingest.write_reference import (
    LoadReport,
    ReleaseLimits,
    ReleaseRefused,
    activate_staged,
    remove_leftovers,
    write_release,
)
from rag.settings import Settings, get_settings
from rag.stores.catalog import Catalog
from rag.stores.schema import DATASETS, Passage
from rag.stores.vectors import VectorStoreBusy

if TYPE_CHECKING:  # the pipeline imports the embedder: only runs that write passages load it
    from ingest.pipeline import PassageReport

# Not a terminal (CI logs, files): rich would assume 80 columns and fold the summary table into slivers.
# emoji=False: a row cited as "file.csv:100:" must not print as an emoji.
console = Console(stderr=True, width=None if sys.stderr.isatty() else 140, emoji=False)
REPO_ROOT = Path(__file__).resolve().parents[1]
DEFAULT_CORPORA = REPO_ROOT / "corpora"
DEFAULT_SHARED = REPO_ROOT.parent / "shared" / "data"


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
        ingest_hcpcs(run, hcpcs, None)
    if icd10cm:
        from ingest.loaders.icd10cm import load_icd10cm

        run.reference(load_icd10cm())


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


def ingest_hcpcs(run: Run, path: Path, version: str | None) -> None:
    from ingest.loaders.hcpcs import load_hcpcs
    from ingest.passages import code_passages

    parsed = load_hcpcs(path, version)
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


def show_status(settings: Settings) -> None:
    """Every release kept, per dataset (the active one marked), then the passage sources."""
    from ingest.fetch.releases import kept_releases

    catalog = Catalog(settings.data_dir)
    table = Table(title=f"Releases in {settings.data_dir} (* = active)")
    for column in ("store", "dataset", "version", "rows", "size", "loaded at", "source"):
        table.add_column(column, justify="right" if column in ("rows", "size") else "left")
    for name, entries in kept_releases(settings.data_dir).items():
        for entry in entries:
            release = entry.release
            size = (f"{entry.bytes / 1e6:,.1f} MB" if entry.bytes >= 1e6 else f"{entry.bytes / 1e3:,.0f} kB") \
                if entry.bytes else "file missing"
            table.add_row("reference", name, f"{release.version}{' *' if entry.active else ''}", f"{release.rows:,}",
                          size, release.loaded_at, release.source_file[-60:])
    for name, release in sorted(catalog.active("passages").items()):
        table.add_row("passages", name, f"{release.version} *", f"{release.rows:,}", "", release.loaded_at,
                      release.source_file[-60:])
    console.print(table)
    active = catalog.active("reference")
    missing = [name for name in DATASETS if name not in active and name != "cpt_licensed"]
    if missing:
        console.print(f"[yellow]Not loaded:[/] {', '.join(missing)}. Official CMS files: `casepilot-ingest fetch` "
                      "(or `fetch --only NAME`); see README, Sources.", highlight=False)


def prune_releases(settings: Settings, keep: int, dry_run: bool) -> int:
    from ingest.fetch.releases import prune, prune_plan

    try:
        plan = prune_plan(settings.data_dir, keep) if dry_run else prune(settings.data_dir, keep,
                                                                         settings.data_dir / "downloads")
    except ValueError as error:
        console.print(f"[red]error:[/] {error}")
        return 2
    verb = "would drop" if dry_run else "dropped"
    for name, entries in plan.items():
        for entry in entries:
            console.print(f"{verb} {name} {entry.release.version} ({entry.release.rows:,} rows, loaded "
                          f"{entry.release.loaded_at})", highlight=False)
    if not plan:
        console.print(f"nothing to prune: no dataset keeps more than {keep} release(s)", highlight=False)
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="casepilot-ingest", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data-dir", type=Path, help="overrides CASEPILOT_DATA_DIR")
    parser.add_argument("--strict", action="store_true", help="fail on the first malformed row")
    parser.add_argument("--force", action="store_true",
                        help="reload a release even if unchanged, and load it even if the limits below refuse it")
    parser.add_argument("--max-row-drop", type=float, metavar="SHARE",
                        help="refuse a release with fewer than (1 - SHARE) x the active release's rows "
                             "(default CASEPILOT_INGEST_MAX_ROW_DROP, 0.2)")
    parser.add_argument("--max-rejected-share", type=float, metavar="SHARE",
                        help="refuse a release with more than SHARE of its rows malformed "
                             "(default CASEPILOT_INGEST_MAX_REJECTED_SHARE, 0.01)")
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("all")
    p.add_argument("--corpora", type=Path, default=DEFAULT_CORPORA)
    p.add_argument("--shared", type=Path, default=DEFAULT_SHARED)
    p = sub.add_parser("shared", help="only the CMS files in ../shared/data")
    p.add_argument("--shared", type=Path, default=DEFAULT_SHARED)
    p.add_argument("--missing-only", action="store_true", help="only datasets with no active release (after fetch)")
    p = sub.add_parser("corpora")
    p.add_argument("--corpora", type=Path, default=DEFAULT_CORPORA)
    p.add_argument("--hcpcs", type=Path)
    p.add_argument("--no-icd10cm", action="store_true")
    for name in ("ptp", "mue"):
        p = sub.add_parser(name)
        p.add_argument("files", type=Path, nargs="+", help="the parts of one release (TXT, CSV, XLSX or zip)")
        p.add_argument("--version", required=True, help="release label, e.g. 2026Q3")
        p.add_argument("--dataset", choices=[d for d, s in DATASETS.items() if s.kind == name])
    p = sub.add_parser("ncci-derived")
    p.add_argument("folder", type=Path)
    p.add_argument("--version", required=True)
    p = sub.add_parser("hcpcs")
    p.add_argument("file", type=Path)
    p.add_argument("--version")
    p = sub.add_parser("cpt-descriptors")
    p.add_argument("file", type=Path)
    p.add_argument("--version", required=True)
    for name in ("mpfs", "addon"):
        p = sub.add_parser(name)
        p.add_argument("file", type=Path)
        p.add_argument("--version", help="release label, e.g. 2026Q3 (else from the file name)")
    p = sub.add_parser("documents")
    p.add_argument("paths", type=Path, nargs="+")
    p.add_argument("--source", required=True, help="a short name, e.g. lcd-l33569")
    p.add_argument("--version")
    sub.add_parser("status", help="every release kept, the active one marked")
    p = sub.add_parser("prune", help="drop old inactive releases (reference files and their cached downloads)")
    p.add_argument("--keep", type=int, default=4, help="releases kept per dataset, the active one included")
    p.add_argument("--dry-run", action="store_true", help="only say what would be dropped")
    p = sub.add_parser("fetch", help="download the current official CMS files (sources.toml) and load them")
    p.add_argument("--quarter", help="an older release where CMS still lists it, e.g. 2026Q2")
    p.add_argument("--only", nargs="+", metavar="NAME", help="these manifest sources only, e.g. ptp_practitioner")
    p.add_argument("--base-url", action="append", metavar="[NAME=]URL",
                   help="point a manifest base (cms, mcd) at a mirror; a bare URL sets every base")
    p.add_argument("--manifest", type=Path, help="another sources.toml")
    p.add_argument("--cache", type=Path, help="where downloads are kept (default DATA_DIR/downloads)")
    p.add_argument("--attempts", type=int, help="attempts per file (default from the manifest)")
    p.add_argument("--reference-only", action="store_true",
                   help="skip HCPCS passages (no embedding; works while the server holds the vector store)")
    # ---- Medicare coverage
    p = sub.add_parser("mcd-index", help="the MCD catalogue of LCDs and articles (documents_latest.csv)")
    p.add_argument("path", type=Path, help="the CSV or the folder holding it")
    p.add_argument("--version", help="release label; default: from the folder name or the newest update")
    p = sub.add_parser("mcd-download", help="CMS MCD download: current_lcd.zip and/or current_article.zip")
    p.add_argument("path", type=Path, help="a zip, or a folder of the zips or of their extracted CSVs")
    p.add_argument("--version", required=True, help="release label, e.g. 2026-11")
    # ---- end of Medicare coverage
    return parser


def dispatch(args: argparse.Namespace, run: Run) -> None:
    from ingest.loaders import ncci

    if args.command == "all":
        ingest_corpora(run, args.corpora)
        if args.shared.exists():
            ingest_shared(run, args.shared)
        else:
            console.print(f"[yellow]{args.shared} is absent: loaded the bundled corpora only[/]")
    elif args.command == "shared":
        if args.shared.exists():
            ingest_shared(run, args.shared, missing_only=args.missing_only)
        else:
            console.print(f"[yellow]{args.shared} is absent: nothing loaded from it[/]")
    elif args.command == "corpora":
        ingest_corpora(run, args.corpora, args.hcpcs, icd10cm=not args.no_icd10cm)
    elif args.command == "ptp":
        run.reference(ncci.load_ptp_txt(args.files, args.version, args.dataset))
    elif args.command == "mue":
        for path in args.files:
            run.reference(ncci.load_mue(path, args.version, args.dataset))
    elif args.command == "ncci-derived":
        run.reference(ncci.load_ptp_derived_json(sorted(args.folder.glob("ptp-*.json.gz")), args.version))
        run.reference(ncci.load_mue_derived_json(args.folder / "mue.json.gz", args.version))
    elif args.command == "hcpcs":
        ingest_hcpcs(run, args.file, args.version)
    elif args.command == "cpt-descriptors":
        from ingest.loaders.cpt_licensed import load_cpt_descriptors

        run.reference(load_cpt_descriptors(args.file, args.version))
    elif args.command == "documents":
        ingest_documents(run, args.paths, args.source, args.version)
    elif args.command == "mpfs":
        from ingest.loaders.mpfs import load_pprrvu

        run.reference(load_pprrvu(args.file, args.version, keep_cpt_descriptions=cpt_licensed(run.settings)))
    elif args.command == "addon":
        from ingest.loaders.addon import load_addon

        run.reference(load_addon(args.file, args.version))
    elif args.command == "mcd-index":
        ingest_mcd_index(run, args.path, args.version)
    elif args.command == "mcd-download":
        ingest_mcd_download(run, args.path, args.version)


def cpt_licensed(settings: Settings) -> bool:
    """A licensed CPT descriptor file is loaded: only then may AMA descriptor text (PPRRVU's) be stored."""
    return "cpt_licensed" in Catalog(settings.data_dir).active("reference")


def fetch_command(args: argparse.Namespace, settings: Settings) -> int:
    import dataclasses

    from ingest.fetch.manifest import MANIFEST, ManifestError, load_manifest
    from ingest.fetch.pages import normalise_quarter
    from ingest.fetch.run import fetch, print_report

    try:
        quarter = normalise_quarter(args.quarter) if args.quarter else None
        manifest = load_manifest(args.manifest or MANIFEST, args.base_url)
        sources = manifest.select(args.only)
    except (ManifestError, ValueError) as error:
        console.print(f"[red]error:[/] {error}")
        return 2
    if args.attempts:
        manifest = dataclasses.replace(manifest, download=dataclasses.replace(manifest.download,
                                                                              attempts=args.attempts))
    run = Run(settings, strict=args.strict, force=args.force)
    started = time.perf_counter()
    try:
        report = fetch(run, manifest, sources, args.cache or settings.data_dir / "downloads", console,
                       quarter=quarter, reference_only=args.reference_only)
    except VectorStoreBusy as error:
        console.print(f"[red]error:[/] {error} (use --reference-only while the server runs)")
        return 2
    finally:
        run.close()
    if run.rows:
        run.summary(started)
    print_report(report, console)
    return report.exit_code


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    settings = get_settings()
    overrides = {"data_dir": args.data_dir, "ingest_max_row_drop": args.max_row_drop,
                 "ingest_max_rejected_share": args.max_rejected_share}
    settings = settings.model_copy(update={k: v for k, v in overrides.items() if v is not None})
    if args.command == "status":
        show_status(settings)
        return 0
    if args.command == "fetch":
        return fetch_command(args, settings)
    if args.command == "prune":
        return prune_releases(settings, args.keep, args.dry_run)
    run = Run(settings, strict=args.strict, force=args.force)
    started = time.perf_counter()
    try:
        with run.progress:
            dispatch(args, run)
    except ReleaseRefused as error:
        console.print(f"[red]error:[/] {escape(str(error))}")
        console.print("Nothing from the refused file was activated; the previous release still serves.")
        return 3
    except (IngestError, VectorStoreBusy) as error:
        console.print(f"[red]error:[/] {escape(str(error))}")
        console.print("Nothing from the failed file was activated; the previous release still serves.")
        return 2
    finally:
        run.close()
        if run.rows:
            run.summary(started)
    return 0


if __name__ == "__main__":
    sys.exit(main())
