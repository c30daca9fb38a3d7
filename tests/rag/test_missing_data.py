"""A question that needs a table the service has not loaded says which table, and the command that loads it
(issue: route every question; "Can 22511 and 22514 be billed together?" on a fresh install came back as two code
descriptions, "How many units of J1885?" as "J1885 not found")."""

from __future__ import annotations

import pytest
from conftest import TINY_CODES

pytestmark = pytest.mark.store


@pytest.fixture(scope="module")
def codes_only_service(tmp_path_factory):
    """Plain-language CPT rows only: no NCCI PTP or MUE table, no HCPCS file, no fee schedule."""
    from ingest.records import ParsedRelease
    from ingest.write_reference import write_release
    from rag.service import QueryService
    from rag.settings import Settings
    from rag.stores.reference import ReferenceStore

    data_dir = tmp_path_factory.mktemp("codes-only")
    version, records = TINY_CODES["cpt"]
    write_release(data_dir, ParsedRelease("cpt", version, "cpt.test", list(records)))
    store = ReferenceStore(data_dir)
    yield QueryService(Settings(data_dir=data_dir), store, None)
    store.close()


def test_a_pair_question_without_a_ptp_table_says_so_first(codes_only_service):
    answer = codes_only_service.ask("Can 22511 and 22514 be billed together?")
    first = answer.sentences[0].text
    assert first.startswith("The NCCI PTP edit table is not loaded, so CasePilot cannot tell whether 22511 and "
                            "22514 may be billed together")
    assert "casepilot-ingest fetch --only ptp_practitioner" in first
    assert not answer.abstained and answer.ptp == []


def test_a_units_question_without_an_mue_table_says_so(codes_only_service):
    answer = codes_only_service.ask("How many units of 22514 per day?")
    assert answer.sentences[0].text.startswith("The NCCI MUE table is not loaded")
    assert "casepilot-ingest fetch --only mue_practitioner" in answer.answer


def test_an_hcpcs_code_without_the_hcpcs_file_is_not_called_unknown(codes_only_service):
    answer = codes_only_service.ask("How many units of J1885?")
    assert answer.sentences[0].text.startswith("The HCPCS Level II file is not loaded, so CasePilot cannot check "
                                               "J1885")
    assert "was not found" not in answer.answer
    # the question needs the MUE table as well, and it is not loaded either
    assert any(s.text.startswith("The NCCI MUE table is not loaded") and "J1885" in s.text for s in answer.sentences)


def test_a_global_period_question_without_the_fee_schedule_names_it(codes_only_service):
    answer = codes_only_service.ask("What is the global period for 22514?")
    assert answer.sentences[0].text.startswith(
        "The Medicare Physician Fee Schedule relative value file (PPRRVU) is not loaded")
    assert any(step.tool == "fee_schedule" for step in answer.plan)


def test_with_the_tables_loaded_no_missing_table_sentence(tiny_service):
    answer = tiny_service.ask("Can 22511 and 22514 be billed together?")
    assert "not loaded" not in answer.answer and answer.ptp


def test_an_addon_question_without_the_addon_file_names_it(codes_only_service):
    answer = codes_only_service.ask("Is 22514 an add-on code?")
    assert answer.sentences[0].text.startswith("The NCCI add-on code edit file is not loaded, so CasePilot cannot "
                                               "tell the add-on code edits of 22514")
    assert "casepilot-ingest fetch --only addon" in answer.sentences[0].text
