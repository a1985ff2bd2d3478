"""``smollm2-ioi``: indirect-object sentences in the templates of Wang et al. 2022 ("When Mary
and John went to the store, John gave a drink to" -> Mary), for ``supervised`` on SmolLM2.

Names are common English first names that SmolLM2's tokenizer keeps as one token after a
space. Name pairs (unordered) are split train/val/test by a hash, so a test pair never occurs
in train. Spans ``io`` and ``s1`` (the names in the opening), ``s2`` (the repeated subject)
and ``end`` (the last word); attributes ``io``, ``s`` and ``order`` (``ABBA``: the subject
is the opening's second name; ``BABA``: its first). Pair builders as ``zoo-ioi``:
``swap_io_s``, ``flip_order``, ``change_io``, ``change_s``.

With ``known_only`` (the default) the task keeps the prompts SmolLM2-135M answers (greedy;
:mod:`saebench.tasks.smollm2_answers`); ``saebench tasks show smollm2-ioi`` prints how many.

Example:
    >>> p = build_task("smollm2-ioi", {"n": 10}).prompts("test")[0]
    >>> p.text, p.answer, p.spans["s2"]
"""

from __future__ import annotations

import hashlib
import json
import random
from typing import Any

from pydantic import Field

from saebench.tasks import smollm2_answers as answers
from saebench.tasks.base import Builder, Task, TaskConfig, TaskPrompt

_NAME_LIST = """Mary John Tom James Dan Sid Martin Amy Anna Laura Kate Alice Sarah Mark Paul
George Peter David Michael Robert William Richard Thomas Daniel Andrew Kevin Brian Jason Ryan
Eric Adam Lisa Emma Susan Karen Helen Rachel Jessica Emily Jack Henry Sam Ben Chris Jane Julia
Linda Maria Joe Bob Frank Scott Lucy Kelly Hannah Olivia Nick Ted"""
NAMES: tuple[str, ...] = tuple(_NAME_LIST.split())
# {a} and {b}: the opening's names, {s}: the repeated subject; the text ends before the IO
TEMPLATES: tuple[str, ...] = (
    "When {a} and {b} went to the {place}, {s} gave a {object} to",
    "Then, {a} and {b} went to the {place}. {s} gave a {object} to",
    "Then, {a} and {b} had a lot of fun at the {place}. {s} gave a {object} to",
    "Then, {a} and {b} were working at the {place}. {s} decided to give a {object} to",
    "After {a} and {b} went to the {place}, {s} gave a {object} to",
    "While {a} and {b} were working at the {place}, {s} gave a {object} to",
    "Afterwards, {a} and {b} went to the {place}. {s} gave a {object} to",
    "Friends {a} and {b} found a {object} at the {place}. {s} gave it to",
)
PLACES = ("store", "garden", "restaurant", "school", "hospital", "office", "station", "park")
OBJECTS = ("drink", "book", "ring", "snack", "key", "bottle", "necklace", "basketball")
ORDERS = ("ABBA", "BABA")
MIN_KNOWN = 100  # fewer answered test prompts: "too few" in tasks show


class Smollm2IoiConfig(TaskConfig):
    n: int = Field(600, ge=1)  # prompts per split (before known_only)
    seed: int = 0
    known_only: bool = True  # keep the prompts SmolLM2-135M answers (greedy)


def pair_split(a: str, b: str) -> str:
    """The split of the unordered name pair (a, b): 60% train, 20% val, 20% test."""
    key = "|".join(sorted((a, b)))
    h = int(hashlib.sha256(f"smollm2-ioi|{key}".encode()).hexdigest()[:8], 16) % 10
    return "train" if h < 6 else "val" if h < 8 else "test"


def render(io: str, s: str, order: str, template: int, place: int, obj: int, split: str):
    """The prompt (IO answer) of the given parts, with its spans and tags."""
    a, b = (io, s) if order == "ABBA" else (s, io)
    form = TEMPLATES[template]
    text = form.format(a=a, b=b, s=s, place=PLACES[place], object=OBJECTS[obj])
    first = text.index(f"{a} and {b}")
    spans = {"a": (first, first + len(a)), "b": (first + len(a) + 5, first + len(a) + 5 + len(b))}
    s2 = text.index(f" {s} ", spans["b"][1]) + 1
    io_span, s1_span = (spans["a"], spans["b"]) if order == "ABBA" else (spans["b"], spans["a"])
    end = text.rindex(" ") + 1
    return TaskPrompt(
        text=text,
        spans={"io": io_span, "s1": s1_span, "s2": (s2, s2 + len(s)), "end": (end, len(text))},
        answer=io,
        attributes={"io": io, "s": s, "order": order},
        asks="io",
        split=split,
        tags={"template": template, "place": place, "object": obj},
    )


class Smollm2IoiTask(Task):
    """IOI sentences (Wang et al. templates) for SmolLM2, filtered to what it answers."""

    version = "1"
    description = "IOI for SmolLM2 (Wang et al. templates): the indirect object after 'gave ... to'"
    Config = Smollm2IoiConfig

    def build(self, split: str) -> list[TaskPrompt]:
        c = self.config
        rng = random.Random(f"smollm2-ioi|{split}|{c.seed}")
        pairs = [
            (a, b) for i, a in enumerate(NAMES) for b in NAMES[i + 1 :] if pair_split(a, b) == split
        ]
        out = []
        for _ in range(c.n):
            a, b = rng.choice(pairs)
            io, s = (a, b) if rng.random() < 0.5 else (b, a)
            parts = (rng.choice(ORDERS), rng.randrange(len(TEMPLATES)))
            place, obj = rng.randrange(len(PLACES)), rng.randrange(len(OBJECTS))
            out.append(render(io, s, *parts, place, obj, split))
        if c.known_only:
            return answers.known(out, answers.load(self.name))
        return out

    def attribute_values(self) -> dict[str, list[str]]:
        names = sorted(NAMES)
        return {"io": names, "s": names, "order": list(ORDERS)}

    def fingerprint(self) -> str:
        mine = [super().fingerprint(), self.config.known_only and answers.load(self.name).digest]
        return hashlib.sha256(json.dumps(mine).encode()).hexdigest()[:16]

    def describe(self) -> dict[str, Any]:
        """Prompts SmolLM2 answers per split, and whether that is enough to measure."""
        everything = type(self)({**self.config.model_dump(), "known_only": False})
        measured = answers.load(self.name)
        row = answers.counts(everything, measured).get("io", {})
        out: dict[str, Any] = {"attributes": {"io": {f"known {s}": n for s, n in row.items()}}}
        out["answers"] = answers.note(everything, measured)
        if int(row.get("test", "0/0").split("/")[0]) < MIN_KNOWN:
            out["too_few"] = (
                f"fewer than {MIN_KNOWN} answered test prompts: too few to measure anything"
            )
        return out

    def pair_builders(self) -> dict[str, Builder]:
        def rebuild(p: TaskPrompt, io: str, s: str, order: str) -> TaskPrompt | None:
            if pair_split(io, s) != p.split:
                return None
            t = p.tags
            return render(io, s, order, t["template"], t["place"], t["object"], p.split)

        def swap(p, rng):
            return rebuild(p, p.attributes["s"], p.attributes["io"], p.attributes["order"])

        def flip(p, rng):
            order = "BABA" if p.attributes["order"] == "ABBA" else "ABBA"
            return rebuild(p, p.attributes["io"], p.attributes["s"], order)

        def renaming(role: str) -> Builder:
            def build(p: TaskPrompt, rng: random.Random) -> TaskPrompt | None:
                io, s, order = p.attributes["io"], p.attributes["s"], p.attributes["order"]
                other = s if role == "io" else io
                names = [n for n in NAMES if n not in (io, s) and pair_split(n, other) == p.split]
                if not names:
                    return None
                new = rng.choice(names)
                return rebuild(p, new, s, order) if role == "io" else rebuild(p, io, new, order)

            return build

        return {
            "swap_io_s": swap,
            "flip_order": flip,
            "change_io": renaming("io"),
            "change_s": renaming("s"),
        }
