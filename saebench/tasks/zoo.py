"""The built-in tasks on the zoo's data: ``zoo-cities`` (RAVEL-style entity attributes) and
``zoo-ioi`` (indirect objects), both read from ``saebench/zoo/data``.

Example:
    >>> from saebench.tasks import build_task
    >>> cities = build_task("zoo-cities", {"relations": ["country"], "per_kind": 1})
    >>> pair = cities.pairs("country", split="test")[0]
    >>> pair.base.text, pair.source.text           # same phrasing, a city of another country
    >>> ioi = build_task("zoo-ioi", {"n": 200})
    >>> ioi.pairs("swap_io_s", split="test")[0].source.answer
"""

from __future__ import annotations

import random
from collections import defaultdict
from functools import cached_property
from typing import Literal

from pydantic import field_validator

from saebench.tasks import zoo_facts, zoo_ioi
from saebench.tasks.base import Builder, Task, TaskConfig, TaskPrompt


class ZooCitiesConfig(TaskConfig):
    relations: list[str] = list(zoo_facts.RELATIONS)  # the attributes asked about
    # the kinds of phrasing (seen for the city in training, or held out) to include
    phrasings: list[str] = ["seen", "unseen_for_city", "unseen_anywhere"]
    per_kind: int | None = 2  # phrasings per (city, relation, kind); None: all of them
    seed: int = 0

    @field_validator("relations")
    @classmethod
    def _known_relations(cls, value: list[str]) -> list[str]:
        return _subset(value, zoo_facts.RELATIONS, "relation")

    @field_validator("phrasings")
    @classmethod
    def _known_phrasings(cls, value: list[str]) -> list[str]:
        return _subset(value, zoo_facts.KINDS, "phrasing")


def _subset(value: list[str], allowed: tuple[str, ...], what: str) -> list[str]:
    if unknown := sorted(set(value) - set(allowed)):
        raise ValueError(f"unknown {what} {unknown}; use some of {', '.join(allowed)}")
    return value


class ZooCitiesTask(Task):
    """Cities of the zoo and their country, continent and language (RAVEL's city entity).

    Splits are held-out entities (``test`` cities' facts were stated in training under only
    a few phrasings); the ``phrasing`` axis says whether the prompt's (carrier, frame) pair
    stated this city's fact in training (``seen``) or not. Pair builders ``country``,
    ``continent`` and ``language`` swap in a city of the same split whose value of that
    attribute differs and which keeps as many of the other attributes as the world allows,
    under the same phrasing; ``city`` swaps in any other city.
    """

    version = "1"
    description = "zoo cities: country / continent / language of a city (RAVEL-style)"
    Config = ZooCitiesConfig
    axes = ("phrasing",)

    def build(self, split: str) -> list[TaskPrompt]:
        c = self.config
        kinds = tuple(k for k in zoo_facts.KINDS if k in c.phrasings)
        facts = zoo_facts.fact_prompts(split, kinds=kinds, per_kind=c.per_kind, seed=c.seed)
        wanted = set(c.relations)
        return [self._prompt(p) for p in facts if p.relation in wanted]

    def _prompt(self, fact: zoo_facts.FactPrompt) -> TaskPrompt:
        city = self._cities[fact.city]
        return TaskPrompt(
            text=fact.text,
            spans=fact.spans,
            answer=fact.answer,
            attributes={"city": city.name, **{r: city.attribute(r) for r in zoo_facts.RELATIONS}},
            asks=fact.relation,
            split=fact.split,
            tags={
                "relation": fact.relation,
                "phrasing": fact.kind,
                "carrier": fact.carrier,
                "frame": fact.frame,
            },
        )

    @cached_property
    def _cities(self) -> dict[str, zoo_facts.City]:
        return {c.name: c for c in zoo_facts.load_cities()}

    @cached_property
    def _by_values(self) -> dict[tuple[str, tuple[str, ...]], list[zoo_facts.City]]:
        """Cities by (split, (country, continent, language))."""
        groups = defaultdict(list)
        for city in self._cities.values():
            groups[city.split, tuple(city.attribute(r) for r in zoo_facts.RELATIONS)].append(city)
        return groups

    def attribute_values(self) -> dict[str, list[str]]:
        values = {r: zoo_facts.attribute_values(r) for r in zoo_facts.RELATIONS}
        return {"city": sorted(self._cities), **values}

    def pair_builders(self) -> dict[str, Builder]:
        builders: dict[str, Builder] = {r: self._changing(r) for r in zoo_facts.RELATIONS}
        builders["city"] = self._changing(None)
        return builders

    def _changing(self, attribute: str | None) -> Builder:
        def build(base: TaskPrompt, rng: random.Random) -> TaskPrompt | None:
            city = self._source_city(base, attribute, rng)
            return None if city is None else self._rephrase(base, city)

        return build

    def _source_city(self, base: TaskPrompt, attribute: str | None, rng: random.Random):
        """A city of the base's split whose ``attribute`` differs (any other city when
        None), among those keeping the most other attributes."""
        rels = zoo_facts.RELATIONS
        mine = tuple(base.attributes[r] for r in rels)
        scored = []
        for (split, values), cities in self._by_values.items():
            if split != base.split:
                continue
            if attribute and values[rels.index(attribute)] == base.attributes[attribute]:
                continue
            kept = sum(v == m for v, m in zip(values, mine, strict=True)) if attribute else 0
            scored += [(kept, c.name) for c in cities if c.name != base.attributes["city"]]
        if not scored:
            return None
        top = max(kept for kept, _ in scored)
        return self._cities[rng.choice(sorted(name for kept, name in scored if kept == top))]

    def _rephrase(self, base: TaskPrompt, city: zoo_facts.City) -> TaskPrompt:
        """``base``'s phrasing (relation, carrier, frame) about ``city``."""
        rel, c, f = base.tags["relation"], base.tags["carrier"], base.tags["frame"]
        template = zoo_facts.relation_templates()[rel]
        diagnostic = base.tags["phrasing"] == "diagnostic"
        frame = (template.diagnostic_frames if diagnostic else template.frames)[f]
        carrier = zoo_facts.carriers()[c]
        if diagnostic or (c, f) in zoo_facts.heldout_pairs(rel):
            kind = base.tags["phrasing"]
        else:
            kind = "seen" if (c, f) in city.seen[rel] else "unseen_for_city"
        fact = zoo_facts.fact_prompt(city, rel, frame, carrier, c, f, kind)
        return self._prompt(fact)


class ZooIoiConfig(TaskConfig):
    n: int = 500  # prompts per split
    # what is new in val/test: the name pairs, the (opening, verb) templates, or both
    heldout: Literal["pairs", "templates", "both"] = "pairs"
    seed: int = 0


class ZooIoiTask(Task):
    """Indirect-object sentences of the zoo ("When Mary and John went to the store, John gave
    a drink to" -> Mary), with the spans ``io``, ``s1``, ``s2`` and ``end``.

    Attributes: ``io`` (the answer), ``s`` and ``order`` (ABBA / BABA). Pair builders:
    ``swap_io_s`` (the two names exchanged), ``flip_order`` (ABBA <-> BABA, roles kept),
    ``change_io`` and ``change_s`` (one name replaced by another whose pair with the other
    name stays in the same held-out split).
    """

    version = "1"
    description = "zoo IOI: the indirect object after '... gave a drink to' (IO, S1, S2, END)"
    Config = ZooIoiConfig

    def build(self, split: str) -> list[TaskPrompt]:
        c = self.config
        return [
            _ioi_task_prompt(p, c.heldout)
            for p in zoo_ioi.ioi_prompts(split, c.n, c.seed, c.heldout)
        ]

    def attribute_values(self) -> dict[str, list[str]]:
        names = sorted(zoo_ioi.ioi_names())
        return {"io": names, "s": names, "order": list(zoo_ioi.ORDERS)}

    def pair_builders(self) -> dict[str, Builder]:
        def fixed(change) -> Builder:
            return lambda base, rng: _ioi_task_prompt(change(_ioi(base)), base.tags["heldout"])

        def renaming(change, role: str) -> Builder:
            def build(base: TaskPrompt, rng: random.Random) -> TaskPrompt | None:
                p = _ioi(base)
                other = p.s if role == "io" else p.io
                want = zoo_ioi.ioi_pair_split(p.io, p.s)
                names = [
                    n
                    for n in zoo_ioi.ioi_names()
                    if n not in (p.io, p.s) and zoo_ioi.ioi_pair_split(n, other) == want
                ]
                if not names:
                    return None
                return _ioi_task_prompt(change(p, rng.choice(names)), base.tags["heldout"])

            return build

        return {
            "swap_io_s": fixed(zoo_ioi.swap_io_s),
            "flip_order": fixed(zoo_ioi.flip_order),
            "change_io": renaming(zoo_ioi.change_io, "io"),
            "change_s": renaming(zoo_ioi.change_s, "s"),
        }


def _ioi_task_prompt(p: zoo_ioi.IoiPrompt, heldout: str) -> TaskPrompt:
    return TaskPrompt(
        text=p.text,
        spans=p.spans,
        answer=p.io,
        attributes={"io": p.io, "s": p.s, "order": p.order},
        asks="io",
        split=p.split,
        tags={
            "opening": p.opening,
            "verb": p.verb,
            "object": p.object,
            "place": p.place,
            "heldout": heldout,
        },
    )


def _ioi(p: TaskPrompt) -> zoo_ioi.IoiPrompt:
    a, t = p.attributes, p.tags
    return zoo_ioi.render_ioi(
        a["io"], a["s"], a["order"], t["opening"], t["verb"], t["object"], t["place"], p.split
    )
