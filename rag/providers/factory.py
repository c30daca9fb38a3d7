"""The one place providers are chosen from Settings: embedder, vector store, LLM generator."""

from __future__ import annotations

from rag.providers.embedding import Embedder
from rag.providers.llm import Generator
from rag.settings import Settings
from rag.stores.vectors import VectorStore, open_vector_store


def make_embedder(settings: Settings) -> Embedder:
    from rag.providers.embedding import SentenceTransformerEmbedder

    return SentenceTransformerEmbedder(settings.embedding_model, settings.embedding_batch_size,
                                       query_threads=settings.query_threads or None)


def make_vector_store(settings: Settings) -> VectorStore:
    return open_vector_store(settings)


def make_generator(settings: Settings) -> Generator | None:
    """The optional LLM generator the settings name (an OpenAI-compatible endpoint), or None."""
    if not settings.llm_base_url:
        return None
    from rag.providers.llm import OpenAICompatibleGenerator

    return OpenAICompatibleGenerator(settings.llm_base_url, settings.llm_model, settings.llm_api_key,
                                     settings.llm_timeout_s, settings.llm_max_tokens)
