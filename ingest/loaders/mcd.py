"""Medicare coverage sources: the MCD index of LCDs and articles, CMS's MCD download, and the project's own
NCD summaries and MAC jurisdiction table.

- ``load_mcd_index``: a catalogue of LCDs and billing articles (ids, titles, contractors, versions, effective and
  retirement dates, URLs) in the column layout of the CMS Coverage API export ``documents_latest.csv``.
- ``load_mcd_download``: the current LCD and article tables CMS publishes on the MCD downloads page
  (``current_lcd.zip`` and ``current_article.zip``, each holding a ``*_csv.zip`` of CSV tables), following the
  MCD data dictionary's table and column names. Only identifiers, titles, dates, contractors, states and code
  lists are kept: the HCPCS/CPT descriptor columns of the code tables carry AMA CPT text and are never read.
- ``load_ncd_corpus`` / ``ncd_passages``: ``corpora/coverage/ncds.jsonl``, NCDs summarised in the project's words.
- ``load_mac_jurisdictions``: ``corpora/coverage/mac_jurisdictions.csv``, which MAC serves each state.

A download is validated (every required table and column) before anything is written, and it is written as one
release, so a malformed file leaves the previous release serving and nothing half-written.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import re
import zipfile
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date
from pathlib import Path

from ingest.loaders.corpora import corpus_version
from ingest.records import IngestError, ParsedRelease, RowError
from rag.codes import normalize_icd10
from rag.stores.schema import (
    CoveragePolicy,
    MacJurisdiction,
    Passage,
    PolicyCode,
    PolicyState,
)

csv.field_size_limit(2**31 - 1)  # LCD and article tables hold whole HTML documents in single fields

MCD_VIEW = "https://www.cms.gov/medicare-coverage-database/view"
INDEX_COLUMNS = ("contractor_name_type", "document_display_id", "document_id", "document_type", "document_version",
                 "effective_date", "note", "retirement_date", "title", "url")
INDEX_FILE = "documents_latest.csv"
HCPCS_OR_CPT = re.compile(r"^(\d{4}[0-9A-Z]|[A-V]\d{4})$")
ICD10CM = re.compile(r"^[A-Z]\d[0-9A-Z](\.?[0-9A-Z]{1,4})?$")
NCD_SECTION = re.compile(r"^\d{2,3}(\.\d{1,2}){0,3}$")
NCD_MANUAL_PARTS = ((90, 1), (170, 2), (270, 3), (10_000, 4))  # Pub. 100-03 chapter 1 is split in four PDFs


# ---------------------------------------------------------------- dates and small parsers

def parse_date(text: str) -> int | None:
    """MM/DD/YYYY or YYYY-MM-DD (a time of day after it is ignored); None for blanks and N/A."""
    text = (text or "").strip()
    if not text or text.upper() in ("N/A", "NA", "NULL"):
        return None
    match = re.match(r"^(\d{1,2})/(\d{1,2})/(\d{4})\b", text) or re.match(r"^(\d{4})-(\d{1,2})-(\d{1,2})\b", text)
    if not match:
        raise ValueError(f"{text!r} is not a date (MM/DD/YYYY or YYYY-MM-DD)")
    parts = [int(p) for p in match.groups()]
    year, month, day = (parts[2], parts[0], parts[1]) if "/" in text[:6] else parts
    try:
        date(year, month, day)  # rejects 02/30 and month 13
    except ValueError as error:
        raise ValueError(f"{text!r} is not a valid date ({error})") from error
    return year * 10000 + month * 100 + day


def today_yyyymmdd() -> int:
    return int(date.today().strftime("%Y%m%d"))


def policy_status(effective: int | None, retired: int | None, on: int | None = None) -> str:
    on = on or today_yyyymmdd()
    if retired is not None and retired <= on:
        return "retired"
    if effective is not None and effective > on:
        return "future"
    return "current"


def parse_contractors(text: str) -> tuple[tuple[str, str], ...]:
    """'CGS Administrators, LLC\\n(DME MAC)\\n\\nNoridian Healthcare Solutions, LLC\\n(DME MAC)' ->
    (('CGS Administrators, LLC', 'DME MAC'), ('Noridian Healthcare Solutions, LLC', 'DME MAC'))."""
    pairs: list[tuple[str, str]] = []
    for block in re.split(r"\n\s*\n", (text or "").strip()):
        lines = [line.strip() for line in block.splitlines() if line.strip()]
        if not lines:
            continue
        name, kinds = lines[0], ""
        if len(lines) > 1 and lines[-1].startswith("("):
            kinds = lines[-1].strip("()")
        elif "(" in name and name.endswith(")"):
            name, kinds = name[:name.rindex("(")].strip(), name[name.rindex("(") + 1:-1]
        for kind in [k.strip() for k in kinds.split(",") if k.strip()] or [""]:
            pairs.append((name, kind))
    return tuple(pairs)


def _sha256(paths: list[Path]) -> str:
    digest = hashlib.sha256()
    for path in sorted(paths):
        with open(path, "rb") as handle:
            for block in iter(lambda: handle.read(1 << 20), b""):
                digest.update(block)
    return digest.hexdigest()


def _decode(data: bytes) -> str:
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:  # the MCD export is not always UTF-8
        return data.decode("cp1252", errors="replace")


# ---------------------------------------------------------------- the MCD index (documents_latest.csv)

def load_mcd_index(path: Path, version: str | None = None) -> ParsedRelease:
    """The catalogue of LCDs and articles: a folder holding documents_latest.csv, or the CSV itself."""
    path = Path(path)
    file = path / INDEX_FILE if path.is_dir() else path
    if not file.is_file():
        raise IngestError(file, f"no MCD index here (expected {INDEX_FILE})")
    text = _decode(file.read_bytes())
    reader = csv.DictReader(io.StringIO(text, newline=""))
    missing = [c for c in INDEX_COLUMNS if c not in (reader.fieldnames or [])]
    if missing:
        raise IngestError(file, f"not an MCD index: missing column(s) {', '.join(missing)} "
                                f"(columns: {', '.join(reader.fieldnames or [])})", 1)
    rows = [(reader.line_num, row) for row in reader]  # line_num: where the record ends (fields hold newlines)
    if version is None:
        folder = re.search(r"(\d{4}-\d{2})$", file.parent.name)
        stamps = [r.get("updated_on_sort", "")[:6] for _, r in rows if r.get("updated_on_sort", "")[:6].isdigit()]
        version = folder.group(1) if folder else (f"{max(stamps)[:4]}-{max(stamps)[4:]}" if stamps else "index")

    def items() -> Iterator[CoveragePolicy | RowError]:
        seen: set[tuple[str, str]] = set()
        for line, row in rows:
            policy_id = (row["document_display_id"] or "").strip().upper()
            doc_type = (row["document_type"] or "").strip()
            ver = (row["document_version"] or "").strip()
            if not re.match(r"^[LA]\d{4,6}$", policy_id) or doc_type not in ("LCD", "Article"):
                yield RowError(str(file), line, f"not an LCD or article id/type: {policy_id!r} {doc_type!r}")
                continue
            if (policy_id, ver) in seen:
                yield RowError(str(file), line, f"{policy_id} version {ver} is listed twice")
                continue
            try:
                effective, retired = parse_date(row["effective_date"]), parse_date(row["retirement_date"])
            except ValueError as error:
                yield RowError(str(file), line, str(error))
                continue
            if not (row["title"] or "").strip():
                yield RowError(str(file), line, f"{policy_id} has no title")
                continue
            seen.add((policy_id, ver))
            note = (row.get("note") or "").strip()
            status = ("retired" if note.lower().startswith("retired") or retired is not None else
                      "future" if note.lower().startswith("future") else "current")
            yield CoveragePolicy(
                policy_id=policy_id, doc_type=doc_type, title=" ".join(row["title"].split()), version=ver,
                contractors=parse_contractors(row["contractor_name_type"]), effective_date=effective,
                retirement_date=retired, status=status, url=(row["url"] or "").strip(), row=line,
                attributes={k: v for k, v in (("note", note), ("updated_on", row.get("updated_on", ""))) if v})

    return ParsedRelease("mcd_index", version, str(file), items(), _sha256([file]))


# ---------------------------------------------------------------- the MCD download (current_lcd / current_article)

@dataclass(frozen=True)
class TableSpec:
    required: tuple[str, ...]
    optional: bool = False


LCD_TABLES: dict[str, TableSpec] = {
    "lcd.csv": TableSpec(("lcd_id", "lcd_version", "title")),
    "lcd_x_contractor.csv": TableSpec(("lcd_id", "lcd_version", "contractor_id", "contractor_type_id",
                                       "contractor_version")),
    "lcd_x_hcpc_code.csv": TableSpec(("lcd_id", "lcd_version", "hcpc_code_id"), optional=True),
}
ARTICLE_TABLES: dict[str, TableSpec] = {
    "article.csv": TableSpec(("article_id", "article_version", "title")),
    "article_x_contractor.csv": TableSpec(("article_id", "article_version", "contractor_id", "contractor_type_id",
                                           "contractor_version")),
    "article_x_hcpc_code.csv": TableSpec(("article_id", "article_version", "hcpc_code_id")),
    "article_x_icd10_covered.csv": TableSpec(("article_id", "article_version", "icd10_code_id")),
    "article_x_icd10_noncovered.csv": TableSpec(("article_id", "article_version", "icd10_code_id")),
    "article_related_documents.csv": TableSpec(("article_id", "article_version", "r_lcd_id"), optional=True),
}
SHARED_TABLES: dict[str, TableSpec] = {
    "contractor.csv": TableSpec(("contractor_id", "contractor_type_id", "contractor_version", "contractor_bus_name")),
    "contractor_jurisdiction.csv": TableSpec(("contractor_id", "contractor_type_id", "contractor_version",
                                              "state_id")),
    "state_lookup.csv": TableSpec(("state_id", "state_abbrev")),
    "contractor_type_lookup.csv": TableSpec(("contractor_type_id", "description"), optional=True),
}
CODE_TABLES = (("article_x_hcpc_code.csv", "procedure", "hcpc_code_id", "hcpc_code_group"),
               ("article_x_icd10_covered.csv", "covered", "icd10_code_id", "icd10_covered_group"),
               ("article_x_icd10_noncovered.csv", "noncovered", "icd10_code_id", "icd10_noncovered_group"))


class Bundle:
    """The CSV tables of one MCD export (LCDs or articles), wherever they sit: a folder of CSVs, a *_csv.zip,
    or the outer current_*.zip that holds it."""

    def __init__(self, kind: str, origin: str, files: dict[str, tuple[str, object]]):
        self.kind, self.origin, self.files = kind, origin, files  # name -> (where, reader of its bytes)

    def where(self, name: str) -> str:
        return self.files[name][0]

    def text(self, name: str) -> str:
        return _decode(self.files[name][1]())  # type: ignore[operator]

    def header(self, name: str) -> list[str]:
        first = self.text(name).split("\n", 1)[0]
        return [c.strip().lower() for c in next(csv.reader([first]), [])]

    def rows(self, name: str) -> Iterator[tuple[int, dict[str, str]]]:
        """(line, row) with lower-case column names; a CSV the csv module cannot read is an IngestError."""
        where = self.where(name)
        reader = csv.reader(io.StringIO(self.text(name), newline=""))
        try:
            header = [c.strip().lower() for c in next(reader)]
            for row in reader:
                if not any(cell.strip() for cell in row):
                    continue
                if len(row) != len(header):
                    raise IngestError(where, f"a row has {len(row)} fields; the header has {len(header)}",
                                      reader.line_num)
                yield reader.line_num, dict(zip(header, (cell.strip() for cell in row)))
        except csv.Error as error:
            raise IngestError(where, f"unreadable CSV: {error}", reader.line_num) from error


def _zip_members(archive: zipfile.ZipFile, label: str) -> Iterator[tuple[str, str, object]]:
    """(csv name, where, reader) for every CSV in a zip, descending into zips inside it."""
    for info in archive.infolist():
        name = Path(info.filename).name.lower()
        if name.endswith(".csv"):
            yield name, f"{label}!{info.filename}", (lambda a=archive, i=info: a.read(i))
        elif name.endswith(".zip"):
            try:
                inner = zipfile.ZipFile(io.BytesIO(archive.read(info)))
            except zipfile.BadZipFile as error:
                raise IngestError(f"{label}!{info.filename}", f"not a zip archive: {error}") from error
            yield from _zip_members(inner, f"{label}!{info.filename}")


def _bundles(path: Path) -> list[Bundle]:
    sources: list[tuple[str, list[tuple[str, str, object]]]] = []
    candidates = [path] if path.is_file() else sorted(p for p in path.rglob("*") if p.suffix.lower() == ".zip")
    for candidate in candidates:
        if candidate.suffix.lower() != ".zip":
            raise IngestError(candidate, "not an MCD download (expected current_lcd.zip, current_article.zip or "
                                         "a folder of their CSV tables)")
        try:
            archive = zipfile.ZipFile(candidate)
        except zipfile.BadZipFile as error:
            raise IngestError(candidate, f"not a zip archive: {error}") from error
        sources.append((str(candidate), list(_zip_members(archive, str(candidate)))))
    if path.is_dir():  # extracted CSVs, one folder per export
        folders: dict[Path, list[tuple[str, str, object]]] = defaultdict(list)
        for csv_path in sorted(path.rglob("*.csv")):
            folders[csv_path.parent].append((csv_path.name.lower(), str(csv_path),
                                             (lambda p=csv_path: p.read_bytes())))
        sources += [(str(folder), members) for folder, members in folders.items()]
    bundles = []
    for origin, members in sources:
        files = {name: (where, reader) for name, where, reader in members}
        kinds = [k for k, main in (("lcd", "lcd.csv"), ("article", "article.csv")) if main in files]
        bundles += [Bundle(kind, origin, files) for kind in kinds]
    if not bundles:
        raise IngestError(path, "no MCD LCD or article tables found (expected lcd.csv or article.csv, inside "
                                "current_lcd.zip / current_article.zip or a folder)")
    for kind in ("lcd", "article"):
        if sum(b.kind == kind for b in bundles) > 1:
            raise IngestError(path, f"more than one {kind} export found: "
                                    f"{', '.join(b.origin for b in bundles if b.kind == kind)}; load one at a time")
    return bundles


def _validate(bundle: Bundle) -> None:
    tables = {**(LCD_TABLES if bundle.kind == "lcd" else ARTICLE_TABLES), **SHARED_TABLES}
    for name, spec in tables.items():
        if name not in bundle.files:
            if spec.optional:
                continue
            raise IngestError(bundle.origin, f"the {bundle.kind} export has no {name} (tables: "
                                             f"{', '.join(sorted(bundle.files))})")
        header = bundle.header(name)
        missing = [c for c in spec.required if c not in header]
        if missing:
            raise IngestError(bundle.where(name), f"missing column(s) {', '.join(missing)} (columns: "
                                                  f"{', '.join(header)})", 1)


class _Contractors:
    """contractor.csv, contractor_type_lookup.csv, contractor_jurisdiction.csv and state_lookup.csv of a bundle."""

    def __init__(self, bundle: Bundle, on: int):
        types = ({r["contractor_type_id"]: r["description"] for _, r in bundle.rows("contractor_type_lookup.csv")}
                 if "contractor_type_lookup.csv" in bundle.files else {})
        self.names: dict[tuple[str, str, str], tuple[str, str]] = {}
        for _, r in bundle.rows("contractor.csv"):
            key = (r["contractor_id"], r["contractor_type_id"], r["contractor_version"])
            kind = types.get(r["contractor_type_id"], "")
            number = r.get("contractor_number", "")
            self.names[key] = (r["contractor_bus_name"], f"{kind} {number}".strip())
        states = {r["state_id"]: r["state_abbrev"].upper() for _, r in bundle.rows("state_lookup.csv")}
        self.states: dict[tuple[str, str, str], set[str]] = defaultdict(set)
        for _line, r in bundle.rows("contractor_jurisdiction.csv"):
            try:
                ended = parse_date(r.get("term_date", ""))
            except ValueError:
                ended = None
            if ended is not None and ended <= on:
                continue
            state = states.get(r["state_id"])
            if state:
                self.states[(r["contractor_id"], r["contractor_type_id"], r["contractor_version"])].add(state)


def _version(value: str) -> str:
    value = value.strip()
    if not value.isdigit():
        raise ValueError(f"version {value!r} is not a number")
    return str(int(value))


def _same_version(value: str) -> str:
    """A version as a join key: '03' and '3' are the same version."""
    value = value.strip()
    return str(int(value)) if value.isdigit() else value


def load_mcd_download(path: Path, version: str) -> list[ParsedRelease]:
    """CMS's MCD download: current_lcd.zip and/or current_article.zip (or the *_csv.zip inside them, or a folder
    of their extracted CSVs). Returns one release of the ``mcd_download`` dataset (a list, so a later split into
    several datasets keeps the signature). Raises IngestError, before anything is written, when a table or a
    required column is missing."""
    path = Path(path)
    if not path.exists():
        raise IngestError(path, "no such file or folder")
    if not version or not version.strip():
        raise IngestError(path, "an MCD download needs a release version, e.g. 2026-11")
    bundles = _bundles(path)
    for bundle in bundles:
        _validate(bundle)
    on = today_yyyymmdd()
    files = [Path(b.origin) for b in bundles if Path(b.origin).is_file()] or \
        [Path(where) for b in bundles for where, _ in b.files.values()]
    checksum = _sha256(files)

    def items() -> Iterator[CoveragePolicy | PolicyCode | PolicyState | RowError]:
        by_kind = {b.kind: b for b in bundles}
        related: dict[tuple[str, str], set[str]] = defaultdict(set)  # (article id, version) -> LCD display ids
        lcd_articles: dict[str, set[str]] = defaultdict(set)
        article = by_kind.get("article")
        article_ids: dict[str, str] = {}
        if article is not None:
            for _, r in article.rows("article.csv"):
                if r["article_id"]:
                    article_ids[r["article_id"]] = (r.get("display_id") or f"A{r['article_id']}").upper()
            if "article_related_documents.csv" in article.files:
                for _, r in article.rows("article_related_documents.csv"):
                    if r["r_lcd_id"] and r["article_id"] in article_ids:
                        lcd = f"L{r['r_lcd_id']}"
                        related[(r["article_id"], _same_version(r["article_version"]))].add(lcd)
                        lcd_articles[lcd].add(article_ids[r["article_id"]])
        for bundle in bundles:
            yield from _bundle_items(bundle, on, related, lcd_articles)

    return [ParsedRelease("mcd_download", version.strip(), str(path), items(), checksum)]


def _bundle_items(bundle: Bundle, on: int, related: dict[tuple[str, str], set[str]],
                  lcd_articles: dict[str, set[str]]) -> Iterator[CoveragePolicy | PolicyCode | PolicyState | RowError]:
    kind = bundle.kind
    main, id_column, version_column = ((("lcd.csv", "lcd_id", "lcd_version")) if kind == "lcd" else
                                       ("article.csv", "article_id", "article_version"))
    contractors = _Contractors(bundle, on)
    links: dict[tuple[str, str], list[tuple[str, str, str]]] = defaultdict(list)
    for _, r in bundle.rows(f"{kind}_x_contractor.csv"):
        links[(r[id_column], _same_version(r[version_column]))].append(
            (r["contractor_id"], r["contractor_type_id"], r["contractor_version"]))
    display: dict[tuple[str, str], str] = {}
    where = bundle.where(main)
    for line, r in bundle.rows(main):
        try:
            doc, ver = r[id_column], _version(r[version_column])
            if not doc.isdigit():
                raise ValueError(f"{id_column} {doc!r} is not a number")
            dates = {column: parse_date(r.get(column, "")) for column in
                     ("orig_det_eff_date", "rev_eff_date", "ent_det_end_date", "article_eff_date", "article_end_date",
                      "date_retired")}
        except ValueError as error:
            yield RowError(where, line, str(error))
            continue
        title = " ".join(re.sub(r"<[^>]+>", " ", r["title"]).split())
        if not title:
            yield RowError(where, line, f"{kind} {doc} version {ver} has no title")
            continue
        prefix = "L" if kind == "lcd" else "A"
        policy_id = (r.get("display_id") or f"{prefix}{doc}").upper()
        if (doc, ver) in display:
            yield RowError(where, line, f"{policy_id} version {ver} is listed twice")
            continue
        display[(doc, ver)] = policy_id
        if kind == "lcd":
            effective = dates["rev_eff_date"] or dates["orig_det_eff_date"]
            retired = dates["date_retired"] or dates["ent_det_end_date"]
            url, linked = f"{MCD_VIEW}/lcd.aspx?lcdid={doc}&ver={ver}", lcd_articles.get(policy_id, set())
        else:
            effective = dates["article_eff_date"]
            retired = dates["date_retired"] or dates["article_end_date"]
            url, linked = f"{MCD_VIEW}/article.aspx?articleid={doc}&ver={ver}", related.get((doc, ver), set())
        keys = links.get((doc, ver), [])
        names = tuple(dict.fromkeys(contractors.names[k] for k in keys if k in contractors.names))
        yield CoveragePolicy(
            policy_id=policy_id, doc_type="LCD" if kind == "lcd" else "Article", title=title, version=ver,
            contractors=names, effective_date=effective, retirement_date=retired,
            status=policy_status(effective, retired, on), url=url, related=tuple(sorted(linked)), row=line,
            attributes={"source_table": main, **({"article_type": r["article_type"]} if r.get("article_type") else {})})
        for state in sorted({s for k in keys for s in contractors.states.get(k, ())}):
            yield PolicyState(policy_id, ver, state)
    tables = CODE_TABLES if kind == "article" else (("lcd_x_hcpc_code.csv", "procedure", "hcpc_code_id", ""),)
    for name, code_list, code_column, group_column in tables:
        if name not in bundle.files:
            continue
        where = bundle.where(name)
        for line, r in bundle.rows(name):
            try:
                ver = _version(r[version_column])
            except ValueError as error:
                yield RowError(where, line, str(error))
                continue
            policy_id = display.get((r[id_column], ver))
            if policy_id is None:
                yield RowError(where, line, f"{kind} {r[id_column]} version {ver} is not in {main}")
                continue
            code = r[code_column].upper()
            if code_list == "procedure":
                if not HCPCS_OR_CPT.match(code):
                    yield RowError(where, line, f"{code!r} is not a HCPCS/CPT code")
                    continue
            elif not ICD10CM.match(code):
                yield RowError(where, line, f"{code!r} is not an ICD-10-CM code")
                continue
            else:
                code = normalize_icd10(code)
            group = r.get(group_column, "") if group_column else ""
            yield PolicyCode(policy_id, ver, code, code_list, int(group) if group.isdigit() else 0, line)


# ---------------------------------------------------------------- the project's NCD summaries

NCD_FIELDS = ("section", "title", "effective_date", "codes", "summary")


def ncd_manual_url(section: str) -> str:
    """The NCD Manual (Pub. 100-03) chapter 1 PDF part that holds a section."""
    first = int(section.split(".")[0])
    part = next(number for limit, number in NCD_MANUAL_PARTS if first < limit)
    return f"https://www.cms.gov/Regulations-and-Guidance/Guidance/Manuals/downloads/ncd103c1_Part{part}.pdf"


def load_ncd_corpus(folder: Path) -> ParsedRelease:
    """corpora/coverage/ncds.jsonl: one NCD a line, summarised in the project's words, with the codes it governs."""
    file = Path(folder) / "ncds.jsonl"
    if not file.is_file():
        raise IngestError(file, "no NCD corpus here")
    version = corpus_version([file])

    def items() -> Iterator[CoveragePolicy | PolicyCode | RowError]:
        seen: set[str] = set()
        for number, line in enumerate(file.read_text(encoding="utf-8").splitlines(), start=1):
            if not line.strip():
                continue
            try:
                item = json.loads(line)
            except json.JSONDecodeError as error:
                yield RowError(str(file), number, f"not valid JSON: {error.msg}")
                continue
            missing = [key for key in NCD_FIELDS if not item.get(key)]
            section = str(item.get("section", "")).strip()
            problem = (f"missing {', '.join(missing)}" if missing else
                       f"{section!r} is not an NCD manual section" if not NCD_SECTION.match(section) else
                       f"NCD {section} is listed twice" if section in seen else "")
            try:
                effective = parse_date(str(item.get("effective_date", "")))
            except ValueError as error:
                problem = problem or str(error)
            codes = [str(c).strip().upper() for c in item.get("codes") or []]
            bad = [c for c in codes if not (HCPCS_OR_CPT.match(c) or ICD10CM.match(c))]
            problem = problem or (f"not codes: {', '.join(bad)}" if bad else "")
            if problem:
                yield RowError(str(file), number, problem)
                continue
            seen.add(section)
            yield CoveragePolicy(
                policy_id=section, doc_type="NCD", title=item["title"].strip(), version=version,
                effective_date=effective, status="current", url=item.get("url") or ncd_manual_url(section),
                summary=" ".join(item["summary"].split()), row=number,
                attributes={"keywords": [str(k).lower() for k in item.get("keywords") or []], "codes": codes})
            for code in codes:
                yield PolicyCode(section, version, code, "procedure", 0, number)

    return ParsedRelease("ncds", version, str(file), items(), version)


def ncd_passages(records: list, version: str) -> list[Passage]:
    """One passage per NCD summary (kind coverage), for retrieval alongside the guidelines."""
    passages = []
    for record in records:
        if not isinstance(record, CoveragePolicy):
            continue
        codes = tuple(record.attributes.get("codes", ()))
        effective = str(record.effective_date)
        text = (f"NCD {record.policy_id} {record.title} (national coverage determination, effective "
                f"{effective[:4]}-{effective[4:6]}-{effective[6:]}): {record.summary}"
                + (f" Codes it governs: {', '.join(codes)}." if codes else ""))
        passages.append(Passage(source="ncds", doc_id=f"ncd-{record.policy_id}", version=version, chunk=0, text=text,
                                title=f"NCD {record.policy_id} {record.title}", kind="coverage",
                                section=f"NCD {record.policy_id}", codes=codes, url=record.url,
                                source_file=f"corpora/coverage/ncds.jsonl row {record.row}",
                                edition=f"NCD {record.policy_id}"))
    return passages


# ---------------------------------------------------------------- the project's MAC jurisdiction table

JURISDICTION_COLUMNS = ("state", "state_name", "mac_type", "jurisdiction", "contractor")
MAC_TYPES = ("A/B MAC", "DME MAC")


def load_mac_jurisdictions(folder: Path) -> ParsedRelease:
    """corpora/coverage/mac_jurisdictions.csv: which A/B MAC and DME MAC serves each state and territory."""
    file = Path(folder) / "mac_jurisdictions.csv"
    if not file.is_file():
        raise IngestError(file, "no MAC jurisdiction table here")
    reader = csv.DictReader(io.StringIO(file.read_text(encoding="utf-8"), newline=""))
    missing = [c for c in JURISDICTION_COLUMNS if c not in (reader.fieldnames or [])]
    if missing:
        raise IngestError(file, f"missing column(s) {', '.join(missing)}", 1)
    rows = list(reader)

    def items() -> Iterator[MacJurisdiction | RowError]:
        seen: set[tuple[str, str]] = set()
        for line, row in enumerate(rows, start=2):
            state, mac_type = (row["state"] or "").strip().upper(), (row["mac_type"] or "").strip()
            if not re.match(r"^[A-Z]{2}$", state) or mac_type not in MAC_TYPES:
                yield RowError(str(file), line, f"bad state {state!r} or MAC type {mac_type!r}")
            elif (state, mac_type) in seen:
                yield RowError(str(file), line, f"{state} has two {mac_type} rows")
            elif not all((row[c] or "").strip() for c in JURISDICTION_COLUMNS):
                yield RowError(str(file), line, "a column is empty")
            else:
                seen.add((state, mac_type))
                yield MacJurisdiction(state, row["state_name"].strip(), mac_type, row["jurisdiction"].strip(),
                                      row["contractor"].strip(), line)

    return ParsedRelease("mac_jurisdictions", corpus_version([file]), str(file), items(), corpus_version([file]))
