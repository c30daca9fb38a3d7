"""Where evaluation reads its data: the project's corpora, and the real CMS/CDC files beside the repository.

``../shared/data`` is read in place at run time and never copied into the repository. When no data
directory is given, :func:`build_data_dir` ingests one (the way tests/conftest.py does) into a folder.
"""

from __future__ import annotations

import logging
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
CORPORA = REPO / "corpora"
SHARED_DATA = REPO.parent / "shared" / "data"
SETS_DIR = Path(__file__).resolve().parent / "sets"
BASELINE_DIR = Path(__file__).resolve().parent / "reports" / "baseline"

log = logging.getLogger("eval")

# The real files the generator reads (see ../shared/data/README.md).
NCCI_DERIVED = "ncci_practitioner_2026q2_derived"
HCPCS_2020_CSV = "hcpcs_level2_2020_cms/HCPC2020_ANWEB.csv"
ICD10CM_FY2025_CSV = "icd10_cm_pcs_fy2025_icd10coder/icd10cm_fy2025_codes.csv"
ICD10CM_FY2026_XML = "icd10cm_fy2026_cdc/icd10c-tabular-April-1-2026.xml"


def shared_data_dir(explicit: Path | None = None) -> Path | None:
    path = Path(explicit) if explicit else SHARED_DATA
    return path if path.is_dir() else None


def icd10cm_loader_available() -> bool:
    try:
        import ingest.loaders.icd10cm  # noqa: F401
    except ImportError:
        return False
    return True


def build_data_dir(data_dir: Path, *, with_shared: bool = True, shared: Path | None = None) -> Path:
    """Ingest the bundled corpora (and ICD-10-CM, and the shared real data when present) into ``data_dir``.

    Loaders that are not installed in this build (e.g. a HCPCS loader) are skipped with a warning, so the
    evaluation still runs on what can be loaded; the report lists the active releases it ran against.
    """
    from ingest.session import Run, ingest_corpora, ingest_shared
    from rag.settings import Settings

    data_dir = Path(data_dir)
    data_dir.mkdir(parents=True, exist_ok=True)
    run = Run(Settings(data_dir=data_dir))
    try:
        with run.progress:
            ingest_corpora(run, CORPORA, icd10cm=icd10cm_loader_available())
            source = shared_data_dir(shared)
            if with_shared and source is not None:
                try:
                    ingest_shared(run, source)
                except ModuleNotFoundError as error:  # e.g. ingest.loaders.hcpcs not in this build yet
                    log.warning("skipped part of the shared data: %s", error)
    finally:
        run.close()
    return data_dir


def active_releases(data_dir: Path) -> dict[str, dict[str, str]]:
    """{section: {dataset: version}} for the report header."""
    from rag.stores.catalog import Catalog

    catalog = Catalog(data_dir)
    return {section: {name: r.version for name, r in sorted(catalog.active(section).items())}
            for section in ("reference", "passages")}


def open_casepilot(data_dir: Path, *, mode: str | None = None):
    """CasePilot over ``data_dir`` (embedded vector engine: once per process and folder); ``mode`` overrides
    the retrieval mode (hybrid, dense, sparse) for a comparison run."""
    from rag.app import CasePilot
    from rag.settings import Settings

    settings = Settings(data_dir=Path(data_dir))
    if mode:
        settings = settings.model_copy(update={"retrieval_mode": mode})
    return CasePilot.open(settings)


# ---------------------------------------------------------------- optional item fields (coder question set)
# Every set keeps the eight required keys (eval.runner.REQUIRED_KEYS); these optional keys add what a coder's
# question needs. Older sets have none of them and stay valid.
CODER_INTENTS = ("which_code_icd10cm", "which_code_hcpcs", "which_code_cpt", "which_code", "pair_check", "units",
                 "deleted_code", "modifier", "coverage", "guideline", "compliance", "out_of_scope", "follow_up")
CODE_STATUSES = ("valid", "deleted", "unknown")
OPTIONAL_KEYS = {
    "coder_intent": "the finer intent, one of CODER_INTENTS (accuracy is reported per coder intent)",
    "expect_first_code": "the code the answer must lead with",
    "expect_status": "for a code-status question: valid, deleted or unknown",
    "expect_refusal": "true: the answer must be a short out-of-scope refusal",
    "expect_clarification": "true: a follow-up with no context must get a clarifying question",
    "history": "previous turns, oldest first: [{'role': 'user' | 'assistant', 'content': str}]",
    "description": "the source title or descriptor a generated question was made from",
    "lay": "true: the question paraphrases the title in lay words",
}


def optional_field_errors(item: dict) -> list[str]:
    """What is wrong with the optional fields of one item (an empty list when they are absent or right)."""
    errors = []
    if "coder_intent" in item and item["coder_intent"] not in CODER_INTENTS:
        errors.append(f"unknown coder_intent {item['coder_intent']!r}")
    if "expect_first_code" in item and not (isinstance(item["expect_first_code"], str) and item["expect_first_code"]):
        errors.append("expect_first_code must be a non-empty string")
    if "expect_status" in item and item["expect_status"] not in CODE_STATUSES:
        errors.append(f"expect_status must be one of {', '.join(CODE_STATUSES)}")
    for flag in ("expect_refusal", "expect_clarification", "lay"):
        if flag in item and not isinstance(item[flag], bool):
            errors.append(f"{flag} must be true or false")
    if "history" in item:
        turns = item["history"]
        if not isinstance(turns, list) or not turns or not all(
                isinstance(t, dict) and t.get("role") in ("user", "assistant") and isinstance(t.get("content"), str)
                and t["content"].strip() for t in turns):
            errors.append("history must be a non-empty list of {role: user|assistant, content: text}")
    unknown = set(item) - set(OPTIONAL_KEYS) - {"id", "question", "intent", "expected_codes", "expected_facts",
                                                 "reference_answer", "supporting_ids", "must_abstain"}
    if unknown:
        errors.append(f"unknown field(s) {', '.join(sorted(unknown))}")
    return errors
