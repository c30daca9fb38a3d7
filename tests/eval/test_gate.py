"""The regression gate against the committed baseline, on the real build and on a deliberately broken one.

Uses the session's warm query service (tests/conftest.py): the embedded vector store can be opened once
per process, so the broken variant is the same service with its retriever switched to sparse-only (BM25)
search, a real mode of the real engine, not a mock. Sparse-only search returns no dense similarity, so the
service treats every retrieved passage as weak: the gate must catch it.
"""

from __future__ import annotations

import pytest

from eval.gate import GATED, TOLERANCE, load_baseline, run_gate

pytestmark = [pytest.mark.store, pytest.mark.shared_data]

def test_baseline_is_small_and_names_every_gated_metric():
    baseline = load_baseline()
    assert set(GATED) <= set(baseline["gate"])
    assert set(baseline["gate"]) <= set(GATED) | {"items"}
    assert baseline["tolerance"] == TOLERANCE


def test_gate_passes_on_the_normal_build(query_service):
    result = run_gate(query_service)  # its wall time is benchmarks/bench_gate.py's figure, not asserted here
    print("\n" + result.table())
    assert result.passed, result.failures


@pytest.mark.parametrize("mode", ["sparse"])
def test_gate_fails_when_retrieval_is_broken(query_service, mode):
    retriever = query_service.retriever
    previous = retriever.mode
    retriever.mode = mode
    try:
        result = run_gate(query_service)
    finally:
        retriever.mode = previous
    print("\n" + result.table())
    assert not result.passed
    assert any(f.startswith(("fact_recall", "false_refusal_rate", "hit@5", "mrr")) for f in result.failures)


def test_run_writes_a_report_folder(query_service, tmp_path):
    """A small run with the offline ragas metrics through the same service, written as a report folder."""
    import json

    from eval.data import SETS_DIR
    from eval.ragas_eval import RagasScorer, available
    from eval.report import write_report
    from eval.runner import Runner, read_items, summarize

    if not available():
        pytest.skip("ragas is not installed (pip install -e '.[eval]')")
    items = read_items(SETS_DIR / "core.jsonl")
    chosen = [next(i for i in items if i["intent"] == intent) for intent in
              ("guideline", "pair_check", "units", "code_lookup", "refuse", "open")]
    scorer = RagasScorer(embedder=query_service.retriever.embedder)
    runner = Runner(query_service, scorer)
    results = runner.run({"core": chosen})
    baselines = runner.run_baselines({"core": chosen})
    summary = summarize(results, baselines)
    write_report(tmp_path, results, summary, {"name": "test", "set_sizes": {"core": len(chosen)}})
    for name in ("results.json", "summary.json", "summary.md", "metric_per_intent.png", "latency.png",
                 "hit_at_k.png"):
        assert (tmp_path / name).stat().st_size > 0, name
    assert len(json.loads((tmp_path / "results.json").read_text())) == len(chosen)
    ragas = summary["headline"]["ragas"]
    # ranges here; known values on constructed cases in tests/eval/test_ragas.py
    assert ragas["id_context_recall"] is not None and 0.0 <= ragas["id_context_recall"] <= 1.0, ragas
    assert ragas["semantic_similarity"] is not None and 0.0 < ragas["semantic_similarity"] <= 1.0, ragas
    markdown = (tmp_path / "summary.md").read_text()
    assert "| Retrieval hit@5 |" in markdown
    headline = summary["headline"]
    assert headline["direct_answer_items"] == len(chosen)  # every chosen item has a code, a fact or must abstain
    assert 0.0 <= headline["fragment_rate"] <= 1.0 and headline["answer_sentences"] >= len(chosen)
    assert summary["baselines"]["echo"]["answers"] == len(chosen)
    assert summary["baselines"]["echo"]["abstentions"] == 0  # the echo never declines
    assert "| metric | CasePilot | top passage | echo |" in markdown and "| Direct-answer accuracy |" in markdown
