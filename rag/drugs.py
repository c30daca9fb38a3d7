"""Drug names to HCPCS drug codes, and a dose to billing units.

The table (corpora/drugs/brand_generic.csv) is written for the project: brand and generic names of the most
used injectable drugs, the HCPCS code, and the amount one billing unit of that code stands for (the dose in
the code's descriptor, checked against the CMS HCPCS 2020 file; later codes are marked as not checked there).

    table = load_drug_table()
    table.resolve("solumedrol 125mg IV")        -> [DrugMatch(name='solu-medrol', codes=(J2920, J2930))]
    parse_dose("2 mL of 40 mg/mL")              -> Dose(80.0, 'mg')
    units_for(Dose(125, "mg"), code_J2930)      -> 1
"""

from __future__ import annotations

import csv
import math
import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from rapidfuzz import fuzz, process

DEFAULT_TABLE = Path(__file__).resolve().parents[1] / "corpora" / "drugs" / "brand_generic.csv"
COLUMNS = ("brand", "generic", "hcpcs", "per_amount", "per_unit", "in_hcpcs_2020", "terminated_on", "note")
HCPCS_DRUG_CODE = re.compile(r"^[A-Z]\d{4}$")

# Units of the same dimension, in the smallest unit of each: mass in mcg, international units as units.
MASS_IN_MCG = {"mcg": 1.0, "mg": 1_000.0, "g": 1_000_000.0}
UNIT_ALIASES = {
    "mcg": "mcg", "µg": "mcg", "ug": "mcg", "microgram": "mcg", "micrograms": "mcg",
    "mg": "mg", "milligram": "mg", "milligrams": "mg", "mgs": "mg",
    "g": "g", "gm": "g", "gram": "g", "grams": "g", "gms": "g",
    "unit": "units", "units": "units", "u": "units", "iu": "units", "usp": "units",
    "ml": "ml", "cc": "ml", "milliliter": "ml", "milliliters": "ml",
    "meq": "meq", "dose": "dose", "doses": "dose", "injection": "injection", "injections": "injection",
}
# Words a coder types around a drug name that must never be taken for a misspelt drug.
_NOT_DRUG_WORDS = """
    units unit injection inject injected injections code codes hcpcs dose doses what which how many bill billed
    billing given gave patient with without and the for per vial vials given mg mcg total waste wasted modifier
    infusion push drip intramuscular intravenous subcutaneous shot shots depot single multiple daily week
    chronic acute clinic clinical cancer tumor fracture medical medicare medicaid covered coverage denied denial
    office visit visits modifier modifiers bundled bundle global surgery screening preventive diagnosis
    history status severe moderate mild initial subsequent sequela bilateral unilateral right left"""
NOT_DRUG_NAMES = frozenset(_NOT_DRUG_WORDS.split())


class DoseError(ValueError):
    """A dose that cannot be billed in this code's unit (for example units of a drug billed per mg)."""


@dataclass(frozen=True)
class DrugCode:
    brand: str
    generic: str
    hcpcs: str
    per_amount: float  # one billing unit of the code stands for this much drug ...
    per_unit: str  # ... in this unit: mg, mcg, g, units, ml, meq, dose, injection
    in_hcpcs_2020: bool  # False: a code added after 2020, not checkable against the 2020 file
    note: str = ""
    terminated_on: int | None = None  # YYYYMMDD, last valid day, for a code CMS has since terminated

    @property
    def active(self) -> bool:
        return self.terminated_on is None

    @property
    def per_label(self) -> str:
        amount = f"{self.per_amount:g}"
        return f"per {amount} {self.per_unit}" if self.per_unit not in ("dose", "injection") else f"per {self.per_unit}"


@dataclass(frozen=True)
class DrugMatch:
    text: str  # the words of the question that matched
    name: str  # the table name they matched
    kind: str  # "brand" or "generic"
    score: float  # 100 for an exact match, less for a typo
    codes: tuple[DrugCode, ...]

    @property
    def generics(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(code.generic for code in self.codes))

    @property
    def hcpcs_codes(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(code.hcpcs for code in self.codes))


@dataclass(frozen=True)
class Dose:
    amount: float
    unit: str  # normalised: mg, mcg, g, units, ml, meq, dose, injection
    text: str = ""


@dataclass(frozen=True)
class CodeUnits:
    code: DrugCode
    units: int
    billed_amount: float  # units x the per-unit amount, in the code's unit
    unused_amount: float  # billed minus given, in the code's unit (drug wastage may need modifier JW)


# ---------------------------------------------------------------- table


def _normalise(text: str) -> str:
    return " ".join(re.sub(r"[^0-9a-z]+", " ", text.lower()).split())


def _sounds(text: str) -> str:
    """A rough spelling-by-sound key, so 'rocefin' finds 'rocephin' and 'solumedral' finds 'solu medrol'."""
    text = text.replace(" ", "")
    for written, heard in (("ph", "f"), ("ck", "k"), ("qu", "kw"), ("y", "i"), ("z", "s"), ("c", "k")):
        text = text.replace(written, heard)
    return re.sub(r"(.)\1+", r"\1", text)


class DrugTable:
    def __init__(self, codes: list[DrugCode]):
        if not codes:
            raise ValueError("the drug table is empty")
        self.codes = codes
        self._by_name: dict[str, tuple[str, list[DrugCode]]] = {}
        for code in codes:
            self._add(code.brand, "brand", code)
            self._add(code.generic, "generic", code)
            head = _normalise(code.generic).split(" ")[0]
            if len(head) >= 7 and head != _normalise(code.generic):  # "methylprednisolone" names all its salts
                self._add(head, "generic", code)
        self._names = list(self._by_name)
        self._sounds = [_sounds(name) for name in self._names]
        self._longest = max(len(name.split()) for name in self._names)

    def _add(self, name: str, kind: str, code: DrugCode) -> None:
        key = _normalise(name)
        if not key:
            return
        _, known = self._by_name.setdefault(key, (kind, []))
        if code not in known:
            known.append(code)

    def by_code(self, hcpcs: str) -> list[DrugCode]:
        return [code for code in self.codes if code.hcpcs == hcpcs.upper()]

    def lookup(self, name: str) -> DrugMatch | None:
        """One name (brand or generic), exactly or with a typo."""
        matches = self.resolve(name)
        return matches[0] if matches else None

    def resolve(self, question: str) -> list[DrugMatch]:
        """Every drug named in the question, longest names first; typos tolerated on names of 5+ letters."""
        words = _normalise(question).split()
        taken = [False] * len(words)
        found: list[tuple[int, DrugMatch]] = []
        for fuzzy in (False, True):
            for size in range(min(self._longest, len(words)), 0, -1):
                for start in range(len(words) - size + 1):
                    if any(taken[start:start + size]):
                        continue
                    gram = words[start:start + size]
                    match = self._match(" ".join(gram), gram, fuzzy)
                    if match is not None:
                        taken[start:start + size] = [True] * size
                        found.append((start, match))
        return [match for _, match in sorted(found, key=lambda item: item[0])]

    def _match(self, text: str, gram: list[str], fuzzy: bool) -> DrugMatch | None:
        entry = self._by_name.get(text)
        if entry is not None:
            return DrugMatch(text, text, entry[0], 100.0, tuple(entry[1]))
        if not fuzzy or len(text.replace(" ", "")) < 5 or any(w in NOT_DRUG_NAMES or w.isdigit() for w in gram):
            return None
        # short names need a closer spelling; a typo seldom changes the first letter
        cutoff = 90.0 if len(text) <= 5 else 82.0 if len(text) <= 7 else 80.0
        best = process.extractOne(text, self._names, scorer=fuzz.ratio, score_cutoff=cutoff)
        heard = process.extractOne(_sounds(text), self._sounds, scorer=fuzz.ratio, score_cutoff=cutoff + 3)
        candidates = [(self._names[index], score) for choice in (best, heard) if choice is not None
                      for _, score, index in [choice] if self._names[index][0] == text[0]]
        if not candidates:
            return None
        name, score = max(candidates, key=lambda item: item[1])
        # a typo adds or drops a letter or two, it does not turn "chronic" into "chorionic"
        length_gap = abs(len(name.replace(" ", "")) - len(text.replace(" ", "")))
        if length_gap > (1 if len(text) <= 8 else 2):
            return None
        kind, codes = self._by_name[name]
        return DrugMatch(text, name, kind, float(score), tuple(codes))


def read_drug_table(path: Path) -> DrugTable:
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"{path}: drug table not found")
    codes: list[DrugCode] = []
    with open(path, encoding="utf-8", newline="") as handle:
        reader = csv.DictReader(handle)
        missing = [c for c in COLUMNS if c not in (reader.fieldnames or [])]
        if missing:
            raise ValueError(f"{path}:1: header lacks {', '.join(missing)}")
        for row in reader:
            line = reader.line_num
            hcpcs = (row["hcpcs"] or "").strip().upper()
            unit = UNIT_ALIASES.get((row["per_unit"] or "").strip().lower())
            try:
                amount = float(row["per_amount"])
            except (TypeError, ValueError):
                raise ValueError(f"{path}:{line}: per_amount {row['per_amount']!r} is not a number") from None
            if not HCPCS_DRUG_CODE.match(hcpcs):
                raise ValueError(f"{path}:{line}: {hcpcs!r} is not a HCPCS drug code")
            if unit is None or amount <= 0:
                raise ValueError(f"{path}:{line}: per-unit amount {row['per_amount']} {row['per_unit']} is not usable")
            if not (row["brand"] or "").strip() or not (row["generic"] or "").strip():
                raise ValueError(f"{path}:{line}: brand and generic are required")
            terminated = (row["terminated_on"] or "").strip()
            if terminated and not re.fullmatch(r"\d{4}-\d{2}-\d{2}", terminated):
                raise ValueError(f"{path}:{line}: terminated_on {terminated!r} is not a date (YYYY-MM-DD)")
            codes.append(DrugCode(row["brand"].strip(), row["generic"].strip(), hcpcs, amount, unit,
                                  (row["in_hcpcs_2020"] or "").strip().lower() == "yes", (row["note"] or "").strip(),
                                  int(terminated.replace("-", "")) if terminated else None))
    return DrugTable(codes)


@lru_cache(maxsize=4)
def load_drug_table(path: Path | None = None) -> DrugTable:
    return read_drug_table(Path(path) if path else DEFAULT_TABLE)


# ---------------------------------------------------------------- doses

_NUMBER = r"(\d{1,3}(?:,\d{3})+|\d+(?:\.\d+)?|\.\d+)"
_UNIT = r"(mcg|µg|ug|micrograms?|mg|mgs|milligrams?|gm|gms|grams?|g|units?|iu|u|meq|ml|cc|doses?|injections?)"
_VOLUME_OF_CONCENTRATION = re.compile(
    rf"(?<![\w.]){_NUMBER}\s*(ml|cc)\s*(?:of|x|@|at)?\s*(?:a\s+|the\s+)?{_NUMBER}\s*{_UNIT}\s*(?:/|per)\s*(ml|cc)\b",
    re.IGNORECASE)
_CONCENTRATION_THEN_VOLUME = re.compile(
    rf"(?<![\w.]){_NUMBER}\s*{_UNIT}\s*(?:/|per)\s*(?:ml|cc)\b\s*[,x]?\s*(?:vial\s*,?\s*)?{_NUMBER}\s*(ml|cc)\b", re.IGNORECASE)
_AMOUNT = re.compile(rf"(?<![\w.]){_NUMBER}\s*{_UNIT}(?![\w/])(?!\s*/\s*(?:kg|m2|ml|cc)\b)", re.IGNORECASE)


def _number(text: str) -> float:
    return float(text.replace(",", ""))


def parse_doses(text: str) -> list[Dose]:
    """Every dose in the text, in order: '125 mg', '1 g', '80mg', '300 units', '2 mL of 40 mg/mL' (= 80 mg).
    Weight- or area-based doses ('5 mg/kg') are not doses to bill and are skipped."""
    found: list[tuple[int, Dose]] = []
    spans: list[tuple[int, int]] = []
    for match in _VOLUME_OF_CONCENTRATION.finditer(text):
        volume, strength, unit = _number(match.group(1)), _number(match.group(3)), UNIT_ALIASES[match.group(4).lower()]
        found.append((match.start(), Dose(volume * strength, unit, match.group(0))))
        spans.append(match.span())
    for match in _CONCENTRATION_THEN_VOLUME.finditer(text):
        if any(a <= match.start() < b for a, b in spans):
            continue
        strength, unit, volume = _number(match.group(1)), UNIT_ALIASES[match.group(2).lower()], _number(match.group(3))
        found.append((match.start(), Dose(volume * strength, unit, match.group(0))))
        spans.append(match.span())
    for match in _AMOUNT.finditer(text):
        if any(a <= match.start() < b for a, b in spans):
            continue
        found.append((match.start(), Dose(_number(match.group(1)), UNIT_ALIASES[match.group(2).lower()],
                                          match.group(0))))
    return [dose for _, dose in sorted(found, key=lambda item: item[0])]


def parse_dose(text: str) -> Dose | None:
    doses = parse_doses(text)
    return doses[0] if doses else None


def convert(dose: Dose, unit: str) -> float:
    """The dose expressed in ``unit``; raises DoseError across dimensions (mg to units, ml to mg ...)."""
    if dose.unit == unit:
        return dose.amount
    if dose.unit in MASS_IN_MCG and unit in MASS_IN_MCG:
        return dose.amount * MASS_IN_MCG[dose.unit] / MASS_IN_MCG[unit]
    raise DoseError(f"a dose in {dose.unit} cannot be billed per {unit}")


def units_for(dose: Dose, code: DrugCode) -> int:
    """Billing units: the dose divided by the code's per-unit amount, rounded up (a partial unit bills as one)."""
    given = convert(dose, code.per_unit)
    if given <= 0:
        raise DoseError("the dose must be more than zero")
    # round first: 0.3 mg / 0.1 mg is 2.9999999999999996 in floating point, not a reason for a fourth unit
    return max(1, math.ceil(round(given / code.per_amount, 6)))


def code_units(dose: Dose, code: DrugCode) -> CodeUnits:
    units = units_for(dose, code)
    billed = units * code.per_amount
    return CodeUnits(code, units, billed, round(billed - convert(dose, code.per_unit), 6))


def code_lines_for_dose(codes: list[DrugCode] | tuple[DrugCode, ...], dose: Dose) -> list[CodeUnits]:
    """For a drug billed under several strengths of one generic (methylprednisolone acetate 20, 40, 80 mg), the
    lines a coder reports: the largest strengths that fit, then the smallest strength for what is left
    (120 mg -> J1040 x 1 + J1030 x 1). A single code just gets its units; codes CMS has terminated are used only
    when no current code fits."""
    usable = [c for c in {c.hcpcs: c for c in reversed(list(codes))}.values() if _compatible(dose, c)]
    if not usable:
        raise DoseError(f"no code here is billed in a unit a {dose.unit} dose converts to")
    usable = [c for c in usable if c.active] or usable  # a terminated strength only when nothing else is left
    generics = {c.generic for c in usable}
    if len(usable) == 1 or len(generics) > 1:
        return [code_units(dose, usable[0])]
    by_strength = sorted(usable, key=lambda c: convert(Dose(c.per_amount, c.per_unit), usable[0].per_unit),
                         reverse=True)
    base = by_strength[0].per_unit
    remaining = convert(dose, base)
    lines: list[CodeUnits] = []
    for code in by_strength:
        size = convert(Dose(code.per_amount, code.per_unit), base)
        count = int(round(remaining, 6) // round(size, 6))
        if count:
            lines.append(CodeUnits(code, count, count * code.per_amount, 0.0))
            remaining = round(remaining - count * size, 6)
    if remaining > 0:
        smallest = by_strength[-1]
        extra = code_units(Dose(remaining, base), smallest)
        merged = next((line for line in lines if line.code == smallest), None)
        if merged is not None:
            lines.remove(merged)
            extra = CodeUnits(smallest, merged.units + extra.units, merged.billed_amount + extra.billed_amount,
                              extra.unused_amount)
        lines.append(extra)
    return lines


def _compatible(dose: Dose, code: DrugCode) -> bool:
    try:
        convert(dose, code.per_unit)
    except DoseError:
        return False
    return True
