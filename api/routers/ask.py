"""POST /v1/ask and POST /v1/ask/stream."""

from __future__ import annotations

import json
import logging

from fastapi import APIRouter, Depends
from sse_starlette.sse import EventSourceResponse
from starlette.concurrency import iterate_in_threadpool, run_in_threadpool

from rag.answer import Answer
from rag.service import clean_question

from api.access import describe_text
from api.cache import MISSING
from api.deps import RuntimeDep, ServiceDep, ServicesDep, access
from api.models import AskRequest
from api.routers.common import ACCESS_RESPONSES
from api.runtime import Runtime

log = logging.getLogger("casepilot.api")
router = APIRouter(prefix="/v1", tags=["answers"], dependencies=[Depends(access)], responses=ACCESS_RESPONSES)


def _log_question(runtime: Runtime, endpoint: str, question: str) -> None:
    log.info("%s question %s", endpoint, describe_text(question, runtime.settings.log_questions))


@router.post("/ask", response_model=Answer, summary="Answer a coding question, every fact cited")
async def ask(body: AskRequest, services: ServicesDep, runtime: RuntimeDep) -> Answer:
    _log_question(runtime, "ask", body.question)
    service = services.query
    cacheable = body.generator == "extractive" or service.generator is None
    key = (body.question, tuple(body.codes), body.top_k, tuple((t.question, t.answer) for t in body.history),
           services.version)
    answer = runtime.cache.get("ask", key) if cacheable else MISSING
    if answer is MISSING:
        # Retrieval embeds the question (~25 ms of torch) and the LLM path waits on a server: a cached answer is
        # served on the event loop, anything else in the thread pool.
        answer = await run_in_threadpool(service.ask, body.question, codes=body.codes, top_k=body.top_k,
                                         generator=body.generator, history=body.history)
        if cacheable:
            runtime.cache.put("ask", key, answer)
    runtime.metrics.answered("ask", answer.abstained, len(answer.removed_codes))
    return answer


SSE_EVENT = {
    "type": "object", "description": "one server-sent event; data is JSON",
    "properties": {"event": {"type": "string", "enum": ["sentence", "token", "citations", "done", "error"]},
                   "data": {"type": "string"}},
    "required": ["data"],
}
STREAM_DOC = """Server-sent events: `sentence` ({text, citations}) as each sentence is ready, or `token`
({text}) on the LLM path; then `citations` ({citations: [...]}); then `done` (the answer without its sentences
and citations: codes, intents, abstained, removed_codes, timings_ms; on the LLM path it also holds the final,
guarded sentences). An `error` event ({error}) ends a stream
that failed after it started."""


@router.post("/ask/stream", summary="Answer a coding question as a stream of server-sent events",
             description=STREAM_DOC,
             responses={200: {"content": {"text/event-stream": {"schema": SSE_EVENT}},
                              "description": "an event stream"}})
async def ask_stream(body: AskRequest, service: ServiceDep, runtime: RuntimeDep):
    _log_question(runtime, "ask/stream", body.question)
    clean_question(body.question, service.settings.max_question_chars)  # a bad question is a 422, not a stream
    events = service.stream(body.question, codes=body.codes, top_k=body.top_k, generator=body.generator,
                            history=body.history)

    async def publish():
        try:
            async for event, data in iterate_in_threadpool(events):
                if event == "done":
                    runtime.metrics.answered("ask_stream", bool(data.get("abstained")),
                                             len(data.get("removed_codes") or []))
                yield {"event": event, "data": json.dumps(data)}
        except Exception as error:
            log.error("stream failed: %s", type(error).__name__, exc_info=error)
            yield {"event": "error", "data": json.dumps({"error": "the answer could not be completed"})}

    return EventSourceResponse(publish(), ping=15)
