"""The stores' schema, shared by ingest (which writes) and rag (which reads).

Reference store: one SQLite file per dataset release (e.g. ``ptp_practitioner/2026Q2.sqlite``), built
under a temporary name and switched in by the catalog, so a half-loaded release is never visible.
Vector store: one Qdrant collection of passages with a named dense vector and a BM25 sparse vector.
"""

from __future__ import annotations

import hashlib
import uuid
from dataclasses import dataclass, field
from collections.abc import Iterable
from typing import Literal, NamedTuple

# ---------------------------------------------------------------- reference store

Kind = Literal["codes", "ptp", "mue", "mpfs", "addon", "coverage", "jurisdictions"]


@dataclass(frozen=True)
class DatasetSpec:
    name: str
    kind: Kind
    title: str
    official_url: str


DATASETS: dict[str, DatasetSpec] = {
    spec.name: spec
    for spec in [
        DatasetSpec("hcpcs", "codes", "CMS HCPCS Level II annual file",
                    "https://www.cms.gov/medicare/coding-billing/healthcare-common-procedure-system/quarterly-update"),
        DatasetSpec("cpt", "codes", "CasePilot plain-language CPT descriptions",
                    "https://www.ama-assn.org/practice-management/cpt"),
        DatasetSpec("cpt_licensed", "codes", "Licensed CPT descriptor file (user supplied)",
                    "https://www.ama-assn.org/practice-management/cpt"),
        DatasetSpec("modifiers", "codes", "CasePilot modifier guidance",
                    "https://www.cms.gov/medicare/coding-billing/national-correct-coding-initiative-ncci-edits"),
        DatasetSpec("icd10cm", "codes", "ICD-10-CM Tabular List (CDC/NCHS)",
                    "https://www.cdc.gov/nchs/icd/icd-10-cm/files.html"),
        DatasetSpec("ptp_practitioner", "ptp", "Medicare NCCI PTP edits, practitioner services",
                    "https://www.cms.gov/medicare/coding-billing/national-correct-coding-initiative-ncci-edits/medicare-ncci-procedure-procedure-ptp-edits"),
        DatasetSpec("ptp_hospital", "ptp", "Medicare NCCI PTP edits, outpatient hospital services",
                    "https://www.cms.gov/medicare/coding-billing/national-correct-coding-initiative-ncci-edits/medicare-ncci-procedure-procedure-ptp-edits"),
        DatasetSpec("mue_practitioner", "mue", "Medicare NCCI MUE table, practitioner services",
                    "https://www.cms.gov/medicare/coding-billing/national-correct-coding-initiative-ncci-edits/medicare-ncci-medically-unlikely-edits"),
        DatasetSpec("mue_hospital", "mue", "Medicare NCCI MUE table, outpatient hospital services",
                    "https://www.cms.gov/medicare/coding-billing/national-correct-coding-initiative-ncci-edits/medicare-ncci-medically-unlikely-edits"),
        DatasetSpec("mue_dme", "mue", "Medicare NCCI MUE table, DME supplier services",
                    "https://www.cms.gov/medicare/coding-billing/national-correct-coding-initiative-ncci-edits/medicare-ncci-medically-unlikely-edits"),
        # ---- fee schedule indicators and add-on code edits (ingest/loaders/mpfs.py, addon.py)
        DatasetSpec("mpfs", "mpfs", "Medicare Physician Fee Schedule relative value file (PPRRVU)",
                    "https://www.cms.gov/medicare/payment/fee-schedules/physician/pfs-relative-value-files"),
        DatasetSpec("addon", "addon", "Medicare NCCI add-on code edits",
                    "https://www.cms.gov/medicare/coding-billing/national-correct-coding-initiative-ncci-edits/medicare-ncci-add-code-edits"),
        # ---- reference tables written for the project (facts only): deleted CPT codes with dates and replacements
        DatasetSpec("cpt_deleted", "codes", "CasePilot table of deleted CPT codes (AMA/CMS annual change notes)",
                    "https://www.ama-assn.org/practice-management/cpt"),
        # ---- Medicare coverage (MCD): LCDs, billing articles, NCDs, and which MAC serves which state
        DatasetSpec("mcd_index", "coverage", "Medicare Coverage Database index of LCDs and articles",
                    "https://www.cms.gov/medicare-coverage-database/search.aspx"),
        DatasetSpec("mcd_download", "coverage", "Medicare Coverage Database download (current LCDs and articles)",
                    "https://www.cms.gov/medicare-coverage-database/downloads/downloads.aspx"),
        DatasetSpec("ncds", "coverage", "CasePilot summaries of Medicare national coverage determinations",
                    "https://www.cms.gov/medicare-coverage-database/search.aspx"),
        DatasetSpec("mac_jurisdictions", "jurisdictions", "CasePilot table of Medicare MAC jurisdictions",
                    "https://www.cms.gov/medicare/coding-billing/medicare-administrative-contractors-macs/who-are-macs"),
        # ---- end of Medicare coverage datasets
    ]
}

# Datasets only a user can supply (a licence of their own): never reported as missing.
OPTIONAL_DATASETS = frozenset({"cpt_licensed"})


def missing_datasets(loaded: Iterable[str]) -> list[str]:
    """The datasets with no active release, in DATASETS order: what `casepilot-ingest status` and /readyz warn
    about (the optional ones left out)."""
    have = set(loaded)
    return [name for name in DATASETS if name not in have and name not in OPTIONAL_DATASETS]


NO_DATE = 99991231  # stored for "no deletion / termination date"

# A source split into parts (zip members, numbered JSON files) numbers its rows part * stride + line,
# so one integer cites both the part and the line within it.
ROW_PART_STRIDE = 10_000_000


def row_locator(row: int) -> str:
    part, line = divmod(row, ROW_PART_STRIDE)
    return f"row {line}" if part == 0 else f"part {part + 1}, row {line}"

CODE_SETS = ("CPT", "HCPCS", "ICD10CM", "MODIFIER")

MODIFIER_INDICATORS = {
    0: "not allowed: no modifier bypasses this edit; the column 2 code is not paid with the column 1 code",
    1: "allowed: an NCCI-associated modifier (e.g. 59, XE, XP, XS, XU, 25, anatomic modifiers) bypasses "
       "the edit when the services are distinct and documented",
    9: "not applicable: the edit was deleted retroactively (effective and deletion dates are the same)",
}

MUE_ADJUDICATION_INDICATORS = {
    1: "claim line edit: units above the MUE on one claim line are denied; the value is not a daily limit",
    2: "date of service edit, policy: an absolute per-day limit from policy or regulation; not appealable on "
       "medical necessity",
    3: "date of service edit, clinical: a per-day limit from clinical benchmarks; units above it may be paid "
       "on appeal with documentation",
}

@dataclass(frozen=True)
class CodeRecord:
    code: str
    code_set: str  # one of CODE_SETS
    short_description: str = ""
    long_description: str = ""
    lay_description: str = ""  # the project's own words (CPT corpora, modifier guidance)
    family: str = ""
    code_range: str = ""
    effective_date: int | None = None
    termination_date: int | None = None
    attributes: dict = field(default_factory=dict)  # coverage, BETOS, add-ons, notes ...
    row: int = 0  # line or record number in the source file, for citations


class PtpEdit(NamedTuple):
    """A NamedTuple, not a dataclass: two million of these are built per load."""

    column1: str
    column2: str
    prior_1996: bool
    effective_date: int  # YYYYMMDD; 0 where the source has no dates
    deletion_date: int  # YYYYMMDD; NO_DATE (99991231) while the edit has not been deleted
    modifier_indicator: int
    rationale: str
    row: int = 0

    @property
    def deleted(self) -> bool:
        return self.deletion_date != NO_DATE

    def active_on(self, date: int) -> bool:
        return self.effective_date <= date <= self.deletion_date


class MueLimit(NamedTuple):
    code: str
    value: int
    adjudication_indicator: int
    rationale: str
    row: int = 0


class MpfsIndicators(NamedTuple):
    """One PPRRVU row's payment policy indicators, as CMS codes them (meanings: rag/findings_mpfs.py).

    ``description`` stays empty for CPT codes unless a licensed CPT file is loaded (AMA text)."""

    code: str
    modifier: str  # "" for the global service; 26, TC, 53 ...
    status: str  # A active, B bundled, C carrier priced, I not valid for Medicare ...
    global_days: str  # 000, 010, 090, MMM, XXX, YYY, ZZZ
    pctc: str  # 0-9
    multiple_procedure: str  # 0-9
    bilateral: str  # 0-3, 9
    assistant: str  # 0-2, 9
    co_surgeon: str  # 0-2, 9
    team: str  # 0-2, 9
    work_rvu: float | None
    facility_total_rvu: float | None
    nonfacility_total_rvu: float | None
    pre_op: float | None  # share of the global package (0-1)
    intra_op: float | None
    post_op: float | None
    endoscopic_base: str
    conversion_factor: float | None
    description: str = ""
    row: int = 0


class AddonEdit(NamedTuple):
    """One NCCI add-on code edit: ``addon`` is paid only with ``primary`` (edit type 1; type 3: with it or a
    primary the contractor accepts); type 2 lists no primary ("" here): the contractor decides."""

    addon: str
    primary: str
    edit_type: int  # 1, 2 or 3
    effective_date: int  # YYYYMMDD of the edit
    deletion_date: int  # NO_DATE while in force
    addon_deletion_date: int
    primary_deletion_date: int
    notes: str = ""
    row: int = 0

    def active_on(self, date: int) -> bool:
        return self.effective_date <= date <= self.deletion_date

# ---------------------------------------------------------------- Medicare coverage (LCDs, articles, NCDs)

PolicyType = Literal["LCD", "Article", "NCD"]
PolicyStatus = Literal["current", "retired", "future"]
CodeList = Literal["procedure", "covered", "noncovered"]  # HCPCS/CPT list; ICD-10-CM covered / non-covered lists


@dataclass(frozen=True)
class CoveragePolicy:
    """One version of an LCD, billing article or NCD: what a citation of it needs (no policy text)."""

    policy_id: str  # display id: L38201, A57282, or the NCD manual section (150.13)
    doc_type: str  # one of PolicyType
    title: str
    version: str = ""
    contractors: tuple[tuple[str, str], ...] = ()  # (contractor name, contractor type), e.g. ("CGS ...", "MAC - Part B")
    effective_date: int | None = None  # YYYYMMDD
    retirement_date: int | None = None
    status: str = "current"  # one of PolicyStatus, as the source says it; readers also check the dates
    url: str = ""
    summary: str = ""  # the project's own words (NCDs); never CMS policy text
    related: tuple[str, ...] = ()  # an article's LCDs, an LCD's articles
    attributes: dict = field(default_factory=dict)
    row: int = 0


class PolicyCode(NamedTuple):
    """One code on a policy's code list (the MCD download's article_x_hcpc_code, article_x_icd10_covered ...)."""

    policy_id: str
    version: str
    code: str
    code_list: str  # one of CodeList
    group: int = 0
    row: int = 0


class PolicyState(NamedTuple):
    """A state or territory (USPS abbreviation) where a policy applies."""

    policy_id: str
    version: str
    state: str


class MacJurisdiction(NamedTuple):
    """Which Medicare administrative contractor serves a state for one kind of claim."""

    state: str  # USPS abbreviation
    state_name: str
    mac_type: str  # "A/B MAC" | "DME MAC"
    jurisdiction: str  # J15, JH, DME B ...
    contractor: str  # as the MCD names it, e.g. "CGS Administrators, LLC"
    row: int = 0


# ---------------------------------------------------------------- releases

@dataclass(frozen=True)
class Release:
    """One loaded version of one dataset, as the catalog records it."""

    dataset: str
    version: str  # e.g. "2026Q2", "2020", "FY2026"
    source_file: str
    rows: int
    loaded_at: str
    source_sha256: str = ""
    rejected_rows: int = 0


REFERENCE_DDL: dict[str, str] = {
    "codes": """
        CREATE TABLE codes (
            code TEXT NOT NULL, code_set TEXT NOT NULL, short_description TEXT, long_description TEXT,
            lay_description TEXT, family TEXT, code_range TEXT, effective_date INTEGER,
            termination_date INTEGER, attributes TEXT, row INTEGER)""",
    "ptp": """
        CREATE TABLE rationales (id INTEGER PRIMARY KEY, text TEXT NOT NULL);
        CREATE TABLE ptp (
            column1 TEXT NOT NULL, column2 TEXT NOT NULL, prior_1996 INTEGER NOT NULL,
            effective_date INTEGER NOT NULL, deletion_date INTEGER NOT NULL,
            modifier_indicator INTEGER NOT NULL, rationale_id INTEGER NOT NULL, row INTEGER NOT NULL,
            PRIMARY KEY (column1, column2, row)) WITHOUT ROWID""",
    "mue": """
        CREATE TABLE mue (
            code TEXT NOT NULL, value INTEGER NOT NULL, adjudication_indicator INTEGER NOT NULL,
            rationale TEXT, row INTEGER NOT NULL)""",
    "mpfs": """
        CREATE TABLE mpfs (
            code TEXT NOT NULL, modifier TEXT NOT NULL, status TEXT, global_days TEXT, pctc TEXT,
            multiple_procedure TEXT, bilateral TEXT, assistant TEXT, co_surgeon TEXT, team TEXT, work_rvu REAL,
            facility_total_rvu REAL, nonfacility_total_rvu REAL, pre_op REAL, intra_op REAL, post_op REAL,
            endoscopic_base TEXT, conversion_factor REAL, description TEXT, row INTEGER NOT NULL)""",
    "addon": """
        CREATE TABLE addon (
            addon TEXT NOT NULL, primary_code TEXT NOT NULL, edit_type INTEGER NOT NULL,
            effective_date INTEGER NOT NULL, deletion_date INTEGER NOT NULL, addon_deletion_date INTEGER NOT NULL,
            primary_deletion_date INTEGER NOT NULL, notes TEXT, row INTEGER NOT NULL)""",
    # ---- Medicare coverage
    "coverage": """
        CREATE TABLE policies (
            policy_id TEXT NOT NULL, doc_type TEXT NOT NULL, title TEXT NOT NULL, version TEXT NOT NULL,
            contractors TEXT, effective_date INTEGER, retirement_date INTEGER NOT NULL, status TEXT NOT NULL,
            url TEXT, summary TEXT, related TEXT, attributes TEXT, row INTEGER NOT NULL);
        CREATE TABLE policy_codes (
            policy_id TEXT NOT NULL, version TEXT NOT NULL, code TEXT NOT NULL, code_list TEXT NOT NULL,
            code_group INTEGER NOT NULL, row INTEGER NOT NULL);
        CREATE TABLE policy_states (policy_id TEXT NOT NULL, version TEXT NOT NULL, state TEXT NOT NULL)""",
    "jurisdictions": """
        CREATE TABLE jurisdictions (
            state TEXT NOT NULL, state_name TEXT NOT NULL, mac_type TEXT NOT NULL, jurisdiction TEXT NOT NULL,
            contractor TEXT NOT NULL, row INTEGER NOT NULL)""",
}

# Indexes are built after the bulk insert: sorting once is far cheaper than maintaining them per row.
REFERENCE_INDEXES: dict[str, list[str]] = {
    "codes": ["CREATE INDEX codes_by_code ON codes(code)"],
    "ptp": ["CREATE INDEX ptp_by_column2 ON ptp(column2)"],  # the primary key serves column 1
    "mue": ["CREATE INDEX mue_by_code ON mue(code)"],
    "mpfs": ["CREATE INDEX mpfs_by_code ON mpfs(code)"],
    "addon": ["CREATE INDEX addon_by_addon ON addon(addon)", "CREATE INDEX addon_by_primary ON addon(primary_code)"],
    "coverage": ["CREATE INDEX policies_by_id ON policies(policy_id)",
                 "CREATE INDEX policy_codes_by_code ON policy_codes(code, code_list)",
                 "CREATE INDEX policy_codes_by_policy ON policy_codes(policy_id, version)",
                 "CREATE INDEX policy_states_by_state ON policy_states(state)"],
    "jurisdictions": ["CREATE INDEX jurisdictions_by_state ON jurisdictions(state)"],
}

# ---------------------------------------------------------------- vector store

DENSE_VECTOR = "dense"
SPARSE_VECTOR = "bm25"
DENSE_DIM = 384

# Payload fields with an index, and their type (keyword or integer).
PAYLOAD_INDEXES: dict[str, str] = {
    "source": "keyword",
    "doc_id": "keyword",
    "codes": "keyword",
    "release": "keyword",
    "kind": "keyword",
    "page": "integer",
}


# Bump when what is embedded for a passage changes (indexed_text, model input): every passage is re-embedded once.
INDEX_RECIPE = 2


@dataclass(frozen=True)
class Passage:
    """A chunk of text with everything a citation needs."""

    source: str  # e.g. "guidelines", "cpt", "hcpcs", "pdf:2019-Table-of-Drugs"
    doc_id: str
    version: str
    chunk: int
    text: str
    title: str
    kind: str = "guidance"  # guidance | code | modifier | coverage | manual
    section: str = ""
    page: int | None = None
    codes: tuple[str, ...] = ()
    url: str = ""
    source_file: str = ""
    edition: str = ""  # the document's own version or year, for the citation

    @property
    def release(self) -> str:
        return release_key(self.source, self.version)

    @property
    def point_id(self) -> str:
        return point_id(self.source, self.version, self.doc_id, self.chunk)

    @property
    def indexed_text(self) -> str:
        """What the dense and BM25 vectors are made of: title and section give a chunk its context, unless the
        text already opens with the title (a code passage does), where repeating it only costs encode time."""
        if self.text.startswith(self.title):
            return self.text
        return ". ".join(part for part in (self.title, self.section, self.text) if part)

    @property
    def content_hash(self) -> str:
        """Changes whenever the indexed text, what is shown with it or the recipe that makes the vectors does
        (then the passage is re-embedded)."""
        return hashlib.sha1(f"{INDEX_RECIPE}\n{self.title}\n{self.section}\n{self.indexed_text}".encode()).hexdigest()

    def payload(self) -> dict:
        return {
            "source": self.source, "doc_id": self.doc_id, "version": self.version, "chunk": self.chunk,
            "text": self.text, "title": self.title, "kind": self.kind, "section": self.section,
            "page": self.page, "codes": list(self.codes), "url": self.url, "source_file": self.source_file,
            "edition": self.edition, "release": self.release, "content_hash": self.content_hash,
        }

    @classmethod
    def from_payload(cls, payload: dict) -> "Passage":
        return cls(
            source=payload["source"], doc_id=payload["doc_id"], version=payload["version"],
            chunk=payload["chunk"], text=payload["text"], title=payload["title"], kind=payload["kind"],
            section=payload.get("section", ""), page=payload.get("page"), codes=tuple(payload.get("codes", ())),
            url=payload.get("url", ""), source_file=payload.get("source_file", ""),
            edition=payload.get("edition", ""),
        )


_POINT_NAMESPACE = uuid.UUID("5b0f3c1e-6f1d-4c59-9a53-0c2d7f9a6e11")


def release_key(source: str, version: str) -> str:
    return f"{source}@{version}"


def point_id(source: str, version: str, doc_id: str, chunk: int) -> str:
    """Deterministic: the same chunk of the same release always lands on the same point."""
    return str(uuid.uuid5(_POINT_NAMESPACE, f"{source}|{version}|{doc_id}|{chunk}"))
