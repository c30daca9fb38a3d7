"""ragas metrics that run offline, and (with an LLM endpoint configured) the LLM-judged ones.

Telemetry is switched off before ragas is imported (RAGAS_DO_NOT_TRACK=true). The semantic-similarity
metric uses the project's own local embedding model (SentenceTransformerEmbedder), wrapped for ragas, so
nothing reaches the network. ragas 0.4 keeps the non-LLM context metrics in ``ragas.metrics`` (the
legacy single-turn API); its deprecation warnings are silenced here.
"""

from __future__ import annotations

import logging
import os
import warnings
from typing import Any, Sequence

os.environ["RAGAS_DO_NOT_TRACK"] = "true"
os.environ.setdefault("HF_HUB_OFFLINE", "1")

log = logging.getLogger("eval")

OFFLINE_METRICS = ("non_llm_context_recall", "non_llm_context_precision", "id_context_recall",
                   "id_context_precision", "string_similarity", "rouge_l", "semantic_similarity")
LLM_METRICS = ("faithfulness", "llm_context_recall", "response_relevancy")


def available() -> bool:
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            import ragas  # noqa: F401
    except ImportError:
        return False
    return True


def _embeddings(embedder):
    from ragas.embeddings.base import BaseRagasEmbeddings
    from ragas.run_config import RunConfig

    class LocalEmbeddings(BaseRagasEmbeddings):
        """The project's sentence-transformers model behind ragas' embeddings interface."""

        def __init__(self, inner):
            super().__init__()
            self.inner = inner
            self.set_run_config(RunConfig(max_retries=0, timeout=60))

        def embed_query(self, text: str) -> list[float]:
            return self.inner.embed_query(text).tolist()

        def embed_documents(self, texts: list[str]) -> list[list[float]]:
            # ragas embeds one or two short texts at a time: the query path (single-threaded, cached) is
            # much faster for that than a batch encode competing for every core.
            return [self.inner.embed_query(text).tolist() for text in texts]

        async def aembed_query(self, text: str) -> list[float]:
            return self.embed_query(text)

        async def aembed_documents(self, texts: list[str]) -> list[list[float]]:
            return self.embed_documents(texts)

    return LocalEmbeddings(embedder)


class RagasScorer:
    """Scores one sample at a time with the offline metrics (and the LLM ones when an LLM is given)."""

    def __init__(self, embedder=None, llm_base_url: str | None = None, llm_model: str = "local",
                 llm_api_key: str = "not-needed"):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            from ragas import SingleTurnSample
            from ragas.metrics import (IDBasedContextPrecision, IDBasedContextRecall,
                                       NonLLMContextPrecisionWithReference, NonLLMContextRecall,
                                       NonLLMStringSimilarity, SemanticSimilarity, StringPresence)

            self.Sample = SingleTurnSample
            self.metrics: dict[str, Any] = {
                "non_llm_context_recall": NonLLMContextRecall(),
                "non_llm_context_precision": NonLLMContextPrecisionWithReference(),
                "id_context_recall": IDBasedContextRecall(),
                "id_context_precision": IDBasedContextPrecision(),
                "string_similarity": NonLLMStringSimilarity(),
            }
            self.string_presence = StringPresence()
            try:
                import rouge_score  # noqa: F401
                from ragas.metrics import RougeScore

                self.metrics["rouge_l"] = RougeScore(rouge_type="rougeL", mode="fmeasure")
            except ImportError:
                log.warning("rouge_score is not installed: ragas RougeScore skipped (pip install rouge-score)")
            if embedder is not None:
                self.metrics["semantic_similarity"] = SemanticSimilarity(embeddings=_embeddings(embedder))
            if llm_base_url:
                self._add_llm_metrics(llm_base_url, llm_model, llm_api_key, embedder)

    def _add_llm_metrics(self, base_url: str, model: str, api_key: str, embedder) -> None:
        from langchain_openai import ChatOpenAI
        from ragas.llms import LangchainLLMWrapper
        from ragas.metrics import Faithfulness, LLMContextRecall, ResponseRelevancy

        llm = LangchainLLMWrapper(ChatOpenAI(base_url=base_url, model=model, api_key=api_key, temperature=0,
                                             max_retries=0, timeout=120))
        self.metrics["faithfulness"] = Faithfulness(llm=llm)
        self.metrics["llm_context_recall"] = LLMContextRecall(llm=llm)
        if embedder is not None:
            self.metrics["response_relevancy"] = ResponseRelevancy(llm=llm, embeddings=_embeddings(embedder))

    def score(self, *, question: str, response: str, reference: str, retrieved_contexts: Sequence[str],
              reference_contexts: Sequence[str], retrieved_ids: Sequence[str], reference_ids: Sequence[str]
              ) -> dict[str, float | None]:
        sample = self.Sample(user_input=question, response=response, reference=reference,
                             retrieved_contexts=list(retrieved_contexts) or [""],
                             reference_contexts=list(reference_contexts) or None,
                             retrieved_context_ids=list(retrieved_ids) or [""],
                             reference_context_ids=list(reference_ids) or None)
        scores: dict[str, float | None] = {}
        for name, metric in self.metrics.items():
            needs_contexts = name in ("non_llm_context_recall", "non_llm_context_precision", "llm_context_recall")
            if needs_contexts and not reference_contexts:
                scores[name] = None
                continue
            if name.startswith("id_context") and not reference_ids:
                scores[name] = None
                continue
            if name in ("faithfulness",) and not retrieved_contexts:
                scores[name] = None
                continue
            try:
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore")
                    value = metric.single_turn_score(sample)
                scores[name] = None if value is None or value != value else float(value)
            except Exception as error:  # one metric failing must not stop the run; it is reported as None
                log.debug("ragas %s failed: %s", name, error)
                scores[name] = None
        return scores

    def string_present(self, response: str, fact: str) -> float:
        sample = self.Sample(user_input="", response=response.lower(), reference=fact.lower())
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return float(self.string_presence.single_turn_score(sample))


def exact_match(response: str, reference: str) -> float:
    """ragas ExactMatch (used for description-to-code top-1)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        from ragas import SingleTurnSample
        from ragas.metrics import ExactMatch

        return float(ExactMatch().single_turn_score(SingleTurnSample(response=response, reference=reference)))
