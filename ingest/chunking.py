"""Chunk step: sections become passages of a size the embedding model reads whole (256 word pieces)."""

from __future__ import annotations

import os
from functools import lru_cache
from pathlib import Path

CHUNK_TOKENS = 220
OVERLAP_TOKENS = 30


def _point_tiktoken_at_bundled_cache() -> None:
    import llama_index.core

    cache = Path(llama_index.core.__file__).parent / "_static" / "tiktoken_cache"
    os.environ.setdefault("TIKTOKEN_CACHE_DIR", str(cache))


@lru_cache(maxsize=1)
def _splitter():
    _point_tiktoken_at_bundled_cache()
    from llama_index.core.node_parser import SentenceSplitter

    return SentenceSplitter(chunk_size=CHUNK_TOKENS, chunk_overlap=OVERLAP_TOKENS)


def split_text(text: str) -> list[str]:
    """Sentence-aware split; short texts come back whole, without loading the splitter."""
    if len(text.split()) <= CHUNK_TOKENS * 0.6:
        return [text]
    return [chunk for chunk in _splitter().split_text(text) if chunk.strip()]
