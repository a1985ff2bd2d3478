"""The zoo model's training text, generated offline from the zoo's data files (read through
:mod:`saebench.tasks.zoo_facts` and :mod:`saebench.tasks.zoo_ioi`; built by
:mod:`saebench.zoo.facts`).

Three kinds of sentence, shuffled together:

* facts: a city's country, continent or language, each stated with a carrier prefix and a
  relation frame ending in a cue that only that relation uses ("... in the country of",
  "... on the continent of", "... speak"). A city's facts appear only under the
  (carrier, frame) pairs listed in its ``seen`` field, so other pairs stay held out;
* IOI sentences ("When Mary and John went to the store, John gave a drink to Mary.") over
  training name pairs and training (opening, verb) combinations only;
* plain prose from templates about weather, travel, food and daily life over the same names,
  cities, countries and languages, in roles that never use the attribute cue words.

Sentences are returned as strings, one per training unit; the trainer packs them.

Example:
    >>> from saebench.zoo.corpus import build_corpus
    >>> sentences = build_corpus(seed=0)
"""

from __future__ import annotations

import random
import re
from dataclasses import dataclass

from saebench.tasks import zoo_facts, zoo_ioi
from saebench.zoo import facts

PROSE_TEMPLATES: tuple[str, ...] = (
    "It was {weather} in {city} on {day}.",
    "On {day} {time}, the weather in {city} was {weather}.",
    "{name} took the {vehicle} from {city} to {city2}.",
    "{name} and {name2} went to {city} by {vehicle} in {month}.",
    "{name} bought {food} at the {place}.",
    "After work, {name} went to the {place} to {activity}.",
    "The {place} was {adj} that {time}.",
    "{name} likes to {activity} in the {time}.",
    "Every {day}, {name} drinks {drink} with {food}.",
    "{name} wants to visit {country} next {season}.",
    "{name} is learning {language} at school.",
    "{name} has a {color} {animal} called {name2}.",
    "The {animal} ran across the {place}.",
    "In {season}, it is often {weather} in {city}.",
    "{name} works as a {job} in {city}.",
    "{name} found {object} on the table.",
    "{name} met {name2} at the {place} on {day}.",
    "{name} read a book about {continent} on the {vehicle}.",
    "The whole nation watched the game on {day} {time}.",
    "{name} likes to talk with {name2} after dinner.",
    "The {place} in {city} opens at {number} in the {time}.",
    "{name} cooked {food} for {name2} on {day}.",
    "{name} gave {object} to {name2} after lunch.",
    "{name} wrote a letter to {name2} from {city}.",
    "The {vehicle} to {city} was late again.",
    "{name} stayed at home because it was {weather}.",
    "{name} and {name2} walked to the {place} together.",
    "In {month}, the {place} is {adj}.",
    "{name} asked {name2} about the trip to {city}.",
    "{name} looked at an old map of the world.",
    "{name} said that the {place} was {adj}.",
    "Many words in {language} are hard to learn.",
    "{name} flew over {continent} in a small plane.",
    "{name} told {name2} a story about a {color} {animal}.",
    "The {food} at the {place} was very good.",
    "{name} will fly to {city} on {day}.",
    "The {color} bag belongs to {name}.",
    "{name} likes to use a {color} pen.",
    "Many people were at the {place} on {day}.",
    "The rain in the region stopped after {number} days.",
    "{name} took a photo of the {place} in {city}.",
    "{name} and {name2} played with the {animal} in the {place}.",
    "{name} is a {job} and lives near the {place}.",
    "The {vehicle} from {city} arrived in the {time}.",
    "{name} sent a card to {name2} in {month}.",
    "At the {place}, {name} drank a cup of {drink}.",
)

SLOT_WORDS: dict[str, tuple[str, ...]] = {
    "day": ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"),
    "month": [
        "January",
        "February",
        "March",
        "April",
        "May",
        "June",
        "July",
        "August",
        "September",
        "October",
        "November",
        "December",
    ],
    "season": ("spring", "summer", "autumn", "winter"),
    "weather": ("sunny", "rainy", "cold", "warm", "windy", "cloudy", "hot", "foggy"),
    "time": ("morning", "afternoon", "evening", "night"),
    "food": ("bread", "soup", "rice", "fish", "cake", "fruit", "cheese", "eggs", "salad"),
    "drink": ("tea", "coffee", "water", "juice", "milk"),
    "vehicle": ("train", "bus", "plane", "boat", "car", "bike"),
    "animal": ("dog", "cat", "bird", "horse", "cow", "fox", "rabbit"),
    "color": ("red", "blue", "green", "yellow", "white", "black"),
    "number": ("two", "three", "four", "five", "six", "seven", "ten"),
    "adj": ("quiet", "busy", "small", "large", "old", "new", "clean", "crowded", "beautiful"),
    "activity": ("read", "cook", "swim", "run", "sing", "paint", "dance", "sleep"),
    "job": ("teacher", "doctor", "driver", "farmer", "baker", "writer", "nurse"),
}

# Words that only relation frames may use: prose must never contain them.
CUE_WORDS = frozenset({"country", "continent", "speak"})


@dataclass(frozen=True)
class CorpusConfig:
    """How many sentences of each kind one corpus draw holds.

    ``fact_repeats`` is the number of sentences per (city, relation); a held-out city cycles
    through its few seen phrasings, a training city draws from all allowed ones.
    """

    fact_repeats: int = 8
    n_ioi: int = 25_000
    n_prose: int = 40_000


def build_corpus(seed: int, config: CorpusConfig = CorpusConfig()) -> list[str]:
    """One shuffled draw of training sentences; each ``seed`` gives a fresh draw."""
    rng = random.Random(f"corpus|{seed}")
    sentences = fact_sentences(rng, config.fact_repeats)
    sentences += [p.full_text for p in zoo_ioi.ioi_prompts("train", config.n_ioi, seed=seed)]
    sentences += prose_sentences(rng, config.n_prose)
    rng.shuffle(sentences)
    return sentences


def fact_sentences(rng: random.Random, repeats: int) -> list[str]:
    """``repeats`` sentences per (city, relation), each with a phrasing seen for that city."""
    out = []
    for city in zoo_facts.load_cities():
        for rel in zoo_facts.RELATIONS:
            pairs = list(city.seen[rel])
            rng.shuffle(pairs)
            for i in range(repeats):
                if city.split == "train":
                    carrier, frame = rng.choice(pairs)
                else:
                    carrier, frame = pairs[i % len(pairs)]
                out.append(zoo_facts.fact_sentence(city, rel, carrier, frame))
    return out


def _slot_values() -> dict[str, list[str]]:
    cities = zoo_facts.load_cities()
    values = {k: list(v) for k, v in SLOT_WORDS.items()}
    values.update(
        name=zoo_ioi.ioi_names(),
        city=[c.name for c in cities],
        country=sorted({c.country for c in cities}),
        language=sorted({c.language for c in cities}),
        continent=sorted({c.continent for c in cities}),
        place=zoo_ioi.places(),
        object=zoo_ioi.objects(),
    )
    return values


def prose_sentences(rng: random.Random, n: int) -> list[str]:
    """``n`` sentences from :data:`PROSE_TEMPLATES` with slots filled at random."""
    values = _slot_values()
    out = []
    for _ in range(n):
        template = rng.choice(PROSE_TEMPLATES)
        fill = {}
        for slot in re.findall(r"{(\w+)}", template):
            base = slot.rstrip("2")
            choice = rng.choice(values[base])
            while slot.endswith("2") and choice == fill.get(base):
                choice = rng.choice(values[base])
            fill[slot] = choice
        out.append(template.format(**fill))
    return out


def heldout_sentences(
    split: str, seed: int = 0, n_ioi: int = 1000, n_prose: int = 1000
) -> dict[str, list[str]]:
    """Text for held-out losses, by kind: ``facts`` (the facts of ``split``'s cities under
    phrasings never seen with them), ``ioi`` (held-out name pairs and templates) and
    ``prose`` (a fresh draw)."""
    rng = random.Random(f"heldout|{split}|{seed}")
    fact_text = [
        f"{p.text} {p.answer}." for p in zoo_facts.fact_prompts(split, per_kind=1, seed=seed)
    ]
    ioi_text = []
    for heldout in ("pairs", "templates"):
        prompts = zoo_ioi.ioi_prompts(split, n_ioi // 2, seed=seed, heldout=heldout)
        ioi_text += [p.full_text for p in prompts]
    return {"facts": fact_text, "ioi": ioi_text, "prose": prose_sentences(rng, n_prose)}


def template_words() -> set[str]:
    """Every word of the corpus that is not an entity (city, country, language, continent or
    first name): the words a city's name must not collide with."""
    text = " ".join(PROSE_TEMPLATES) + " " + " ".join(w for v in SLOT_WORDS.values() for w in v)
    text += " " + " ".join(facts.CARRIERS + facts.IOI_OPENINGS + facts.IOI_VERBS)
    text += " " + " ".join(facts.IOI_OBJECTS + facts.IOI_PLACES)
    for t in facts.RELATION_TEMPLATES.values():
        text += " " + " ".join(t.frames + t.diagnostic_frames)
    text = re.sub(r"{\w+}", " ", text)
    return set(re.findall(r"[A-Za-z]+", text))


def check_prose() -> None:
    """Raise if a prose template or slot word uses a relation cue word."""
    text = re.sub(r"{\w+}", " ", " ".join(PROSE_TEMPLATES))
    words = {w.lower() for w in re.findall(r"[A-Za-z]+", text)}
    words |= {w.lower() for v in SLOT_WORDS.values() for w in v}
    if clash := words & CUE_WORDS:
        raise ValueError(f"prose uses relation cue words {sorted(clash)}")
