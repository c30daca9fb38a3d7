"""Report folder: results.json (every item), summary.json, summary.md (headline table), PNG plots."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Sequence

from eval.baselines import LABELS

# Published LLM-without-retrieval baseline: GPT-4 exact match when asked for the code from its description
# (Soroush et al., "Large Language Models Are Poor Medical Coders", NEJM AI 2024).
GPT4_BASELINE = {"CPT": 0.498, "ICD10CM": 0.339}
GPT4_SOURCE = "Soroush et al., NEJM AI 2024 (GPT-4, no retrieval, description -> code exact match)"

# Answer-level metrics (eval/answer_metrics.py): key, label, one-line definition.
ANSWER_LEVEL = (
    ("direct_answer_accuracy", "Direct-answer accuracy",
     "the first sentence holds the expected code (first code named) or fact; abstains or asks back when it should"),
    ("sentence_precision", "Sentence precision",
     "sentences citing a supporting source or stating an expected fact/code, of all sentences (answered items)"),
    ("fragment_rate", "Fragment rate",
     "sentences that cannot stand alone: lead-in ':', list item, lower-case or anaphoric start, open bracket, "
     "< 4 words"),
    ("duplicate_rate", "Duplicate rate",
     "sentences repeating an earlier one of the answer (same normalised text, or word Jaccard >= 0.8)"),
    ("abstention_precision", "Abstention precision", "abstentions on items that must be declined, of all abstentions"),
    ("abstention_recall", "Abstention recall", "must-decline items (must_abstain, expect_refusal) that abstained"),
    ("false_statement_rate", "False-statement rate",
     "sentences contradicting the reference data: deleted code called current, valid code called deleted, "
     "\"no edit\" for an edited pair"),
)
ANSWER_COLUMNS = ("direct_answer_accuracy", "sentence_precision", "fragment_rate", "duplicate_rate",
                  "false_statement_rate")


def _fmt(value, percent: bool = True) -> str:
    if value is None:
        return "n/a"
    if isinstance(value, float) and percent:
        return f"{value * 100:.1f} %"
    if isinstance(value, float):
        return f"{value:.1f}"
    return str(value)


def headline_rows(summary: dict) -> list[tuple[str, str, str]]:
    h = summary["headline"]
    ragas = h.get("ragas", {})
    desc = summary["description_to_code"]
    rows = [
        ("Retrieval hit@5", _fmt(h["hit@5"]), f"{h['retrieval_items']} items with a supporting passage"),
        ("Retrieval MRR (k=10)", _fmt(h["mrr"], False) if h["mrr"] is None else f"{h['mrr']:.3f}", ""),
        ("Retrieval hit@1 / hit@10", f"{_fmt(h['hit@1'])} / {_fmt(h['hit@10'])}", ""),
        ("nDCG@10", "n/a" if h["ndcg@10"] is None else f"{h['ndcg@10']:.3f}", ""),
        ("Exact-intent accuracy", _fmt(h["exact_intent_accuracy"]),
         f"{h['exact_items']} code-lookup / PTP / MUE items, answer key from the reference data"),
        ("Expected-fact recall", _fmt(h["fact_recall"]), "answerable items"),
        ("Invented-code rate", _fmt(h["invented_code_rate"]),
         f"codes not in the reference data, of {h['codes_in_answers']} codes printed"),
        ("Ungrounded-code rate", _fmt(h["ungrounded_code_rate"]), "valid codes in no citation of their sentence"),
        ("Citation precision", _fmt(h["citation_precision"]), "cited snippet contains the sentence's fact"),
        ("Refusal accuracy", _fmt(h["refusal_accuracy"]), f"{h['refusal_items']} must-refuse / not-found items"),
        ("False-refusal rate", _fmt(h["false_refusal_rate"]), "answerable items the service declined"),
        ("Intent routing accuracy", _fmt(h["intent_routing_accuracy"]), "labelled intent among the routed ones"),
        *answer_level_rows(h),
        ("ragas context recall (non-LLM)", _fmt(ragas.get("non_llm_context_recall")), "NonLLMContextRecall"),
        ("ragas context precision (non-LLM)", _fmt(ragas.get("non_llm_context_precision")),
         "NonLLMContextPrecisionWithReference"),
        ("ragas ID context recall / precision",
         f"{_fmt(ragas.get('id_context_recall'))} / {_fmt(ragas.get('id_context_precision'))}",
         "IDBasedContextRecall / IDBasedContextPrecision"),
        ("ragas semantic similarity", _fmt(ragas.get("semantic_similarity")), "local all-MiniLM-L6-v2"),
        ("ragas ROUGE-L / string similarity",
         f"{_fmt(ragas.get('rouge_l'))} / {_fmt(ragas.get('string_similarity'))}", "vs the reference answer"),
    ]
    for name in ("faithfulness", "llm_context_recall", "response_relevancy"):
        if name in ragas:
            rows.append((f"ragas {name} (LLM judge)", _fmt(ragas[name]), ""))
    for key, label in (("HCPCS", "HCPCS"), ("ICD10CM", "ICD-10-CM"), ("HCPCS_noisy", "HCPCS, noisy descriptor"),
                       ("ICD10CM_noisy", "ICD-10-CM, noisy descriptor")):
        d = desc.get(key, {})
        if key.endswith("_noisy") and not d.get("items"):
            continue
        code_set = key.replace("_noisy", "")
        baseline = GPT4_BASELINE.get(code_set)
        note = (f"{d.get('items', 0)} items" if d.get("items") else (d.get("skip_reason") or "not run"))
        if baseline is not None:
            note += f"; GPT-4 without retrieval: {baseline * 100:.1f} % ({code_set})"
        else:
            note += f"; GPT-4 without retrieval: {GPT4_BASELINE['CPT'] * 100:.1f} % for CPT (no HCPCS figure)"
        rows.append((f"Description -> code top-1, {label}", _fmt(d.get("top1")), note))
    rows.append(("Latency p50 / p95 (ask)", f"{_fmt(h['latency_p50_ms'], False)} / {_fmt(h['latency_p95_ms'], False)} ms",
                 f"{h['items']} questions"))
    return rows


def answer_level_rows(h: dict) -> list[tuple[str, str, str]]:
    """The answer-level metrics for the headline table, each with its definition and how many it pooled."""
    counts = {
        "direct_answer_accuracy": f"{h.get('direct_answer_items', 0)} items",
        "sentence_precision": f"{h.get('precision_items', 0)} items",
        "fragment_rate": f"{h.get('answers_with_fragments', 0)} answers with one; "
                         f"{h.get('answer_sentences', 0)} sentences",
        "duplicate_rate": f"{h.get('answers_with_duplicates', 0)} answers with one",
        "abstention_precision": f"{h.get('abstentions', 0)} abstentions",
        "abstention_recall": f"{h.get('must_abstain_items', 0)} must-decline items",
        "false_statement_rate": f"{h.get('false_statements', 0)} false sentences",
    }
    return [(label, _fmt(h.get(key)), f"{definition} ({counts[key]})") for key, label, definition in ANSWER_LEVEL]


def comparison_table(columns: dict[str, dict]) -> list[str]:
    """Metric x system (CasePilot, a generator, a baseline): the answer-level metrics side by side."""
    lines = ["| metric | " + " | ".join(columns) + " |", "|---" * (len(columns) + 1) + "|"]
    for key, label, _ in ANSWER_LEVEL:
        lines.append(f"| {label} | " + " | ".join(_fmt(c.get(key)) for c in columns.values()) + " |")
    lines.append("| answers / sentences | " + " | ".join(
        f"{c.get('answers', 0)} / {c.get('answer_sentences', 0)}" for c in columns.values()) + " |")
    return lines


def answer_level_sections(summary: dict, meta: dict) -> list[str]:
    lines: list[str] = []
    baselines = summary.get("baselines") or {}
    if baselines:
        lines += ["## Answer level: CasePilot beside two baselines", "",
                  "Same metrics, same items. Echo: the question repeated as the answer. Top passage: the text of "
                  "the retriever's top passage, every sentence citing it.", ""]
        columns = {"CasePilot": summary["headline"]} | {LABELS.get(k, k): v for k, v in baselines.items()}
        lines += comparison_table(columns) + [""]
    generators = summary.get("generators") or {}
    skipped = meta.get("skipped_generators") or {}
    if generators or skipped:
        lines += ["## Answer level per generator", ""]
        if generators:
            lines += comparison_table(generators)
            lines.append("| answers written by | " + " | ".join(
                ", ".join(f"{k} {v}" for k, v in g.get("answered_by", {}).items()) or "n/a"
                for g in generators.values()) + " |")
        lines += [f"- {name}: {reason}" for name, reason in skipped.items()] + [""]
    lines += ["Definitions:", ""] + [f"- {label}: {definition}." for _, label, definition in ANSWER_LEVEL] + [""]
    per_coder = summary.get("per_coder_intent") or {}
    for title, rows in (("intent", summary["per_intent"]), ("set", summary["per_set"]), ("coder intent", per_coder)):
        if rows:
            lines += per_group_table(title, rows)
    return lines


def per_group_table(title: str, rows: dict[str, dict]) -> list[str]:
    labels = {key: label for key, label, _ in ANSWER_LEVEL}
    lines = [f"## Answer level per {title}", "",
             f"| {title} | answers | " + " | ".join(labels[k].lower() for k in ANSWER_COLUMNS) + " |",
             "|---" * (len(ANSWER_COLUMNS) + 2) + "|"]
    for name, row in rows.items():
        lines.append(f"| {name} | {row.get('answers', 0)} | " + " | ".join(_fmt(row.get(k)) for k in ANSWER_COLUMNS)
                     + " |")
    return lines + [""]


def markdown(summary: dict, meta: dict) -> str:
    lines = [f"# CasePilot evaluation: {meta.get('name', '')}", ""]
    lines.append(f"- sets: {', '.join(f'{k} ({v})' for k, v in meta.get('set_sizes', {}).items())}")
    lines.append(f"- data dir: `{meta.get('data_dir')}`; generator: {meta.get('generator')}; "
                 f"sample per generated set: {meta.get('sample')}, seed {meta.get('seed')}")
    lines.append(f"- releases: {json.dumps(meta.get('releases', {}))}")
    lines.append(f"- wall time: {meta.get('seconds', 0):.0f} s")
    lines += ["", "## Headline", "", "| metric | value | notes |", "|---|---|---|"]
    lines += [f"| {a} | {b} | {c} |" for a, b, c in headline_rows(summary)]
    lines += ["", f"GPT-4 baseline: {GPT4_SOURCE}.", ""]
    lines += answer_level_sections(summary, meta)
    lines += ["## Per intent", "", "| intent | items | hit@5 | MRR | fact recall | exact acc. | refusal ok | p50 ms | p95 ms |",
              "|---|---|---|---|---|---|---|---|---|"]
    for intent, row in summary["per_intent"].items():
        mrr = "n/a" if row["mrr"] is None else f"{row['mrr']:.3f}"
        lines.append(f"| {intent} | {row['items']} | {_fmt(row['hit@5'])} | {mrr} | "
                     f"{_fmt(row['fact_recall'])} | {_fmt(row['exact_accuracy'])} | {_fmt(row['refusal_correct'])} | "
                     f"{_fmt(row['latency_p50_ms'], False)} | {_fmt(row['latency_p95_ms'], False)} |")
    lines += ["", "## Per set", "", "| set | items | hit@5 | exact acc. | fact recall |", "|---|---|---|---|---|"]
    for name, row in summary["per_set"].items():
        lines.append(f"| {name} | {row['items']} | {_fmt(row['hit@5'])} | {_fmt(row['exact_accuracy'])} | "
                     f"{_fmt(row['fact_recall'])} |")
    lines += ["", "Plots: `metric_per_intent.png`, `latency.png`, `hit_at_k.png`. Every item: `results.json`.", ""]
    return "\n".join(lines)


def plots(summary: dict, results: Sequence[dict], out: Path) -> list[Path]:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    written = []
    per_intent = summary["per_intent"]
    intents = list(per_intent)
    if intents:
        fig, ax = plt.subplots(figsize=(10, 4.5))
        names = [("hit@5", "hit@5"), ("fact_recall", "fact recall"), ("exact_accuracy", "exact accuracy"),
                 ("refusal_correct", "refusal/answer correct")]
        width = 0.8 / len(names)
        for i, (key, label) in enumerate(names):
            values = [per_intent[x][key] if per_intent[x][key] is not None else 0.0 for x in intents]
            ax.bar([j + i * width for j in range(len(intents))], values, width, label=label)
        ax.set_xticks([j + 0.4 - width / 2 for j in range(len(intents))], intents, rotation=20)
        ax.set_ylim(0, 1.05)
        ax.set_ylabel("score")
        ax.set_title("Metric per intent (n/a drawn as 0)")
        ax.legend(fontsize=8, loc="lower right")
        fig.tight_layout()
        fig.savefig(out / "metric_per_intent.png", dpi=110)
        plt.close(fig)
        written.append(out / "metric_per_intent.png")
        fig, ax = plt.subplots(figsize=(10, 4.5))
        data = [[r["latency_ms"] for r in results if r.get("intent") == x and "latency_ms" in r] for x in intents]
        ax.boxplot(data, showfliers=True)
        ax.set_xticks(range(1, len(intents) + 1), intents, rotation=20)
        ax.set_yscale("log")
        ax.set_ylabel("ms per ask (log)")
        ax.set_title("Latency per intent (QueryService.ask, wall clock)")
        fig.tight_layout()
        fig.savefig(out / "latency.png", dpi=110)
        plt.close(fig)
        written.append(out / "latency.png")
    curve = {int(k): v for k, v in summary["hit_curve"].items() if v is not None}
    if curve:
        fig, ax = plt.subplots(figsize=(6, 4))
        ks = sorted(curve)
        ax.plot(ks, [curve[k] for k in ks], marker="o")
        ax.set_xlabel("k")
        ax.set_ylabel("hit@k")
        ax.set_ylim(0, 1.05)
        ax.set_title("Retrieval hit@k")
        ax.grid(alpha=0.3)
        fig.tight_layout()
        fig.savefig(out / "hit_at_k.png", dpi=110)
        plt.close(fig)
        written.append(out / "hit_at_k.png")
    return written


def write_report(out: Path, results: Sequence[dict], summary: dict, meta: dict,
                 extra: dict[str, Sequence[dict]] | None = None) -> Path:
    """``extra``: more rows to keep beside results.json, as NAME.json (another generator's run, the baselines)."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    (out / "results.json").write_text(json.dumps(results, indent=1, default=str), encoding="utf-8")
    for name, rows in (extra or {}).items():
        (out / f"{name}.json").write_text(json.dumps(rows, indent=1, default=str), encoding="utf-8")
    (out / "summary.json").write_text(json.dumps({"meta": meta, **summary}, indent=1, default=str), encoding="utf-8")
    (out / "summary.md").write_text(markdown(summary, meta), encoding="utf-8")
    plots(summary, results, out)
    return out
