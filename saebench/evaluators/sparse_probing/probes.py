"""k-sparse probes on feature matrices: pure functions of arrays, no model, no SAE.

A *probe plan* says, for every (attribute, value) of a task, which train and test rows form
its balanced one-vs-rest problem; it depends only on the labels and the seed, so the SAE
latents and the raw activations are probed on exactly the same rows. :func:`run_probe`
then selects the ``k`` features with the largest ``|mean(positives) - mean(negatives)|``
on the train rows and fits a standardised, L2-regularised logistic regression on them.

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
) -> ProbePlan:
    """One probe per (attribute, value) with at least ``min_examples`` positive and
    negative rows in both splits; the others are listed in ``skipped`` with their counts.

    ``*_labels[attribute]`` is an object array of each row's value (None: the row has no
    such attribute). ``values[attribute]`` lists the values to consider; an attribute with
    exactly two values gets one probe (its first value), since the other is its complement.
    ``max_values`` keeps the values with the most train positives (ties by name); the rest
    are skipped with reason ``max_values``.
    """
    plan = ProbePlan()
    for attribute, candidates in values.items():
        train, test = train_labels[attribute], test_labels[attribute]
        names = sorted(candidates)[:1] if len(set(candidates)) == 2 else sorted(set(candidates))
        eligible = []
        for value in names:
            counts = _counts(train, test, value)
            if min(counts.values()) < min_examples:
                plan.skipped.append(
                    {"attribute": attribute, "value": value, "reason": "too_few", **counts}
                )
            else:
                eligible.append((value, counts))
        eligible.sort(key=lambda item: (-item[1]["train_positives"], item[0]))
        for rank, (value, counts) in enumerate(eligible):
            if max_values is not None and rank >= max_values:
                plan.skipped.append(
                    {"attribute": attribute, "value": value, "reason": "max_values", **counts}
                )
                continue
            plan.probes.append(_probe(attribute, value, train, test, max_examples, seed))
    return plan


def _counts(train: np.ndarray, test: np.ndarray, value: str) -> dict[str, int]:
    def split(labels: np.ndarray) -> tuple[int, int]:
        known = np.array([v is not None for v in labels], dtype=bool)
        pos = int((labels == value).sum())
        return pos, int(known.sum()) - pos

    train_pos, train_neg = split(train)
    test_pos, test_neg = split(test)
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


def top_k_mean_difference(x: np.ndarray, y: np.ndarray, k: int) -> np.ndarray:
    """Indices of the ``k`` columns of ``x`` with the largest ``|mean over y == 1 - mean
    over y == 0|``, largest first; ties go to the lower index."""
    difference = np.abs(x[y == 1].mean(0, dtype=np.float64) - x[y == 0].mean(0, dtype=np.float64))
    order = np.argsort(-difference, kind="stable")
    return order[: min(k, x.shape[1])]


def fit_probe(
    x_train: np.ndarray,
    y_train: np.ndarray,
    x_test: np.ndarray,
    y_test: np.ndarray,
    c: float = 1.0,
    seed: int = 0,
) -> tuple[float, float]:
    """Test (accuracy, AUROC) of a logistic regression fitted on ``x_train``.

    Features are standardised with the train mean and standard deviation (a column that
    is constant on the train rows is centred only), then an L2-penalised logistic
    regression with inverse strength ``c`` is fitted by L-BFGS.
    """
    from sklearn.linear_model import LogisticRegression
    from sklearn.metrics import roc_auc_score

    x_train = np.asarray(x_train, dtype=np.float64)
    x_test = np.asarray(x_test, dtype=np.float64)
    mean = x_train.mean(0)
    scale = x_train.std(0)
    scale[scale < 1e-12] = 1.0
    model = LogisticRegression(C=c, max_iter=1000, random_state=seed)
    model.fit((x_train - mean) / scale, y_train)
    scores = model.decision_function((x_test - mean) / scale)
    accuracy = float(((scores > 0).astype(np.int64) == y_test).mean())
    return accuracy, float(roc_auc_score(y_test, scores))


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
    :func:`run_probes`, which runs the fits on one BLAS thread.
    """
    x_tr, x_te = train_x[probe.train_rows], test_x[probe.test_rows]
    ranked = top_k_mean_difference(x_tr, probe.train_y, max(ks))
    result = ProbeResult(probe.attribute, probe.value, {}, {}, {})
    for k in ks:
        cols = ranked[:k]
        acc, auc = fit_probe(x_tr[:, cols], probe.train_y, x_te[:, cols], probe.test_y, c, seed)
        result.accuracy[k], result.auroc[k] = acc, auc
        result.selected[k] = [int(i) for i in cols]
    if full_width:
        acc, auc = fit_probe(x_tr, probe.train_y, x_te, probe.test_y, c, seed)
        result.accuracy["full"], result.auroc["full"] = acc, auc
    return result


def run_probes(
    probes: Sequence[Probe],
    train_x: np.ndarray,
    test_x: np.ndarray,
    ks: Sequence[int],
    full_width: bool = False,
    c: float = 1.0,
    seed: int = 0,
) -> list[ProbeResult]:
    """:func:`run_probe` for every probe of a plan, on one BLAS thread.

    The fits are small and many, so threads only contend (a 200-row fit took 100 ms with
    the default pool on a busy 2-core machine, 5 ms on one thread), and one thread keeps
    the sums, hence the numbers, independent of the core count.
    """
    import sklearn
    from threadpoolctl import threadpool_limits

    with threadpool_limits(1), sklearn.config_context(assume_finite=True):
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
