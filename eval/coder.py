"""The coder question set (eval/sets/coder.jsonl) scored as a coder reads an answer.

An item passes when the answer's first sentence leads with the expected code (``expect_first_code``), the
code's status in the answer is the expected one (``expect_status``), every expected fact is in the answer, a
clinical or injected question gets the refusal (``expect_refusal``) and a follow-up with nothing to follow gets
a clarifying question (``expect_clarification``). Accuracy is reported per coder intent."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from typing import Iterable

from eval.answer_metrics import first_named_code
from rag.answer import Answer
from rag.conversation import CLARIFY, Turn
from rag.scope import REFUSAL


@dataclass
class CoderResult:
    id: str
    coder_intent: str
    question: str
    passed: bool
    failures: list[str] = field(default_factory=list)
    first_sentence: str = ""


def history_turns(item: dict) -> list[Turn]:
    return [Turn(question=turn["content"]) for turn in item.get("history", []) if turn.get("role") == "user"]


def score(item: dict, answer: Answer) -> CoderResult:
    failures: list[str] = []
    first = answer.sentences[0].text if answer.sentences else ""
    if item.get("expect_refusal"):
        if not (answer.abstained and answer.answer.startswith(REFUSAL[:40])):
            failures.append("no refusal")
    elif item.get("expect_clarification"):
        if answer.answer != CLARIFY:
            failures.append("no clarifying question")
    else:
        expected = item.get("expect_first_code")
        if expected:
            named = first_named_code(first, expected)
            if named is None or named.upper() != expected.upper():
                failures.append(f"first code {named} != {expected}")
        status = item.get("expect_status")
        if status:
            code = (item.get("expect_first_code") or (item.get("expected_codes") or [""])[0]).upper()
            found = next((c.status for c in answer.codes if c.code.upper() == code), None)
            if found != status:
                failures.append(f"status of {code} {found} != {status}")
        text = answer.answer.lower()
        missing = [fact for fact in item.get("expected_facts", []) if fact.lower() not in text]
        if missing:
            failures.append(f"missing facts {missing}")
        if item.get("must_abstain") != answer.abstained:
            failures.append("abstained" if answer.abstained else "did not abstain")
    return CoderResult(item["id"], item.get("coder_intent", item["intent"]), item["question"], not failures, failures,
                       first)


def run(service, items: Iterable[dict]) -> list[CoderResult]:
    return [score(item, service.ask(item["question"], history=history_turns(item))) for item in items]


def accuracy_by_intent(results: list[CoderResult]) -> dict[str, tuple[int, int]]:
    """coder intent -> (passed, items), plus "all"."""
    table: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    for result in results:
        for key in (result.coder_intent, "all"):
            table[key][0] += result.passed
            table[key][1] += 1
    return {key: (passed, total) for key, (passed, total) in sorted(table.items())}
