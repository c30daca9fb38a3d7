"""python -m eval: run question sets and write a report, or gate a build against the baseline.

    python -m eval run  --sets core,extended|all [--data-dir DIR] [--out eval/reports/NAME] [--sample 500]
                        [--generators extractive,llm] [--no-baselines]
    python -m eval gate [--data-dir DIR] [--baseline FILE] [--update-baseline]
    python -m eval generate --out DIR [--sample 500] [--seed N]

Without --data-dir, a data directory is ingested into a temporary folder first (bundled corpora, plus
../shared/data for `run`; `gate` needs the real NCCI tables too, so it also loads ../shared/data).
"""

from __future__ import annotations

import argparse
import logging
import os
import random
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("RAGAS_DO_NOT_TRACK", "true")
os.environ.setdefault("HF_HUB_OFFLINE", "1")

from eval.data import REPO, active_releases, build_data_dir, open_casepilot, shared_data_dir  # noqa: E402

log = logging.getLogger("eval")
GENERATORS = ("extractive", "llm")


def _data_dir(args, tmp: list) -> Path:
    if args.data_dir:
        return Path(args.data_dir)
    folder = tempfile.TemporaryDirectory(prefix="casepilot-eval-")
    tmp.append(folder)
    print(f"no --data-dir: ingesting into {folder.name} (a few minutes)", file=sys.stderr)
    return build_data_dir(Path(folder.name), with_shared=True, shared=getattr(args, "shared", None))


def usable_generators(requested: str, service) -> tuple[list[str], dict[str, str]]:
    """The generators to run, in the order asked, and why any was left out. The llm generator needs an LLM
    endpoint (CASEPILOT_LLM_BASE_URL); without one it is skipped, and extractive runs if nothing else is left."""
    names = list(dict.fromkeys(n.strip() for n in requested.split(",") if n.strip()))
    unknown = [n for n in names if n not in GENERATORS]
    if unknown:
        raise SystemExit(f"unknown generator(s) {', '.join(unknown)}; choose from {', '.join(GENERATORS)}")
    skipped = {}
    if "llm" in names and service.generator is None:
        skipped["llm"] = "no LLM generator is configured (set CASEPILOT_LLM_BASE_URL): the llm column is skipped"
        names.remove("llm")
    return names or ["extractive"], skipped


def cmd_run(args) -> int:
    from tqdm import tqdm

    from eval.generate import generate
    from eval.report import write_report
    from eval.generate import ASK_SETS
    from eval.runner import DESCRIPTION_SETS, GENERATED_SETS, Runner, read_items, resolve_sets, summarize

    started = time.perf_counter()
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    names = [s.strip() for s in args.sets.split(",")]
    on_request = set(names) & set(ASK_SETS)  # the /v1/ask sets are generated only when named
    if "all" in names or set(names) & set(GENERATED_SETS) or on_request:
        shared = shared_data_dir(args.shared)
        wanted = (set(GENERATED_SETS) if "all" in names else set(names) & set(GENERATED_SETS)) | on_request
        generate(out / "generated", shared, args.sample, args.seed, only=wanted)
    sets = {}
    try:
        for name, path in resolve_sets(args.sets, out / "generated").items():
            items = read_items(path)
            if args.limit and len(items) > args.limit:
                items = random.Random(f"{args.seed}:{name}").sample(items, args.limit)
            sets[name] = items
    except ValueError as error:  # a set that does not exist or does not read: said, not a traceback
        print(f"python -m eval run: {error}", file=sys.stderr)
        return 2
    tmp: list = []
    data_dir = _data_dir(args, tmp)
    casepilot = open_casepilot(data_dir, mode=args.mode)
    service = casepilot.services().query
    try:
        generators, skipped = usable_generators(args.generators, service)
        for reason in skipped.values():
            print(reason, file=sys.stderr)
        scorer = None
        if not args.no_ragas:
            from eval.ragas_eval import RagasScorer, available

            if available():
                llm = service.settings.llm_base_url if generators[0] == "llm" or args.llm_judge else None
                scorer = RagasScorer(embedder=service.retriever.embedder if service.retriever else None,
                                     llm_base_url=llm, llm_model=service.settings.llm_model,
                                     llm_api_key=service.settings.llm_api_key)
            else:
                log.warning("ragas is not installed (pip install -e '.[eval]'): ragas metrics skipped")
        runner = Runner(service, scorer, generator=generators[0])
        questions = sum(len(v) for k, v in sets.items() if k not in DESCRIPTION_SETS)
        total = sum(len(v) for v in sets.values()) + questions * (len(generators) - 1 + (not args.no_baselines))
        with tqdm(total=total, desc="eval", unit="q", file=sys.stderr) as bar:
            def progress(name):
                bar.set_postfix_str(name)
                bar.update(1)

            results = runner.run(sets, progress=progress)
            # the other generators answer the same questions; ranking and description sets do not depend on them
            per_generator = {generators[0]: results} | {
                name: Runner(service, generator=name).run(sets, progress, with_retrieval=False, questions_only=True)
                for name in generators[1:]}
            baselines = {} if args.no_baselines else runner.run_baselines(sets, progress)
        summary = summarize(results, baselines, per_generator if len(per_generator) > 1 else None)
        meta = {"name": out.name, "sets": args.sets, "set_sizes": {k: len(v) for k, v in sets.items()},
                "data_dir": str(data_dir), "generator": generators[0], "generators": generators,
                "skipped_generators": skipped, "mode": args.mode or "hybrid",
                "sample": args.sample, "seed": args.seed, "releases": active_releases(data_dir),
                "seconds": time.perf_counter() - started}
        extra = {f"results_{name}": rows for name, rows in per_generator.items() if name != generators[0]}
        if baselines:
            extra["baselines"] = [{"baseline": name, **row} for name, rows in baselines.items() for row in rows]
        write_report(out, results, summary, meta, extra)
    finally:
        casepilot.close()
        for folder in tmp:
            folder.cleanup()
    print((out / "summary.md").read_text(encoding="utf-8"))
    return 0


def cmd_gate(args) -> int:
    from tqdm import tqdm

    from eval.gate import gate_metrics, run_gate, write_baseline

    tmp: list = []
    data_dir = _data_dir(args, tmp)
    casepilot = open_casepilot(data_dir, mode=args.mode)
    service = casepilot.services().query
    try:
        with tqdm(desc="gate", unit="q", file=sys.stderr) as bar:
            progress = lambda _name: bar.update(1)  # noqa: E731
            if args.update_baseline:
                started = time.perf_counter()
                metrics = gate_metrics(service, progress)
                meta = {"releases": active_releases(data_dir), "seconds": round(time.perf_counter() - started, 1)}
                path = write_baseline(metrics, meta, args.baseline)
                print(f"baseline written to {path}")
                return 0
            result = run_gate(service, args.baseline, progress)
    finally:
        casepilot.close()
        for folder in tmp:
            folder.cleanup()
    print(result.table())
    for failure in result.failures:
        print(f"FAIL {failure}")
    return 0 if result.passed else 1


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m eval", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("-v", "--verbose", action="store_true")
    sub = parser.add_subparsers(dest="command", required=True)
    run = sub.add_parser("run", help="run question sets and write a report folder")
    run.add_argument("--sets", default="core", help="comma-separated: core, extended, ptp_gen, mue_gen, "
                                                    "hcpcs_desc, icd10cm_desc, or all")
    run.add_argument("--data-dir", type=Path)
    run.add_argument("--shared", type=Path, help="defaults to ../shared/data")
    run.add_argument("--out", type=Path, default=REPO / "eval" / "reports" / "latest")
    run.add_argument("--sample", type=int, default=500, help="items per generated set (fixed seed)")
    run.add_argument("--limit", type=int, default=0, help="at most this many items per set (sampled, fixed seed)")
    run.add_argument("--seed", type=int, default=20260402)
    run.add_argument("--no-ragas", action="store_true")
    run.add_argument("--llm-judge", action="store_true", help="also ragas LLM metrics (needs CASEPILOT_LLM_BASE_URL)")
    run.add_argument("--generators", default="extractive",
                     help="comma-separated, each run on the question sets: extractive, llm (needs an LLM endpoint); "
                          "the first is the report's main run")
    run.add_argument("--no-baselines", action="store_true", help="skip the echo and top-passage baselines")
    run.add_argument("--mode", choices=("hybrid", "dense", "sparse"), help="retrieval mode (ablation)")
    gate = sub.add_parser("gate", help="quick regression check against eval/reports/baseline/summary.json")
    gate.add_argument("--data-dir", type=Path)
    gate.add_argument("--shared", type=Path)
    gate.add_argument("--baseline", type=Path)
    gate.add_argument("--update-baseline", action="store_true")
    gate.add_argument("--mode", choices=("hybrid", "dense", "sparse"))
    gen = sub.add_parser("generate", help="write the generated real-data sets")
    gen.add_argument("--out", type=Path, required=True)
    gen.add_argument("--shared", type=Path)
    gen.add_argument("--sample", type=int, default=500)
    gen.add_argument("--seed", type=int, default=20260402)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(level=logging.INFO if args.verbose else logging.WARNING, format="%(levelname)s %(message)s")
    if args.command == "run":
        return cmd_run(args)
    if args.command == "gate":
        return cmd_gate(args)
    from eval.generate import generate

    for name, path in generate(args.out, shared_data_dir(args.shared), args.sample, args.seed).items():
        print(f"{name}: {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
