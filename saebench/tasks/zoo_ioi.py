"""The zoo's indirect-object (IOI) sentences, read from the data files, and their
counterfactuals.

IOI name pairs are split three ways; ``val`` and ``test`` pairs never occur together in
training. Some (opening clause, verb) combinations are held out the same way. Every prompt
carries the character spans of the indirect object in the opening (``io``), the subject there
(``s1``), the repeated subject (``s2``) and the final word (``end``).

Example:
    >>> p = ioi_prompts("test", 1)[0]
    >>> p.text, p.io, p.s, p.order       # ('When Mary and John went ..., John gave ... to', ...)
    >>> swap_io_s(p).io == p.s and flip_order(p).order != p.order
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from itertools import combinations
from string import Formatter
from typing import Literal

from saebench.tasks.zoo_data import check_split, data_cache, read

ORDERS: tuple[str, ...] = ("ABBA", "BABA")


@dataclass(frozen=True)
class IoiPrompt:
    """An indirect-object sentence cut before its last word.

    ``text`` ends with "to"; the right next word is ``io`` (the indirect object), the wrong one
    the repeated subject ``s``. ``order`` is ``"ABBA"`` when the subject is the second name of
    the opening clause and ``"BABA"`` when it is the first. ``spans`` holds the character
    spans ``io``, ``s1``, ``s2`` and ``end``.
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
    spans: dict[str, tuple[int, int]] = field(default_factory=dict)

    @property
    def full_text(self) -> str:
        """The complete sentence, as it appears in the training corpus."""
        return f"{self.text} {self.io}."


def ioi_names() -> list[str]:
    """The first names used in IOI sentences (and in the prose of the corpus)."""
    return list(read("ioi.json")["names"])


def ioi_parts() -> dict[str, list[str]]:
    """The IOI vocabulary: ``openings`` (with ``{A}``, ``{B}``, ``{place}``), ``verbs``,
    ``objects`` and ``places``."""
    data = read("ioi.json")
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
    return _ioi_pair_index().get("|".join(sorted((a, b))), "train")


@data_cache
def _ioi_pair_index() -> dict[str, str]:
    data = read("ioi.json")["heldout_pairs"]
    return {"|".join(sorted(p)): split for split in ("val", "test") for p in data[split]}


def ioi_template_split(opening: int, verb: int) -> str:
    """The split of an (opening clause, verb) combination."""
    data = read("ioi.json")["heldout_templates"]
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
    check_split(split)
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
        order = "ABBA" if rng.random() < 0.5 else "BABA"
        io, s = (a, b) if order == "ABBA" else (b, a)
        prompts.append(render_ioi(io, s, order, opening, verb, obj, place, split))
    return prompts


def render_ioi(
    io: str, s: str, order: str, opening: int, verb: int, obj: int, place: int, split: str
) -> IoiPrompt:
    """The IOI prompt with these names, order and template parts, with its spans.

    ``order="ABBA"`` puts the indirect object first in the opening clause
    ("When Mary and John ..., John gave ... to"), ``"BABA"`` the subject first.
    """
    if order not in ORDERS:
        raise ValueError(f"order must be 'ABBA' or 'BABA', not {order!r}")
    parts = ioi_parts()
    a, b = (io, s) if order == "ABBA" else (s, io)
    clause, where = _format(parts["openings"][opening], A=a, B=b, place=parts["places"][place])
    text = f"{clause} {s} {parts['verbs'][verb]} {parts['objects'][obj]} to"
    s2 = len(clause) + 1
    spans = {
        "io": where["A" if order == "ABBA" else "B"],
        "s1": where["B" if order == "ABBA" else "A"],
        "s2": (s2, s2 + len(s)),
        "end": (len(text) - 2, len(text)),
    }
    return IoiPrompt(text, io, s, order, opening, verb, obj, place, split, spans)


def _format(template: str, **values: str) -> tuple[str, dict[str, tuple[int, int]]]:
    """``template.format(**values)`` and the character span of each field in the result."""
    out, spans = "", {}
    for literal, name, _, _ in Formatter().parse(template):
        out += literal
        if name is not None:
            spans[name] = (len(out), len(out) + len(values[name]))
            out += values[name]
    return out, spans


# -- counterfactuals: one attribute changed, the rest kept ------------------------------------
def _rerender(p: IoiPrompt, **changes) -> IoiPrompt:
    names = {"io": p.io, "s": p.s, "order": p.order, **changes}
    return render_ioi(
        **names, opening=p.opening, verb=p.verb, obj=p.object, place=p.place, split=p.split
    )


def swap_io_s(p: IoiPrompt) -> IoiPrompt:
    """The indirect object and the subject exchanged (same order): the answer becomes ``s``."""
    return _rerender(p, io=p.s, s=p.io)


def flip_order(p: IoiPrompt) -> IoiPrompt:
    """ABBA <-> BABA: the names of the opening clause exchanged, the roles kept."""
    return _rerender(p, order="BABA" if p.order == "ABBA" else "ABBA")


def change_io(p: IoiPrompt, name: str) -> IoiPrompt:
    """The indirect object renamed ``name`` (the subject kept)."""
    if name == p.s:
        raise ValueError(f"{name!r} is the subject already; the two names must differ")
    return _rerender(p, io=name)


def change_s(p: IoiPrompt, name: str) -> IoiPrompt:
    """The subject renamed ``name`` in both places (the indirect object kept)."""
    if name == p.io:
        raise ValueError(f"{name!r} is the indirect object already; the two names must differ")
    return _rerender(p, s=name)


@data_cache
def _ioi_pairs(split: str) -> list[tuple[str, str]]:
    data = read("ioi.json")
    if split != "train":
        return [tuple(p) for p in data["heldout_pairs"][split]]
    held = _ioi_pair_index()
    return [
        (a, b) for a, b in combinations(data["names"], 2) if "|".join(sorted((a, b))) not in held
    ]


@data_cache
def _ioi_combos(split: str) -> list[tuple[int, int]]:
    data = read("ioi.json")
    if split != "train":
        return [tuple(p) for p in data["heldout_templates"][split]]
    held = {tuple(p) for s in ("val", "test") for p in data["heldout_templates"][s]}
    return [
        (o, v)
        for o in range(len(data["openings"]))
        for v in range(len(data["verbs"]))
        if (o, v) not in held
    ]
