"""ICD-10-CM Tabular List from the ``simple_icd_10_cm`` package (a declared dependency).

The package ships the CDC/NCHS files unmodified (April 2026: ``icd10c-tabular-April-1-2026.xml`` and
``code-list-April-2026.txt``) and builds the code tree on import (about 3 s). Every category, subcategory and
full code is emitted, with the dot ("M80.08XA"), including the 7th-character codes the package derives from
``sevenChrDef`` and checks against the CDC code list; chapters and blocks are not codes and only name the
families. Instructional notes are stored where the Tabular List puts them (a category's Excludes1 note is on
the category, not copied to each code below it); ``parent`` lets a reader walk up for inherited notes.

Code search reads ``lay_terms``: the tabular's own inclusion terms, then the project's table of the words coders
and patients use (corpora/icd10cm/lay_terms.csv: "neck pain" at M54.2 "Cervicalgia"), which the tabular lacks.
A table row that names no billable code, or no terms, is a malformed row of the release (file:line).
"""

from __future__ import annotations

import functools
import hashlib
import warnings
from importlib import metadata, resources
from pathlib import Path
from typing import Iterator

from ingest.loaders.files import LAY_TERM_COLUMNS as LAY_TERM_COLUMNS  # re-exported: the table's columns
from ingest.loaders.files import LAY_TERMS_FILE, LayTerms, unique_terms
from ingest.loaders.files import read_lay_terms as read_lay_term_table
from ingest.records import ParsedRelease, RowError
from rag.stores.schema import CodeRecord

DATASET = "icd10cm"
DEFAULT_VERSION = "FY2026"  # simple_icd_10_cm 1.5.x ships the April 1, 2026 update of FY2026
PACKAGE = "simple_icd_10_cm"
RECIPE = "synonyms-2+lay-terms"  # the recipe and the lay-term table's digest are both in the release checksum
DEFAULT_LAY_TERMS = Path(__file__).resolve().parents[2] / "corpora" / DATASET / LAY_TERMS_FILE

_NOTE_LISTS = (("includes", "get_includes"), ("inclusion_terms", "get_inclusion_term"),
               ("excludes1", "get_excludes1"), ("excludes2", "get_excludes2"))
_NOTE_TEXTS = (("code_first", "get_code_first"), ("use_additional_code", "get_use_additional_code"),
               ("code_also", "get_code_also"), ("notes", "get_notes"))


def _package_data() -> tuple[str, str]:
    """(the tabular XML's name, its sha256): identifies the release the package carries."""
    try:
        files = sorted((f for f in resources.files(f"{PACKAGE}.data").iterdir() if f.name.endswith(".xml")),
                       key=lambda f: f.name)
    except (ModuleNotFoundError, FileNotFoundError):
        return "", ""
    if not files:
        return "", ""
    return files[0].name, hashlib.sha256(files[0].read_bytes()).hexdigest()


def _lay_term_problem(cm, code: str) -> str | None:
    """Why the tree ``cm`` does not take a lay-term row's code (None when it does): the code must be a billable
    ICD-10-CM code written with its dot."""
    if not cm.is_valid_item(code):
        return f"{code!r} is not an ICD-10-CM code"
    if "." not in code and len(code) > 3:
        return f"{code!r}: write the code with its dot ({cm.add_dot(code)})"
    if not cm.is_leaf(code):
        return f"{code} ({cm.get_description(code)}) is not billable: name one of its codes"
    return None


def read_lay_terms(path: Path, cm) -> LayTerms:
    """The lay-term table at ``path``, each row checked against the tree ``cm``: the code must be a billable
    ICD-10-CM code written with its dot, once, with at least one term. A missing file or header is an IngestError;
    a bad row is a RowError naming the file and line (the load goes on without it, or fails in strict mode)."""
    return read_lay_term_table(path, functools.partial(_lay_term_problem, cm))


def iter_icd10cm(cm, lay_terms: LayTerms | None = None) -> Iterator[CodeRecord | RowError]:
    """The codes of the tree ``cm`` (the imported package module) in Tabular List order, with the lay-term
    table's terms merged in; the table's malformed rows come first."""
    lay_terms = lay_terms or LayTerms()
    yield from lay_terms.errors
    chapter = chapter_title = ""
    seen: set[str] = set()
    row = 0
    block_titles: dict[str, str] = {}
    category = ("", "", "")  # (code, title, block) of the category being walked
    for code in cm.get_all_codes(with_dots=True):  # preorder: chapter, block, category, subcategories ...
        if code[0].isdigit():  # chapters are named "1" .. "22"
            chapter, chapter_title = code, cm.get_description(code)
            continue
        if "-" in code or code in seen:
            continue  # a block ("M80-M85"); or a one-category block's category (B99), emitted already
        seen.add(code)  # the package names a one-category block like its category: both resolve to the code
        row += 1
        attributes: dict = {"billable": cm.is_leaf(code)}
        for key, getter in _NOTE_LISTS:
            values = getattr(cm, getter)(code)
            if values:
                attributes[key] = values
        for key, getter in _NOTE_TEXTS:
            text = getattr(cm, getter)(code)
            if text:
                attributes[key] = [line for line in text.split("\n") if line.strip()]
        seventh = cm.get_seven_chr_def(code)
        if seventh:
            attributes["seventh_characters"] = seventh
            note = cm.get_seven_chr_note(code)
            if note:
                attributes["seventh_character_note"] = note
        parent = cm.get_parent(code)
        description = cm.get_description(code)
        if len(code) == 3:  # a category: its family is its block
            block = parent
            if block not in block_titles:
                block_titles[block] = cm.get_description(block, prioritize_blocks=True)
            family = block_titles[block]
            category = (code, description, block)  # preorder: the category comes before its codes
        else:
            attributes["category"], family, block = category
        attributes.update(parent=parent, block=block, block_title=block_titles[block], chapter=chapter,
                          chapter_title=chapter_title)
        # The tabular's own other names for the code ("Stone in kidney" at N20.0, "Streptococcal sore throat" at
        # J02.0) are what a coder types: code search indexes lay_terms.
        synonyms = [*attributes.get("inclusion_terms", []), *attributes.get("includes", [])]
        extra = lay_terms.terms.get(code)
        if extra:  # the project's table adds the everyday words (M54.2 "Cervicalgia": "neck pain")
            synonyms = unique_terms([*synonyms, *extra])
            if code in lay_terms.notes:
                attributes["lay_terms_note"] = lay_terms.notes[code]
        if synonyms:
            attributes["lay_terms"] = synonyms
        yield CodeRecord(code=code, code_set="ICD10CM", long_description=description, family=family,
                         attributes=attributes, row=row)


def load_icd10cm(version: str | None = None, lay_terms: Path | None = DEFAULT_LAY_TERMS) -> ParsedRelease:
    """Every ICD-10-CM category, subcategory and code the installed package knows, as one release, with the
    lay-term table ``lay_terms`` (the repository's by default; None for the tabular's terms only)."""
    with warnings.catch_warnings():  # the package reads its data with deprecated importlib.resources calls
        warnings.simplefilter("ignore", DeprecationWarning)
        import simple_icd_10_cm as cm  # builds the tree from the package's XML: import only when loading

    table = read_lay_terms(lay_terms, cm) if lay_terms is not None else None

    xml_name, digest = _package_data()
    try:
        package_version = metadata.version("simple-icd-10-cm")
    except metadata.PackageNotFoundError:
        package_version = "unknown"
    source = f"{PACKAGE} {package_version}" + (f" ({xml_name})" if xml_name else "")
    # The recipe and the lay-term table's digest join the package's digest: a change to what the loader derives
    # from the same XML, or to the table, reloads the release instead of reading as "unchanged".
    lay_digest = table.sha256 if table else ""
    notes = [f"CDC/NCHS ICD-10-CM Tabular List as shipped in {source}"]
    if table:
        notes.append(f"lay terms of {len(table.terms)} codes from {table.path} (sha256 {lay_digest[:12]})")
    return ParsedRelease(DATASET, version or DEFAULT_VERSION, source, iter_icd10cm(cm, table),
                         hashlib.sha256(f"{digest}+{RECIPE}+{lay_digest}".encode()).hexdigest() if digest else "",
                         notes=notes)
