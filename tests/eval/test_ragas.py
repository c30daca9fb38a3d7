"""The offline ragas metrics (eval/ragas_eval.py) on constructed cases whose values are known: a perfect answer,
half the reference retrieved, an unrelated answer. A metric that fails inside ragas is reported as None, so
each value is asserted, not only its presence."""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.unit

REFERENCE = "The MUE for J1885 is 8 units per day; adjudication indicator 3 allows payment on appeal."
CONTEXT_A = "J1885 has a practitioner MUE of 8 units with adjudication indicator 3."
CONTEXT_B = "Ketorolac tromethamine injection is reported per 15 mg."
UNRELATED = "Kyphoplasty creates a cavity with a balloon before bone cement is injected."


@pytest.fixture(scope="module")
def scorer():
    from eval.ragas_eval import RagasScorer, available

    if not available():
        pytest.skip("ragas is not installed (pip install -e '.[eval]')")
    from rag.providers.embedding import SentenceTransformerEmbedder

    return RagasScorer(embedder=SentenceTransformerEmbedder())


def score(scorer, response: str, retrieved: list[tuple[str, str]], reference: list[tuple[str, str]]):
    return scorer.score(question="How many units of J1885 per day?", response=response, reference=REFERENCE,
                        retrieved_contexts=[text for _, text in retrieved],
                        reference_contexts=[text for _, text in reference],
                        retrieved_ids=[i for i, _ in retrieved], reference_ids=[i for i, _ in reference])


def test_a_perfect_answer_scores_one_everywhere(scorer):
    both = [("a", CONTEXT_A), ("b", CONTEXT_B)]
    scores = score(scorer, REFERENCE, both, both)
    for name in ("non_llm_context_recall", "non_llm_context_precision", "id_context_recall",
                 "id_context_precision", "string_similarity"):
        assert scores[name] == pytest.approx(1.0), (name, scores)
    assert scores["semantic_similarity"] == pytest.approx(1.0, abs=1e-3)
    if "rouge_l" in scorer.metrics:
        assert scores["rouge_l"] == pytest.approx(1.0)


def test_half_the_reference_retrieved_with_two_wrong_passages(scorer):
    retrieved = [("a", CONTEXT_A), ("x", UNRELATED), ("y", "Modifier 25 marks a separate evaluation service.")]
    scores = score(scorer, REFERENCE, retrieved, [("a", CONTEXT_A), ("b", CONTEXT_B)])
    assert scores["id_context_recall"] == pytest.approx(1 / 2)     # a of {a, b}
    assert scores["id_context_precision"] == pytest.approx(1 / 3)  # a of [a, x, y]
    assert scores["non_llm_context_recall"] == pytest.approx(0.5)
    assert 0.0 < scores["non_llm_context_precision"] < 1.0


def test_an_unrelated_answer_scores_low(scorer):
    related = score(scorer, CONTEXT_A, [("a", CONTEXT_A)], [("a", CONTEXT_A)])
    unrelated = score(scorer, UNRELATED, [("a", CONTEXT_A)], [("a", CONTEXT_A)])
    for name in ("string_similarity", "semantic_similarity"):
        assert unrelated[name] < related[name] < 1.0, (name, related[name], unrelated[name])
    assert 0.0 <= unrelated["string_similarity"]
    assert abs(unrelated["semantic_similarity"]) < 0.3 < related["semantic_similarity"]  # a cosine: may dip below 0
    if "rouge_l" in scorer.metrics:
        assert unrelated["rouge_l"] < related["rouge_l"]


def test_metrics_without_their_reference_are_none_not_zero(scorer):
    scores = scorer.score(question="q", response=REFERENCE, reference=REFERENCE, retrieved_contexts=[CONTEXT_A],
                          reference_contexts=[], retrieved_ids=["a"], reference_ids=[])
    assert scores["id_context_recall"] is None and scores["non_llm_context_recall"] is None
    assert scores["string_similarity"] == pytest.approx(1.0)
