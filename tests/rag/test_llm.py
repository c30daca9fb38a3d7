"""The LLM generator path for real: llama.cpp's OpenAI-compatible server (xllamacpp) with SmolLM2-135M on
127.0.0.1, reached through llama-index's OpenAILike (rag/providers/llm.py).

These tests check the plumbing, not the answers (a 135M model writes poor ones): an answer comes back, every
sentence shown carries a valid citation, and the guard ran on what the model wrote.
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


def test_ask_with_the_llm(llm_tiny, llm_server, capsys):
    started = time.perf_counter()
    answer = llm_tiny.ask("Can 22511 and 22514 be billed together?", generator="llm")
    elapsed = time.perf_counter() - started
    with capsys.disabled():
        print(f"\n[llm] ask: {elapsed:.2f} s (model {answer.timings_ms.get('llm_ms', 0) / 1000:.2f} s), "
              f"generator {answer.generator}")
    assert "llm_ms" in answer.timings_ms and answer.timings_ms["llm_ms"] > 0
    assert answer.generator in (f"llm:{llm_server[1]}", "extractive")  # extractive when no sentence was supported
    assert answer.ptp and answer.ptp[0].column1 == "22511"  # the exact findings travel with any generator
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
    service = service_with(tiny_service, url, model, InventingGenerator(real))
    started = time.perf_counter()
    events = list(service.stream("How many units of J1885 per day?", generator="llm"))
    elapsed = time.perf_counter() - started
    with capsys.disabled():
        print(f"\n[llm] stream: {elapsed:.2f} s, {sum(1 for k, _ in events if k == 'token')} token events")
    kinds = [kind for kind, _ in events]
    assert kinds[-2:] == ["citations", "done"]
    streamed = "".join(data["text"] for kind, data in events if kind == "token")
    assert "22519" not in streamed and "99999" not in streamed  # guarded before it was sent
    done = events[-1][1]
    assert {"22519", "99999"} <= set(done["removed_codes"])
    assert done["generator"] in (f"llm:{model}", "extractive")
    if done["generator"] == "extractive":
        assert "sentence" in kinds
    else:
        assert "token" in kinds
    assert "22519" not in done["answer"]


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
