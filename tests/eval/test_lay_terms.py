"""The lay-words lexicon and the which-code sets generated from ../shared (titles verbatim and paraphrased)."""

from __future__ import annotations

import random

import pytest

from eval.generate import HCPCS_ASK_TEMPLATES, ICD_ASK_TEMPLATES, ask_items, lay_items
from eval.lay_terms import LAY_TERMS, lay_terms_in, paraphrase
from eval.realdata import load_hcpcs_2020, load_icd10cm_fy2026_leaves


@pytest.mark.unit
def test_the_lexicon_is_large_and_maps_clinical_terms_to_lay_words():
    assert len(LAY_TERMS) >= 150
    assert paraphrase("Malignant neoplasm of upper lobe, right bronchus or lung") == \
        "cancer of upper lobe, right bronchus or lung"
    assert paraphrase("Acute myocardial infarction, unspecified") == "heart attack, not specified"
    assert paraphrase("Essential (primary) hypertension") == "Essential (primary) high blood pressure"
    assert paraphrase("Displaced fracture of shaft of right femur") == "Displaced broken bone of shaft of right thigh bone"
    assert paraphrase("Injection, ketorolac tromethamine, per 15 mg", {"ketorolac tromethamine": "Toradol"}) == \
        "shot of Toradol, per 15 mg"
    # one pass: the lay words are never rewritten again, and words inside other words are left alone
    assert paraphrase("Chronic kidney disease, stage 3") == "long-term kidney disease, stage 3"
    assert paraphrase("Colonoscopy") == "Colonoscopy" and lay_terms_in("Colonoscopy") == []
    assert lay_terms_in("Benign neoplasm of colon") == ["benign neoplasm", "colon"]


@pytest.mark.unit
@pytest.mark.shared_data
def test_generated_which_code_sets_are_reproducible_and_true_to_the_files(shared_data):
    import simple_icd_10_cm as cm

    leaves = load_icd10cm_fy2026_leaves(shared_data)
    assert len(leaves) > 20_000 and all(cm.is_leaf(row.code) for row in leaves[::97])
    asked = ask_items(leaves, 60, random.Random("7:a"), "aicd", "ICD10CM", "icd10cm", ICD_ASK_TEMPLATES)
    assert asked == ask_items(leaves, 60, random.Random("7:a"), "aicd", "ICD10CM", "icd10cm", ICD_ASK_TEMPLATES)
    titles = {row.code: row.title for row in leaves}
    for item in asked:
        code = item["expect_first_code"]
        assert item["expected_codes"] == [code] and titles[code] in item["question"]
        assert item["coder_intent"] == "which_code" and item["lay"] is False
    lay = lay_items(leaves, 60, random.Random("7:l"), "licd", "ICD10CM", "icd10cm", ICD_ASK_TEMPLATES)
    assert len(lay) == 60
    for item in lay:
        assert item["lay"] is True and titles[item["expect_first_code"]] == item["description"]
        assert item["description"].lower() not in item["question"].lower()  # really paraphrased
    hcpcs = load_hcpcs_2020(shared_data)
    drugs = lay_items(hcpcs, 500, random.Random("7:h"), "lhcpcs", "HCPCS", "hcpcs", HCPCS_ASK_TEMPLATES, brands=True)
    by_code = {item["expect_first_code"]: item for item in drugs}
    assert len(drugs) == 500
    if "J1885" in by_code:
        assert "toradol" in by_code["J1885"]["question"]
