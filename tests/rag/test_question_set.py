"""The core question set (eval/sets/core.jsonl) through the real service.

Each item: {"id", "question", "intent", "expected_codes", "expected_facts", "reference_answer",
"supporting_ids" (source:doc_id of a passage, or dataset:key of a reference row), "must_abstain"}.

- exact intents (code_lookup, pair_check, units) are 100 % right against the reference data, read straight from
  the ReferenceStore rather than from the set's own text;
- for the retrieval-backed questions the expected passage is in the top 5 for >= 90 %;
- no answer prints an invented code: every code printed exists (QueryService.check) and appears in one of the
  answer's citations; a user's own non-existent code is only echoed in its "not found" note;
- must_abstain items abstain; the others are answered.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from rag.codes import codes_in, recognize

pytestmark = [pytest.mark.store, pytest.mark.shared_data]

CORE = Path(__file__).resolve().parents[2] / "eval" / "sets" / "core.jsonl"
PASSAGE_SOURCES = ("guidelines", "cpt", "hcpcs", "modifiers", "icd10cm")
RETRIEVAL_INTENTS = ("guideline", "coverage", "modifier", "open")


def load_items() -> list[dict]:
    if not CORE.is_file():
        pytest.skip(f"{CORE} is missing: the core question set is written by the evaluation work")
    return [json.loads(line) for line in CORE.read_text().splitlines() if line.strip()]


@pytest.fixture(scope="module")
def results(rag_service):
    """Every item asked once: (item, answer, the ids of the passages retrieved for it)."""
    found = []
    for item in load_items():
        answer = rag_service.ask(item["question"])
        ranked = []
        if item["intent"] in RETRIEVAL_INTENTS:
            hits = rag_service.retriever.retrieve(item["question"], limit=5).hits
            ranked = [f"{h.passage.source}:{h.passage.doc_id}" for h in hits]
        found.append((item, answer, ranked))
    return found


def of_intent(results, *intents):
    return [r for r in results if r[0]["intent"] in intents]


# ---------------------------------------------------------------- exact intents against the reference store

def test_pair_answers_match_the_ptp_table(results, rag_service):
    store = rag_service.reference
    items = of_intent(results, "pair_check")
    assert items
    for item, answer, _ in items:
        code_a, code_b = item["expected_codes"]
        rows = store.ptp_pair(code_a, code_b)
        assert "pair_check" in answer.intents, item["id"]
        assert not answer.abstained, item["id"]
        expected = {(r.fact.column1, r.fact.column2, r.fact.modifier_indicator) for r in rows}
        got = {(f.column1, f.column2, f.modifier_indicator) for f in answer.ptp if f.dataset == "ptp_practitioner"}
        assert got == expected, item["id"]
        for column1, column2, indicator in expected:
            assert f"{column1} is column 1 and {column2} is column 2" in answer.answer, item["id"]
            assert f"Modifier indicator {indicator}" in answer.answer, item["id"]
        if not rows:
            assert f"No NCCI PTP edit pairs {code_a} and {code_b}" in answer.answer, item["id"]
        for fact in item["expected_facts"]:
            assert fact.lower() in answer.answer.lower(), (item["id"], fact)


def test_units_answers_match_the_mue_table(results, rag_service):
    store = rag_service.reference
    items = of_intent(results, "units")
    assert items
    for item, answer, _ in items:
        code = item["expected_codes"][0]
        rows = store.mue(code)
        assert rows, item["id"]
        assert {(m.code, m.value, m.adjudication_indicator) for m in answer.mue} == {
            (code, r.fact.value, r.fact.adjudication_indicator) for r in rows}, item["id"]
        for row in rows:
            unit = "unit" if row.fact.value == 1 else "units"
            assert f"is {row.fact.value} {unit}" in answer.answer, item["id"]
            assert f"adjudication indicator {row.fact.adjudication_indicator}" in answer.answer, item["id"]
            assert row.fact.rationale in answer.answer, item["id"]
        for fact in item["expected_facts"]:
            assert fact.lower() in answer.answer.lower(), (item["id"], fact)


def test_code_lookups_match_the_code_tables(results, rag_service):
    store = rag_service.reference
    items = of_intent(results, "code_lookup")
    assert items
    for item, answer, _ in items:
        assert "code_lookup" in answer.intents, item["id"]
        for code in item["expected_codes"]:
            records = store.lookup_code(code)
            assert records, item["id"]
            record = records[0].fact
            assert code in answer.answer, item["id"]
            assert (record.lay_description or record.long_description)[:60] in answer.answer, item["id"]
            assert any(c.source == records[0].release.dataset and c.locator == f"row {record.row}"
                       for c in answer.citations), item["id"]
        for fact in item["expected_facts"]:
            assert fact.lower() in answer.answer.lower(), (item["id"], fact)


# ---------------------------------------------------------------- retrieval

def test_expected_passage_in_the_top_5(results):
    items = [(item, ranked) for item, _, ranked in of_intent(results, *RETRIEVAL_INTENTS)
             if any(s.split(":", 1)[0] in PASSAGE_SOURCES for s in item["supporting_ids"])]
    assert len(items) >= 20
    missed = [item["id"] for item, ranked in items if not set(item["supporting_ids"]) & set(ranked)]
    share = 1 - len(missed) / len(items)
    assert share >= 0.90, f"top-5 hit rate {share:.2%}; missed {missed}"


# ---------------------------------------------------------------- no invented code, abstention

def test_no_answer_prints_an_invented_code(results, rag_service):
    problems = []
    for item, answer, _ in results:
        asked = {m.code for m in recognize(item["question"]).codes}
        by_marker = {c.marker: c for c in answer.citations}
        for sentence in answer.sentences:
            for code in codes_in(sentence.text):
                status = rag_service.check(code, suggest=False).status
                if code in asked and status == "unknown" and sentence.text.startswith(f"Code {code} was not found"):
                    continue  # the user's own code, reported as not found
                in_citation = any(code in c.codes or code in c.snippet for c in answer.citations)
                own = any(code in by_marker[m].codes or code in by_marker[m].snippet
                          for m in sentence.citations if m in by_marker)
                if status == "unknown" or not in_citation or not own:
                    problems.append((item["id"], code, status))
    assert problems == []


def test_must_abstain_items_abstain(results):
    items = [(item, answer) for item, answer, _ in results if item["must_abstain"]]
    assert items
    answered = [item["id"] for item, answer in items if not answer.abstained]
    assert answered == []
    for item, answer in items:
        for fact in item["expected_facts"]:  # e.g. "not found" for a made-up code
            assert fact.lower() in answer.answer.lower(), (item["id"], fact)


def test_answerable_items_are_answered(results):
    abstained = [item["id"] for item, answer, _ in results if not item["must_abstain"] and answer.abstained]
    assert abstained == []
