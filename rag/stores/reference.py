"""Read side of the exact reference store: codes, NCCI PTP edits and MUEs, each with its release."""

from __future__ import annotations

import json
import sqlite3
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Generic, Iterable, Iterator, TypeVar

from rag.stores.catalog import Catalog
from rag.stores.schema import (
    DATASETS,
    NO_DATE,
    CodeRecord,
    CoveragePolicy,
    MacJurisdiction,
    MueLimit,
    PolicyCode,
    PtpEdit,
    Release,
)

T = TypeVar("T")

PTP_COLUMNS = "column1, column2, prior_1996, effective_date, deletion_date, modifier_indicator, r.text, row"


@dataclass(frozen=True)
class Sourced(Generic[T]):
    """A fact and the release it was read from: everything a citation needs."""

    fact: T
    release: Release

    @property
    def dataset_title(self) -> str:
        return DATASETS[self.release.dataset].title

    @property
    def official_url(self) -> str:
        return DATASETS[self.release.dataset].official_url


def release_path(reference_dir: Path, dataset: str, version: str) -> Path:
    return Path(reference_dir) / dataset / f"{version}.sqlite"


def _code_record(row: sqlite3.Row) -> CodeRecord:
    return CodeRecord(
        code=row["code"], code_set=row["code_set"], short_description=row["short_description"] or "",
        long_description=row["long_description"] or "", lay_description=row["lay_description"] or "",
        family=row["family"] or "", code_range=row["code_range"] or "", effective_date=row["effective_date"],
        termination_date=None if row["termination_date"] in (None, NO_DATE) else row["termination_date"],
        attributes=json.loads(row["attributes"] or "{}"), row=row["row"],
    )


def _policy(row: sqlite3.Row) -> CoveragePolicy:
    return CoveragePolicy(
        policy_id=row["policy_id"], doc_type=row["doc_type"], title=row["title"], version=row["version"],
        contractors=tuple(tuple(c) for c in json.loads(row["contractors"] or "[]")),
        effective_date=row["effective_date"],
        retirement_date=None if row["retirement_date"] in (None, NO_DATE) else row["retirement_date"],
        status=row["status"], url=row["url"] or "", summary=row["summary"] or "",
        related=tuple(json.loads(row["related"] or "[]")), attributes=json.loads(row["attributes"] or "{}"),
        row=row["row"])


def _ptp_edit(row: tuple) -> PtpEdit:
    col1, col2, prior, eff, dele, mod, rationale, line = row
    return PtpEdit(col1, col2, bool(prior), eff, dele, mod, rationale, line)


class ReferenceStore:
    """Opens the active release of every dataset read-only; reopens when the catalog changes."""

    def __init__(self, data_dir: Path):
        self.catalog = Catalog(data_dir)
        self.reference_dir = Path(data_dir) / "reference"
        self._lock = threading.Lock()
        self._catalog_mtime = -1.0
        self._connections: dict[str, tuple[sqlite3.Connection, Release]] = {}
        self.refresh()

    # ------------------------------------------------------------ lifecycle

    def refresh(self) -> bool:
        """Pick up newly activated releases. Returns True when something changed."""
        mtime = self.catalog.mtime()
        if mtime == self._catalog_mtime:
            return False
        with self._lock:
            active = self.catalog.active("reference")
            connections = {}
            for name, release in active.items():
                current = self._connections.get(name)
                if current and current[1] == release:
                    connections[name] = current
                    continue
                path = release_path(self.reference_dir, name, release.version)
                if not path.exists():
                    continue
                connection = sqlite3.connect(f"file:{path}?mode=ro&immutable=1", uri=True, check_same_thread=False)
                connection.row_factory = sqlite3.Row
                connections[name] = (connection, release)
            self._connections = connections
            self._catalog_mtime = mtime
        return True

    def releases(self) -> dict[str, Release]:
        return {name: release for name, (_, release) in self._connections.items()}

    def is_loaded(self, kind: str | None = None) -> bool:
        return any(kind is None or DATASETS[name].kind == kind for name in self._connections)

    def close(self) -> None:
        for connection, _ in self._connections.values():
            connection.close()
        self._connections = {}

    def _of_kind(self, kind: str, dataset: str | None = None) -> Iterator[tuple[sqlite3.Connection, Release]]:
        for name, pair in self._connections.items():
            if DATASETS[name].kind == kind and (dataset is None or dataset == name):
                yield pair

    # ------------------------------------------------------------ codes

    def lookup_code(self, code: str) -> list[Sourced[CodeRecord]]:
        found = []
        for connection, release in self._of_kind("codes"):
            for row in connection.execute("SELECT * FROM codes WHERE code = ?", (code,)):
                found.append(Sourced(_code_record(row), release))
        return found

    def known_codes(self, codes: Iterable[str]) -> dict[str, list[Sourced[CodeRecord]]]:
        return {code: self.lookup_code(code) for code in set(codes)}

    def in_ncci_tables(self, code: str) -> Sourced[None] | None:
        """CMS lists only real codes in its NCCI tables: a code found there exists, even without a descriptor."""
        for kind, sql in (("mue", "SELECT 1 FROM mue WHERE code = ? LIMIT 1"),
                          ("ptp", "SELECT 1 FROM ptp WHERE column1 = ? LIMIT 1"),
                          ("ptp", "SELECT 1 FROM ptp WHERE column2 = ? LIMIT 1")):
            for connection, release in self._of_kind(kind):
                if connection.execute(sql, (code,)).fetchone():
                    return Sourced(None, release)
        return None

    def iter_codes(self, code_set: str | None = None) -> Iterator[Sourced[CodeRecord]]:
        for connection, release in self._of_kind("codes"):
            query, args = "SELECT * FROM codes", ()
            if code_set:
                query, args = query + " WHERE code_set = ?", (code_set,)
            for row in connection.execute(query, args):
                yield Sourced(_code_record(row), release)

    def iter_descriptors(self) -> Iterator[tuple[str, str, str, str, bool]]:
        """(code, code set, long descriptor, short descriptor, terminated) for every code row: a light scan for
        building in-memory indexes (no attributes decoded)."""
        for connection, _ in self._of_kind("codes"):
            for code, code_set, long, short, term in connection.execute(
                    "SELECT code, code_set, long_description, short_description, termination_date FROM codes"):
                yield code, code_set, long or "", short or "", term not in (None, NO_DATE)

    def search_descriptors(self, match: str, limit: int = 20,
                           code_sets: Iterable[str] | None = None) -> list[tuple[Sourced[CodeRecord], float]]:
        """Full-text (BM25) search over descriptors; ``match`` is an FTS5 query. Lower score = better."""
        found = []
        for connection, release in self._of_kind("codes"):
            try:
                rows = connection.execute(
                    "SELECT c.*, bm25(codes_fts) AS rank FROM codes_fts JOIN codes c ON c.rowid = codes_fts.rowid "
                    "WHERE codes_fts MATCH ? ORDER BY rank LIMIT ?", (match, limit)).fetchall()
            except sqlite3.OperationalError:  # an FTS syntax the caller did not escape: no match
                continue
            for row in rows:
                if code_sets is None or row["code_set"] in code_sets:
                    found.append((Sourced(_code_record(row), release), row["rank"]))
        return sorted(found, key=lambda item: item[1])[:limit]

    def vocabulary(self) -> set[str]:
        """Every indexed (stemmed) term, for typo correction."""
        terms: set[str] = set()
        for connection, _ in self._of_kind("codes"):
            terms.update(row[0] for row in connection.execute("SELECT term FROM codes_vocab"))
        return terms

    def all_code_strings(self) -> set[str]:
        codes: set[str] = set()
        for connection, _ in self._of_kind("codes"):
            codes.update(row[0] for row in connection.execute("SELECT code FROM codes"))
        for connection, _ in self._of_kind("mue"):
            codes.update(row[0] for row in connection.execute("SELECT code FROM mue"))
        for connection, _ in self._of_kind("ptp"):
            codes.update(row[0] for row in connection.execute("SELECT DISTINCT column1 FROM ptp"))
        return codes

    # ------------------------------------------------------------ NCCI PTP

    def ptp_pair(self, code_a: str, code_b: str, dataset: str = "ptp_practitioner") -> list[Sourced[PtpEdit]]:
        """Every edit between the two codes, in either column order."""
        found = []
        for connection, release in self._of_kind("ptp", dataset):
            rows = connection.execute(
                f"SELECT {PTP_COLUMNS} FROM ptp JOIN rationales r ON r.id = rationale_id "
                "WHERE (column1 = ? AND column2 = ?) OR (column1 = ? AND column2 = ?)",
                (code_a, code_b, code_b, code_a),
            )
            found.extend(Sourced(_ptp_edit(tuple(row)), release) for row in rows)
        return found

    def ptp_for_code(
        self, code: str, column: int, *, dataset: str = "ptp_practitioner", modifier_indicator: int | None = None,
        active_on: int | None = None, limit: int = 50, offset: int = 0,
    ) -> tuple[list[Sourced[PtpEdit]], int]:
        """Edits with ``code`` in column 1 or column 2, paginated; returns (page, total)."""
        where = ["column1 = ?" if column == 1 else "column2 = ?"]
        args: list = [code]
        if modifier_indicator is not None:
            where.append("modifier_indicator = ?")
            args.append(modifier_indicator)
        if active_on is not None:
            where.append("effective_date <= ? AND deletion_date >= ?")
            args += [active_on, active_on]
        clause = " AND ".join(where)
        page, total = [], 0
        for connection, release in self._of_kind("ptp", dataset):
            total += connection.execute(f"SELECT count(*) FROM ptp WHERE {clause}", args).fetchone()[0]
            rows = connection.execute(
                f"SELECT {PTP_COLUMNS} FROM ptp JOIN rationales r ON r.id = rationale_id WHERE {clause} "
                f"ORDER BY column1, column2 LIMIT ? OFFSET ?", [*args, limit, offset],
            )
            page.extend(Sourced(_ptp_edit(tuple(row)), release) for row in rows)
        return page, total

    # ------------------------------------------------------------ MUE

    def mue(self, code: str, dataset: str | None = None) -> list[Sourced[MueLimit]]:
        found = []
        for connection, release in self._of_kind("mue", dataset):
            for row in connection.execute("SELECT code, value, adjudication_indicator, rationale, row FROM mue "
                                          "WHERE code = ?", (code,)):
                found.append(Sourced(MueLimit(*tuple(row)), release))
        return found

    # ------------------------------------------------------------ Medicare coverage (LCDs, articles, NCDs)

    def coverage_datasets(self) -> list[str]:
        return [name for name in self._connections if DATASETS[name].kind == "coverage"]

    def policies(self, policy_ids: Iterable[str], dataset: str | None = None) -> list[Sourced[CoveragePolicy]]:
        """Every loaded version of the policies named (display ids: L38201, A57282, 150.13)."""
        wanted = sorted(set(policy_ids))
        if not wanted:
            return []
        marks = ",".join("?" * len(wanted))
        return [Sourced(_policy(row), release) for connection, release in self._of_kind("coverage", dataset)
                for row in connection.execute(f"SELECT * FROM policies WHERE policy_id IN ({marks})", wanted)]

    def iter_policies(self, dataset: str | None = None) -> Iterator[Sourced[CoveragePolicy]]:
        for connection, release in self._of_kind("coverage", dataset):
            for row in connection.execute("SELECT * FROM policies"):
                yield Sourced(_policy(row), release)

    def search_policy_titles(self, match: str, limit: int = 200) -> list[Sourced[CoveragePolicy]]:
        """Policies whose title matches an FTS5 query (porter-stemmed), best first."""
        found = []
        for connection, release in self._of_kind("coverage"):
            try:
                rows = connection.execute(
                    "SELECT p.*, bm25(policies_fts) AS rank FROM policies_fts JOIN policies p "
                    "ON p.rowid = policies_fts.rowid WHERE policies_fts MATCH ? ORDER BY rank LIMIT ?",
                    (match, limit)).fetchall()
            except sqlite3.OperationalError:  # an FTS syntax the caller did not escape: no match
                continue
            found += [(row["rank"], Sourced(_policy(row), release)) for row in rows]
        return [sourced for _, sourced in sorted(found, key=lambda item: item[0])][:limit]

    def policies_listing(self, code: str, code_list: str = "procedure") -> list[Sourced[CoveragePolicy]]:
        """The policies (versions) whose code list ``code_list`` names ``code``."""
        found = []
        for connection, release in self._of_kind("coverage"):
            rows = connection.execute(
                "SELECT DISTINCT p.* FROM policy_codes c JOIN policies p ON p.policy_id = c.policy_id "
                "AND p.version = c.version WHERE c.code = ? AND c.code_list = ?", (code, code_list))
            found += [Sourced(_policy(row), release) for row in rows]
        return found

    def policy_codes(self, policy: Sourced[CoveragePolicy], code: str | None = None,
                     code_list: str | None = None) -> list[PolicyCode]:
        """A policy version's code-list rows, all or those for one code and/or one list."""
        connection = self._connections.get(policy.release.dataset, (None,))[0]
        if connection is None:
            return []
        where, args = ["policy_id = ?", "version = ?"], [policy.fact.policy_id, policy.fact.version]
        for column, value in (("code", code), ("code_list", code_list)):
            if value is not None:
                where.append(f"{column} = ?")
                args.append(value)
        return [PolicyCode(*tuple(row)) for row in connection.execute(
            "SELECT policy_id, version, code, code_list, code_group, row FROM policy_codes "
            f"WHERE {' AND '.join(where)} ORDER BY row", args)]

    def has_code_lists(self) -> bool:
        """True when a loaded coverage release has article or LCD code lists (the MCD download; the NCD table's
        own code lists do not count)."""
        return any(connection.execute("SELECT 1 FROM policy_codes LIMIT 1").fetchone()
                   for connection, release in self._of_kind("coverage") if release.dataset != "ncds")

    def policy_states(self, policy: Sourced[CoveragePolicy]) -> list[str]:
        connection = self._connections.get(policy.release.dataset, (None,))[0]
        if connection is None:
            return []
        return [row[0] for row in connection.execute(
            "SELECT DISTINCT state FROM policy_states WHERE policy_id = ? AND version = ? ORDER BY state",
            (policy.fact.policy_id, policy.fact.version))]

    def jurisdictions(self, state: str | None = None) -> list[Sourced[MacJurisdiction]]:
        """The MACs serving a state (USPS abbreviation), or every row."""
        query, args = "SELECT state, state_name, mac_type, jurisdiction, contractor, row FROM jurisdictions", ()
        if state:
            query, args = query + " WHERE state = ?", (state.upper(),)
        return [Sourced(MacJurisdiction(*tuple(row)), release) for connection, release in self._of_kind("jurisdictions")
                for row in connection.execute(query + " ORDER BY row", args)]
