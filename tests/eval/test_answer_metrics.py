"""Unit tests for eval.answer_metrics and eval.baselines: answers built by hand, expected values counted by hand."""

from __future__ import annotations

import pytest

from eval import answer_metrics as A
from eval.baselines import echo_answer, score_baselines, split_sentences, top_passage_answer
from eval.gate import SAFETY_TOLERANCE, compare
from eval.report import comparison_table
from rag.conversation import CLARIFY
from rag.stores.schema import Passage
from rag.stores.vectors import Hit

pytestmark = pytest.mark.unit

APPENDICITIS = {"id": "a", "question": "ICD-10-CM code for acute appendicitis with localized peritonitis?",
                "intent": "open", "expected_codes": ["K35.30"], "expected_facts": ["K35.30"],
                "supporting_ids": ["icd10cm:ICD10CM:K35.30"], "must_abstain": False, "expect_first_code": "K35.30"}


def answer(*sentences: str | tuple[str, list[int]], ids: dict[int, str] | None = None,
           abstained: bool = False) -> A.PlainAnswer:
    return A.PlainAnswer([(s, []) if isinstance(s, str) else s for s in sentences], ids or {}, abstained)


def valid(_code: str) -> str:
    return "valid"


def no_edit(_a: str, _b: str) -> bool:
    return False


def score(item: dict, plain: A.PlainAnswer) -> dict:
    return A.score_answer(item, plain, valid, no_edit)


# ---------------------------------------------------------------- direct answer and precision


def test_a_perfect_answer_scores_full_marks():
    plain = answer(("The ICD-10-CM code is K35.30: Acute appendicitis with localized peritonitis.", [1]),
                   ("Use it when the peritonitis is confined to the area around the appendix.", [1]),
                   ids={1: "icd10cm:ICD10CM:K35.30"})
    scores = score(APPENDICITIS, plain)
    assert scores["direct_answer"] is True
    assert scores["supporting_sentences"] == 2 and scores["sentences"] == 2  # the second by its citation alone
    assert scores["fragments"] == [] and scores["duplicates"] == [] and scores["false_statements"] == []
    summary = A.summarize([scores])
    assert summary["direct_answer_accuracy"] == 1.0 and summary["sentence_precision"] == 1.0
    assert summary["fragment_rate"] == 0.0 and summary["duplicate_rate"] == 0.0


def test_a_note_read_from_the_expected_codes_category_supports_it_and_an_alternative_does_not():
    plain = answer(("The ICD-10-CM code is K35.30: Acute appendicitis with localized peritonitis.", [1]),
                   ("Code also (tabular note at K35): any associated peritonitis or abscess.", [2]),
                   ("Other codes to compare: K35.31 (with gangrene).", [3]),
                   ids={1: "icd10cm:ICD10CM:K35.30", 2: "icd10cm:ICD10CM:K35", 3: "icd10cm:ICD10CM:K35.31"})
    assert score(APPENDICITIS, plain)["supporting_sentences"] == 2  # K35 is above K35.30; K35.31 is beside it


def test_a_first_sentence_without_the_code_is_not_a_direct_answer():
    plain = answer("Appendicitis codes are in the K35 category of the digestive system chapter.",
                   "The ICD-10-CM code is K35.30: Acute appendicitis with localized peritonitis.")
    scores = score(APPENDICITIS, plain)
    assert scores["direct_answer"] is False
    assert scores["supporting_sentences"] == 1  # the second states the code, the first neither cites nor states it
    summary = A.summarize([scores])
    assert summary["direct_answer_accuracy"] == 0.0 and summary["sentence_precision"] == 0.5


def test_the_first_code_named_must_be_the_expected_one():
    wrong_first = answer("K35.3 is a category header; report K35.30 for localized peritonitis.")
    assert A.direct_answer(APPENDICITIS, wrong_first) is False
    modifier = {**APPENDICITIS, "expect_first_code": "25", "expected_facts": [], "expected_codes": ["25"]}
    assert A.direct_answer(modifier, answer("Modifier 25: a separate E/M service on the day of a minor procedure."))
    assert A.first_named_code("Report 99213 with modifier 25.", "25") == "25"
    assert A.first_named_code("Report 99213 with modifier 25.", "99213") == "99213"


def test_direct_answer_by_fact_then_code_then_nothing():
    fact_item = {"expected_facts": ["modifier indicator 1"], "expected_codes": ["22511"], "must_abstain": False}
    assert A.direct_answer(fact_item, answer("22511 and 22514: MODIFIER INDICATOR 1 applies.")) is True
    assert A.direct_answer(fact_item, answer("22511 is column 1.", "Modifier indicator 1 applies.")) is False
    code_item = {"expected_facts": [], "expected_codes": ["K35.30"], "must_abstain": False}
    assert A.direct_answer(code_item, answer("Report K35.300 here.")) is False  # a longer code is another code
    assert A.direct_answer(code_item, answer("Report K35.30 here.")) is True
    assert A.direct_answer({"expected_facts": [], "expected_codes": [], "must_abstain": False},
                           answer("Anything at all.")) is None


def test_declining_and_asking_back_are_direct_answers_when_expected():
    refuse = {"expected_facts": [], "expected_codes": [], "must_abstain": False, "expect_refusal": True}
    assert A.direct_answer(refuse, answer("I cannot give clinical advice.", abstained=True)) is True
    assert A.direct_answer(refuse, answer("Get an MRI of the head today.")) is False
    clarify = {"expected_facts": [], "expected_codes": [], "must_abstain": False, "expect_clarification": True}
    assert A.direct_answer(clarify, answer(CLARIFY)) is True
    assert A.direct_answer(clarify, answer("Modifier XU is an unusual non-overlapping service.")) is False


def test_precision_skips_abstentions_and_items_with_nothing_to_support():
    assert score(APPENDICITIS, answer("Not found.", abstained=True))["supporting_sentences"] is None
    bare = {"expected_facts": [], "expected_codes": ["K35.30"], "supporting_ids": [], "must_abstain": False}
    assert score(bare, answer("The code is K35.30."))["supporting_sentences"] is None
    # a PTP pair id is matched in either column order (metrics.normalize_id)
    pair = {"expected_facts": [], "expected_codes": [], "supporting_ids": ["ptp_practitioner:22514|22511"],
            "must_abstain": False}
    plain = answer(("NCCI PTP edit: 22511 is column 1 and 22514 is column 2.", [2]), ("Unrelated words here.", [3]),
                   ids={2: "ptp_practitioner:22511|22514", 3: "guidelines:other"})
    assert score(pair, plain)["supporting_sentences"] == 1


# ---------------------------------------------------------------- fragments and duplicates


def test_a_lead_in_and_its_list_item_are_two_fragments():
    plain = answer("The global surgical package covers the procedure and routine follow-up care.",
                   "The package includes:", "- Preoperative visits after the decision for surgery")
    scores = score({"expected_facts": [], "expected_codes": [], "must_abstain": False}, plain)
    assert scores["fragments"] == [["The package includes:", "lead-in"],
                                   ["- Preoperative visits after the decision for surgery", "list item"]]
    assert A.summarize([scores])["fragment_rate"] == pytest.approx(2 / 3)
    assert A.summarize([scores])["answers_with_fragments"] == 1


@pytest.mark.parametrize("text, reason", [
    ("2. Postoperative visits within the global period.", "list item"),
    ("• Postoperative visits within the global period.", "list item"),
    ("and the modifier goes on the second line.", "starts lower-case"),
    ("It is reported once per session by the surgeon.", "anaphoric opener"),
    ("However, the payer may still deny the second code.", "anaphoric opener"),
    ("Report modifier 59 (distinct procedural service on the same day.", "unbalanced brackets"),
    ("Report modifier 59] on the second line of the claim.", "unbalanced brackets"),
    ("Yes, report it.", "too short"),
    ("Modifier 59 [1]", "too short"),  # the marker is no word
])
def test_fragment_rules(text, reason):
    assert A.fragment_reason(text) == reason


@pytest.mark.parametrize("text", [
    "Modifier 59 (distinct procedural service) goes on the column 2 code [1].",
    "Items in this table are listed by code: 1.5 units round up.",  # a colon inside is no lead-in
    "Thistle is not an anaphoric opener.",  # only the whole first word counts
    "Italy bills differently from Medicare.",
    "CPT 99213: Office visit, established patient.",
])
def test_sentences_that_stand_alone(text):
    assert A.fragment_reason(text) is None


def test_a_sentence_said_twice_is_a_duplicate():
    texts = ["Modifier 59 marks a distinct procedural service [1].", "Report 22511 once per level.",
             "modifier 59 marks a distinct procedural service!"]
    assert A.duplicates(texts) == [2]
    scores = score({"expected_facts": [], "expected_codes": [], "must_abstain": False}, answer(*texts))
    assert scores["duplicates"] == [texts[2]]
    summary = A.summarize([scores])
    assert summary["duplicate_rate"] == pytest.approx(1 / 3) and summary["answers_with_duplicates"] == 1


def test_near_duplicates_at_jaccard_point_eight():
    # {a, b, c, d} against {a, b, c, d, e}: 4 shared of 5 = 0.8, a duplicate
    assert A.duplicates(["alpha beta gamma delta", "alpha beta gamma delta epsilon"]) == [1]
    # {a, b, c} against {a, b, c, d}: 3 of 4 = 0.75, not one
    assert A.duplicates(["alpha beta gamma", "alpha beta gamma delta"]) == []
    assert A.jaccard({"a", "b", "c", "d"}, {"a", "b", "c", "d", "e"}) == pytest.approx(0.8)


# ---------------------------------------------------------------- abstention


def test_abstention_precision_and_recall_on_a_constructed_mix():
    declined, answered = answer("I could not find a reliable answer.", abstained=True), answer("The code is 99213.")
    must = {"expected_facts": [], "expected_codes": [], "must_abstain": True}
    refuse = {"expected_facts": [], "expected_codes": [], "must_abstain": False, "expect_refusal": True}
    open_item = {"expected_facts": [], "expected_codes": [], "must_abstain": False}
    rows = [score(must, declined), score(refuse, declined),  # two correct abstentions
            score(open_item, declined),  # an abstention on an answerable item
            score(must, answered), score(refuse, answered),  # two must-decline items answered
            score(open_item, answered)]
    summary = A.summarize(rows)
    assert summary["abstention_precision"] == pytest.approx(2 / 3)
    assert summary["abstention_recall"] == pytest.approx(1 / 2)
    assert A.abstention_scores([(False, False)]) == (None, None)


# ---------------------------------------------------------------- false statements


def test_a_status_against_the_reference_data_is_false():
    status = {"J1234": "deleted", "99213": "valid", "0001T": "unknown"}.get
    assert A.false_statement_reason("J1234 is a valid HCPCS code.", status, no_edit) == \
        "J1234 called current, but it is deleted"
    assert A.false_statement_reason("Code J1234 is still valid for 2026 claims.", status, no_edit) is not None
    assert A.false_statement_reason("CPT 99213 was deleted in 2021.", status, no_edit) == \
        "99213 called deleted, but it is valid"
    assert A.false_statement_reason("J1234 was terminated on 2020-12-31.", status, no_edit) is None  # true
    assert A.false_statement_reason("CPT 99213 has not been deleted.", status, no_edit) is None
    assert A.false_statement_reason("J1234 is no longer in effect.", status, no_edit) is None
    assert A.false_statement_reason("0001T is valid.", status, no_edit) is None  # unknown: the invented-code rate's
    assert A.false_statement_reason("Is J1234 still valid?", status, no_edit) is None  # a question claims nothing
    # two codes: which one the status is about is ambiguous, so the sentence is not judged
    assert A.false_statement_reason("99213 replaced the deleted code J1234.", status, no_edit) is None


def test_no_edit_for_an_edited_pair_is_false():
    edited = {("22511", "22514"), ("22514", "22511")}

    def pair_edited(a: str, b: str) -> bool:
        return (a, b) in edited

    scores = A.score_answer({"expected_facts": [], "expected_codes": [], "must_abstain": False},
                            answer("There is no NCCI edit between 22511 and 22514.",
                                   "No NCCI PTP edit pairs 99213 and 20610 in the practitioner table."),
                            valid, pair_edited)
    assert scores["false_statements"] == [["There is no NCCI edit between 22511 and 22514.",
                                           "no edit claimed, but an active PTP edit pairs 22511 and 22514"]]
    assert A.summarize([scores])["false_statement_rate"] == 0.5
    assert A.false_statement_reason("22511 and 22514 can be billed together.", valid, pair_edited) is not None
    assert A.false_statement_reason("22511 and 22514 cannot be billed together.", valid, pair_edited) is None
    assert A.false_statement_reason("22511 and 22514 can be billed together with modifier 59.", valid,
                                    pair_edited) is None


# ---------------------------------------------------------------- baselines


class FakeRetriever:
    """The retriever's shape: ``retrieve(question, limit=...)`` returning something with ``hits``."""

    def __init__(self, passages: dict[str, Passage]):
        self.passages = passages
        self.calls: list[tuple[str, int]] = []

    def retrieve(self, question: str, *, limit: int = 5):
        self.calls.append((question, limit))
        passage = self.passages.get(question)
        return type("Retrieved", (), {"hits": [Hit(passage, 1.0)] if passage else []})()


def passage(doc_id: str, text: str) -> Passage:
    return Passage(source="icd10cm", doc_id=doc_id, version="FY2026", chunk=0, text=text, title=doc_id)


def hit_id(hit: Hit) -> str:
    return f"{hit.passage.source}:{hit.passage.doc_id}"


def test_split_sentences():
    assert split_sentences("First one. Second one!\n- item\n\n") == ["First one.", "Second one!", "- item"]


def test_the_top_passage_baseline_cites_its_passage_and_abstains_on_nothing():
    retriever = FakeRetriever({"q": passage("ICD10CM:K35.30", "Acute appendicitis. With localized peritonitis.")})
    plain = top_passage_answer(retriever, "q", hit_id)
    assert plain.sentences == [("Acute appendicitis.", [1]), ("With localized peritonitis.", [1])]
    assert plain.citation_ids == {1: "icd10cm:ICD10CM:K35.30"} and not plain.abstained
    assert retriever.calls == [("q", 1)]
    assert top_passage_answer(retriever, "nothing", hit_id).abstained
    assert echo_answer("q") == A.PlainAnswer([("q", [])])


def test_the_baselines_answer_less_directly_than_a_good_answer():
    items = [APPENDICITIS,
             {"id": "b", "question": "dx code for type 2 diabetes with hyperglycemia", "intent": "open",
              "expected_codes": ["E11.65"], "expected_facts": ["E11.65"], "supporting_ids": ["icd10cm:ICD10CM:E11.65"],
              "must_abstain": False, "expect_first_code": "E11.65"}]
    retriever = FakeRetriever({
        APPENDICITIS["question"]: passage("ICD10CM:K35.3", "Acute appendicitis with localized peritonitis. "
                                                           "Codes K35.30 to K35.32 are in this category."),
        items[1]["question"]: passage("ICD10CM:E11.6", "Type 2 diabetes mellitus with other specified complications."),
    })
    good = {"a": answer("The ICD-10-CM code is K35.30: Acute appendicitis with localized peritonitis."),
            "b": answer("The ICD-10-CM code is E11.65: Type 2 diabetes mellitus with hyperglycemia.")}
    product = A.summarize([score(item, good[item["id"]]) for item in items])
    rows = score_baselines({"coder": items}, retriever, hit_id, valid, no_edit)
    baselines = {name: A.summarize([r["answer_level"] for r in found]) for name, found in rows.items()}
    assert product["direct_answer_accuracy"] == 1.0
    assert baselines["top_passage"]["direct_answer_accuracy"] == 0.0
    assert baselines["echo"]["direct_answer_accuracy"] == 0.0
    assert [r["id"] for r in rows["echo"]] == ["a", "b"] and len(retriever.calls) == 2


# ---------------------------------------------------------------- gate and report


def test_the_gate_flags_a_fragment_rate_rise():
    baseline = {"fragment_rate": 0.10, "duplicate_rate": 0.0, "direct_answer_accuracy": 0.8}
    within = {"fragment_rate": 0.10 + SAFETY_TOLERANCE / 2, "duplicate_rate": 0.0, "direct_answer_accuracy": 0.8}
    assert compare(within, baseline) == []
    failures = compare({**within, "fragment_rate": 0.20}, baseline)
    assert len(failures) == 1 and failures[0].startswith("fragment_rate:")
    assert compare({**within, "direct_answer_accuracy": 0.5}, baseline)[0].startswith("direct_answer_accuracy:")
    # a baseline written before the answer-level metrics existed does not compare them
    assert compare({"fragment_rate": 0.9, "false_statement_rate": 0.9}, {}) == []


def test_the_comparison_table_puts_systems_side_by_side():
    lines = comparison_table({"CasePilot": {"direct_answer_accuracy": 0.75, "answers": 4, "answer_sentences": 9},
                              "echo": {"direct_answer_accuracy": 0.0, "answers": 4, "answer_sentences": 4}})
    assert lines[0] == "| metric | CasePilot | echo |"
    assert "| Direct-answer accuracy | 75.0 % | 0.0 % |" in lines
    assert "| answers / sentences | 4 / 9 | 4 / 4 |" in lines


def test_a_three_character_icd10cm_category_is_read_without_a_dot():
    assert A.first_named_code("The ICD-10-CM code for high blood pressure is I10: Essential hypertension.", "I10") \
        == "I10"
    assert A.first_named_code("LCD L33569 (NGS) applies; 22514 is the code.", "22514") == "22514"
