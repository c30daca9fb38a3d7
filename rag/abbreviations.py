"""The abbreviations coders type, spelt out for code search: "pt s/p fx lt wrist w/o displacement" ->
"patient status post fracture left wrist without displacement".

Only abbreviations that are unambiguous in a coding question are expanded, and never where they are codes
themselves: "modifier RT", "-LT" and "PT modifier" stay as they are; codes (E11.9, J1040, 99213) are untouched.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

# Written with a slash or an ampersand: matched anywhere a word could start, also when glued to the next word
# ("w/exacerbation"). Longest first, so "w/o" wins over "w/".
SLASHED: dict[str, str] = {
    "w/o": "without", "s/p": "status post", "h/o": "history of", "c/o": "complaining of", "r/o": "rule out",
    "f/u": "follow up", "n/v/d": "nausea, vomiting and diarrhea", "n/v": "nausea and vomiting", "b/l": "bilateral",
    "u/s": "ultrasound", "y/o": "year old", "e/m": "evaluation and management", "e&m": "evaluation and management",
    "i&d": "incision and drainage", "pt/inr": "prothrombin time and INR", "a-fib": "atrial fibrillation",
    "x-ray": "x-ray", "w/": "with", "d/c": "discharge", "s/s": "signs and symptoms",
}

# Whole words, case-insensitive.
WORDS: dict[str, str] = {
    # people, places, visits
    "pt": "patient", "pts": "patients", "pt's": "patient's", "inpt": "inpatient", "outpt": "outpatient",
    "est": "established", "hx": "history", "pmh": "past medical history", "fhx": "family history",
    "dx": "diagnosis", "ddx": "differential diagnosis", "tx": "treatment", "sx": "symptoms", "rx": "prescription",
    "yo": "year old", "yr": "year", "yrs": "years", "eval": "evaluation", "evals": "evaluations",
    "re-eval": "re-evaluation", "reeval": "re-evaluation", "fu": "follow up",
    "inj": "injection", "injs": "injections", "admin": "administration", "ov": "office visit",
    "appt": "appointment", "snf": "skilled nursing facility", "asc": "ambulatory surgery center",
    "dos": "date of service", "pos": "place of service", "abx": "antibiotics", "meds": "medications",
    "bilat": "bilateral", "lt": "left", "rt": "right", "lat": "lateral",
    "rle": "right lower extremity", "lle": "left lower extremity", "rue": "right upper extremity",
    "lue": "left upper extremity", "rlq": "right lower quadrant", "llq": "left lower quadrant",
    "ruq": "right upper quadrant", "luq": "left upper quadrant", "abd": "abdominal", "ext": "extremity",
    "subq": "subcutaneous", "sq": "subcutaneous", "iv": "intravenous", "po": "by mouth",
    "bx": "biopsy", "fb": "foreign body", "lac": "laceration", "fx": "fracture", "fxs": "fractures",
    "exac": "exacerbation", "exacerb": "exacerbation", "wo": "without",
    # conditions
    "htn": "hypertension", "dm": "diabetes mellitus", "dm1": "type 1 diabetes mellitus",
    "dm2": "type 2 diabetes mellitus", "t1dm": "type 1 diabetes mellitus", "t2dm": "type 2 diabetes mellitus",
    "iddm": "type 1 diabetes mellitus", "niddm": "type 2 diabetes mellitus", "chf": "congestive heart failure",
    "hfref": "heart failure with reduced ejection fraction", "hfpef": "heart failure with preserved ejection fraction",
    "copd": "chronic obstructive pulmonary disease", "ckd": "chronic kidney disease", "esrd": "end stage renal disease",
    "aki": "acute kidney injury", "uti": "urinary tract infection", "uri": "upper respiratory infection",
    "cad": "coronary artery disease", "mi": "myocardial infarction", "stemi": "ST elevation myocardial infarction",
    "nstemi": "non-ST elevation myocardial infarction", "afib": "atrial fibrillation", "cva": "stroke",
    "tia": "transient ischemic attack", "dvt": "deep vein thrombosis", "gerd": "gastroesophageal reflux disease",
    "bph": "benign prostatic hyperplasia", "oa": "osteoarthritis", "ra": "rheumatoid arthritis",
    "sob": "shortness of breath", "cp": "chest pain", "lbp": "low back pain", "hld": "hyperlipidemia",
    "osa": "obstructive sleep apnea", "pna": "pneumonia", "mrsa": "methicillin resistant staphylococcus aureus",
    "ards": "acute respiratory distress syndrome", "mdd": "major depressive disorder",
    "gad": "generalized anxiety disorder", "adhd": "attention-deficit hyperactivity disorder",
    "pvd": "peripheral vascular disease", "sah": "subarachnoid hemorrhage",
    "bmi": "body mass index", "hiv": "HIV", "ptsd": "post-traumatic stress disorder", "ibs": "irritable bowel syndrome",
    "gi": "gastrointestinal", "uc": "ulcerative colitis", "aaa": "abdominal aortic aneurysm",
    "cabg": "coronary artery bypass graft", "tka": "total knee arthroplasty", "tha": "total hip arthroplasty",
    "orif": "open reduction internal fixation", "egd": "esophagogastroduodenoscopy", "lap": "laparoscopic",
    "chole": "cholecystectomy", "appy": "appendectomy", "tah": "total abdominal hysterectomy",
    "esi": "epidural steroid injection", "tpi": "trigger point injection", "rfa": "radiofrequency ablation",
    "ekg": "electrocardiogram", "ecg": "electrocardiogram", "echo": "echocardiogram", "xr": "x-ray",
    "cxr": "chest x-ray", "mammo": "mammogram", "colo": "colonoscopy", "ua": "urinalysis", "cbc": "complete blood count",
    "bmp": "basic metabolic panel", "cmp": "comprehensive metabolic panel", "tsh": "thyroid stimulating hormone",
    "psa": "prostate specific antigen", "a1c": "hemoglobin A1c", "hba1c": "hemoglobin A1c",
    "awv": "annual wellness visit", "tcm": "transitional care management", "ccm": "chronic care management",
    "rpm": "remote physiologic monitoring", "acp": "advance care planning",
}

# Upper case only: in lower case these are ordinary words or mean something else.
UPPER_ONLY: dict[str, str] = {
    "US": "ultrasound", "ER": "emergency department", "IM": "intramuscular", "SC": "subcutaneous",
    "OT": "occupational therapy", "ED": "emergency department", "PE": "pulmonary embolism",
    "PAD": "peripheral arterial disease",
}
# Expanded only before the words that make them unambiguous ("lap chole", "lat view", "est pt").
CONTEXT_ONLY: dict[str, tuple[str, ...]] = {
    "lap": ("chole", "cholecystectomy", "appy", "appendectomy", "hernia", "inguinal", "hysterectomy", "band"),
    "lat": ("view", "views", "x-ray", "xray"),
    "est": ("pt", "patient", "patients", "pts"),
}

# Before these words "PT" means physical therapy, not patient.
THERAPY_WORDS = ("eval", "evaluation", "evals", "re-eval", "reeval", "re-evaluation", "therapy", "session",
                 "sessions", "visit", "visits", "treatment", "plan", "services", "modalities", "modality")
SINGLE_LETTER_SIDES = {"L": "left", "R": "right"}
MODIFIER_CONTEXT = re.compile(r"(?:\bmodifiers?|\bmods?)\s*[-:]?\s*$|-\s*$", re.IGNORECASE)
MODIFIER_AFTER = re.compile(r"^\s*(?:modifiers?|mods?)\b", re.IGNORECASE)


@dataclass(frozen=True)
class Expansion:
    abbreviation: str
    words: str
    start: int  # offset in the question


def _slashed_pattern() -> re.Pattern[str]:
    keys = sorted(SLASHED, key=len, reverse=True)
    alternatives = "|".join(re.escape(key) for key in keys)
    return re.compile(rf"(?<![A-Za-z0-9/&])({alternatives})(?=[A-Za-z]|[^A-Za-z0-9/&]|$)", re.IGNORECASE)


_SLASHED = _slashed_pattern()


def _is_code_context(text: str, start: int, end: int) -> bool:
    """Part of a modifier mention ("modifier RT", "-LT", "RT modifier") or glued to a code ("J1040-RT")."""
    before, after = text[:start], text[end:]
    if MODIFIER_CONTEXT.search(before) or MODIFIER_AFTER.match(after):
        return True
    # "modifier RT or LT": a two-letter upper-case word in a question about modifiers is a modifier
    word = text[start:end]
    return len(word) == 2 and word.isupper() and re.search(r"\bmod(?:ifier)?s?\b", text, re.IGNORECASE) is not None


def expansions(question: str) -> list[Expansion]:
    """What :func:`expand` would replace, in order (for showing the plan)."""
    found: list[Expansion] = []
    taken: list[tuple[int, int]] = []
    for match in _SLASHED.finditer(question):
        key = match.group(1).lower()
        if key == "x-ray":
            continue
        found.append(Expansion(match.group(1), SLASHED[key], match.start()))
        taken.append(match.span())
    for match in re.finditer(r"[A-Za-z][A-Za-z0-9'\-]*", question):
        start, end = match.span()
        if any(a <= start < b for a, b in taken):
            continue
        word = match.group(0)
        if end < len(question) and question[end] in "/&":  # part of a slashed form we do not know
            continue
        if start > 0 and question[start - 1] in "/&":
            continue
        words = _expansion_of(word, question, start, end)
        if words is not None:
            found.append(Expansion(word, words, start))
    return sorted(found, key=lambda e: e.start)


def _expansion_of(word: str, question: str, start: int, end: int) -> str | None:
    lower = word.lower()
    if _is_code_context(question, start, end):
        return None
    if lower == "pt":
        following = question[end:].lstrip().split(" ", 1)[0].lower().strip(",.;:?")
        if word == "PT" and following in THERAPY_WORDS:
            return "physical therapy"
        return WORDS["pt"]
    if word in UPPER_ONLY:
        return UPPER_ONLY[word]
    if word in SINGLE_LETTER_SIDES:
        following = question[end:]
        if re.match(r"\s+[a-z]{3,}", following):  # "R hand", "L knee"; not "R10.9" or "L 5"
            return SINGLE_LETTER_SIDES[word]
        return None
    if lower in ("mod", "mods"):
        return None  # "mod 25" is a modifier, "mod complexity" is moderate: left for the reader
    if lower in CONTEXT_ONLY:
        following = question[end:].lstrip().split(" ", 1)[0].lower().strip(",.;:?")
        return WORDS[lower] if following in CONTEXT_ONLY[lower] else None
    return WORDS.get(lower)


# Everyday phrases for the code sets' own words, as coders type them ("not specified", "both sides").
PHRASES = re.compile(r"\b(not specified|both sides)\b", re.I)
PHRASE_WORDS = {"not specified": "unspecified", "both sides": "bilateral"}


def expand(question: str) -> str:
    """The question with every known abbreviation spelt out; the rest of the text unchanged."""
    question = PHRASES.sub(lambda m: PHRASE_WORDS[m.group(1).lower()], question)
    parts: list[str] = []
    position = 0
    for item in expansions(question):
        end = item.start + len(item.abbreviation)
        parts.append(question[position:item.start])
        parts.append(item.words)
        if end < len(question) and question[end].isalnum() and item.abbreviation.endswith("/"):
            parts.append(" ")  # "w/exacerbation" -> "with exacerbation"
        position = end
    parts.append(question[position:])
    return "".join(parts)
