"""k-sparse probes on feature matrices: pure functions of arrays, no model, no SAE.

A *probe plan* says, for every (attribute, value) of a task, which train and test rows form
its balanced one-vs-rest problem; it depends only on the labels and the seed, so the SAE
latents and the raw activations are probed on exactly the same rows. :func:`run_probe`
then selects the ``k`` features with the largest standardised mean difference
(``|mean(positives) - mean(negatives)| / std``) on the train rows and fits a standardised,
L2-regularised logistic regression on them (:mod:`saebench.toolkit.probes`). Where the
examples are grouped by entity (every prompt of one city), counts are of entities.

Example:
    >>> import numpy as np
    >>> labels = {"colour": np.array(["red", "blue"] * 50, dtype=object)}
    >>> x = np.random.default_rng(0).normal(size=(100, 8)); x[:, 3] += labels["colour"] == "red"
    >>> plan = plan_probes(labels, labels, {"colour": ["blue", "red"]}, min_examples=5)
    >>> run_probe(plan.probes[0], x, x, ks=[1]).selected[1]
    [3]
"""

from __future__ import annotations

import zlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np

from saebench.toolkit.probes import ProbeFit, fit_probe, probe_threads, top_k_standardised


@dataclass(frozen=True)
class Probe:
    """One balanced one-vs-rest problem: rows of the train and test feature matrices and
    their 0/1 labels (1 = the row has ``attribute == value``)."""

    attribute: str
    value: str
    train_rows: np.ndarray
    train_y: np.ndarray
    test_rows: np.ndarray
    test_y: np.ndarray


@dataclass
class ProbePlan:
    """The probes to fit and every value that was not probed, with the reason."""

    probes: list[Probe] = field(default_factory=list)
    skipped: list[dict] = field(default_factory=list)


@dataclass
class ProbeResult:
    """Test accuracy and AUROC per k (``"full"``: every feature), and the features chosen."""

    attribute: str
    value: str
    accuracy: dict[int | str, float]
    auroc: dict[int | str, float]
    selected: dict[int, list[int]]
    # per k, the fit's test predictions (for intervals; not written to records)
    fits: dict[int | str, ProbeFit] = field(default_factory=dict, repr=False)


def rng_for(seed: int, *parts: str) -> np.random.Generator:
    """A generator that depends only on ``seed`` and ``parts`` (never on call order), so a
    value's sample is the same whichever other values are probed."""
    tag = zlib.crc32("|".join(parts).encode())
    return np.random.default_rng(np.random.SeedSequence([seed, tag]))


def balanced_rows(
    positive: np.ndarray,
    negative: np.ndarray,
    max_per_class: int | None,
    rng: np.random.Generator,
) -> tuple[np.ndarray, np.ndarray]:
    """Equal numbers of positive and negative rows (the smaller class's size, at most
    ``max_per_class``), drawn without replacement; returns (rows, 0/1 labels).

    ``positive`` and ``negative`` are bool masks over the rows; rows in neither (an
    example without this attribute) are never drawn.
    """
    pos, neg = np.flatnonzero(positive), np.flatnonzero(negative)
    n = min(len(pos), len(neg))
    if max_per_class is not None:
        n = min(n, max_per_class)
    chosen_pos = np.sort(rng.choice(pos, size=n, replace=False))
    chosen_neg = np.sort(rng.choice(neg, size=n, replace=False))
    rows = np.concatenate([chosen_pos, chosen_neg])
    y = np.concatenate([np.ones(n, dtype=np.int64), np.zeros(n, dtype=np.int64)])
    return rows, y


def plan_probes(
    train_labels: Mapping[str, np.ndarray],
    test_labels: Mapping[str, np.ndarray],
    values: Mapping[str, Sequence[str]],
    min_examples: int,
    max_examples: int | None = None,
    max_values: int | None = None,
    seed: int = 0,
    groups: tuple[np.ndarray, np.ndarray] | None = None,
    min_test_rows: int = 2,
) -> ProbePlan:
    """One probe per (attribute, value) with at least ``min_examples`` positive and
    negative examples in both splits; the others are listed in ``skipped`` with their counts.

    ``*_labels[attribute]`` is an object array of each row's value (None: the row has no
    such attribute). ``groups`` (train, test) names each row's entity: then examples are
    counted as distinct entities (a city asked about in eight phrasings is one example),
    else each row counts. ``values[attribute]`` lists the values to consider; an attribute
    with exactly two values gets one probe (its first value), since the other is its
    complement. ``max_values`` keeps the values with the most train positives (ties by
    name); the rest are skipped with reason ``max_values``. A probe whose balanced test set
    has fewer than ``min_test_rows`` rows is skipped with reason ``too_few_test_rows``.
    """
    plan = ProbePlan()
    for attribute, candidates in values.items():
        train, test = train_labels[attribute], test_labels[attribute]
        names = sorted(candidates)[:1] if len(set(candidates)) == 2 else sorted(set(candidates))
        eligible = _eligible(plan, attribute, names, train, test, min_examples, groups)
        for rank, (value, counts) in enumerate(eligible):
            reason = None
            if max_values is not None and rank >= max_values:
                reason = "max_values"
            else:
                probe = _probe(attribute, value, train, test, max_examples, seed)
                if len(probe.test_rows) < min_test_rows:
                    reason = "too_few_test_rows"
            if reason:
                plan.skipped.append(
                    {"attribute": attribute, "value": value, "reason": reason, **counts}
                )
            else:
                plan.probes.append(probe)
    return plan


def _eligible(plan, attribute, names, train, test, min_examples, groups) -> list:
    """``(value, counts)`` of the values with enough examples, most train positives first
    (ties by name); the others are added to ``plan.skipped`` as ``too_few``."""
    eligible = []
    for value in names:
        counts = _counts(train, test, value, groups)
        if min(counts.values()) < min_examples:
            plan.skipped.append(
                {"attribute": attribute, "value": value, "reason": "too_few", **counts}
            )
        else:
            eligible.append((value, counts))
    eligible.sort(key=lambda item: (-item[1]["train_positives"], item[0]))
    return eligible


def _counts(
    train: np.ndarray, test: np.ndarray, value: str, groups: tuple | None
) -> dict[str, int]:
    def split(labels: np.ndarray, group: np.ndarray | None) -> tuple[int, int]:
        known = np.array([v is not None for v in labels], dtype=bool)
        positive = labels == value
        if group is None:
            return int(positive.sum()), int((known & ~positive).sum())
        return len(set(group[positive])), len(set(group[known & ~positive]))

    train_pos, train_neg = split(train, None if groups is None else groups[0])
    test_pos, test_neg = split(test, None if groups is None else groups[1])
    return {
        "train_positives": train_pos,
        "train_negatives": train_neg,
        "test_positives": test_pos,
        "test_negatives": test_neg,
    }


def _probe(attribute, value, train, test, max_examples, seed) -> Probe:
    def rows(labels: np.ndarray, split: str) -> tuple[np.ndarray, np.ndarray]:
        positive = labels == value
        negative = np.array([v is not None and v != value for v in labels], dtype=bool)
        rng = rng_for(seed, attribute, value, split)
        return balanced_rows(positive, negative, max_examples, rng)

    train_rows, train_y = rows(train, "train")
    test_rows, test_y = rows(test, "test")
    return Probe(attribute, value, train_rows, train_y, test_rows, test_y)


def run_probe(
    probe: Probe,
    train_x: np.ndarray,
    test_x: np.ndarray,
    ks: Sequence[int],
    full_width: bool = False,
    c: float = 1.0,
    seed: int = 0,
) -> ProbeResult:
    """Fit ``probe`` on the top-k features for every k (and on every feature when
    ``full_width``); selection uses the probe's train rows only. Prefer
    :func:`run_probes`, which runs the fits on one thread.
    """
    x_tr, x_te = train_x[probe.train_rows], test_x[probe.test_rows]
    ranked = top_k_standardised(x_tr, probe.train_y, max(ks))
    result = ProbeResult(probe.attribute, probe.value, {}, {}, {})
    for k in ks:
        cols = ranked[:k]
        fit = fit_probe(x_tr[:, cols], probe.train_y, x_te[:, cols], probe.test_y, c, seed)
        _keep(result, k, fit)
        result.selected[k] = [int(i) for i in cols]
    if full_width:
        _keep(result, "full", fit_probe(x_tr, probe.train_y, x_te, probe.test_y, c, seed))
    return result


def _keep(result: ProbeResult, key: int | str, fit: ProbeFit) -> None:
    result.fits[key] = fit
    result.accuracy[key], result.auroc[key] = fit.accuracy, fit.auroc


def run_probes(
    probes: Sequence[Probe],
    train_x: np.ndarray,
    test_x: np.ndarray,
    ks: Sequence[int],
    full_width: bool = False,
    c: float = 1.0,
    seed: int = 0,
) -> list[ProbeResult]:
    """:func:`run_probe` for every probe of a plan, on one BLAS and torch thread (a 200-row
    fit took 100 ms with the default pool on a busy 2-core machine, 5 ms on one thread;
    and one thread keeps the numbers independent of the core count)."""
    with probe_threads():
        return [run_probe(p, train_x, test_x, ks, full_width, c, seed) for p in probes]


def summarise(results: Sequence[ProbeResult], key: int | str, which: str) -> float | None:
    """Mean over attributes of the mean over each attribute's values of ``which``
    (``"accuracy"`` or ``"auroc"``) at ``key``, so an attribute with many values (150
    countries) weighs as much as one with few (6 continents). None without probes."""
    by_attribute: dict[str, list[float]] = {}
    for result in results:
        scores = getattr(result, which)
        if key in scores:
            by_attribute.setdefault(result.attribute, []).append(scores[key])
    if not by_attribute:
        return None
    return float(np.mean([np.mean(v) for v in by_attribute.values()]))
