"""Coverage answers (rag.coverage): NCD first, else the MACs' LCDs and articles, by code list or by title, for a
state's MAC, retired policies never current, "nothing found" never a denial. Then the same through the service,
code pages and the claim checker, and the coverage question set (eval/sets/coverage.jsonl) on the real MCD index."""

from __future__ import annotations

import json
import re
from datetime import date
from pathlib import Path

import pytest

from ingest.loaders.mcd import (
    load_mac_jurisdictions,
    load_mcd_download,
    load_mcd_index,
    load_ncd_corpus,
)
from ingest.records import ParsedRelease
from ingest.write_reference import ReleaseLimits, write_release

TOLERANT = ReleaseLimits(max_rejected_share=0.5)  # the fixtures hold deliberately malformed rows
from rag.claims import ClaimChecker, ClaimLine
from rag.coverage import CoverageFinder, find_state, service_words
from rag.stores.reference import ReferenceStore
from rag.stores.schema import CodeRecord

pytestmark = pytest.mark.store

REPO = Path(__file__).resolve().parents[2]
FIXTURES = REPO / "tests" / "fixtures" / "mcd"
CORPORA = REPO / "corpora"
SHARED = REPO.parent / "shared" / "data"
COVERAGE_SET = REPO / "eval" / "sets" / "coverage.jsonl"
CODES = [CodeRecord("22514", "CPT", lay_description="Kyphoplasty of one lumbar vertebral body.",
                    family="Percutaneous vertebral augmentation (kyphoplasty)", code_range="22513-22515", row=5,
                    attributes={"lay_terms": ["kyphoplasty"]}),
         CodeRecord("33361", "CPT", lay_description="Transcatheter aortic valve replacement, femoral approach.",
                    family="Transcatheter aortic valve replacement", row=6),
         CodeRecord("M80.08XA", "ICD10CM", long_description="Age-related osteoporosis with current pathological "
                    "fracture, vertebra(e), initial encounter", row=7)]


def _base(data: Path) -> Path:
    write_release(data, ParsedRelease("cpt", "t", "cpt.test", list(CODES)))
    write_release(data, load_ncd_corpus(CORPORA / "coverage"))
    write_release(data, load_mac_jurisdictions(CORPORA / "coverage"))
    return data


@pytest.fixture(scope="module")
def index_store(tmp_path_factory):
    """The fixture MCD index (titles only, no code lists), the NCDs, the MAC table and three codes."""
    data = _base(tmp_path_factory.mktemp("coverage-index"))
    write_release(data, load_mcd_index(FIXTURES / "documents_latest.csv", "fixture"), limits=TOLERANT)
    store = ReferenceStore(data)
    yield store
    store.close()


@pytest.fixture(scope="module")
def download_store(tmp_path_factory):
    """The same with the fixture MCD download (article code lists and states)."""
    data = _base(tmp_path_factory.mktemp("coverage-download"))
    write_release(data, load_mcd_download(FIXTURES / "current_article_csv", "fixture")[0])
    store = ReferenceStore(data)
    yield store
    store.close()


def _text(result) -> str:
    return " ".join(f.text for f in result.facts)


# ---------------------------------------------------------------- small parts

@pytest.mark.unit
def test_states_and_service_words():
    assert find_state("Does Medicare cover kyphoplasty in Ohio?") == "OH"
    assert find_state("coverage for a West Virginia patient") == "WV"
    assert find_state("is it covered in TX") == "TX"
    assert find_state("Does Medicare cover it?") is None
    assert service_words("Does Medicare cover urine drug testing in Ohio?") == ["urine", "drug", "testing"]


# ---------------------------------------------------------------- NCD, LCDs, states, retired, nothing found

def test_an_ncd_answers_by_keyword_code_or_section(index_store):
    finder = CoverageFinder(index_store)
    for question, codes in (("Does Medicare cover TAVR?", ()), ("Is 33361 covered?", ("33361",)),
                            ("What does NCD 20.32 cover?", ())):
        result = finder.find(question, codes)
        assert [n.policy_id for n in result.ncds] == ["20.32"], question
        assert "NCD 20.32" in _text(result) and "2019-06-21" in _text(result)
        assert result.ncds[0].citation.locator == "NCD manual section 20.32"
        assert not result.lcds


def test_no_ncd_then_lcds_by_title_with_contractors(index_store):
    result = CoverageFinder(index_store).find("Does Medicare cover kyphoplasty?")
    assert not result.ncds
    assert _text(result).startswith("No NCD")
    assert {f.policy_id for f in result.lcds} == {"L99901", "L99902"}
    assert result.lcds[0].contractors == ["CGS Administrators, LLC (MAC - Part A)",
                                          "CGS Administrators, LLC (MAC - Part B)"]
    citation = result.lcds[0].citation
    assert citation.title.startswith("LCD L99901 Percutaneous Vertebral Augmentation")
    assert citation.version == "version 21, effective 2024-10-03"
    assert citation.url.endswith("lcdid=99901&ver=21") and "CGS Administrators" in citation.snippet
    assert [f.policy_id for f in result.articles] == ["A99911"]


def test_a_state_keeps_its_macs_policies(index_store):
    finder = CoverageFinder(index_store)
    ohio = finder.find("Does Medicare cover kyphoplasty in Ohio?")
    assert [f.policy_id for f in ohio.lcds] == ["L99901"]
    assert "In Ohio, the A/B MAC is CGS Administrators, LLC (jurisdiction J15)" in _text(ohio)
    texas = finder.find("Does Medicare cover kyphoplasty in Texas?")
    assert [f.policy_id for f in texas.lcds] == ["L99902"]
    utah = finder.find("Does Medicare cover kyphoplasty in Utah?")
    assert not utah.lcds and "not a finding of non-coverage" in _text(utah)
    assert "L99901" in _text(utah)  # what other MACs have, labelled as such
    dme = finder.find("Does Medicare cover positive airway pressure devices in Ohio?")
    assert [f.policy_id for f in dme.lcds] == ["L99905"]  # the DME MAC (CGS, DME B) for Ohio


def test_retired_policies_are_never_current(index_store):
    finder = CoverageFinder(index_store)
    named = finder.find("Is LCD L99903 still in effect?")
    assert [f.policy_id for f in named.retired] == ["L99903"] and not named.lcds
    assert "retired on 2025-06-26 and is not in effect" in _text(named)
    assert "L99.903" in named.not_codes  # the id reads as an ICD-10-CM code: the service must not call it unknown
    by_title = finder.find("Does Medicare cover ionized calcium testing?")
    assert not by_title.lcds and [f.policy_id for f in by_title.retired] == ["L99903"]
    assert "not a current policy" in _text(by_title)


def test_nothing_found_is_not_a_denial(index_store):
    finder = CoverageFinder(index_store)
    result = finder.find("Does Medicare cover underwater basket weaving therapy?")
    assert not (result.ncds or result.lcds or result.articles)
    assert "That is not a finding of non-coverage" in _text(result)
    assert finder.find("When is an ABN required?").facts == []  # a general question: no policy lookup at all


def test_code_lists_decide_when_the_download_is_loaded(download_store):
    finder = CoverageFinder(download_store)
    result = finder.find("Is 22514 covered?", ("22514",))
    assert {f.policy_id for f in result.articles} == {"A99911", "A99912"}
    assert all(f.matched_by == "code_list" for f in result.articles)
    assert "its code list names the service's code" in _text(result)
    ohio = finder.find("Is 22514 covered in Ohio?", ("22514",))
    assert [f.policy_id for f in ohio.articles] == ["A99911"]  # by the download's states, not by name


def test_diagnosis_on_an_articles_lists(download_store):
    finder = CoverageFinder(download_store)
    covered = {v.article.policy_id: v.on_list for v in finder.diagnosis_verdicts("22514", "M80.08XA")}
    assert covered == {"A99911": "covered", "A99912": "covered"}
    verdicts = {v.article.policy_id: v for v in finder.diagnosis_verdicts("22514", "M5450")}
    assert verdicts["A99911"].on_list == "noncovered" and verdicts["A99912"].on_list == "not_listed"
    assert verdicts["A99911"].article.citation.locator.startswith("article_x_icd10_noncovered.csv row")


# ---------------------------------------------------------------- service, code page, claims

def test_the_service_leads_with_coverage_facts(index_store, tmp_path):
    from rag.service import QueryService
    from rag.settings import Settings

    service = QueryService(Settings(data_dir=tmp_path), index_store, None)
    answer = service.ask("Is LCD L99903 still in effect?")
    assert not answer.abstained and "coverage" in answer.intents
    assert answer.sentences[0].text.startswith("LCD L99903")
    assert "was not found" not in answer.answer
    kypho = service.ask("Does Medicare cover kyphoplasty?")
    assert kypho.answer.startswith("No NCD")
    lead = kypho.sentences[0]
    assert "L99901" in lead.text and "L99902" in lead.text  # the policies that decide are in the first sentence
    cited = {kypho.citations[m - 1].source for m in lead.citations}
    assert "ncds" in cited or any("NCD" in kypho.citations[m - 1].title for m in lead.citations)
    assert {"LCD L99901", "LCD L99902"} <= {" ".join(c.title.split()[:2]) for c in kypho.citations}


def test_code_page_lists_the_codes_policies(index_store):
    from rag.codepage import CodePages

    page = CodePages(index_store).code_page("22514")
    titles = [c.title for c in page.coverage]
    assert any(t.startswith("LCD L99901") for t in titles) and any(t.startswith("Article A99911") for t in titles)
    assert all(c.marker > 0 for c in page.coverage)
    ncd_page = CodePages(index_store).code_page("33361")
    assert [c.title.split()[1] for c in ncd_page.coverage] == ["20.32"]


def test_claim_checker_reports_the_diagnosis_lists(download_store, index_store):
    line = ClaimLine(code="22514", diagnoses=["M80.08XA"], date_of_service=date(2026, 1, 5))
    result = ClaimChecker(download_store)([line])
    assert {(v.article.policy_id, v.on_list) for v in result.coverage} == {("A99911", "covered"),
                                                                           ("A99912", "covered")}
    assert all(v.article.citation in result.citations for v in result.coverage)
    without = ClaimChecker(index_store)([line])
    assert without.coverage == [] and any("code lists" in note for note in without.notes)


# ---------------------------------------------------------------- the real MCD index

@pytest.fixture(scope="module")
def real_service(tmp_path_factory):
    index = SHARED / "mcd_lcd_article_index_2025-08"
    if not index.is_dir():
        pytest.skip(f"{index} is absent: the real MCD index lives only beside the repository")
    from ingest.loaders.corpora import load_cpt_corpus
    from ingest.loaders.hcpcs import load_hcpcs
    from ingest.loaders.ncci import load_mue_derived_json
    from rag.service import QueryService
    from rag.settings import Settings

    data = tmp_path_factory.mktemp("coverage-real")
    write_release(data, load_cpt_corpus(CORPORA / "cpt"))
    write_release(data, load_ncd_corpus(CORPORA / "coverage"))
    write_release(data, load_mac_jurisdictions(CORPORA / "coverage"))
    write_release(data, load_mcd_index(index), limits=TOLERANT)
    hcpcs = SHARED / "hcpcs_level2_2020_cms" / "2020-Alpha-Numeric-HCPCS-File.zip"
    if hcpcs.exists():
        write_release(data, load_hcpcs(hcpcs, "2020"))
    mue = SHARED / "ncci_practitioner_2026q2_derived" / "mue.json.gz"
    if mue.exists():
        write_release(data, load_mue_derived_json(mue, "2026Q2"))
    store = ReferenceStore(data)
    yield QueryService(Settings(data_dir=data), store, None)
    store.close()


@pytest.mark.shared_data
def test_kyphoplasty_cites_real_pva_lcds_and_says_no_ncd(real_service):
    answer = real_service.ask("Does Medicare cover kyphoplasty?")
    assert "No NCD" in answer.answer
    lcds = [c for c in answer.citations if c.title.startswith("LCD ") and "Vertebral Augmentation" in c.title]
    ids = {c.title.split()[1] for c in lcds}
    assert len(ids) >= 2 and {"L38201", "L33569"} <= ids
    store = real_service.reference
    for citation in lcds:
        policy = store.policies([citation.title.split()[1]])[0].fact
        assert policy.contractors and policy.contractors[0][0] in citation.snippet
        assert citation.url == policy.url and f"version {policy.version}" in citation.version


@pytest.mark.shared_data
def test_the_coverage_question_set(real_service, capsys):
    items = [json.loads(line) for line in COVERAGE_SET.read_text(encoding="utf-8").splitlines() if line.strip()]
    assert len(items) >= 40
    store = real_service.reference
    missed, unknown_ids, answered = [], [], 0
    for item in items:
        answer = real_service.ask(item["question"])
        answered += not answer.abstained
        absent = [f for f in item["expected_facts"] if f.lower() not in answer.answer.lower()]
        if absent or answer.abstained:
            missed.append((item["id"], absent))
        for policy_id in re.findall(r"\b(?:LCD|article) ([LA]\d{5})\b", answer.answer):
            found = store.policies([policy_id])
            if not found or (found[0].fact.status == "retired" and "retired on" not in answer.answer):
                unknown_ids.append((item["id"], policy_id))  # never an invented or retired-as-current policy
    share = 1 - len(missed) / len(items)
    with capsys.disabled():
        print(f"\ncoverage set: {len(items)} items, {answered} answered, expected facts in {share:.0%}; "
              f"missed: {missed}")
    assert unknown_ids == []
    assert share >= 0.9, missed
