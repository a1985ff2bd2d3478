"""RAVEL's scores from the outcomes of interventions.

For one method, target attribute and split: ``cause`` is the fraction of cause pairs whose
answer became the expected (source's) value, ``isolation`` the fraction of isolation pairs
whose answer stayed the base's value, ``disentanglement`` their mean (RAVEL's
``(cause + isolate) / 2``). A side without pairs is None, and so is the disentanglement.
Summaries average over target attributes (each attribute counts once, whatever its number
of pairs), skipping attributes without a score.

Example:
    >>> score_pairs([("cause", True), ("cause", False), ("isolation", True)])
    {'cause': 0.5, 'isolation': 1.0, 'disentanglement': 0.75, 'n_cause': 2, 'n_isolation': 1}
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping


def score_pairs(outcomes: Iterable[tuple[str, bool]]) -> dict:
    """Scores of ``(kind, success)`` outcomes, kind ``"cause"`` or ``"isolation"``."""
    hits = {"cause": 0, "isolation": 0}
    counts = {"cause": 0, "isolation": 0}
    for kind, ok in outcomes:
        if kind not in counts:
            raise ValueError(f"a RAVEL pair is 'cause' or 'isolation', not {kind!r}")
        counts[kind] += 1
        hits[kind] += bool(ok)
    cause = hits["cause"] / counts["cause"] if counts["cause"] else None
    isolation = hits["isolation"] / counts["isolation"] if counts["isolation"] else None
    both = None if cause is None or isolation is None else (cause + isolation) / 2
    return {
        "cause": cause,
        "isolation": isolation,
        "disentanglement": both,
        "n_cause": counts["cause"],
        "n_isolation": counts["isolation"],
    }


def mean_over_targets(scores: Mapping[str, Mapping[str, dict]], split: str, key: str):
    """Mean of ``scores[target][split][key]`` over targets that have it (None if none)."""
    values = [
        per_split[split][key]
        for per_split in scores.values()
        if split in per_split and per_split[split].get(key) is not None
    ]
    return sum(values) / len(values) if values else None


def mean_over_seeds(runs: list[dict]) -> dict:
    """Scores of several seeds' runs averaged field by field (counts kept from the first)."""
    if len(runs) == 1:
        return dict(runs[0])
    out = dict(runs[0])
    for key in ("cause", "isolation", "disentanglement"):
        values = [r[key] for r in runs]
        out[key] = None if any(v is None for v in values) else sum(values) / len(values)
    return out


def difference(a: float | None, b: float | None) -> float | None:
    """``a - b``, None when either is missing."""
    return None if a is None or b is None else a - b
