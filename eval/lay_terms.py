"""Lay words for clinical terms, written for the project: the generated lay-paraphrase sets ask for a code the
way a patient, a new biller or a hurried coder would put it ("broken thigh bone" for "fracture of femur").

    paraphrase("Malignant neoplasm of upper lobe, right bronchus or lung")
        -> "cancer of upper lobe, right bronchus or lung"

The lexicon maps a clinical term (matched as whole words, case-insensitive, longest first, in one pass so a lay
word is never rewritten again) to everyday words. It is a test instrument, not a coding reference.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

LAY_TERMS: dict[str, str] = {
    # neoplasms
    "malignant neoplasm": "cancer", "secondary malignant neoplasm": "cancer that has spread",
    "benign neoplasm": "noncancerous tumor", "neoplasm of uncertain behavior": "tumor of uncertain type",
    "carcinoma in situ": "early-stage cancer", "neoplasm": "tumor", "carcinoma": "cancer",
    "melanoma": "skin cancer (melanoma)", "lymphoma": "lymph node cancer", "leukemia": "blood cancer",
    "metastatic": "spread", "lipoma": "fatty lump", "nevus": "mole", "neoplasms": "tumors",
    # heart and vessels
    "myocardial infarction": "heart attack", "acute myocardial infarction": "heart attack",
    "hypertension": "high blood pressure", "hypertensive": "high blood pressure", "hypotension": "low blood pressure",
    "atrial fibrillation": "irregular heartbeat", "tachycardia": "fast heartbeat", "bradycardia": "slow heartbeat",
    "arrhythmia": "irregular heartbeat", "cardiac arrhythmia": "irregular heartbeat",
    "angina pectoris": "chest pain from the heart", "atherosclerosis": "hardening of the arteries",
    "thrombosis": "blood clot", "embolism": "blood clot", "deep vein thrombosis": "blood clot in a deep vein",
    "cerebral infarction": "stroke", "cerebrovascular accident": "stroke", "transient ischemic attack": "mini-stroke",
    "heart failure": "weak heart", "cardiomyopathy": "heart muscle disease", "aneurysm": "bulging artery",
    "hemorrhage": "bleeding", "hematoma": "pooled blood under the skin", "varicose veins": "swollen veins",
    "coronary": "heart artery", "cardiac": "heart", "aorta": "main artery", "venous": "vein", "arterial": "artery",
    "vascular": "blood vessel", "cerebrovascular": "brain blood vessel", "syncope": "fainting",
    "cardiac arrest": "heart stopped",
    # bones, joints, injuries
    "fracture": "broken bone", "fractures": "broken bones", "femur": "thigh bone", "tibia": "shin bone",
    "fibula": "calf bone", "humerus": "upper arm bone", "clavicle": "collarbone", "scapula": "shoulder blade",
    "patella": "kneecap", "vertebra": "backbone", "vertebrae": "backbones", "mandible": "jawbone",
    "maxilla": "upper jaw", "sternum": "breastbone", "phalanx": "finger or toe bone", "metacarpal": "hand bone",
    "metatarsal": "foot bone", "calcaneus": "heel bone", "talus": "ankle bone", "coccyx": "tailbone",
    "ulna": "forearm bone", "carpal": "wrist", "tarsal": "foot", "cranium": "skull", "osteoarthritis":
    "wear-and-tear arthritis", "osteoporosis": "brittle bones", "scoliosis": "curved spine",
    "kyphosis": "hunched spine", "spondylosis": "spine arthritis", "intervertebral disc": "spinal disc",
    "spinal stenosis": "narrowing of the spine", "stenosis": "narrowing", "tendinitis": "tendon inflammation",
    "bursitis": "swollen joint sac", "myalgia": "muscle pain", "arthralgia": "joint pain", "dorsalgia": "back pain",
    "cervicalgia": "neck pain", "lumbago": "low back pain", "radiculopathy": "pinched nerve",
    "dislocation": "joint out of place", "subluxation": "partial joint dislocation", "contusion": "bruise",
    "laceration": "cut", "abrasion": "scrape", "sprain": "twisted joint", "amputation": "loss of a limb",
    "concussion": "head injury with brief confusion", "lumbar": "lower back", "thoracic": "mid back",
    "sacral": "tailbone area", "cervical vertebra": "neck bone",
    # body parts and places
    "renal": "kidney", "hepatic": "liver", "pulmonary": "lung", "gastric": "stomach", "cerebral": "brain",
    "cutaneous": "skin", "subcutaneous": "under the skin", "ocular": "eye", "otic": "ear", "nasal": "nose",
    "pharynx": "throat", "larynx": "voice box", "trachea": "windpipe", "esophagus": "food pipe",
    "esophageal": "food pipe", "colon": "large bowel", "intestine": "bowel", "intestinal": "bowel",
    "uterus": "womb", "uterine": "womb", "mammary": "breast", "biliary": "bile duct", "abdominal": "belly",
    "abdomen": "belly", "umbilical": "belly button", "inguinal": "groin", "axillary": "armpit", "axilla": "armpit",
    "popliteal": "back of the knee", "plantar": "sole of the foot", "palmar": "palm", "hallux": "big toe",
    "tympanic membrane": "eardrum", "auricle": "outer ear", "conjunctiva": "lining of the eye",
    "lower limb": "leg", "upper limb": "arm", "extremity": "limb", "digit": "finger or toe",
    "oral cavity": "mouth", "gingiva": "gums", "dental": "tooth",
    # breathing, ear nose throat
    "pneumonia": "lung infection", "bronchitis": "chest cold", "dyspnea": "shortness of breath",
    "chronic obstructive pulmonary disease": "COPD lung disease", "influenza": "flu",
    "acute nasopharyngitis": "common cold", "nasopharyngitis": "common cold", "sinusitis": "sinus infection",
    "pharyngitis": "sore throat", "streptococcal pharyngitis": "strep throat", "otitis media": "middle ear infection",
    "otitis externa": "swimmer's ear", "conjunctivitis": "pink eye", "epistaxis": "nosebleed",
    "rhinitis": "runny nose", "apnea": "pauses in breathing", "respiratory failure": "trouble breathing on one's own",
    "tinnitus": "ringing in the ears", "impacted cerumen": "earwax blockage", "cerumen": "earwax",
    # digestion
    "gastroenteritis": "stomach flu", "gastro-esophageal reflux disease": "acid reflux",
    "gastroesophageal reflux disease": "acid reflux", "dyspepsia": "indigestion", "vomiting": "throwing up",
    "hemorrhoids": "piles", "cholelithiasis": "gallstones", "cholecystitis": "gallbladder inflammation",
    "calculus": "stone", "nephrolithiasis": "kidney stones", "urolithiasis": "urinary stones",
    "colitis": "inflamed bowel", "hepatitis": "liver inflammation", "cirrhosis": "liver scarring",
    "pancreatitis": "inflamed pancreas", "peptic ulcer": "stomach ulcer", "dysphagia": "trouble swallowing",
    "diverticulitis": "inflamed pouches in the bowel", "diverticulosis": "pouches in the bowel",
    "obstruction": "blockage", "occlusion": "blockage", "perforation": "hole", "constipation": "trouble passing stool",
    # kidney, bladder, reproduction
    "urinary tract infection": "bladder infection", "cystitis": "bladder infection",
    "pyelonephritis": "kidney infection", "incontinence": "leaking", "hematuria": "blood in the urine",
    "dysuria": "painful urination", "benign prostatic hyperplasia": "enlarged prostate",
    "chronic kidney disease": "long-term kidney disease", "renal failure": "kidney failure",
    "end stage renal disease": "kidney failure needing dialysis", "menorrhagia": "heavy periods",
    "dysmenorrhea": "painful periods", "amenorrhea": "missed periods", "gestation": "pregnancy",
    "puerperium": "time after childbirth", "postpartum": "after childbirth", "preterm": "early",
    "spontaneous abortion": "miscarriage", "infertility": "trouble getting pregnant",
    # skin
    "dermatitis": "skin rash", "pruritus": "itching", "urticaria": "hives", "cellulitis": "skin infection",
    "abscess": "pocket of pus", "furuncle": "boil", "carbuncle": "cluster of boils", "alopecia": "hair loss",
    "onychomycosis": "nail fungus", "tinea": "fungal skin infection", "verruca": "wart", "erythema": "redness",
    "pressure ulcer": "bedsore", "decubitus ulcer": "bedsore", "ulcer": "open sore", "edema": "swelling",
    "herpes zoster": "shingles", "varicella": "chickenpox", "pertussis": "whooping cough",
    "ingrowing nail": "ingrown nail", "seborrheic keratosis": "age spot",
    # brain, nerves, mind
    "epilepsy": "seizure disorder", "convulsions": "seizures", "hemiplegia": "paralysis of one side",
    "paraplegia": "paralysis of the legs", "quadriplegia": "paralysis of arms and legs",
    "neuropathy": "nerve damage", "polyneuropathy": "nerve damage", "vertigo": "dizziness",
    "cephalgia": "headache", "major depressive disorder": "depression", "anxiety disorder": "anxiety",
    "insomnia": "trouble sleeping", "alcohol dependence": "alcohol addiction", "opioid dependence": "opioid addiction",
    "nicotine dependence": "smoking addiction", "attention-deficit hyperactivity disorder": "ADHD",
    "dementia": "memory loss", "cognitive": "thinking",
    # glands, blood, metabolism, infection
    "diabetes mellitus": "diabetes", "hyperglycemia": "high blood sugar", "hypoglycemia": "low blood sugar",
    "hyperlipidemia": "high cholesterol", "hypercholesterolemia": "high cholesterol",
    "hypothyroidism": "underactive thyroid", "hyperthyroidism": "overactive thyroid", "goiter": "swollen thyroid",
    "anemia": "low red blood cells", "morbid obesity": "severe obesity", "dehydration": "not enough fluids",
    "pyrexia": "fever", "malaise": "feeling unwell", "fatigue": "tiredness", "sepsis": "blood infection",
    "septicemia": "blood infection", "bacteremia": "bacteria in the blood",
    # eyes
    "myopia": "nearsightedness", "hypermetropia": "farsightedness", "presbyopia": "age-related farsightedness",
    "cataract": "cloudy lens", "glaucoma": "high eye pressure", "blepharitis": "eyelid inflammation",
    # encounter and coding words
    "congenital": "present from birth", "bilateral": "both sides", "unilateral": "one side",
    "initial encounter": "first visit", "subsequent encounter": "follow-up visit", "sequela": "late effect",
    "adverse effect": "side effect", "toxic effect": "poisoning", "foreign body": "object stuck",
    "encounter for": "visit for", "screening": "check for", "immunization": "vaccination",
    "examination": "checkup", "prosthesis": "artificial part", "orthosis": "brace", "catheter": "tube",
    "unspecified": "not specified", "idiopathic": "of unknown cause", "chronic": "long-term",
    "acute": "sudden", "inflammation": "swelling and redness",
    # HCPCS descriptor words
    "injection": "shot", "intravenous": "IV", "intramuscular": "into the muscle", "infusion": "drip",
    "administration": "giving", "durable medical equipment": "home medical equipment",
    "ambulance service": "ambulance ride", "wheelchair": "wheel chair", "nebulizer": "breathing machine",
    "glucose monitor": "blood sugar meter", "orthotic": "brace", "prosthetic": "artificial",
    "ostomy": "stoma", "enteral": "tube feeding", "parenteral": "IV feeding", "oxygen concentrator": "oxygen machine",
    "continuous positive airway pressure": "CPAP breathing machine", "hyaluronan": "knee gel",
    "transportation": "ride",
}


def _pattern(terms: Iterable[str]) -> re.Pattern[str]:
    keys = sorted(terms, key=len, reverse=True)
    return re.compile(r"(?<![\w-])(" + "|".join(re.escape(k) for k in keys) + r")(?![\w-])", re.IGNORECASE)


_LEXICON = {key.lower(): value for key, value in LAY_TERMS.items()}
_PATTERN = _pattern(_LEXICON)


def lay_terms_in(text: str) -> list[str]:
    """The clinical terms of the lexicon found in ``text``, in order."""
    return [match.group(1).lower() for match in _PATTERN.finditer(text)]


def paraphrase(title: str, extra: dict[str, str] | None = None) -> str:
    """The title in lay words: every lexicon term replaced once (no lay word is rewritten again).
    ``extra`` adds terms for one call, e.g. generic drug names to their brand names for HCPCS descriptors."""
    lexicon, pattern = _LEXICON, _PATTERN
    if extra:
        lexicon = {**_LEXICON, **{k.lower(): v for k, v in extra.items()}}
        pattern = _pattern(lexicon)
    text = pattern.sub(lambda match: lexicon[match.group(1).lower()], title)
    text = re.sub(r"^shot,\s*", "shot of ", text)  # "Injection, ketorolac" -> "shot of ketorolac"
    return " ".join(text.split())
