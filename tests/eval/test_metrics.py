"""Unit tests for eval.metrics: every expected value below was computed by hand."""

from __future__ import annotations

import math

import pytest

from eval import metrics as M
from rag.answer import Citation
from rag.codes import codes_in

pytestmark = pytest.mark.unit

RANKED = ["guidelines:a", "cpt:CPT:22514", "guidelines:b", "modifiers:MODIFIER:59", "guidelines:c"]


def test_hit_at_k():
    assert M.hit_at_k(["guidelines:b"], RANKED, 1) == 0.0
    assert M.hit_at_k(["guidelines:b"], RANKED, 2) == 0.0
    assert M.hit_at_k(["guidelines:b"], RANKED, 3) == 1.0
    assert M.hit_at_k(["guidelines:x"], RANKED, 5) == 0.0


def test_reciprocal_rank():
    assert M.reciprocal_rank(["guidelines:b"], RANKED) == pytest.approx(1 / 3)
    # the first relevant one counts: cpt at rank 2, guidelines:c at rank 5
    assert M.reciprocal_rank(["guidelines:c", "cpt:CPT:22514"], RANKED) == pytest.approx(0.5)
    assert M.reciprocal_rank(["guidelines:c"], RANKED, k=4) == 0.0
    assert M.reciprocal_rank(["guidelines:c"], []) == 0.0


def test_recall_at_k():
    expected = ["guidelines:b", "guidelines:c", "guidelines:z"]
    assert M.recall_at_k(expected, RANKED, 3) == pytest.approx(1 / 3)  # b found
    assert M.recall_at_k(expected, RANKED, 5) == pytest.approx(2 / 3)  # b and c found, z never


def test_ndcg_at_k():
    # one relevant document at rank 3: DCG = 1/log2(4) = 0.5, ideal = 1/log2(2) = 1
    assert M.ndcg_at_k(["guidelines:b"], RANKED, 10) == pytest.approx(0.5)
    # relevant at ranks 2 and 5: DCG = 1/log2(3) + 1/log2(6); ideal = 1 + 1/log2(3)
    value = (1 / math.log2(3) + 1 / math.log2(6)) / (1 + 1 / math.log2(3))
    assert M.ndcg_at_k(["cpt:CPT:22514", "guidelines:c"], RANKED, 10) == pytest.approx(value)
    # more expected than k: the ideal is capped at k (llama-index's NDCG would divide by 3 terms)
    assert M.ndcg_at_k(["guidelines:a", "cpt:CPT:22514", "guidelines:z"], RANKED, 2) == pytest.approx(1.0)


def test_retrieval_scores_normalise_pair_ids():
    scores = M.retrieval_scores(["ptp_practitioner:22514|22511"], ["ptp_practitioner:22511|22514"], ks=(1, 5))
    assert scores["hit@1"] == 1.0 and scores["mrr"] == 1.0 and scores["ndcg@5"] == 1.0


def test_fact_presence_and_recall():
    answer = "The MUE for J1885 (practitioner, 2026Q2) is 8 units;  adjudication indicator 3 (date of service)."
    assert M.fact_presence(answer, ["is 8 unit", "ADJUDICATION indicator 3", "is 1 unit"]) == [True, True, False]
    assert M.fact_recall(answer, ["is 8 unit", "is 1 unit"]) == 0.5
    assert M.fact_recall(answer, []) is None
    # "is 1 unit" must not match inside "is 10 units"
    assert M.fact_presence("The MUE for X is 10 units", ["is 1 unit"]) == [False]


def test_exact_correct():
    answer = "NCCI PTP edit: 22511 is column 1 and 22514 is column 2. Modifier indicator 1: allowed."
    facts = ["modifier indicator 1", "22511 is column 1"]
    assert M.exact_correct(answer, facts, ["22511", "22514"], ["22511", "22514"])
    assert not M.exact_correct(answer, facts, ["22511", "22514"], ["22511"])  # 22514 not checked valid
    assert not M.exact_correct(answer, ["modifier indicator 0"], [], [])


def test_refusal_correct():
    assert M.refusal_correct(True, True, "I could not find a reliable answer", False)
    assert M.refusal_correct(True, False, "Code 22519 was not found in the reference data.", False)
    assert not M.refusal_correct(True, False, "22519 was not found. CPT 22510 is ... [1]", True)
    assert not M.refusal_correct(True, False, "Paris is the capital of France.", False)
    assert M.refusal_correct(False, False, "anything [1]", True)
    assert not M.refusal_correct(False, True, "I could not find", False)


def test_audit_codes():
    known = {"22510", "22511", "22514"}.__contains__
    sentences = [
        ("Code 22519 was not found in the reference data. Did you mean 22510, 22511?", []),
        ("CPT 22514 is lumbar kyphoplasty; see also 22513.", [1]),
        ("Use 99999 for this.", [1]),
        ("Report 22511 too.", []),
        ("Code 22518 was not found. Did you mean 22510 or 22514? [2]", [2]),
    ]
    citations = {1: (["22514"], "Vertebral augmentation of one lumbar vertebral body"), 2: (["22510"], "")}
    audit = M.audit_codes(sentences, citations, ["22519", "22518"], known, codes_in)
    assert audit.codes == ["22519", "22510", "22511", "22514", "22513", "99999", "22511", "22518", "22510", "22514"]
    assert audit.invented == ["22513", "99999"]  # not in the reference data; 22519 was the user's own code
    # 22511 is stated without a citation; 22514 is suggested in a cited note whose citations do not carry it
    assert audit.ungrounded == ["22511", "22514"]


def _cited(kind: str, snippet: str, codes: list[str], fact=None, **values) -> Citation:
    return Citation(marker=1, kind=kind, source="ptp_practitioner" if fact == "ptp_edit" else "mue_practitioner",
                    title="t", version="2026Q2", locator="row 1", snippet=snippet, codes=codes, fact=fact,
                    values=values)


def test_citation_supports():
    ptp = ("NCCI PTP edit (practitioner, 2026Q2): 22511 is column 1 and 22514 is column 2, so 22514 is not paid "
           "separately when billed with 22511. Modifier indicator 1: allowed.")
    edit = _cited("reference", "22511\t22514", ["22511", "22514"], "ptp_edit", modifier_indicator=1)
    assert M.citation_supports(ptp, edit, codes_in)
    assert not M.citation_supports(ptp.replace("indicator 1", "indicator 0"), edit, codes_in)
    mue = "The MUE for J1885 (practitioner, 2026Q2) is 8 units; adjudication indicator 3."
    assert M.citation_supports(mue, _cited("reference", "J1885", ["J1885"], "mue", mue=8), codes_in)
    assert not M.citation_supports(mue, _cited("reference", "J1885", ["J1885"], "mue", mue=4), codes_in)
    passage = "Report one unit of the add-on for each extra vertebral body."
    text = "Report one unit of the add-on for each extra vertebral body or level beyond the first."
    assert M.citation_supports(passage, _cited("passage", text, []), codes_in)
    assert not M.citation_supports("Modifier 25 is never needed on preventive visits.", _cited("passage", text, []),
                                   codes_in)
    # a code the citation does not carry makes the sentence unsupported
    assert not M.citation_supports("Bill 22515 for each extra body.", _cited("passage", text, ["22512"]), codes_in)


def test_percentile_and_mean():
    values = [10, 20, 30, 40]
    assert M.percentile(values, 50) == 25.0  # (20 + 30) / 2
    assert M.percentile(values, 95) == pytest.approx(38.5)  # 30 + 0.85 * 10
    assert M.percentile([], 50) is None
    assert M.mean([1, None, 0]) == 0.5
    assert M.rate(1, 4) == 0.25 and M.rate(0, 0) is None


def test_normalize_id():
    assert M.normalize_id("ptp_practitioner:22514|22511") == "ptp_practitioner:22511|22514"
    assert M.normalize_id("mue_practitioner:j1885") == "mue_practitioner:J1885"
    assert M.normalize_id("guidelines:ncci-ptp-edits") == "guidelines:ncci-ptp-edits"
