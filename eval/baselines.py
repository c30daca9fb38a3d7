"""Two answers any search box could give, scored with the same answer-level metrics as the product.

- echo: the question itself as one sentence, no citation, never abstaining;
- top passage: the text of the retriever's top passage, every sentence citing it; abstaining only when
  nothing is retrieved.

The product is worth its composer only where it beats these. Neither calls ``ask``: the top-passage baseline
costs one retrieval per item.
"""

from __future__ import annotations

import re
from typing import Callable, Mapping, Sequence

from eval.answer_metrics import CodeStatus, PairEdited, PlainAnswer, score_answer

SENTENCE_END = re.compile(r"(?<=[.!?])\s+|\n+")
BASELINES = ("top_passage", "echo")
LABELS = {"top_passage": "top passage", "echo": "echo"}


def split_sentences(text: str) -> list[str]:
    """A plain splitter: at end punctuation followed by space, and at line breaks."""
    return [s.strip() for s in SENTENCE_END.split(text) if s.strip()]


def echo_answer(question: str) -> PlainAnswer:
    return PlainAnswer(sentences=[(question, [])])


def top_passage_answer(retriever, question: str, passage_id: Callable[[object], str]) -> PlainAnswer:
    """``passage_id`` turns the hit into the source id supporting ids are written in (Contexts.hit_id)."""
    hits = retriever.retrieve(question, limit=1).hits if retriever is not None else []
    if not hits:
        return PlainAnswer(sentences=[], abstained=True)
    return PlainAnswer(sentences=[(s, [1]) for s in split_sentences(hits[0].passage.text)],
                       citation_ids={1: passage_id(hits[0])})


def score_baselines(sets: Mapping[str, Sequence[dict]], retriever, passage_id: Callable[[object], str],
                    code_status: CodeStatus, pair_edited: PairEdited,
                    progress: Callable[[str], None] | None = None) -> dict[str, list[dict]]:
    """Baseline name -> one row per item: set, id, intent, coder intent and the answer-level values."""
    rows: dict[str, list[dict]] = {name: [] for name in BASELINES}
    for set_name, items in sets.items():
        for item in items:
            answers = {"top_passage": top_passage_answer(retriever, item["question"], passage_id),
                       "echo": echo_answer(item["question"])}
            for name, answer in answers.items():
                rows[name].append({"set": set_name, "id": item["id"], "intent": item["intent"],
                                   "coder_intent": item.get("coder_intent"),
                                   "answer_level": score_answer(item, answer, code_status, pair_edited)})
            if progress:
                progress(f"{set_name} baselines")
    return rows
