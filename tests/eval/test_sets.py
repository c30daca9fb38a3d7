"""The committed question sets: format, size, coverage of intents, and that what they cite really exists."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from eval.runner import INTENTS, REQUIRED_KEYS, committed_sets, read_items

pytestmark = pytest.mark.unit

REPO = Path(__file__).resolve().parents[2]
SETS = REPO / "eval" / "sets"
CORPORA = REPO / "corpora"


def _all_items() -> list[dict]:
    return [item for name in committed_sets() for item in read_items(SETS / f"{name}.jsonl")]


def test_core_set_is_a_stable_product_question_set():
    core = read_items(SETS / "core.jsonl")
    assert len(core) >= 100
    assert {item["intent"] for item in core} == set(INTENTS)
    for line in (SETS / "core.jsonl").read_text(encoding="utf-8").splitlines():
        item = json.loads(line)
        assert list(item) == list(REQUIRED_KEYS)  # the field order other suites rely on
        assert isinstance(item["expected_codes"], list) and isinstance(item["expected_facts"], list)
        assert isinstance(item["supporting_ids"], list) and isinstance(item["must_abstain"], bool)


def test_all_sets_have_enough_items_of_every_intent():
    items = _all_items()
    assert len(items) >= 250
    ids = [item["id"] for item in items]
    assert len(ids) == len(set(ids))
    counts = {intent: sum(1 for i in items if i["intent"] == intent) for intent in INTENTS}
    assert all(count >= 8 for count in counts.values()), counts
    refuse = [i for i in items if i["intent"] == "refuse"]
    assert all(i["must_abstain"] for i in refuse)
    assert any(re.search(r"ignore|disregard|pretend|system:", i["question"], re.I) for i in refuse)
    assert any("22519" in i["question"] for i in refuse) and any("99999" in i["question"] for i in refuse)


def test_supporting_passages_exist_in_the_corpora():
    guidelines = {p.stem: p.read_text(encoding="utf-8").lower() for p in (CORPORA / "guidelines").glob("*.md")}
    cpt = {json.loads(line)["code"] for f in (CORPORA / "cpt").glob("*.jsonl")
           for line in f.read_text(encoding="utf-8").splitlines() if line.strip()}
    modifiers = {json.loads(line)["modifier"] for line in
                 (CORPORA / "modifiers" / "modifiers.jsonl").read_text(encoding="utf-8").splitlines() if line.strip()}
    for item in _all_items():
        for identifier in item["supporting_ids"]:
            source, _, rest = identifier.partition(":")
            if source == "guidelines":
                assert rest in guidelines, identifier
                for fact in item["expected_facts"]:
                    assert fact.lower() in guidelines[rest], (item["id"], fact)
            elif source == "cpt":
                assert rest.split(":")[1] in cpt, identifier
            elif source == "modifiers":
                assert rest.split(":")[1] in modifiers, identifier
            else:
                assert source in {"hcpcs", "icd10cm", "ptp_practitioner", "mue_practitioner"}, identifier


def test_a_generated_ask_set_is_run_by_name_and_an_unknown_set_is_refused(tmp_path, capsys):
    """The /v1/ask description sets are generated on request; a set name that is nowhere is said, exit 2."""
    from eval.__main__ import main
    from eval.runner import resolve_sets

    (tmp_path / "icd10cm_lay.jsonl").write_text("", encoding="utf-8")
    assert resolve_sets("core,icd10cm_lay", tmp_path) == {"core": SETS / "core.jsonl",
                                                          "icd10cm_lay": tmp_path / "icd10cm_lay.jsonl"}
    assert main(["run", "--sets", "no_such_set", "--out", str(tmp_path / "out"), "--data-dir", str(tmp_path)]) == 2
    error = capsys.readouterr().err
    assert "unknown question set 'no_such_set'" in error and "icd10cm_lay" in error and "Traceback" not in error
