"""The LLM generator path for real: llama.cpp's OpenAI-compatible server (xllamacpp) with SmolLM2-135M on
127.0.0.1, reached through llama-index's OpenAILike (rag/providers/llm.py).

These tests check the plumbing, not the answers (a 135M model writes poor ones): the answer is the model's (its
generator is the LLM's and every sentence shown is one the model wrote, recorded on its way out of the real
generator), every sentence carries a valid citation, and the guard ran on what the model wrote. The questions are
ones this model, at temperature 0, answers from its sources; for others it may write nothing usable, and the
service then answers extractively (a fallback tested on its own below).
"""

from __future__ import annotations

import time

import pytest

from rag.codes import codes_in
from rag.providers.llm import OpenAICompatibleGenerator
from rag.service import QueryService
from rag.settings import Settings

pytestmark = pytest.mark.llm

INVENTED = "Also bill 22519 and 99999 with it [1]. "
UNITS_QUESTION = "How many units of J1885 per day?"


class RecordingGenerator:
    """The real generator, unchanged, keeping what the model wrote so a test can tell its sentences apart."""

    def __init__(self, inner):
        self.inner, self.name = inner, inner.name
        self.written: list[str] = []

    def generate(self, question, citations, facts):
        sentences = self.inner.generate(question, citations, facts)
        self.written.append(" ".join(s.text for s in sentences))
        return sentences

    def stream(self, question, citations, facts):
        tokens = []
        for token in self.inner.stream(question, citations, facts):
            tokens.append(token)
            yield token
        self.written.append("".join(tokens))


def assert_written_by(sentences, written: str, extractive: list[str]):
    """Every sentence is the model's text (markers stripped; the guard removes a sentence whole, never edits it),
    and the sentences are not the extractive answer's. The premise matters: this model copies its draft almost
    word for word, so containment alone would pass on a silent extractive fallback; at temperature 0 it splits
    the units answer into two sentences where the extractive answer has one."""
    assert sentences
    for text in sentences:
        assert text.strip(" .,;") in written, (text, written)
    assert list(sentences) != extractive, f"the extractive answer, not the model's: {extractive}"


class InventingGenerator:
    """The real model's output with two made-up codes added, so the guard has something certain to remove."""

    def __init__(self, inner: OpenAICompatibleGenerator):
        self.inner, self.name = inner, inner.name

    def generate(self, question, citations, facts):
        from rag.providers.llm import parse_sentences

        sentences = self.inner.generate(question, citations, facts)
        return parse_sentences(INVENTED, {c.marker for c in citations}) + sentences

    def stream(self, question, citations, facts):
        yield INVENTED
        yield from self.inner.stream(question, citations, facts)


def service_with(base: QueryService, url: str, model: str, generator=None) -> QueryService:
    settings = base.settings.model_copy(update={"llm_base_url": url, "llm_model": model, "llm_timeout_s": 120.0})
    real = OpenAICompatibleGenerator(url, model, settings.llm_api_key, settings.llm_timeout_s, 128)
    return QueryService(settings, base.reference, base.retriever, generator or real)


def assert_valid(answer):
    markers = {c.marker for c in answer.citations}
    assert answer.sentences and answer.answer
    for sentence in answer.sentences:
        assert sentence.citations and set(sentence.citations) <= markers
        for code in codes_in(sentence.text):
            check = next(c for c in answer.codes if c.code == code)
            assert check.status != "unknown"
            assert any(code in c.codes or code in c.snippet for c in answer.citations if c.marker in sentence.citations)


@pytest.fixture(scope="module")
def llm_tiny(tiny_service, llm_server):
    url, model = llm_server
    return service_with(tiny_service, url, model)


def test_settings_build_the_generator(llm_server):
    from rag.providers.factory import make_generator

    url, model = llm_server
    generator = make_generator(Settings(llm_base_url=url, llm_model=model))
    assert isinstance(generator, OpenAICompatibleGenerator) and generator.name == f"llm:{model}"
    assert make_generator(Settings()) is None


def test_ask_with_the_llm(tiny_service, llm_server, capsys):
    url, model = llm_server
    recorder = RecordingGenerator(OpenAICompatibleGenerator(url, model, "not-needed", 120.0, 128))
    service = service_with(tiny_service, url, model, recorder)
    started = time.perf_counter()
    answer = service.ask(UNITS_QUESTION, generator="llm")
    elapsed = time.perf_counter() - started
    with capsys.disabled():
        print(f"\n[llm] ask: {elapsed:.2f} s (model {answer.timings_ms.get('llm_ms', 0) / 1000:.2f} s), "
              f"generator {answer.generator}")
    assert "llm_ms" in answer.timings_ms and answer.timings_ms["llm_ms"] > 0
    assert answer.generator == f"llm:{model}"
    assert len(recorder.written) == 1
    extractive = [s.text for s in tiny_service.ask(UNITS_QUESTION).sentences]
    assert_written_by([s.text for s in answer.sentences], recorder.written[0], extractive)
    assert answer.mue and answer.mue[0].value == 8  # the exact findings travel with any generator
    assert_valid(answer)


def test_the_guard_removes_codes_the_model_invents(tiny_service, llm_server):
    url, model = llm_server
    real = OpenAICompatibleGenerator(url, model, "not-needed", 120.0, 128)
    service = service_with(tiny_service, url, model, InventingGenerator(real))
    answer = service.ask("Can 22511 and 22514 be billed together?", generator="llm")
    assert {"22519", "99999"} <= set(answer.removed_codes)
    assert "22519" not in answer.answer and "99999" not in answer.answer
    assert_valid(answer)


def test_stream_with_the_llm(tiny_service, llm_server, capsys):
    url, model = llm_server
    real = OpenAICompatibleGenerator(url, model, "not-needed", 120.0, 128)
    recorder = RecordingGenerator(real)
    service = service_with(tiny_service, url, model, InventingGenerator(recorder))
    started = time.perf_counter()
    events = list(service.stream(UNITS_QUESTION, generator="llm"))
    elapsed = time.perf_counter() - started
    with capsys.disabled():
        print(f"\n[llm] stream: {elapsed:.2f} s, {sum(1 for k, _ in events if k == 'token')} token events")
    kinds = [kind for kind, _ in events]
    assert kinds[-2:] == ["citations", "done"]
    streamed = "".join(data["text"] for kind, data in events if kind == "token")
    assert "22519" not in streamed and "99999" not in streamed  # guarded before it was sent
    done = events[-1][1]
    assert {"22519", "99999"} <= set(done["removed_codes"])
    assert done["generator"] == f"llm:{model}"
    assert "token" in kinds and "sentence" not in kinds
    assert streamed.strip() == done["answer"]  # the tokens sent are the final, guarded answer
    model_sentences = [s["text"] for s in done["sentences"] if not s["text"].startswith("Also bill")]
    extractive = [s.text for s in tiny_service.ask(UNITS_QUESTION).sentences]
    assert_written_by(model_sentences, recorder.written[0], extractive)  # the rest is the model's
    assert "22519" not in done["answer"]


def test_llm_tokens_over_http(tiny_service, tiny_data_dir, llm_server):
    """POST /v1/ask/stream with generator=llm on a real uvicorn server: token events carry the model's text."""
    import httpx
    from loopback import ThreadServer, parse_sse

    from api.main import create_app

    url, model = llm_server
    recorder = RecordingGenerator(OpenAICompatibleGenerator(url, model, "not-needed", 120.0, 128))
    from rag.app import CasePilot

    settings = tiny_service.settings.model_copy(update={"response_cache_size": 0})
    casepilot = CasePilot(settings, embedder=None, vector_store=None, generator=recorder)  # the tiny store, no vectors
    app = create_app(settings, casepilot=casepilot)
    with ThreadServer(app) as server, httpx.Client(base_url=server.url, timeout=300) as client:
        with client.stream("POST", "/v1/ask/stream", json={"question": UNITS_QUESTION, "generator": "llm"}) as r:
            assert r.status_code == 200
            body = r.read().decode()
        answer = client.post("/v1/ask", json={"question": UNITS_QUESTION, "generator": "llm"}).json()
    events = parse_sse(body)
    kinds = [name for name, _ in events]
    assert kinds[-2:] == ["citations", "done"] and set(kinds[:-2]) == {"token"}, kinds
    done = events[-1][1]
    assert done["generator"] == f"llm:{model}"
    assert "".join(data["text"] for name, data in events if name == "token").strip() == done["answer"]
    extractive = [s.text for s in tiny_service.ask(UNITS_QUESTION).sentences]
    assert_written_by([s["text"] for s in done["sentences"]], recorder.written[0], extractive)
    assert answer["generator"] == f"llm:{model}"
    assert_written_by([s["text"] for s in answer["sentences"]], recorder.written[1], extractive)


def test_an_unreachable_endpoint_falls_back_to_the_extractive_answer(tiny_service):
    service = service_with(tiny_service, "http://127.0.0.1:9/v1", "none")
    answer = service.ask("How many units of J1885 per day?", generator="llm")
    assert answer.generator == "extractive" and "8 units" in answer.answer


def test_off_topic_question_abstains_without_calling_the_model(llm_tiny):
    answer = llm_tiny.ask("What is the capital of France?", generator="llm")
    assert answer.abstained and "llm_ms" not in answer.timings_ms
    events = list(llm_tiny.stream("What is the capital of France?", generator="llm"))
    assert events[-1][1]["abstained"] and not any(kind == "token" for kind, _ in events)


@pytest.mark.store
@pytest.mark.shared_data
def test_llm_over_retrieved_passages(rag_service, llm_server, capsys):
    url, model = llm_server
    service = service_with(rag_service, url, model)
    started = time.perf_counter()
    answer = service.ask("Does Medicare cover kyphoplasty?", generator="llm")
    with capsys.disabled():
        print(f"\n[llm] retrieval-backed ask: {time.perf_counter() - started:.2f} s, generator {answer.generator}")
    assert not answer.abstained
    assert_valid(answer)
