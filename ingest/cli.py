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

from rich.markup import escape
from rich.table import Table

from ingest.records import IngestError
from ingest.write_reference import (
    ReleaseRefused,
)
from ingest.session import (
    cpt_licensed,
    console,
    DEFAULT_CORPORA,
    DEFAULT_SHARED,
    Run,
    ingest_corpora,
    ingest_mcd_index,
    ingest_mcd_download,
    ingest_hcpcs,
    ingest_documents,
    ingest_shared,
)
from rag.settings import Settings, get_settings
from rag.stores.catalog import Catalog
from rag.stores.schema import DATASETS, missing_datasets
from rag.stores.vectors import VectorStoreBusy


# What `casepilot-ingest corpora` loads (the project's own tables and ICD-10-CM); the rest are CMS files.
BUNDLED = frozenset({"cpt", "modifiers", "icd10cm", "cpt_deleted", "ncds", "mac_jurisdictions"})


def _tail(source: str, width: int = 60) -> str:
    """The end of a long source (its file names), marked as cut."""
    return source if len(source) <= width else "\u2026" + source[-(width - 1):]


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
                          size, release.loaded_at, _tail(release.source_file))
    for name, release in sorted(catalog.active("passages").items()):
        table.add_row("passages", name, f"{release.version} *", f"{release.rows:,}", "", release.loaded_at,
                      _tail(release.source_file))
    console.print(table)
    missing = missing_datasets(catalog.active("reference"))
    if not missing:
        console.print("[green]Every dataset has a release loaded.[/]", highlight=False)
        return
    width = max(len(name) for name in missing)
    lines = [f"[yellow]Not loaded ({len(missing)} of {len(missing_datasets(()))} datasets)[/]: answers cannot use "
             "them."]
    lines += [f"  {name:<{width}}  {DATASETS[name].title}" for name in missing]
    if set(missing) & BUNDLED:
        lines.append("Load the bundled corpora and ICD-10-CM with `casepilot-ingest corpora`.")
    lines.append("Load the official CMS files with `casepilot-ingest fetch` (or `fetch --only NAME`) when cms.gov is "
                 "reachable, by hand with the commands under Sources in the README, or put them in ../shared/data "
                 "and run `casepilot-ingest shared --missing-only`.")
    console.print("\n".join(lines), highlight=False, soft_wrap=True)


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
    terms = p.add_mutually_exclusive_group()
    terms.add_argument("--lay-terms", type=Path, metavar="CSV",
                       help="the table of everyday names merged into the codes' search terms (default "
                            "corpora/hcpcs/lay_terms.csv, or CASEPILOT_HCPCS_LAY_TERMS); a row for a code the file "
                            "lacks is a malformed row")
    terms.add_argument("--no-lay-terms", action="store_true",
                       help="CMS's descriptors only (an excerpt or test file that lacks the table's codes)")
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
        ingest_hcpcs(run, args.file, args.version, False if args.no_lay_terms else args.lay_terms or True)
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
