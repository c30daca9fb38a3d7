"""Regression gate: a quick run of the core question set compared with the committed baseline.

The gate runs eval/sets/core.jsonl through the service (retrieval ranking + ask, no ragas), and fails when
a headline metric is worse than eval/reports/baseline/summary.json by more than its tolerance:

- higher-is-better metrics (hit@5, MRR, exact-intent accuracy, expected-fact recall, refusal accuracy,
  citation precision, direct-answer accuracy, sentence precision): may drop by at most ``TOLERANCE`` = 0.05
  (5 percentage points, absolute);
- lower-is-better metrics (invented-code, ungrounded-code, fragment, duplicate and false-statement rates): may
  rise by at most ``SAFETY_TOLERANCE`` = 0.01; the false-refusal rate by at most ``TOLERANCE``.

A metric the baseline does not name is not compared (a baseline written before the metric existed).
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

from eval.data import BASELINE_DIR, SETS_DIR
from eval.runner import Runner, read_items, summarize

TOLERANCE = 0.05
SAFETY_TOLERANCE = 0.01
GATE_SET = "core"
HIGHER_IS_BETTER = ("hit@5", "mrr", "exact_intent_accuracy", "fact_recall", "refusal_accuracy", "citation_precision",
                    "direct_answer_accuracy", "sentence_precision")
LOWER_IS_BETTER = {"invented_code_rate": SAFETY_TOLERANCE, "ungrounded_code_rate": SAFETY_TOLERANCE,
                   "false_refusal_rate": TOLERANCE, "fragment_rate": SAFETY_TOLERANCE, "duplicate_rate": SAFETY_TOLERANCE,
                   "false_statement_rate": SAFETY_TOLERANCE}
GATED = HIGHER_IS_BETTER + tuple(LOWER_IS_BETTER)


@dataclass
class GateResult:
    passed: bool
    metrics: dict
    baseline: dict
    failures: list[str] = field(default_factory=list)
    seconds: float = 0.0

    def table(self) -> str:
        lines = [f"{'metric':<24}{'baseline':>10}{'now':>10}{'allowed':>10}  result"]
        for name in GATED:
            base, now = self.baseline.get(name), self.metrics.get(name)
            allowed = LOWER_IS_BETTER.get(name, TOLERANCE)
            bad = any(f.startswith(name + ":") for f in self.failures)
            lines.append(f"{name:<24}{_f(base):>10}{_f(now):>10}{('+' if name in LOWER_IS_BETTER else '-') + _f(allowed):>10}"
                         f"  {'FAIL' if bad else 'ok'}")
        lines.append(f"gate {'PASSED' if self.passed else 'FAILED'} in {self.seconds:.1f} s")
        return "\n".join(lines)


def _f(value) -> str:
    return "n/a" if value is None else f"{value:.3f}"


def gate_metrics(service, progress: Callable[[str], None] | None = None) -> dict:
    items = read_items(SETS_DIR / f"{GATE_SET}.jsonl")
    results = Runner(service).run({GATE_SET: items}, progress=progress)
    headline = summarize(results)["headline"]
    return {name: headline.get(name) for name in GATED} | {"items": headline["items"]}


def compare(metrics: dict, baseline: dict) -> list[str]:
    failures = []
    for name in HIGHER_IS_BETTER:
        base, now = baseline.get(name), metrics.get(name)
        if base is None:
            continue
        if now is None or now < base - TOLERANCE:
            failures.append(f"{name}: {_f(now)} < baseline {_f(base)} - {TOLERANCE}")
    for name, allowed in LOWER_IS_BETTER.items():
        base, now = baseline.get(name), metrics.get(name)
        if base is None:
            continue
        if now is None or now > base + allowed:
            failures.append(f"{name}: {_f(now)} > baseline {_f(base)} + {allowed}")
    return failures


def load_baseline(path: Path | None = None) -> dict:
    path = Path(path) if path else BASELINE_DIR / "summary.json"
    return json.loads(path.read_text(encoding="utf-8"))


def run_gate(service, baseline_path: Path | None = None, progress=None) -> GateResult:
    started = time.perf_counter()
    baseline = load_baseline(baseline_path)["gate"]
    metrics = gate_metrics(service, progress)
    failures = compare(metrics, baseline)
    return GateResult(not failures, metrics, baseline, failures, time.perf_counter() - started)


def write_baseline(metrics: dict, meta: dict, path: Path | None = None) -> Path:
    path = Path(path) if path else BASELINE_DIR / "summary.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    body = {"gate": {k: (round(v, 4) if isinstance(v, float) else v) for k, v in metrics.items()},
            "set": GATE_SET, "tolerance": TOLERANCE, "safety_tolerance": SAFETY_TOLERANCE, "meta": meta}
    path.write_text(json.dumps(body, indent=1) + "\n", encoding="utf-8")
    return path
