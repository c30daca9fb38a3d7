"""Add-on code questions answered from the NCCI add-on code edit file (issue: "can I bill 64484 without 64483?").

The store holds the project's AOC fixture (written from CMS's published layout) and MUE rows that make the codes
known; the expected rules are CMS's: an edit type 1 add-on is paid only with a listed primary code, type 2 lists
no primary, type 3 lets the contractor accept other primaries."""

from __future__ import annotations

from pathlib import Path

import pytest

pytestmark = pytest.mark.store

AOC = Path(__file__).parents[1] / "fixtures" / "addon" / "AOC_V2026Q3-MCR.csv"
CODES = ("64483", "64484", "22551", "22552", "99291", "99292", "93571", "92920", "99153", "27130")


@pytest.fixture(scope="module")
def addon_service(tmp_path_factory):
    from ingest.cli import main
    from ingest.records import ParsedRelease
    from ingest.write_reference import write_release
    from rag.service import QueryService
    from rag.settings import Settings
    from rag.stores.reference import ReferenceStore
    from rag.stores.schema import MueLimit

    data_dir = tmp_path_factory.mktemp("addon")
    # the fixture holds deliberately malformed rows, a share CMS's files never reach
    assert main(["--data-dir", str(data_dir), "--max-rejected-share", "0.5", "addon", str(AOC)]) == 0
    mue = [MueLimit(code, 1, 2, "Code Descriptor / CPT Instruction", row) for row, code in enumerate(CODES, 2)]
    write_release(data_dir, ParsedRelease("mue_practitioner", "2026Q3", "mue.test", mue))
    store = ReferenceStore(data_dir)
    yield QueryService(Settings(data_dir=data_dir), store, None)
    store.close()


def test_billing_an_addon_without_its_only_primary_is_answered_no(addon_service):
    answer = addon_service.ask("Can I bill 64484 without 64483?")
    first = answer.sentences[0]
    assert first.text.startswith("No: 64484 is an add-on code paid only with its primary code 64483")
    assert "edit type 1" in first.text and "2026Q3" in first.text
    cited = answer.citations[first.citations[0] - 1]
    assert (cited.source, cited.version, cited.row) == ("addon", "2026Q3", 2)  # the CSV's first data row
    assert any(step.tool == "addon" for step in answer.plan)


def test_is_it_an_addon_code_names_its_primaries(addon_service):
    first = addon_service.ask("is 22552 an add-on code?").sentences[0].text
    # 22552's edit with 22554 ended 2015-12-31: only 22551 is a primary today
    assert first.startswith("22552 is an add-on code (NCCI add-on code edits, 2026Q3, edit type 1), paid only with "
                            "one of its listed primary codes (22551)")


def test_the_primaries_are_those_in_force_on_the_date_of_service(addon_service):
    # in the fixture 22552 + 22554 ran 2011-01-01..2015-12-31 and 22552 + 22551 starts 2016-01-01
    first = addon_service.ask("is 22552 an add-on code on 06/01/2015?").sentences[0].text
    assert "listed primary codes (22554)" in first


def test_type_2_has_no_listed_primary_and_type_3_lets_the_contractor_accept_others(addon_service):
    type2 = addon_service.ask("Can 99153 be billed alone?").sentences[0].text
    assert type2.startswith("99153 is an add-on code (NCCI add-on code edits, 2026Q3, edit type 2): CMS lists no "
                            "primary code")
    type3 = addon_service.ask("can I bill 93571 without 92920?").sentences[0].text
    assert type3.startswith("Only if another primary is billed: 93571 is an add-on code")
    assert "or another primary the contractor accepts" in type3


def test_a_code_that_is_not_an_addon_says_so_with_the_file_cited(addon_service):
    answer = addon_service.ask("is 27130 an add-on code?")
    first = answer.sentences[0]
    assert first.text.startswith("27130 is not listed as an add-on code in the NCCI add-on code edit file (2026Q3)")
    cited = answer.citations[first.citations[0] - 1]
    assert (cited.source, cited.fact) == ("addon", "absence")


def test_a_pair_question_with_an_addon_adds_the_addon_edit_after_the_ptp_answer(addon_service):
    answer = addon_service.ask("Can 64483 and 64484 be billed together?")
    texts = [s.text for s in answer.sentences]
    assert not texts[0].startswith("64484 is an add-on code")  # the pair question is answered first
    assert any(t.startswith("64484 is an add-on code") and "64483 is one of its primary codes" in t for t in texts)


def test_without_words_on_codes_that_are_not_addons_add_nothing(addon_service):
    answer = addon_service.ask("Can I bill 27130 without 99291?")
    assert not any("add-on" in s.text for s in answer.sentences)


@pytest.mark.shared_data
def test_without_the_addon_file_the_cpt_descriptions_answer_and_the_file_is_named(rag_service):
    import json

    corpus = Path(__file__).parents[2] / "corpora" / "cpt"
    rows = [json.loads(line) for path in corpus.glob("*.jsonl") for line in path.read_text().splitlines() if line]
    assert "64484" in next(r for r in rows if r["code"] == "64483")["add_on_codes"]  # premise, from the corpus
    assert "addon" not in rag_service.reference.releases()  # premise: the session data has no add-on file
    answer = rag_service.ask("Can I bill 64484 without 64483?")
    assert answer.sentences[0].text.startswith("No: 64484 is an add-on code, reported only with its primary code "
                                               "64483")
    assert answer.citations[answer.sentences[0].citations[0] - 1].codes[0] == "64483"  # the primary's own row
    assert answer.sentences[1].text.startswith("The NCCI add-on code edit file is not loaded")
