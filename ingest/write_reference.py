"""Write step for exact facts: one SQLite file per dataset release, switched in atomically.

The file is built under a temporary name with journalling off (it is not visible to anyone yet), indexed
after the bulk insert, checked against the active release (a file that would drop too many of its rows, or
whose own rows are too often malformed, is refused), then renamed into place and activated in the catalog,
alone or together with the dataset's passages. A failure at any point leaves the previous release serving.

Temporary files are named by release (``.<version>.sqlite.partial`` and ``.stage/``) and written under a lock
per dataset; whatever a killed ingest left behind is removed by the next write of that dataset, or by
``remove_leftovers`` at the start of a run.
"""

from __future__ import annotations

import fcntl
import gc
import json
import os
import shutil
import sqlite3
import time
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import IO

from ingest.records import IngestError, ParsedRelease, Record, RowError, SourceParts
from ingest.workers import worker_pool
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
WRITE_LOCK = ".writing.lock"
LEFTOVER_PATTERNS = (".*.partial", ".*.stage")


@dataclass(frozen=True)
class ReleaseLimits:
    """How far a new release may differ from what it replaces before it is refused (``force`` overrides).

    CMS files have no malformed rows and a quarter changes a few percent of a table: a file that loses a fifth
    of the active release's rows, or whose own rows are more than 1% malformed, is the wrong file or a broken one.
    """

    max_row_drop: float = 0.2  # share of the active release's rows the new release may lose
    max_rejected_share: float = 0.01  # share of the new file's rows that may be malformed


class StrictModeError(IngestError):
    pass


class ReleaseRefused(IngestError):
    """The release was read but not activated: it differs too much from the active one, or from itself."""

    def __init__(self, file: str | Path, message: str, report: LoadReport | None = None):
        super().__init__(file, message)
        self.report = report

    def __reduce__(self):
        return type(self), (self.file, self.message, self.report)


class _DatasetLock:
    """Exclusive, per dataset: one writer at a time, and the sweep never takes a file being written."""

    def __init__(self, folder: Path):
        folder.mkdir(parents=True, exist_ok=True)
        self._handle: IO[str] | None = open(folder / WRITE_LOCK, "w")  # noqa: SIM115 (held until release())
        try:
            fcntl.flock(self._handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            self._handle.close()
            self._handle = None

    @property
    def held(self) -> bool:
        return self._handle is not None

    def release(self) -> None:
        if self._handle is not None:
            fcntl.flock(self._handle, fcntl.LOCK_UN)
            self._handle.close()
            self._handle = None


def _remove_leftovers_of(folder: Path) -> list[Path]:
    """Under the dataset's lock: temporary files of writes that never finished (killed processes)."""
    removed = []
    for pattern in LEFTOVER_PATTERNS:
        for path in folder.glob(pattern):
            if path.is_dir():
                shutil.rmtree(path, ignore_errors=True)
            else:
                path.unlink(missing_ok=True)
            removed.append(path)
    return removed


def remove_leftovers(data_dir: Path) -> list[Path]:
    """Temporary files a killed ingest left in any dataset folder that no one is writing now."""
    removed: list[Path] = []
    reference = Path(data_dir) / "reference"
    for folder in sorted(p for p in reference.iterdir() if p.is_dir()) if reference.is_dir() else []:
        lock = _DatasetLock(folder)
        if lock.held:
            try:
                removed += _remove_leftovers_of(folder)
            finally:
                lock.release()
    return removed


@dataclass
class StagedReference:
    """A complete release file under its temporary name, waiting to be activated (holds the dataset's lock)."""

    release: Release
    staged: Path
    final: Path
    lock: _DatasetLock

    def install(self) -> None:
        """Rename into place; the catalog activation that follows makes it visible."""
        try:
            os.replace(self.staged, self.final)
        finally:
            self.lock.release()

    def discard(self) -> None:
        self.staged.unlink(missing_ok=True)
        self.lock.release()


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
    staged: StagedReference | None = None  # written, not yet activated (write_release(activate=False))


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
        with worker_pool(workers) as pool:
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


def _check_limits(report: LoadReport, active: Release | None, limits: ReleaseLimits, file: str) -> None:
    total = report.rows + report.rejected
    if report.rejected > limits.max_rejected_share * total:
        raise ReleaseRefused(file, f"refused: {report.rejected:,} of {total:,} rows ({report.rejected / total:.1%}) "
                                   f"are malformed, more than the {limits.max_rejected_share:.1%} allowed; the "
                                   "active release is unchanged (check the file, or pass --force or a higher "
                                   "--max-rejected-share to load it anyway)", report)
    if active is not None and report.rows < (1 - limits.max_row_drop) * active.rows:
        drop = 1 - report.rows / active.rows
        raise ReleaseRefused(file, f"refused: {report.rows:,} rows would replace the {active.rows:,} rows of the "
                                   f"active release {active.version} of {report.dataset}, a drop of {drop:.1%}, "
                                   f"more than the {limits.max_row_drop:.0%} allowed; the active release is "
                                   "unchanged (check the file, or pass --force or a higher --max-row-drop)", report)


def write_release(data_dir: Path, parsed: ParsedRelease, *, strict: bool = False, force: bool = False,
                  limits: ReleaseLimits | None = None, progress=None, activate: bool = True) -> LoadReport:
    """Load one release into its own SQLite file and make it the active one.

    With ``activate=False`` the complete file is left staged (``report.staged``) for ``activate_staged`` to
    activate together with other releases (the dataset's passages), or to discard. ``force`` reloads an unchanged
    release and overrides ``limits``.
    """
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

    lock = _DatasetLock(final.parent)
    if not lock.held:
        raise IngestError(parsed.source_file, f"another ingest is writing {parsed.dataset} now; wait for it to end")
    _remove_leftovers_of(final.parent)
    partial = final.with_name(f".{final.name}.partial")
    try:
        connection = sqlite3.connect(partial)
        connection.executescript("PRAGMA journal_mode=OFF; PRAGMA synchronous=OFF; PRAGMA cache_size=-200000; "
                                 "PRAGMA threads=2;")
        connection.executescript(REFERENCE_DDL[spec.kind])
        batcher = _Batcher(report, strict, progress)
        if spec.kind == "ptp" and parsed.parts and len(parsed.parts.jobs) > 1:
            _insert_staged_ptp(connection, batcher, parsed.parts, final.with_name(f".{final.name}.stage"))
        elif spec.kind == "coverage":
            _insert_coverage(connection, batcher, parsed)
        else:
            _insert(connection, spec.kind, batcher, parsed)
        if report.rows == 0:
            raise IngestError(parsed.source_file, f"no {spec.kind} rows could be read "
                                                  f"({report.rejected} malformed)")
        if not force:
            _check_limits(report, active, limits or ReleaseLimits(), parsed.source_file)
        for statement in REFERENCE_INDEXES[spec.kind]:
            connection.execute(statement)
        if spec.kind == "codes":
            _build_search_index(connection)
        if spec.kind == "coverage":
            _build_policy_search_index(connection)
        connection.commit()
        connection.close()
    except BaseException:
        partial.unlink(missing_ok=True)
        lock.release()
        raise
    release = Release(dataset=parsed.dataset, version=parsed.version, source_file=parsed.source_file,
                      rows=report.rows, loaded_at=datetime.now(UTC).isoformat(timespec="seconds"),
                      source_sha256=parsed.source_sha256, rejected_rows=report.rejected)
    report.staged = StagedReference(release, partial, final, lock)
    if activate:
        (previous,) = activate_staged(catalog, [report.staged])
        report.replaced = previous.version if previous and previous.version != release.version else None
        report.staged = None
    report.seconds = time.perf_counter() - started
    return report


def activate_staged(catalog: Catalog, references: Sequence[StagedReference],
                    passages: Sequence[Release] = ()) -> list[Release | None]:
    """Install the staged reference files, then activate them and the passage releases in one catalog write.

    Returns the releases replaced, references first. Until the catalog write, readers see only the previous
    releases (a new version's file is not in the catalog yet)."""
    for staged in references:
        staged.install()
    return catalog.activate_together([*(("reference", s.release) for s in references),
                                      *(("passages", p) for p in passages)])
