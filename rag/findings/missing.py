"""A table a question needs that is not loaded: said, with the command that loads it, never answered around.

"Can 22511 and 22514 be billed together?" on a service with no NCCI PTP table must not come back as two code
descriptions that read like an answer. The citation is the official page the file comes from (the fact cited
is that CasePilot's data has no release of it)."""

from __future__ import annotations

import re
from collections.abc import Sequence

from rag.answer import Citation
from rag.findings.common import Fact, spoken_codes
from rag.stores.reference import ReferenceStore
from rag.stores.schema import DATASETS, Kind

# What each kind of table answers, and how a user loads it (the fetch manifest's source names).
NEEDED_FOR: dict[Kind, tuple[str, str, str]] = {
    "ptp": ("the NCCI PTP edit table", "whether {codes} may be billed together",
            "casepilot-ingest fetch --only ptp_practitioner "
            "(or casepilot-ingest ptp <ccipra files> --version <quarter>)"),
    "mue": ("the NCCI MUE table", "the unit limit of {codes}",
            "casepilot-ingest fetch --only mue_practitioner (or casepilot-ingest mue <MUE csv> --version <quarter>)"),
    "mpfs": ("the Medicare Physician Fee Schedule relative value file (PPRRVU)",
             "the global period and fee schedule indicators of {codes}",
             "casepilot-ingest fetch --only mpfs (or casepilot-ingest mpfs <RVU zip>)"),
    "addon": ("the NCCI add-on code edit file", "the add-on code edits of {codes} (which primary codes an add-on needs)",
              "casepilot-ingest fetch --only addon (or casepilot-ingest addon <AOC file> --version <quarter>)"),
}
FIRST_DATASET: dict[Kind, str] = {"ptp": "ptp_practitioner", "mue": "mue_practitioner", "mpfs": "mpfs",
                                  "addon": "addon"}


def loaded(store: ReferenceStore, kind: Kind) -> bool:
    return any(DATASETS[name].kind == kind for name in store.releases())


def missing_table_fact(kind: Kind, codes: Sequence[str]) -> Fact:
    table, answers, command = NEEDED_FOR[kind]
    named = spoken_codes(codes)
    spec = DATASETS[FIRST_DATASET[kind]]
    text = (f"{table[0].upper()}{table[1:]} is not loaded, so CasePilot cannot tell {answers.format(codes=named)}; "
            f"load it with: {command}.")
    citation = Citation(marker=0, kind="reference", source=spec.name, title=spec.title, version="not loaded",
                        locator="no release in this service's data", fact="absence", url=spec.official_url,
                        snippet=text, codes=list(codes))
    return Fact(text, citation, tuple(codes), table_missing=True)


HCPCS_LEVEL_II = re.compile(r"^[A-V]\d{4}$")
HCPCS_COMMAND = "casepilot-ingest fetch --only hcpcs (or casepilot-ingest hcpcs <HCPC quarterly zip>)"


def hcpcs_not_loaded(store: ReferenceStore, code: str) -> str | None:
    """For an HCPCS Level II code that cannot be found because no HCPCS file is loaded: the sentence saying so."""
    if not HCPCS_LEVEL_II.match(code.upper()) or "hcpcs" in store.releases():
        return None
    return (f"The HCPCS Level II file is not loaded, so CasePilot cannot check {code}; load it with: "
            f"{HCPCS_COMMAND}.")
