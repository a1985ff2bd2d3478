"""The rows of SCR's and TPP's probes, as SAEBench builds them
(``scr_and_tpp/dataset_creation.py``, ``sparse_probing/probe_training.prepare_probe_data``),
from any task whose prompts carry the attributes (or tags, like the zoo's ``carrier``).

SCR, per pair and split: the four quadrants (target value x spurious value), each shuffled
(seeded), ``q`` rows each. Three binary sets: ``spurious`` (s+ against s-, both target
values), ``target`` (t+ against t-, both spurious values) and ``biased`` (the first ``2q``
rows of (t+, s+) against those of (t-, s-): the spurious attribute predicts the target
perfectly). TPP, per class: the class's rows against as many rows of the other classes,
an equal share from each (SAEBench redraws those negatives at every evaluation; here they
are drawn once, seeded, so clean and ablated accuracies are on the same rows).

Example:
    >>> specs, skipped = scr_sets(pair, train_prompts, test_prompts, 1000, 250, seed=42)
    >>> [s.name for s in specs]     # [".../spurious", ".../target", ".../biased"]
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from saebench.evaluators.scr_tpp.config import ClassSet, Pair


@dataclass(frozen=True)
class ProbeSet:
    """One binary probe's rows: indices into the split's prompts, positives first."""

    name: str
    train_pos: list[int]
    train_neg: list[int]
    test_pos: list[int]
    test_neg: list[int]


def label(prompt, attribute: str) -> str | None:
    """The prompt's value of ``attribute`` (an attribute, else a tag), as a string."""
    value = prompt.attributes.get(attribute)
    if value is None:
        value = (prompt.tags or {}).get(attribute)
    return None if value is None else str(value)


def _shuffled(rows: list[int], seed: int, salt: str) -> list[int]:
    rng = np.random.default_rng([seed, *salt.encode()])
    return [rows[i] for i in rng.permutation(len(rows))]


def _quadrants(pair: Pair, prompts, seed: int) -> dict[tuple[int, int], list[int]]:
    quads: dict[tuple[int, int], list[int]] = {(a, b): [] for a in (0, 1) for b in (0, 1)}
    for row, p in enumerate(prompts):
        t, s = label(p, pair.target), label(p, pair.spurious)
        if t in pair.target_values and s in pair.spurious_values:
            quads[(pair.target_values.index(t), pair.spurious_values.index(s))].append(row)
    return {k: _shuffled(v, seed, f"{pair.name}{k}") for k, v in quads.items()}


def _quadrant_size(quads, cap: int) -> int:
    # SAEBench needs 2q rows of the two biased quadrants (t+ s+, t- s-)
    return min(cap, *(len(v) for v in quads.values()), len(quads[0, 0]) // 2, len(quads[1, 1]) // 2)


def scr_sets(
    pair: Pair, train, test, train_q: int, test_q: int, seed: int, min_rows: int
) -> tuple[list[ProbeSet], str | None]:
    """The pair's ``spurious``, ``target`` and ``biased`` sets, or a reason to skip it."""
    halves = []
    for prompts, cap in ((train, train_q), (test, test_q)):
        quads = _quadrants(pair, prompts, seed)
        q = _quadrant_size(quads, cap)
        if q < min_rows:
            counts = {f"{k}": len(v) for k, v in quads.items()}
            return [], f"{pair.name}: quadrants too small (rows {counts}, need {min_rows})"
        halves.append((quads, q))
    sets = []
    for kind in ("spurious", "target", "biased"):
        parts = [_split_sets(quads, q, kind) for quads, q in halves]
        (tr_pos, tr_neg), (te_pos, te_neg) = parts
        sets.append(ProbeSet(f"{pair.name}/{kind}", tr_pos, tr_neg, te_pos, te_neg))
    return sets, None


def _split_sets(quads, q: int, kind: str) -> tuple[list[int], list[int]]:
    if kind == "spurious":  # s+ against s-, half of each from either target value
        return quads[0, 0][:q] + quads[1, 0][:q], quads[0, 1][:q] + quads[1, 1][:q]
    if kind == "target":
        return quads[0, 0][:q] + quads[0, 1][:q], quads[1, 0][:q] + quads[1, 1][:q]
    return quads[0, 0][: 2 * q], quads[1, 1][: 2 * q]


def tpp_sets(
    classes: ClassSet, train, test, train_n: int, test_n: int, seed: int, min_rows: int
) -> tuple[list[ProbeSet], list[str]]:
    """One-vs-rest sets for each value with ``min_rows`` rows in both splits."""
    rows = {}
    skipped = []
    for value in classes.values:
        per_split = []
        for prompts, cap in ((train, train_n), (test, test_n)):
            mine = [r for r, p in enumerate(prompts) if label(p, classes.attribute) == value]
            per_split.append(_shuffled(mine, seed, f"{classes.attribute}={value}")[:cap])
        if min(len(r) for r in per_split) < min_rows:
            skipped.append(f"{classes.attribute}={value}: fewer than {min_rows} rows")
        else:
            rows[value] = per_split
    if len(rows) < 2:
        return [], skipped + [f"{classes.attribute}: fewer than two classes with rows"]
    out = []
    for value, (train_pos, test_pos) in rows.items():
        others = [v for v in rows if v != value]
        negs = [
            _negatives(rows, others, s, len(pos), seed, value)
            for s, pos in ((0, train_pos), (1, test_pos))
        ]
        out.append(ProbeSet(f"{classes.attribute}={value}", train_pos, negs[0], test_pos, negs[1]))
    return out, skipped


def _negatives(rows, others: list[str], split: int, n_pos: int, seed: int, value: str) -> list[int]:
    """``ceil(n_pos / len(others))`` rows of each other class, shuffled, cut to ``n_pos``."""
    share = math.ceil(n_pos / len(others))
    pool = [r for v in others for r in _shuffled(rows[v][split], seed, f"neg{value}{v}")[:share]]
    return _shuffled(pool, seed, f"negs{value}{split}")[:n_pos]
