"""Query-service latency, warm, in one process: exact-intent answers and retrieval-backed extractive answers.

Questions (>= 500, fixed seed) are generated from templates over real codes of the ingested data: code lookups,
NCCI pair checks over real PTP rows (and pairs without an edit), MUE questions, and guideline, coverage,
modifier and "which code" questions built from the corpora's own headings, modifiers and lay terms. A warm-up
pass over other questions of the same kinds runs first (model load, SQLite pages, lazily built indexes); the
timed pass asks each question once. Reported: p50/p95/p99 of QueryService.ask for each class, and for the
retrieval-backed class the share of the time spent in the query embedding and in the Qdrant search.
Targets: exact p50 < 5 ms; retrieval-backed p50 < 40 ms and p95 < 120 ms.

Make a data folder once (corpora, ICD-10-CM, and ../shared/data: NCCI PTP/MUE, HCPCS 2020):

    CASEPILOT_DATA_DIR=/tmp/cp casepilot-ingest all
    python benchmarks/bench_query.py --data-dir /tmp/cp [--questions 600] [--seed 7] [--json out.json]
"""

from __future__ import annotations

import argparse
import json
import os
import random
import re
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

EXACT_TEMPLATES = {
    "code_lookup": ["What is CPT {a}?", "Describe code {a}.", "Tell me about code {a}.", "What does {a} describe?",
                    "{a}"],
    "pair_check": ["Can {a} and {b} be billed together?", "Is there an NCCI edit between {a} and {b}?",
                   "Are {a} and {b} bundled on the same day?", "Can I report {a} with {b} on the same claim?"],
    "units": ["How many units of {a} per day?", "What is the MUE for {a}?", "Is there an MUE limit on {a}?",
              "What is the maximum units for {a}?"],
}
GUIDANCE_TEMPLATES = ["What does the guidance say about {h}?", "Explain {h}.", "How does {h} work for Medicare?",
                      "What are the rules for {h}?", "When does {h} apply?"]
MODIFIER_TEMPLATES = ["When do I use modifier {m}?", "What does modifier {m} mean?",
                      "When should modifier {m} be used instead of 59?", "Can modifier {m} bypass an NCCI edit?"]
COVERAGE_TEMPLATES = ["Does Medicare cover {t}?", "What are the coverage criteria for {t}?",
                      "Is {t} medically necessary for Medicare?"]
OPEN_TEMPLATES = ["What is the code for {t}?", "Which code describes {t}?", "What code do I use for {t}?"]


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q / 100 * (len(ordered) - 1))))] if ordered else 0.0


def headings(corpora: Path) -> list[str]:
    found = []
    for path in sorted((corpora / "guidelines").glob("*.md")):
        if path.name.lower() == "readme.md":
            continue
        for line in path.read_text().splitlines():
            if line.startswith("## "):
                heading = re.sub(r"[:()*`]", "", line[3:]).strip()
                if 3 <= len(heading.split()) <= 12:
                    found.append(heading[0].lower() + heading[1:])
    return found


def build_questions(service, corpora: Path, count: int, seed: int) -> list[tuple[str, str]]:
    """(kind, question) pairs, unique, half exact and half retrieval-backed, shuffled with ``seed``."""
    rng = random.Random(seed)
    store = service.reference
    cpt = [s.fact for s in store.iter_codes("CPT")]
    hcpcs = [s.fact for s in store.iter_codes("HCPCS") if not s.fact.termination_date]
    modifiers = sorted({s.fact.code for s in store.iter_codes("MODIFIER")})
    lay = sorted({t for r in cpt for t in r.attributes.get("lay_terms", [])})
    lookup_codes = [r.code for r in cpt] + [r.code for r in rng.sample(hcpcs, min(400, len(hcpcs)))]
    mue_codes = [c for c in lookup_codes if store.mue(c)]
    pairs = []
    for code in [r.code for r in cpt]:
        edits, _ = store.ptp_for_code(code, 1, limit=3)
        pairs += [(e.fact.column1, e.fact.column2) for e in edits]
        if len(pairs) > 600:
            break
    no_edit = [(a, b) for a, b in zip(rng.sample(mue_codes, min(80, len(mue_codes))),
                                       rng.sample(mue_codes, min(80, len(mue_codes)))) if a != b]
    pair_pool = pairs + [p for p in no_edit if not store.ptp_pair(*p)]
    heads = headings(corpora)

    def make(kind: str) -> str:
        if kind == "code_lookup":
            return rng.choice(EXACT_TEMPLATES[kind]).format(a=rng.choice(lookup_codes))
        if kind == "pair_check":
            a, b = rng.choice(pair_pool)
            a, b = (a, b) if rng.random() < 0.5 else (b, a)
            return rng.choice(EXACT_TEMPLATES[kind]).format(a=a, b=b)
        if kind == "units":
            return rng.choice(EXACT_TEMPLATES[kind]).format(a=rng.choice(mue_codes))
        if kind == "guideline":
            return rng.choice(GUIDANCE_TEMPLATES).format(h=rng.choice(heads))
        if kind == "modifier":
            return rng.choice(MODIFIER_TEMPLATES).format(m=rng.choice(modifiers))
        if kind == "coverage":
            return rng.choice(COVERAGE_TEMPLATES).format(t=rng.choice(lay))
        return rng.choice(OPEN_TEMPLATES).format(t=rng.choice(lay))

    mix = ["code_lookup"] * 4 + ["pair_check"] * 4 + ["units"] * 4 + ["guideline"] * 5 + ["modifier"] * 3 \
        + ["coverage"] * 2 + ["open"] * 2
    seen, questions = set(), []
    attempts = 0
    while len(questions) < count and attempts < count * 50:
        attempts += 1
        kind = rng.choice(mix)
        question = make(kind)
        if question not in seen:
            seen.add(question)
            questions.append((kind, question))
    return questions


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data-dir", type=Path, default=os.environ.get("CASEPILOT_DATA_DIR"),
                        help="an ingested data folder (default: $CASEPILOT_DATA_DIR)")
    parser.add_argument("--corpora", type=Path, default=Path(__file__).resolve().parents[1] / "corpora")
    parser.add_argument("--questions", type=int, default=600)
    parser.add_argument("--warmup", type=int, default=80)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--json", type=Path, help="also write the figures and per-question timings here")
    args = parser.parse_args(argv)
    if not args.data_dir:
        parser.error("--data-dir (or CASEPILOT_DATA_DIR) is required")

    from rag.app import CasePilot
    from rag.settings import Settings

    load_before = os.getloadavg()
    casepilot = CasePilot.open(Settings(data_dir=args.data_dir))
    try:
        questions = build_questions(casepilot.services().query, args.corpora, args.questions + args.warmup,
                                    args.seed)
        warmup, timed = questions[:args.warmup], questions[args.warmup:]
        for _, question in warmup:
            casepilot.services().query.ask(question)
        rows = []
        for kind, question in timed:
            started = time.perf_counter()
            answer = casepilot.services().query.ask(question)  # a snapshot per question, as the server takes one
            total = (time.perf_counter() - started) * 1000
            t = answer.timings_ms
            rows.append({"kind": kind, "question": question, "ms": total, "retrieval": "embed_ms" in t,
                         "embed_ms": t.get("embed_ms", 0.0), "search_ms": t.get("search_ms", 0.0),
                         "exact_ms": t.get("exact_ms", 0.0), "abstained": answer.abstained,
                         "intents": answer.intents, "tools": [step.tool for step in answer.plan]})
    finally:
        casepilot.close()
    load_after = os.getloadavg()

    exact = [r for r in rows if not r["retrieval"]]
    backed = [r for r in rows if r["retrieval"]]
    print(f"Query service latency, warm, one process: {len(rows)} questions (+{len(warmup)} warm-up), "
          f"seed {args.seed}, data {args.data_dir}")
    print(f"machine: {os.cpu_count()} cores; load average before {load_before[0]:.2f}, after {load_after[0]:.2f} "
          f"(1 min)")

    def line(name: str, group: list[dict], target: str) -> None:
        values = [r["ms"] for r in group]
        if not values:
            print(f"  {name}: none")
            return
        print(f"  {name:34} n={len(values):4}  p50 {percentile(values, 50):7.2f} ms  p95 {percentile(values, 95):7.2f} "
              f"ms  p99 {percentile(values, 99):7.2f} ms  mean {statistics.fmean(values):7.2f} ms   ({target})")

    line("exact-intent answers", exact, "target p50 < 5 ms")
    line("retrieval-backed extractive answers", backed, "target p50 < 40 ms, p95 < 120 ms")
    if backed:
        total = sum(r["ms"] for r in backed)
        embed = sum(r["embed_ms"] for r in backed)
        search = sum(r["search_ms"] for r in backed)
        print(f"    of the retrieval-backed time: query embedding {embed / total:.0%} "
              f"(p50 {percentile([r['embed_ms'] for r in backed], 50):.2f} ms), Qdrant search {search / total:.0%} "
              f"(p50 {percentile([r['search_ms'] for r in backed], 50):.2f} ms), the rest (exact facts, rerank, "
              f"compose, guard) {(total - embed - search) / total:.0%}")
    if backed:
        # Composition's own cost: the whole answer against its query embedding plus search (target <= 1.3x).
        ratios = [r["ms"] / (r["embed_ms"] + r["search_ms"]) for r in backed if r["embed_ms"] + r["search_ms"] > 0]
        print(f"    answer time / (embedding + search): p50 {percentile(ratios, 50):.2f}x, "
              f"p95 {percentile(ratios, 95):.2f}x (target <= 1.3x)")
    routed = [r for r in rows if {"which_code", "which_modifier", "drug_units"} & set(r["tools"])]
    line("which-code answers (from words)", routed, "target p50 under the retrieval-backed p50")
    kinds = sorted({r["kind"] for r in rows})
    print("  by question kind (p50 / p95 ms, abstained):")
    for kind in kinds:
        group = [r for r in rows if r["kind"] == kind]
        values = [r["ms"] for r in group]
        print(f"    {kind:12} n={len(group):4}  {percentile(values, 50):7.2f} / {percentile(values, 95):7.2f}"
              f"   abstained {sum(r['abstained'] for r in group)}")
    if args.json:
        args.json.write_text(json.dumps({"load_before": load_before, "load_after": load_after, "rows": rows},
                                        indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
