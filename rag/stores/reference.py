"""Read side of the exact reference store: codes, NCCI PTP edits and MUEs, each with its release."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Generic, TypeVar, cast

from rag.stores.catalog import Catalog
from rag.stores.schema import (
    DATASETS,
    NO_DATE,
    AddonEdit,
    CodeRecord,
    CoveragePolicy,
    MacJurisdiction,
    MpfsIndicators,
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
    """The active release of every dataset, opened read-only: one immutable view of the reference data.

    A newer catalog is a new ReferenceStore (``DataSource`` in rag.snapshot builds them); connections of the
    releases that did not change are shared with the previous view instead of reopened."""

    def __init__(self, data_dir: Path, active: dict[str, Release] | None = None,
                 reuse: "ReferenceStore | None" = None):
        self.reference_dir = Path(data_dir) / "reference"
        if active is None:
            active = Catalog(data_dir).active("reference")
        previous = reuse._connections if reuse is not None else {}
        self._connections: dict[str, tuple[sqlite3.Connection, Release]] = {}
        self._code_sets_by_release: dict[tuple[str, str], frozenset[str]] = (
            dict(reuse._code_sets_by_release) if reuse is not None else {})
        for name, release in active.items():
            current = previous.get(name)
            if current and current[1] == release:
                self._connections[name] = current
                continue
            path = release_path(self.reference_dir, name, release.version)
            if not path.exists():
                continue
            connection = sqlite3.connect(f"file:{path}?mode=ro&immutable=1", uri=True, check_same_thread=False)
            connection.row_factory = sqlite3.Row
            self._connections[name] = (connection, release)

    # ------------------------------------------------------------ lifecycle

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
            query, args = "SELECT * FROM codes", cast(tuple[str, ...], ())
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

    def _code_sets(self, connection: sqlite3.Connection, release: Release) -> frozenset[str]:
        key = (release.dataset, release.version)
        if key not in self._code_sets_by_release:
            rows = connection.execute("SELECT DISTINCT code_set FROM codes").fetchall()
            self._code_sets_by_release[key] = frozenset(row[0] for row in rows)
        return self._code_sets_by_release[key]

    def descendants(self, code: str, code_set: str, limit: int = 200) -> list[Sourced[CodeRecord]]:
        """The codes below ``code`` in a hierarchical code set (ICD-10-CM: R10.1 -> R10.10, R10.11 ...)."""
        return [s for s in self.codes_between(code, code, code_set, limit + 1) if s.fact.code != code]

    def codes_between(self, first: str, last: str, code_set: str, limit: int = 200) -> list[Sourced[CodeRecord]]:
        """The codes from ``first`` to ``last`` and the codes below ``last`` (N18.1-N18.4 holds N18.30)."""
        found: list[Sourced[CodeRecord]] = []
        for connection, release in self._of_kind("codes"):
            rows = connection.execute("SELECT * FROM codes WHERE code >= ? AND code < ? AND code_set = ? ORDER BY code "
                                      "LIMIT ?", (first, last + "\uffff", code_set, limit))
            found.extend(Sourced(_code_record(row), release) for row in rows)
        return found

    def neighbours(self, code: str, code_set: str) -> tuple[str | None, str | None]:
        """The codes just before and just after ``code`` in its code set (in code order, across the loaded code
        files), for previous/next navigation; None at either end."""
        before: list[str] = []
        after: list[str] = []
        for connection, release in self._of_kind("codes"):
            if code_set not in self._code_sets(connection, release):
                continue  # else the walk below would read the whole file without a match
            # Walk the code index from ``code`` outwards (max()/min() with a second condition would scan).
            row = connection.execute("SELECT code FROM codes INDEXED BY codes_by_code WHERE code < ? AND code_set = ? "
                                     "ORDER BY code DESC LIMIT 1", (code, code_set)).fetchone()
            if row:
                before.append(row[0])
            row = connection.execute("SELECT code FROM codes INDEXED BY codes_by_code WHERE code > ? AND code_set = ? "
                                     "ORDER BY code LIMIT 1", (code, code_set)).fetchone()
            if row:
                after.append(row[0])
        return (max(before) if before else None), (min(after) if after else None)

    def search_descriptors(self, match: str, limit: int = 20,
                           code_sets: Iterable[str] | None = None) -> list[tuple[Sourced[CodeRecord], float]]:
        """Full-text (BM25) search over descriptors; ``match`` is an FTS5 query. Lower score = better."""
        found = []
        wanted = None if code_sets is None else set(code_sets)
        for connection, release in self._of_kind("codes"):
            if wanted is not None and not wanted & self._code_sets(connection, release):
                continue  # ranking the 98,000 ICD-10-CM titles for a CPT question costs more than the rest
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

    def descriptors_contain(self, word: str) -> bool:
        """Whether any descriptor has the word (as the FTS index stems it). Unranked: ranking every title with
        "fracture" to learn that one exists costs 20 ms."""
        for connection, _ in self._of_kind("codes"):
            try:
                if connection.execute("SELECT 1 FROM codes_fts WHERE codes_fts MATCH ? LIMIT 1",
                                      (f'"{word}"',)).fetchone():
                    return True
            except sqlite3.OperationalError:
                continue
        return False

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
        found: list[Sourced[PtpEdit]] = []
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
        page: list[Sourced[PtpEdit]] = []
        total = 0
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

    # ------------------------------------------------------------ fee schedule indicators, add-on code edits

    def mpfs(self, code: str) -> list[Sourced[MpfsIndicators]]:
        """The PPRRVU rows of ``code``: the global service first, then its modifiers (26, TC, 53 ...)."""
        found: list[Sourced[MpfsIndicators]] = []
        for connection, release in self._of_kind("mpfs"):
            rows = connection.execute(f"SELECT {', '.join(MpfsIndicators._fields)} FROM mpfs WHERE code = ? "
                                      "ORDER BY modifier != '', modifier", (code,))
            found.extend(Sourced(MpfsIndicators(*tuple(row)), release) for row in rows)
        return found

    def addon_primaries(self, addon: str) -> list[Sourced[AddonEdit]]:
        """Every add-on code edit of ``addon``: its primary codes (none listed for edit type 2)."""
        return self._addon_edits("addon", addon)

    def addons_of(self, primary: str) -> list[Sourced[AddonEdit]]:
        """Every add-on code edit that lists ``primary`` as a primary code."""
        return self._addon_edits("primary_code", primary)

    def _addon_edits(self, column: str, code: str) -> list[Sourced[AddonEdit]]:
        found: list[Sourced[AddonEdit]] = []
        for connection, release in self._of_kind("addon"):
            rows = connection.execute(
                "SELECT addon, primary_code, edit_type, effective_date, deletion_date, addon_deletion_date, "
                f"primary_deletion_date, notes, row FROM addon WHERE {column} = ? ORDER BY addon, primary_code, row",
                (code,))
            found.extend(Sourced(AddonEdit(*tuple(row)), release) for row in rows)
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
        query, args = "SELECT state, state_name, mac_type, jurisdiction, contractor, row FROM jurisdictions", cast(tuple[str, ...], ())
        if state:
            query, args = query + " WHERE state = ?", (state.upper(),)
        return [Sourced(MacJurisdiction(*tuple(row)), release) for connection, release in self._of_kind("jurisdictions")
                for row in connection.execute(query + " ORDER BY row", args)]
