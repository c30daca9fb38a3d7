"""Write step for exact facts: one SQLite file per dataset release, switched in atomically.

The file is built under a temporary name with journalling off (it is not visible to anyone yet), indexed
after the bulk insert, then renamed into place and activated in the catalog. A failure at any point
leaves the previous release serving and no partial file behind.
"""

from __future__ import annotations

import gc
import json
import os
import shutil
import sqlite3
import time
from concurrent.futures import ProcessPoolExecutor
from multiprocessing import get_context
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Iterable, Iterator

from ingest.records import IngestError, ParsedRelease, Record, RowError, SourceParts
from rag.stores.catalog import Catalog
from rag.stores.reference import release_path
from rag.stores.schema import (
    DATASETS,
    NO_DATE,
    REFERENCE_DDL,
    REFERENCE_INDEXES,
    CodeRecord,
    CoveragePolicy,
    MueLimit,
    PolicyCode,
    PolicyState,
    PtpEdit,
    Release,
)

BATCH = 50_000
MAX_ERRORS_KEPT = 20


@dataclass
class LoadReport:
    dataset: str
    version: str
    rows: int = 0
    rejected: int = 0
    errors: list[RowError] = field(default_factory=list)
    seconds: float = 0.0
    skipped: bool = False  # the same release from the same file was already active
    replaced: str | None = None


class StrictModeError(IngestError):
    pass


def _code_row(record: CodeRecord) -> tuple:
    return (record.code, record.code_set, record.short_description, record.long_description,
            record.lay_description, record.family, record.code_range, record.effective_date,
            NO_DATE if record.termination_date is None else record.termination_date,
            json.dumps(record.attributes, sort_keys=True) if record.attributes else None, record.row)


class _Batcher:
    """Turns a loader's items into batches of table rows, counting malformed rows as it goes.

    One tight loop per table kind: two million PTP rows pass through here, so every call per row counts.
    """

    def __init__(self, report: LoadReport, strict: bool, progress=None):
        self.report, self.strict, self.progress = report, strict, progress

    def _reject(self, error: RowError) -> None:
        if self.strict:
            raise StrictModeError(error.file, f"malformed row (strict mode): {error.message}", error.line)
        self.report.rejected += 1
        if len(self.report.errors) < MAX_ERRORS_KEPT:
            self.report.errors.append(error)

    def batches(self, items: Iterable[Record | RowError], to_row) -> Iterator[list[tuple]]:
        batch: list[tuple] = []
        append = batch.append
        for item in items:
            if item.__class__ is RowError:
                self._reject(item)
                continue
            append(to_row(item))
            if len(batch) == BATCH:
                yield self._counted(batch)
                batch = []
                append = batch.append
        if batch:
            yield self._counted(batch)

    def staged(self, rows: int, errors: list[RowError], rejected: int) -> None:
        """Counts a part that a worker process staged (it applied strict mode itself)."""
        self.report.rejected += rejected
        self.report.errors.extend(errors[:max(0, MAX_ERRORS_KEPT - len(self.report.errors))])
        self._advance(rows)

    def _counted(self, batch: list[tuple]) -> list[tuple]:
        self._advance(len(batch))
        return batch

    def _advance(self, rows: int) -> None:
        self.report.rows += rows
        if self.progress is not None:
            self.progress(rows)


def _mue_row(r: MueLimit) -> tuple:
    return r.code, r.value, r.adjudication_indicator, r.rationale, r.row


INSERTS = {
    "codes": ("INSERT INTO codes VALUES (?,?,?,?,?,?,?,?,?,?,?)", _code_row),
    "mue": ("INSERT INTO mue VALUES (?,?,?,?,?)", _mue_row),
    "mpfs": ("INSERT INTO mpfs VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)", tuple),  # MpfsIndicators order
    "addon": ("INSERT INTO addon VALUES (?,?,?,?,?,?,?,?,?)", tuple),  # AddonEdit order
    "jurisdictions": ("INSERT INTO jurisdictions VALUES (?,?,?,?,?,?)", tuple),
    "ptp": ("INSERT INTO ptp VALUES (?,?,?,?,?,?,?,?)", None),  # set per load: it interns rationales
}


def _insert(connection: sqlite3.Connection, kind: str, batcher: _Batcher, items) -> None:
    sql, to_row = INSERTS[kind]
    rationale_ids: dict[str, int] = {}
    if kind == "ptp":
        def to_row(edit: PtpEdit, ids=rationale_ids) -> tuple:
            c1, c2, prior, eff, dele, mod, rationale, line = edit
            rid = ids.get(rationale)
            if rid is None:
                rid = ids[rationale] = len(ids) + 1
            return c1, c2, prior, eff, dele, mod, rid, line
    # Millions of short-lived tuples would set the cyclic garbage collector off again and again.
    gc.disable()
    try:
        for batch in batcher.batches(items, to_row):
            connection.executemany(sql, batch)
    finally:
        gc.enable()
    if rationale_ids:
        connection.executemany("INSERT INTO rationales VALUES (?, ?)", ((i, t) for t, i in rationale_ids.items()))


# ---------------------------------------------------------------- PTP parts, staged in parallel
#
# Two million PTP rows cost more in Python-to-SQLite binding (executemany) than in parsing. Each part is parsed
# and bulk-inserted into its own heap table by a worker process, one per core; the release file then takes the
# parts over in C (INSERT ... SELECT in primary-key order), interning rationales on the way.

STAGE_DDL = ("CREATE TABLE stage (column1, column2, prior_1996, effective_date, deletion_date, "
             "modifier_indicator, rationale, row)")


def _stage_part(job: tuple) -> tuple[int, int, list[RowError]]:
    """Worker: parse one part into ``path``; returns (rows staged, rows rejected, the first errors)."""
    parse, part_job, path, strict = job
    items = parse(part_job)
    errors = [item for item in items if item.__class__ is RowError]
    if errors and strict:
        first = errors[0]
        raise StrictModeError(first.file, f"malformed row (strict mode): {first.message}", first.line)
    rows = [item for item in items if item.__class__ is not RowError] if errors else items
    connection = sqlite3.connect(path)
    connection.executescript(f"PRAGMA journal_mode=OFF; PRAGMA synchronous=OFF; {STAGE_DDL};")
    connection.executemany("INSERT INTO stage VALUES (?,?,?,?,?,?,?,?)", rows)
    connection.commit()
    connection.close()
    return len(rows), len(errors), errors[:MAX_ERRORS_KEPT]


def _take_over_stage(connection: sqlite3.Connection, path: Path) -> None:
    connection.execute("ATTACH DATABASE ? AS part", (str(path),))
    connection.executescript("""
        INSERT OR IGNORE INTO temp.rationale_ids (text) SELECT DISTINCT coalesce(rationale, '') FROM part.stage;
        INSERT INTO ptp SELECT s.column1, s.column2, s.prior_1996, s.effective_date, s.deletion_date,
                               s.modifier_indicator, r.rowid, s.row
            FROM part.stage AS s JOIN temp.rationale_ids AS r ON r.text = coalesce(s.rationale, '')
            ORDER BY s.column1, s.column2, s.row;
    """)
    connection.commit()
    connection.execute("DETACH DATABASE part")
    path.unlink()


def _insert_staged_ptp(connection: sqlite3.Connection, batcher: _Batcher, parts: SourceParts, stage: Path) -> None:
    stage.mkdir(parents=True, exist_ok=True)
    paths = [stage / f"part-{i}.sqlite" for i in range(len(parts.jobs))]
    jobs = [(parts.parse, job, str(path), batcher.strict) for job, path in zip(parts.jobs, paths)]
    connection.execute("CREATE TEMP TABLE rationale_ids (text TEXT PRIMARY KEY)")
    workers = max(1, min(os.cpu_count() or 1, len(jobs)))
    try:
        with ProcessPoolExecutor(max_workers=workers, mp_context=get_context("spawn")) as pool:
            # Parts are taken over in order, each as soon as it is staged, while the workers stage the next.
            for path, (rows, rejected, errors) in zip(paths, pool.map(_stage_part, jobs)):
                batcher.staged(rows, errors, rejected)
                _take_over_stage(connection, path)
        connection.execute("INSERT INTO rationales SELECT rowid, text FROM temp.rationale_ids")
    finally:
        shutil.rmtree(stage, ignore_errors=True)


# ---------------------------------------------------------------- Medicare coverage (LCDs, articles, NCDs)
#
# A coverage release holds three kinds of item: policies (counted as the release's rows), their code lists and
# the states they apply in; each goes to its own table.

def _policy_row(p: CoveragePolicy) -> tuple:
    return (p.policy_id, p.doc_type, p.title, p.version, json.dumps([list(c) for c in p.contractors]),
            p.effective_date, NO_DATE if p.retirement_date is None else p.retirement_date, p.status, p.url,
            p.summary, json.dumps(list(p.related)), json.dumps(p.attributes, sort_keys=True) if p.attributes else None,
            p.row)


COVERAGE_INSERTS = {
    CoveragePolicy: ("INSERT INTO policies VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?)", _policy_row),
    PolicyCode: ("INSERT INTO policy_codes VALUES (?,?,?,?,?,?)", tuple),
    PolicyState: ("INSERT INTO policy_states VALUES (?,?,?)", tuple),
}


def _insert_coverage(connection: sqlite3.Connection, batcher: _Batcher, items) -> None:
    pending: dict[type, list[tuple]] = {kind: [] for kind in COVERAGE_INSERTS}

    def flush() -> None:
        for kind, rows in pending.items():
            if rows:
                connection.executemany(COVERAGE_INSERTS[kind][0], rows)
                rows.clear()

    policies = 0
    for item in items:
        if item.__class__ is RowError:
            batcher._reject(item)
            continue
        kind = item.__class__
        if kind not in COVERAGE_INSERTS:
            raise IngestError("coverage release", f"unexpected item {kind.__name__} in a coverage release")
        pending[kind].append(COVERAGE_INSERTS[kind][1](item))
        if kind is CoveragePolicy:
            policies += 1
        if sum(len(rows) for rows in pending.values()) >= BATCH:
            flush()
            batcher._advance(policies)
            policies = 0
    flush()
    batcher._advance(policies)


def _build_policy_search_index(connection: sqlite3.Connection) -> None:
    """Full-text index over policy titles: without code lists, a service is matched to its LCDs by title."""
    connection.executescript("""
        CREATE VIRTUAL TABLE policies_fts USING fts5(policy_id UNINDEXED, title, tokenize='porter unicode61');
        INSERT INTO policies_fts(rowid, policy_id, title) SELECT rowid, policy_id, title FROM policies;
    """)


# ---------------------------------------------------------------- end of Medicare coverage


def _build_search_index(connection: sqlite3.Connection) -> None:
    """Full-text index over every descriptor, for Case2Code search (lexical half)."""
    connection.executescript("""
        CREATE VIRTUAL TABLE codes_fts USING fts5(code UNINDEXED, text, tokenize='porter unicode61');
        INSERT INTO codes_fts(rowid, code, text)
            SELECT rowid, code, code || ' ' || coalesce(short_description,'') || ' ' ||
                   coalesce(long_description,'') || ' ' || coalesce(lay_description,'') || ' ' ||
                   coalesce(family,'') || ' ' || coalesce(json_extract(attributes,'$.lay_terms'),'')
            FROM codes;
        CREATE VIRTUAL TABLE codes_vocab USING fts5vocab(codes_fts, row);
    """)


def write_release(data_dir: Path, parsed: ParsedRelease, *, strict: bool = False, force: bool = False,
                  progress=None) -> LoadReport:
    """Load one release into its own SQLite file and make it the active one."""
    started = time.perf_counter()
    spec = DATASETS.get(parsed.dataset)
    if spec is None:
        raise IngestError(parsed.source_file, f"unknown dataset {parsed.dataset!r}; known: {sorted(DATASETS)}")
    report = LoadReport(parsed.dataset, parsed.version)
    catalog = Catalog(data_dir)
    active = catalog.active("reference").get(parsed.dataset)
    final = release_path(Path(data_dir) / "reference", parsed.dataset, parsed.version)
    if (not force and active and active.version == parsed.version and parsed.source_sha256
            and active.source_sha256 == parsed.source_sha256 and final.exists()):
        report.skipped, report.rows, report.rejected = True, active.rows, active.rejected_rows
        return report

    final.parent.mkdir(parents=True, exist_ok=True)
    partial = final.with_name(f".{final.name}.{os.getpid()}.partial")
    partial.unlink(missing_ok=True)
    try:
        connection = sqlite3.connect(partial)
        connection.executescript("PRAGMA journal_mode=OFF; PRAGMA synchronous=OFF; PRAGMA cache_size=-200000; "
                                 "PRAGMA threads=2;")
        connection.executescript(REFERENCE_DDL[spec.kind])
        batcher = _Batcher(report, strict, progress)
        if spec.kind == "ptp" and parsed.parts and len(parsed.parts.jobs) > 1:
            _insert_staged_ptp(connection, batcher, parsed.parts, partial.with_suffix(".stage"))
        elif spec.kind == "coverage":
            _insert_coverage(connection, batcher, parsed)
        else:
            _insert(connection, spec.kind, batcher, parsed)
        if report.rows == 0:
            raise IngestError(parsed.source_file, f"no {spec.kind} rows could be read "
                                                  f"({report.rejected} malformed)")
        for statement in REFERENCE_INDEXES[spec.kind]:
            connection.execute(statement)
        if spec.kind == "codes":
            _build_search_index(connection)
        if spec.kind == "coverage":
            _build_policy_search_index(connection)
        connection.commit()
        connection.close()
        os.replace(partial, final)
    except BaseException:
        partial.unlink(missing_ok=True)
        raise
    release = Release(dataset=parsed.dataset, version=parsed.version, source_file=parsed.source_file,
                      rows=report.rows, loaded_at=datetime.now(timezone.utc).isoformat(timespec="seconds"),
                      source_sha256=parsed.source_sha256, rejected_rows=report.rejected)
    previous = catalog.activate("reference", release)
    report.replaced = previous.version if previous and previous.version != release.version else None
    report.seconds = time.perf_counter() - started
    return report
