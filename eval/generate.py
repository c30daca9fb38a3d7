"""Generated question sets from the real CMS/CDC data in ../shared/data, reproducible with a fixed seed.

    python -m eval.generate --out DIR [--sample 500] [--seed 20260402] [--shared PATH]

Writes, into DIR (a report or work folder, never the repository):
- ptp_gen.jsonl       PTP pair questions: pairs with an edit (modifier indicators 0, 1 and 9, in fixed
                      shares) and pairs of real codes with no edit in either direction;
- mue_gen.jsonl       MUE questions: sampled codes of the practitioner MUE table, plus real codes (from the
                      PTP table) that have no published MUE;
- hcpcs_desc.jsonl    HCPCS Level II long descriptor -> code (2020 annual file, active codes with a descriptor
                      no other code shares);
- icd10cm_desc.jsonl  ICD-10-CM title -> code (FY2025 billable codes; from simple_icd_10_cm when ../shared is
                      absent);
- *_desc_noisy.jsonl  the same descriptors made harder (lower case, no punctuation, a quarter of the words
                      dropped, two neighbours swapped): the service indexes the verbatim descriptors, so the
                      plain sets are close to an exact-text lookup.
The same seed and the same files always give the same items, in the same order.
"""

from __future__ import annotations

import argparse
import json
import random
import sys
from pathlib import Path

from eval.data import shared_data_dir
from eval.lay_terms import lay_terms_in, paraphrase
from eval.realdata import (
    CodeTitle,
    icd10cm_from_package,
    load_hcpcs_2020,
    load_icd10cm_fy2025,
    load_icd10cm_fy2026_leaves,
    load_mue,
    load_ptp_index,
    unique_titles,
)

SEED = 20260402
DEFAULT_SAMPLE = 500
PTP_SHARES = {1: 0.35, 0: 0.30, 9: 0.10, None: 0.25}  # None: a pair of real codes with no edit
PAIR_TEMPLATES = ["Can {a} and {b} be billed together?", "Is there an NCCI edit between {a} and {b}?",
                  "Are {a} and {b} bundled on the same day?", "Can I report {a} with {b} on the same claim?",
                  "Is {b} bundled into {a}?"]
ALL_SETS = ("ptp_gen", "mue_gen", "hcpcs_desc", "icd10cm_desc", "hcpcs_desc_noisy", "icd10cm_desc_noisy")
# Which-code questions for /v1/ask ("expect_first_code"): titles and descriptors put as a coder asks, verbatim and in
# lay words. Not in ALL_SETS: generated on request (--sets), so the existing runs keep their inputs.
ASK_SETS = ("icd10cm_ask", "hcpcs_ask", "icd10cm_lay", "hcpcs_lay")
ICD_ASK_TEMPLATES = ["ICD-10-CM code for {t}", "what is the dx code for {t}?", "icd10 code {t}",
                     "diagnosis code for {t}?", "{t} icd 10"]
HCPCS_ASK_TEMPLATES = ["HCPCS code for {t}", "what is the hcpcs code for {t}?", "what do I bill for {t}?",
                       "hcpcs level II code {t}", "code for {t}"]
ICD_SETS = {"icd10cm_desc", "icd10cm_desc_noisy"}
UNIT_TEMPLATES = ["What is the MUE for {c}?", "How many units of {c} can be billed per day?",
                  "What is the maximum units for {c}?", "Is there an MUE limit on {c}?"]


def _item(id_, question, intent, codes, facts, reference, supporting) -> dict:
    return {"id": id_, "question": question, "intent": intent, "expected_codes": list(codes),
            "expected_facts": list(facts), "reference_answer": reference, "supporting_ids": list(supporting),
            "must_abstain": False}


def _shares(total: int, shares: dict) -> dict:
    counts = {key: int(total * share) for key, share in shares.items()}
    first = next(iter(shares))
    counts[first] += total - sum(counts.values())
    return counts


def ptp_items(index: dict, n: int, rng: random.Random) -> list[dict]:
    by_indicator: dict[int, list[tuple[str, str, str]]] = {0: [], 1: [], 9: []}
    for column1 in sorted(index):
        for column2, (indicator, rationale) in sorted(index[column1].items()):
            by_indicator[indicator].append((column1, column2, rationale))
    counts = _shares(n, PTP_SHARES)
    chosen: list[tuple[str, str, int | None, str]] = []
    for indicator in (1, 0, 9):
        pool = by_indicator[indicator]
        for c1, c2, rationale in rng.sample(pool, min(counts[indicator], len(pool))):
            chosen.append((c1, c2, indicator, rationale))
    codes = sorted(index)
    pairs: set[tuple[str, str]] = set()
    while len(pairs) < counts[None]:
        a, b = rng.sample(codes, 2)
        if b in index.get(a, {}) or a in index.get(b, {}):
            continue
        pairs.add((a, b))
    chosen += [(a, b, None, "") for a, b in sorted(pairs)]
    rng.shuffle(chosen)
    items = []
    for number, (c1, c2, indicator, rationale) in enumerate(chosen, start=1):
        a, b = (c1, c2) if rng.random() < 0.5 else (c2, c1)  # either order: the service must not care
        question = PAIR_TEMPLATES[number % len(PAIR_TEMPLATES)].format(a=a, b=b)
        if indicator is None:
            facts, reference = ["no ncci ptp edit"], f"No NCCI practitioner PTP edit pairs {a} and {b}."
        else:
            facts = [f"modifier indicator {indicator}", f"{c1} is column 1"]
            reference = (f"NCCI practitioner PTP edit: {c1} column 1, {c2} column 2, modifier indicator "
                         f"{indicator}; rationale: {rationale}.")
        items.append(_item(f"gptp-{number:04d}", question, "pair_check", [a, b], facts, reference,
                           [f"ptp_practitioner:{c1}|{c2}"]))
    return items


def mue_items(mue: dict, index: dict, n: int, rng: random.Random) -> list[dict]:
    with_mue = rng.sample(sorted(mue), min(int(n * 0.9), len(mue)))
    real_codes = sorted(set(index) | {c for partners in index.values() for c in partners})
    without = [c for c in real_codes if c not in mue]
    chosen = [(c, True) for c in with_mue] + [(c, False) for c in rng.sample(without, min(n - len(with_mue),
                                                                                          len(without)))]
    rng.shuffle(chosen)
    items = []
    for number, (code, has_mue) in enumerate(chosen, start=1):
        question = UNIT_TEMPLATES[number % len(UNIT_TEMPLATES)].format(c=code)
        if has_mue:
            row = mue[code]
            facts = [f"is {row.value} unit", f"adjudication indicator {row.mai}"]
            reference = (f"Practitioner MUE for {code}: {row.value} unit{'s' if row.value != 1 else ''}, MAI "
                         f"{row.mai} ({row.rationale}).")
        else:
            facts, reference = ["no published mue"], f"{code} has no published practitioner MUE."
        items.append(_item(f"gmue-{number:04d}", question, "units", [code], facts, reference,
                           [f"mue_practitioner:{code}"]))
    return items


def description_items(rows, n: int, rng: random.Random, prefix: str, source: str, code_set: str) -> list[dict]:
    rows = unique_titles(sorted(rows, key=lambda r: r.code))
    chosen = rng.sample(rows, min(n, len(rows)))
    return [_item(f"{prefix}-{number:04d}", row.title, "open", [row.code], [row.code],
                  f"{code_set} {row.code}: {row.title}", [f"{source}:{code_set}:{row.code}"])
            for number, row in enumerate(chosen, start=1)]


def noisy(text: str, rng: random.Random, drop: float = 0.25) -> str:
    """A harder query from a descriptor: lower case, punctuation gone, about a quarter of the words dropped
    (never all), and one neighbouring pair swapped, so the query no longer matches the indexed text verbatim."""
    words = [w for w in "".join(c if c.isalnum() else " " for c in text.lower()).split()]
    kept = [w for i, w in enumerate(words) if i == 0 or rng.random() >= drop] or words[:1]
    if len(kept) > 2:
        i = rng.randrange(len(kept) - 1)
        kept[i], kept[i + 1] = kept[i + 1], kept[i]
    return " ".join(kept)


def noisy_items(items: list[dict], rng: random.Random, prefix: str) -> list[dict]:
    return [{**item, "id": f"{prefix}-{n:04d}", "question": noisy(item["question"], rng)}
            for n, item in enumerate(items, start=1)]


def ask_item(id_: str, question: str, row: CodeTitle, code_set: str, source: str, lay: bool) -> dict:
    item = _item(id_, question, "open", [row.code], [row.code], f"{code_set} {row.code}: {row.title}",
                 [f"{source}:{code_set}:{row.code}"])
    return {**item, "coder_intent": "which_code", "expect_first_code": row.code, "description": row.title,
            "lay": lay}


def ask_items(rows: list[CodeTitle], n: int, rng: random.Random, prefix: str, code_set: str, source: str,
              templates: list[str]) -> list[dict]:
    """n titles (unambiguous ones only) asked as a coder would ask for their code."""
    rows = unique_titles(sorted(rows, key=lambda r: r.code))
    chosen = rng.sample(rows, min(n, len(rows)))
    return [ask_item(f"{prefix}-{number:04d}", templates[number % len(templates)].format(t=row.title), row,
                     code_set, source, lay=False)
            for number, row in enumerate(chosen, start=1)]


def drug_brands_for(row: CodeTitle) -> dict[str, str]:
    """Generic name in the descriptor -> the brand the project's drug table gives for that code."""
    from rag.drugs import load_drug_table

    descriptor = row.title.lower()
    return {code.generic: code.brand for code in load_drug_table().by_code(row.code)
            if code.generic.lower() in descriptor and code.brand.lower() not in descriptor}


def lay_items(rows: list[CodeTitle], n: int, rng: random.Random, prefix: str, code_set: str, source: str,
              templates: list[str], brands: bool = False) -> list[dict]:
    """n titles that the lay lexicon changes (or, for drugs, that a brand name replaces), paraphrased in lay words
    and asked as a coder would ask; the expected first code is the title's own code."""
    rows = unique_titles(sorted(rows, key=lambda r: r.code))
    candidates = []
    for row in rows:
        extra = drug_brands_for(row) if brands else {}
        if lay_terms_in(row.title) or extra:
            lay = paraphrase(row.title, extra)
            if lay.lower() != row.title.lower():
                candidates.append((row, lay))
    chosen = rng.sample(candidates, min(n, len(candidates)))
    return [ask_item(f"{prefix}-{number:04d}", templates[number % len(templates)].format(t=lay.lower()), row,
                     code_set, source, lay=True)
            for number, (row, lay) in enumerate(chosen, start=1)]


def ask_sets(shared: Path, sample: int, seed: int, wanted: set[str]) -> dict[str, list[dict]]:
    written: dict[str, list[dict]] = {}
    if wanted & {"icd10cm_ask", "icd10cm_lay"}:
        leaves = load_icd10cm_fy2026_leaves(shared)
        if "icd10cm_ask" in wanted:
            written["icd10cm_ask"] = ask_items(leaves, sample, random.Random(f"{seed}:icd-ask"), "aicd", "ICD10CM",
                                               "icd10cm", ICD_ASK_TEMPLATES)
        if "icd10cm_lay" in wanted:
            written["icd10cm_lay"] = lay_items(leaves, sample, random.Random(f"{seed}:icd-lay"), "licd", "ICD10CM",
                                               "icd10cm", ICD_ASK_TEMPLATES)
    if wanted & {"hcpcs_ask", "hcpcs_lay"}:
        hcpcs = load_hcpcs_2020(shared)
        if "hcpcs_ask" in wanted:
            written["hcpcs_ask"] = ask_items(hcpcs, sample, random.Random(f"{seed}:hcpcs-ask"), "ahcpcs", "HCPCS",
                                             "hcpcs", HCPCS_ASK_TEMPLATES)
        if "hcpcs_lay" in wanted:
            written["hcpcs_lay"] = lay_items(hcpcs, sample, random.Random(f"{seed}:hcpcs-lay"), "lhcpcs", "HCPCS",
                                             "hcpcs", HCPCS_ASK_TEMPLATES, brands=True)
    return written


def generate(out: Path, shared: Path | None, sample: int = DEFAULT_SAMPLE, seed: int = SEED,
             only: set[str] | None = None) -> dict[str, Path]:
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    written: dict[str, list[dict]] = {}
    wanted = only or set(ALL_SETS)
    if shared is not None:
        index = load_ptp_index(shared) if wanted & {"ptp_gen", "mue_gen"} else {}
        if "ptp_gen" in wanted:
            written["ptp_gen"] = ptp_items(index, sample, random.Random(f"{seed}:ptp"))
        if "mue_gen" in wanted:
            written["mue_gen"] = mue_items(load_mue(shared), index, sample, random.Random(f"{seed}:mue"))
        if wanted & {"hcpcs_desc", "hcpcs_desc_noisy"}:
            hcpcs = description_items(load_hcpcs_2020(shared), sample, random.Random(f"{seed}:hcpcs"), "ghcpcs",
                                      "hcpcs", "HCPCS")
            if "hcpcs_desc" in wanted:
                written["hcpcs_desc"] = hcpcs
            if "hcpcs_desc_noisy" in wanted:
                written["hcpcs_desc_noisy"] = noisy_items(hcpcs, random.Random(f"{seed}:hcpcs-noisy"), "ghcpcsn")
        icd_rows = load_icd10cm_fy2025(shared) if wanted & ICD_SETS else []
        written.update(ask_sets(shared, sample, seed, wanted))
    else:
        icd_rows = icd10cm_from_package() if wanted & ICD_SETS else []
    if icd_rows:
        icd = description_items(icd_rows, sample, random.Random(f"{seed}:icd"), "gicd", "icd10cm", "ICD10CM")
        if "icd10cm_desc" in wanted:
            written["icd10cm_desc"] = icd
        if "icd10cm_desc_noisy" in wanted:
            written["icd10cm_desc_noisy"] = noisy_items(icd, random.Random(f"{seed}:icd-noisy"), "gicdn")
    paths = {}
    for name, items in written.items():
        path = out / f"{name}.jsonl"
        with open(path, "w", encoding="utf-8") as handle:
            for item in items:
                handle.write(json.dumps(item, ensure_ascii=False) + "\n")
        paths[name] = path
    return paths


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m eval.generate", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--shared", type=Path, help="defaults to ../shared/data beside the repository")
    parser.add_argument("--sample", type=int, default=DEFAULT_SAMPLE, help="items per generated set")
    parser.add_argument("--seed", type=int, default=SEED)
    parser.add_argument("--sets", help=f"comma-separated subset; 'ask' = {', '.join(ASK_SETS)}; default: "
                                       f"{', '.join(ALL_SETS)}")
    args = parser.parse_args(argv)
    only = None
    if args.sets:
        names = {n.strip() for n in args.sets.split(",") if n.strip()}
        only = (names - {"ask"}) | (set(ASK_SETS) if "ask" in names else set())
        unknown = only - set(ALL_SETS) - set(ASK_SETS)
        if unknown:
            parser.error(f"unknown set(s): {', '.join(sorted(unknown))}")
    paths = generate(args.out, shared_data_dir(args.shared), args.sample, args.seed, only)
    for name, path in paths.items():
        print(f"{name}: {sum(1 for _ in open(path))} items -> {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
