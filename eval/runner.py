"""Running question sets against a QueryService and scoring every item.

Two kinds of set:
- question sets (core, extended, ptp_gen, mue_gen): each question goes through ``QueryService.ask`` (the
  product path, with the item's earlier turns when it has a ``history``) and, separately, through the retriever at
  k=10 for ranking metrics; every answer is also scored as a coder reads it (eval/answer_metrics.py);
- description-to-code sets (hcpcs_desc, icd10cm_desc): the descriptor goes through
  ``QueryService.search_codes`` and the top hit is compared with the code.
"""

from __future__ import annotations

import json
import logging
import re
import time
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Callable, Iterable, Mapping, Sequence

from eval import answer_metrics as A
from eval import metrics as M
from eval.baselines import score_baselines
from eval.coder import history_turns
from eval.data import CORPORA, SETS_DIR
from eval.generate import ASK_SETS

log = logging.getLogger("eval")

INTENTS = ("code_lookup", "pair_check", "units", "modifier", "coverage", "guideline", "open", "refuse")
EXACT_INTENTS = ("code_lookup", "pair_check", "units")
DESCRIPTION_SETS = {"hcpcs_desc": "HCPCS", "icd10cm_desc": "ICD10CM", "hcpcs_desc_noisy": "HCPCS",
                    "icd10cm_desc_noisy": "ICD10CM"}
GENERATED_SETS = ("ptp_gen", "mue_gen", "hcpcs_desc", "icd10cm_desc", "hcpcs_desc_noisy", "icd10cm_desc_noisy")
RETRIEVAL_K = 10
CODE_DATASETS = {"cpt": "CPT", "cpt_licensed": "CPT", "hcpcs": "HCPCS", "icd10cm": "ICD10CM",
                 "modifiers": "MODIFIER"}
REQUIRED_KEYS = ("id", "question", "intent", "expected_codes", "expected_facts", "reference_answer",
                 "supporting_ids", "must_abstain")


# ---------------------------------------------------------------- sets


def committed_sets() -> list[str]:
    return sorted(p.stem for p in SETS_DIR.glob("*.jsonl"))


def read_items(path: Path) -> list[dict]:
    items = []
    for number, line in enumerate(Path(path).read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip():
            continue
        item = json.loads(line)
        missing = [k for k in REQUIRED_KEYS if k not in item]
        if missing:
            raise ValueError(f"{path}:{number}: item lacks {', '.join(missing)}")
        if item["intent"] not in INTENTS:
            raise ValueError(f"{path}:{number}: unknown intent {item['intent']!r}")
        items.append(item)
    return items


def resolve_sets(spec: str, generated_dir: Path | None) -> dict[str, Path]:
    """'core', 'core,extended', 'all' (every committed set plus every generated one found); the /v1/ask sets
    (ASK_SETS) only by name."""
    names = [s.strip() for s in spec.split(",") if s.strip()]
    if "all" in names:
        names = committed_sets() + list(GENERATED_SETS)
    paths: dict[str, Path] = {}
    for name in dict.fromkeys(names):
        committed = SETS_DIR / f"{name}.jsonl"
        generated = Path(generated_dir) / f"{name}.jsonl" if generated_dir else None
        if committed.exists():
            paths[name] = committed
        elif generated is not None and generated.exists():
            paths[name] = generated
        elif name in GENERATED_SETS or name in ASK_SETS:
            log.warning("generated set %s not found (no ../shared/data, or not generated)", name)
        else:
            raise ValueError(f"unknown question set {name!r}; committed sets: {', '.join(committed_sets())}; "
                             f"generated: {', '.join((*GENERATED_SETS, *ASK_SETS))}")
    return paths


# ---------------------------------------------------------------- ids and contexts


class Contexts:
    """Turns citations and hits into source ids, and source ids into reference context text."""

    def __init__(self, service):
        self.service = service
        self.titles: dict[tuple[str, str], str] = {}  # (source, title) -> "source:doc_id"
        self._guidelines: dict[str, list[str]] = {}
        for path in sorted((CORPORA / "guidelines").glob("*.md")):
            match = re.search(r"^title:\s*(.+)$", path.read_text(encoding="utf-8"), re.M)
            if match:
                self.titles[("guidelines", match.group(1).strip())] = f"guidelines:{path.stem}"

    def learn(self, hits) -> None:
        for hit in hits:
            p = hit.passage
            self.titles.setdefault((p.source, p.title), f"{p.source}:{p.doc_id}")

    @staticmethod
    def hit_id(hit) -> str:
        return f"{hit.passage.source}:{hit.passage.doc_id}"

    def citation_id(self, citation) -> str:
        source = citation.source
        codes = list(citation.codes)
        if citation.kind == "reference":
            if source.startswith("ptp_"):
                return f"{source}:{'|'.join(codes[:2])}"
            if source.startswith("mue_"):
                return f"{source}:{codes[0] if codes else ''}"
            if source in CODE_DATASETS and codes:
                code_set = "MODIFIER" if len(codes[0]) == 2 else CODE_DATASETS[source]
                return f"{source}:{code_set}:{codes[0]}"
            return f"{source}:{citation.locator}"
        if (source, citation.title) in self.titles:
            return self.titles[(source, citation.title)]
        if source in CODE_DATASETS and codes:
            code_set = "MODIFIER" if source == "modifiers" else CODE_DATASETS[source]
            return f"{source}:{code_set}:{codes[0]}"
        return f"{source}:{citation.title}"

    def _guideline_sections(self, stem: str) -> list[str]:
        if stem not in self._guidelines:
            path = CORPORA / "guidelines" / f"{stem}.md"
            text = path.read_text(encoding="utf-8") if path.exists() else ""
            text = re.sub(r"\A---\s*\n.*?\n---\s*\n", "", text, flags=re.S)
            self._guidelines[stem] = [s.strip() for s in re.split(r"^## ", text, flags=re.M)[1:] if s.strip()]
        return self._guidelines[stem]

    def reference_text(self, identifier: str, hint: str) -> str | None:
        """The text a supporting id stands for (for ragas' non-LLM context metrics)."""
        source, _, rest = identifier.partition(":")
        reference = self.service.reference
        if source == "guidelines":
            sections = self._guideline_sections(rest)
            if not sections:
                return None
            wanted = M.terms(hint)
            return max(sections, key=lambda s: len(wanted & M.terms(s)))
        if source.startswith("ptp_"):
            a, _, b = rest.partition("|")
            edits = reference.ptp_pair(a, b, source)
            if not edits:
                return f"no row for {a}/{b}"
            e = edits[0].fact
            return f"{e.column1}\t{e.column2}\tmodifier {e.modifier_indicator}\t{e.rationale}"
        if source.startswith("mue_"):
            limits = reference.mue(rest, source)
            if not limits:
                return f"no row for {rest}"
            m = limits[0].fact
            return f"{rest},{m.value},{m.adjudication_indicator},{m.rationale}"
        code = rest.split(":")[-1]
        for sourced in reference.lookup_code(code):
            record = sourced.fact
            return record.lay_description or record.long_description or record.short_description
        return None


# ---------------------------------------------------------------- one item


@dataclass
class Runner:
    service: object
    scorer: object | None = None  # eval.ragas_eval.RagasScorer
    generator: str = "extractive"
    contexts: Contexts = field(init=False)

    def __post_init__(self):
        self.contexts = Contexts(self.service)
        retriever = getattr(self.service, "retriever", None)
        self.passage_sources = retriever.sources() if retriever is not None else set()
        self.loaded_code_sets = self._loaded_code_sets()

    def _loaded_code_sets(self) -> set[str]:
        found = set()
        for code_set in ("CPT", "HCPCS", "ICD10CM", "MODIFIER"):
            if next(iter(self.service.reference.iter_codes(code_set)), None) is not None:
                found.add(code_set)
        return found

    def is_known(self, code: str) -> bool:
        return self.service.check(code, suggest=False).status != "unknown"

    def boost_codes(self, question: str) -> list[str]:
        """The codes and modifiers the service itself would boost with (QueryService.gather)."""
        from rag.intents import understand

        understood = understand(question)
        valid = []
        for mention in understood.recognized.codes:
            if self.service.check(mention.code, mention.code_set, suggest=False).status != "unknown":
                valid.append(mention.code)
        return list(dict.fromkeys(valid)) + understood.recognized.modifiers

    def code_status(self, code: str) -> str:
        from rag.findings.codes import check_code

        return check_code(self.service.reference, code).status

    def pair_edited(self, code_a: str, code_b: str) -> bool:
        """An edit in force today pairs the codes in a loaded PTP table (the product reports an edit that is not
        in force on the date of service as an edit, never as "no edit")."""
        from rag.stores.schema import DATASETS

        store = self.service.reference
        today = int(date.today().strftime("%Y%m%d"))
        tables = [name for name in store.releases() if DATASETS[name].kind == "ptp"]
        return any(s.fact.active_on(today) for table in tables for s in store.ptp_pair(code_a, code_b, table))

    def answer_level(self, item: dict, answer) -> dict:
        plain = A.PlainAnswer(sentences=[(s.text, s.citations) for s in answer.sentences],
                              citation_ids={c.marker: self.contexts.citation_id(c) for c in answer.citations},
                              abstained=answer.abstained)
        return A.score_answer(item, plain, self.code_status, self.pair_edited)

    def retrieve_ids(self, question: str) -> tuple[list[str], list, float]:
        retriever = self.service.retriever
        if retriever is None:
            return [], [], 0.0
        started = time.perf_counter()
        retrieved = retriever.retrieve(question, limit=RETRIEVAL_K, boost_codes=self.boost_codes(question))
        elapsed = (time.perf_counter() - started) * 1000
        self.contexts.learn(retrieved.hits)
        return M.dedupe(self.contexts.hit_id(h) for h in retrieved.hits), retrieved.hits, elapsed

    def run_question(self, item: dict, set_name: str, with_retrieval: bool = True) -> dict:
        from rag.codes import codes_in, recognize
        from rag.service import QuestionError

        result = {"set": set_name, "id": item["id"], "intent": item["intent"], "question": item["question"],
                  "must_abstain": bool(item["must_abstain"]), "generator": self.generator}
        if item.get("coder_intent"):
            result["coder_intent"] = item["coder_intent"]
        expected_passages = [i for i in item["supporting_ids"] if i.split(":", 1)[0] in self.passage_sources]
        # The product path first, so its latency includes the query embedding (the retriever caches it).
        started = time.perf_counter()
        try:
            answer = self.service.ask(item["question"], generator=self.generator, history=history_turns(item))
        except QuestionError as error:
            result.update(error=str(error), latency_ms=(time.perf_counter() - started) * 1000)
            return result
        latency = (time.perf_counter() - started) * 1000
        if with_retrieval and expected_passages:
            ranked, _, retrieval_ms = self.retrieve_ids(item["question"])
            result["retrieved_ids"] = ranked
            result["retrieval_ms"] = round(retrieval_ms, 2)
            result["expected_passages"] = expected_passages
            result["retrieval"] = M.retrieval_scores(expected_passages, ranked)
        citations = {c.marker: c for c in answer.citations}
        cited_ids = M.dedupe(self.contexts.citation_id(c) for c in answer.citations)
        valid_codes = [c.code for c in answer.codes if c.status != "unknown"]
        result.update(
            answer=answer.answer, abstained=answer.abstained, predicted_intents=list(answer.intents),
            citation_ids=cited_ids, latency_ms=round(latency, 2), timings_ms=answer.timings_ms,
            removed_codes=list(answer.removed_codes), generated_by=answer.generator,
        )
        result["answer_level"] = self.answer_level(item, answer)
        facts = item["expected_facts"]
        result["facts_found"] = M.fact_presence(answer.answer, facts)
        result["fact_recall"] = M.fact_recall(answer.answer, facts)
        result["refusal_correct"] = M.refusal_correct(item["must_abstain"], answer.abstained, answer.answer,
                                                      bool(answer.citations))
        if item["intent"] in EXACT_INTENTS:
            result["exact_correct"] = M.exact_correct(answer.answer, facts, item["expected_codes"], valid_codes)
        if item["intent"] != "refuse":
            result["intent_routed"] = item["intent"] in answer.intents
        audit = M.audit_codes(
            [(s.text, s.citations) for s in answer.sentences],
            {m: (c.codes, c.snippet) for m, c in citations.items()},
            [m.code for m in recognize(item["question"]).codes],
            self.is_known, codes_in)
        result["codes_in_answer"] = audit.codes
        result["invented_codes"] = audit.invented
        result["ungrounded_codes"] = audit.ungrounded
        supported = []
        for sentence in answer.sentences:
            for marker in sentence.citations:
                c = citations.get(marker)
                if c is not None:
                    supported.append(M.citation_supports(sentence.text, c, codes_in))
        result["cited_sentences"] = len(supported)
        result["supported_sentences"] = sum(supported)
        if item["supporting_ids"]:
            expected = [M.normalize_id(i) for i in item["supporting_ids"]]
            result["answer_context"] = {
                "recall": len(set(expected) & {M.normalize_id(i) for i in cited_ids}) / len(set(expected)),
            }
        if self.scorer is not None and not item["must_abstain"]:
            hint = " ".join([item["reference_answer"], *facts])
            reference_contexts = [t for t in (self.contexts.reference_text(i, hint) for i in item["supporting_ids"])
                                  if t]
            result["ragas"] = self.scorer.score(
                question=item["question"], response=answer.answer, reference=item["reference_answer"],
                retrieved_contexts=[c.snippet for c in answer.citations], reference_contexts=reference_contexts,
                retrieved_ids=[M.normalize_id(i) for i in cited_ids],
                reference_ids=[M.normalize_id(i) for i in item["supporting_ids"]])
        return result

    def run_description(self, item: dict, set_name: str) -> dict:
        code_set = DESCRIPTION_SETS[set_name]
        expected = item["expected_codes"][0]
        result = {"set": set_name, "id": item["id"], "intent": "description_to_code", "question": item["question"],
                  "code_set": code_set, "expected": expected}
        if code_set not in self.loaded_code_sets:
            result["skipped"] = f"{code_set} is not loaded in the reference store"
            return result
        started = time.perf_counter()
        hits = self.service.search_codes(item["question"], limit=10, code_sets=[code_set])
        result["latency_ms"] = round((time.perf_counter() - started) * 1000, 2)
        ranked = [h.code for h in hits]
        result["ranked"] = ranked
        top1 = ranked[0] if ranked else ""
        from eval.ragas_eval import available, exact_match

        result["top1"] = exact_match(top1, expected) if available() else float(top1 == expected)
        result["hit@5"] = float(expected in ranked[:5])
        result["hit@10"] = float(expected in ranked[:10])
        return result

    def run(self, sets: dict[str, list[dict]], progress: Callable[[str], None] | None = None,
            with_retrieval: bool = True, questions_only: bool = False) -> list[dict]:
        """Every item of every set; ``questions_only`` leaves the description-to-code sets out (they do not
        depend on the generator)."""
        results = []
        for name, items in sets.items():
            if questions_only and name in DESCRIPTION_SETS:
                continue
            for item in items:
                if name in DESCRIPTION_SETS:
                    results.append(self.run_description(item, name))
                else:
                    results.append(self.run_question(item, name, with_retrieval))
                if progress:
                    progress(name)
        return results

    def run_baselines(self, sets: dict[str, list[dict]],
                      progress: Callable[[str], None] | None = None) -> dict[str, list[dict]]:
        """The echo and top-passage baselines (eval/baselines.py) on the question sets."""
        questions = {name: items for name, items in sets.items() if name not in DESCRIPTION_SETS}
        return score_baselines(questions, getattr(self.service, "retriever", None), Contexts.hit_id,
                               self.code_status, self.pair_edited, progress)


# ---------------------------------------------------------------- summary


def _mean_of(results: Iterable[dict], key: Callable[[dict], float | None]) -> float | None:
    return M.mean(key(r) for r in results)


def answer_level(rows: Iterable[dict]) -> dict:
    """The pooled answer-level metrics (eval/answer_metrics.py) of the rows that were answered."""
    return A.summarize([r["answer_level"] for r in rows if "answer_level" in r])


def answer_level_by(rows: Sequence[dict], key: str) -> dict[str, dict]:
    """Answer-level metrics per value of ``key`` (set, intent, coder_intent), rows lacking it left out."""
    groups = dict.fromkeys(r[key] for r in rows if r.get(key))
    return {group: answer_level(r for r in rows if r.get(key) == group) for group in groups}


def summarize(results: Sequence[dict], baselines: Mapping[str, Sequence[dict]] | None = None,
              generators: Mapping[str, Sequence[dict]] | None = None) -> dict:
    """``results``: the product's rows; ``baselines``: baseline name -> rows (eval/baselines.py), scored on the
    items the product answered; ``generators``: generator name -> rows of the same sets, for a side-by-side."""
    questions = [r for r in results if r.get("intent") != "description_to_code" and "answer" in r]
    retrieval = [r for r in questions if "retrieval" in r]
    exact = [r for r in questions if "exact_correct" in r]
    must = [r for r in questions if r["must_abstain"]]
    answerable = [r for r in questions if not r["must_abstain"]]
    codes = sum(len(r["codes_in_answer"]) for r in questions)
    invented = sum(len(r["invented_codes"]) for r in questions)
    ungrounded = sum(len(r["ungrounded_codes"]) for r in questions)
    cited = sum(r["cited_sentences"] for r in questions)
    supported = sum(r["supported_sentences"] for r in questions)
    latencies = [r["latency_ms"] for r in questions]
    headline = {
        "items": len(questions),
        "hit@1": _mean_of(retrieval, lambda r: r["retrieval"]["hit@1"]),
        "hit@5": _mean_of(retrieval, lambda r: r["retrieval"]["hit@5"]),
        "hit@10": _mean_of(retrieval, lambda r: r["retrieval"]["hit@10"]),
        "mrr": _mean_of(retrieval, lambda r: r["retrieval"]["mrr"]),
        "recall@5": _mean_of(retrieval, lambda r: r["retrieval"]["recall@5"]),
        "ndcg@10": _mean_of(retrieval, lambda r: r["retrieval"]["ndcg@10"]),
        "retrieval_items": len(retrieval),
        "exact_intent_accuracy": M.mean(float(r["exact_correct"]) for r in exact),
        "exact_items": len(exact),
        "fact_recall": _mean_of(answerable, lambda r: r["fact_recall"]),
        "intent_routing_accuracy": M.mean(float(r["intent_routed"]) for r in questions if "intent_routed" in r),
        "refusal_accuracy": M.mean(float(r["refusal_correct"]) for r in must),
        "false_refusal_rate": M.mean(float(not r["refusal_correct"]) for r in answerable),
        "refusal_items": len(must),
        "invented_code_rate": M.rate(invented, codes),
        "ungrounded_code_rate": M.rate(ungrounded, codes),
        "answers_with_invented_codes": M.mean(float(bool(r["invented_codes"])) for r in questions),
        "codes_in_answers": codes,
        "citation_precision": M.rate(supported, cited),
        "answer_context_recall": _mean_of([r for r in questions if "answer_context" in r],
                                          lambda r: r["answer_context"]["recall"]),
        "latency_p50_ms": M.percentile(latencies, 50),
        "latency_p95_ms": M.percentile(latencies, 95),
        **answer_level(questions),
    }
    ragas_rows = [r["ragas"] for r in questions if r.get("ragas")]
    if ragas_rows:
        names = sorted({k for row in ragas_rows for k in row})
        headline["ragas"] = {n: M.mean(row.get(n) for row in ragas_rows) for n in names}
    description = {}
    for set_name, code_set in DESCRIPTION_SETS.items():
        rows = [r for r in results if r.get("set") == set_name]
        scored = [r for r in rows if "top1" in r]
        key = code_set + ("_noisy" if set_name.endswith("_noisy") else "")
        description[key] = {
            "items": len(scored), "skipped": len(rows) - len(scored),
            "skip_reason": next((r["skipped"] for r in rows if "skipped" in r), None),
            "top1": M.mean(r["top1"] for r in scored), "hit@5": M.mean(r["hit@5"] for r in scored),
            "latency_p50_ms": M.percentile([r["latency_ms"] for r in scored], 50),
        }
    per_intent = {}
    for intent in INTENTS:
        rows = [r for r in questions if r["intent"] == intent]
        if not rows:
            continue
        ret = [r for r in rows if "retrieval" in r]
        lat = [r["latency_ms"] for r in rows]
        per_intent[intent] = {
            "items": len(rows),
            "hit@5": _mean_of(ret, lambda r: r["retrieval"]["hit@5"]),
            "mrr": _mean_of(ret, lambda r: r["retrieval"]["mrr"]),
            "fact_recall": _mean_of(rows, lambda r: r["fact_recall"]),
            "exact_accuracy": M.mean(float(r["exact_correct"]) for r in rows if "exact_correct" in r),
            "refusal_correct": M.mean(float(r["refusal_correct"]) for r in rows),
            "latency_p50_ms": M.percentile(lat, 50), "latency_p95_ms": M.percentile(lat, 95),
            **answer_level(rows),
        }
    per_set = {}
    for set_name in dict.fromkeys(r["set"] for r in results):
        rows = [r for r in questions if r["set"] == set_name]
        if rows:
            per_set[set_name] = {
                "items": len(rows),
                "hit@5": _mean_of([r for r in rows if "retrieval" in r], lambda r: r["retrieval"]["hit@5"]),
                "exact_accuracy": M.mean(float(r["exact_correct"]) for r in rows if "exact_correct" in r),
                "fact_recall": _mean_of(rows, lambda r: r["fact_recall"]),
                **answer_level(rows),
            }
    hit_curve = {k: _mean_of(retrieval, lambda r, k=k: float(_hit_at(r, k))) for k in range(1, RETRIEVAL_K + 1)}
    answered = {(r["set"], r["id"]) for r in questions}
    return {"headline": headline, "description_to_code": description, "per_intent": per_intent,
            "per_set": per_set, "per_coder_intent": answer_level_by(questions, "coder_intent"),
            "baselines": {name: answer_level(r for r in rows if (r["set"], r["id"]) in answered)
                          for name, rows in (baselines or {}).items()},
            "generators": {name: {**answer_level(rows), "answered_by": _answered_by(rows)}
                           for name, rows in (generators or {}).items()},
            "hit_curve": hit_curve, "errors": sum(1 for r in results if "error" in r)}


def _answered_by(rows: Sequence[dict]) -> dict[str, int]:
    """Which generator wrote the answers that were not abstentions (the service falls back to extractive when
    the LLM fails, so an "llm" column may hold extractive answers)."""
    counts: dict[str, int] = {}
    for row in rows:
        if "generated_by" in row and not row["abstained"]:
            counts[row["generated_by"]] = counts.get(row["generated_by"], 0) + 1
    return counts


def _hit_at(result: dict, k: int) -> bool:
    expected = {M.normalize_id(i) for i in result.get("expected_passages", [])}
    ranked = [M.normalize_id(i) for i in result.get("retrieved_ids", [])][:k]
    return bool(expected & set(ranked))
