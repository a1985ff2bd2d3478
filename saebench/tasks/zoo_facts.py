"""The zoo's cities, their attributes and the phrasings that state them, read from the data files.

Held-out design (see ``saebench/zoo/README.md``): every city's facts appear in training, but
only under some (carrier prefix, frame) pairs. ``train`` cities see every allowed pair;
``val`` and ``test`` cities see only a few. Some pairs per relation never appear in training
for any city. A held-out prompt uses a pair the model never saw for that city.

Example:
    >>> from saebench.tasks import zoo_facts
    >>> city = zoo_facts.load_cities("test")[0]
    >>> prompt = zoo_facts.fact_prompts("test", relation="country")[0]
    >>> prompt.text, prompt.answer, prompt.spans  # (..., 'Bar', {'entity': (19, 22)})
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field

from saebench.tasks.zoo_data import check_split, data_cache, read

RELATIONS: tuple[str, ...] = ("country", "continent", "language")
KINDS: tuple[str, ...] = ("seen", "unseen_for_city", "unseen_anywhere", "diagnostic")


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
    """A prompt whose next word is a city's attribute; ``spans["entity"]`` is the city's
    character span in ``text``.

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
    spans: dict[str, tuple[int, int]] = field(default_factory=dict)


def load_cities(split: str | None = None) -> list[City]:
    """All cities, or those of one split (``"train"``, ``"val"``, ``"test"``), in file order.

    Example:
        >>> [c.name for c in load_cities("test")][:3]
    """
    check_split(split)
    cities = []
    for row in read("cities.json")["cities"]:
        if split is not None and row["split"] != split:
            continue
        if "seen" in row:
            seen = {rel: tuple(tuple(p) for p in pairs) for rel, pairs in row["seen"].items()}
        else:
            seen = _all_allowed_pairs()
        cities.append(City(**{**row, "seen": seen}))
    return cities


@data_cache
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
    data = read("templates.json")["relations"]
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
    return list(read("templates.json")["carriers"])


def heldout_pairs(relation: str) -> list[tuple[int, int]]:
    """(carrier, frame) pairs of ``relation`` that never occur in training, for any city."""
    return [tuple(p) for p in read("templates.json")["unseen_anywhere"][relation]]


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


def city_span(city: str, frame: str, carrier: str) -> tuple[int, int]:
    """The character span of ``city`` in :func:`render_fact` of the same arguments."""
    start = (len(carrier) + 1 if carrier else 0) + frame.index("{city}")
    return start, start + len(city)


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
    check_split(split)
    if unknown := set(kinds) - set(KINDS):
        raise ValueError(f"unknown prompt kinds {sorted(unknown)}; use some of {sorted(KINDS)}")
    rels = RELATIONS if relation is None else (relation,)
    templates, prefixes = relation_templates(), carriers()
    rng = random.Random(seed)
    prompts = []
    for city in load_cities(split):
        for rel in rels:
            by_kind = _pairs_by_kind(city, rel, len(prefixes), templates[rel])
            for kind in kinds:
                pairs = by_kind[kind]
                if per_kind is not None and len(pairs) > per_kind:
                    pairs = rng.sample(pairs, per_kind)
                frames = templates[rel].diagnostic_frames if kind == "diagnostic" else None
                for c, f in pairs:
                    frame = (frames or templates[rel].frames)[f]
                    prompts.append(fact_prompt(city, rel, frame, prefixes[c], c, f, kind))
    return prompts


def fact_prompt(city: City, rel: str, frame: str, carrier: str, c: int, f: int, kind: str):
    """The prompt stating ``city``'s ``rel`` under carrier ``c`` (text ``carrier``) and frame
    ``f`` (text ``frame``), with the city's span."""
    return FactPrompt(
        text=render_fact(city.name, frame, carrier),
        answer=city.attribute(rel),
        city=city.name,
        relation=rel,
        carrier=c,
        frame=f,
        kind=kind,
        split=city.split,
        spans={"entity": city_span(city.name, frame, carrier)},
    )


def _pairs_by_kind(
    city: City, relation: str, n_carriers: int, template: RelationTemplate
) -> dict[str, list[tuple[int, int]]]:
    nowhere = set(heldout_pairs(relation))
    seen = set(city.seen[relation])
    everything = [(c, f) for c in range(n_carriers) for f in range(len(template.frames))]
    return {
        "seen": sorted(seen),
        "unseen_anywhere": sorted(nowhere),
        "unseen_for_city": [p for p in everything if p not in seen and p not in nowhere],
        "diagnostic": [
            (c, f) for c in range(n_carriers) for f in range(len(template.diagnostic_frames))
        ],
    }
