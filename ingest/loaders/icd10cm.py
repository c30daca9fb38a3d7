"""ICD-10-CM Tabular List from the ``simple_icd_10_cm`` package (a declared dependency).

The package ships the CDC/NCHS files unmodified (April 2026: ``icd10c-tabular-April-1-2026.xml`` and
``code-list-April-2026.txt``) and builds the code tree on import (about 3 s). Every category, subcategory and
full code is emitted, with the dot ("M80.08XA"), including the 7th-character codes the package derives from
``sevenChrDef`` and checks against the CDC code list; chapters and blocks are not codes and only name the
families. Instructional notes are stored where the Tabular List puts them (a category's Excludes1 note is on
the category, not copied to each code below it); ``parent`` lets a reader walk up for inherited notes.
"""

from __future__ import annotations

import hashlib
import warnings
from importlib import metadata, resources
from typing import Iterator

from ingest.records import ParsedRelease
from rag.stores.schema import CodeRecord

DATASET = "icd10cm"
DEFAULT_VERSION = "FY2026"  # simple_icd_10_cm 1.5.x ships the April 1, 2026 update of FY2026
PACKAGE = "simple_icd_10_cm"
RECIPE = "synonyms-1"

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


def iter_icd10cm(cm) -> Iterator[CodeRecord]:
    """The codes of the tree ``cm`` (the imported package module) in Tabular List order."""
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
        if synonyms:
            attributes["lay_terms"] = synonyms
        yield CodeRecord(code=code, code_set="ICD10CM", long_description=description, family=family,
                         attributes=attributes, row=row)


def load_icd10cm(version: str | None = None) -> ParsedRelease:
    """Every ICD-10-CM category, subcategory and code the installed package knows, as one release."""
    with warnings.catch_warnings():  # the package reads its data with deprecated importlib.resources calls
        warnings.simplefilter("ignore", DeprecationWarning)
        import simple_icd_10_cm as cm  # builds the tree from the package's XML: import only when loading

    xml_name, digest = _package_data()
    try:
        package_version = metadata.version("simple-icd-10-cm")
    except metadata.PackageNotFoundError:
        package_version = "unknown"
    source = f"{PACKAGE} {package_version}" + (f" ({xml_name})" if xml_name else "")
    # The recipe joins the package's digest: a change to what the loader derives from the same XML (the synonyms
    # indexed for code search) reloads the release instead of reading as "unchanged".
    return ParsedRelease(DATASET, version or DEFAULT_VERSION, source, iter_icd10cm(cm),
                         hashlib.sha256(f"{digest}+{RECIPE}".encode()).hexdigest() if digest else "",
                         notes=[f"CDC/NCHS ICD-10-CM Tabular List as shipped in {source}"])
