"""Scoring maths: balanced accuracy, F1 and AUROC of one latent's answers (the means over
latents and their intervals are in :mod:`saebench.evaluators.autointerp.summary`).

Example:
    >>> balanced_accuracy([1, 1, 0, 0], [1, 0, 0, 0])      # (1/2 + 2/2) / 2
    0.75
    >>> f1([1, 1, 0, 0], [1, 0, 1, 0])                     # 2 TP / (2 TP + FP + FN)
    0.5
    >>> auroc([1, 0, 1, 0], [0.9, 0.1, 0.4, 0.4])          # pairs won, ties half: 3.5 / 4
    0.875
"""

from __future__ import annotations


def balanced_accuracy(labels: list[int], predictions: list[int]) -> float | None:
    """Mean of the true-positive and true-negative rates; None unless both classes occur."""
    pos = [p for y, p in zip(labels, predictions, strict=True) if y == 1]
    neg = [p for y, p in zip(labels, predictions, strict=True) if y == 0]
    if not pos or not neg:
        return None
    return (sum(pos) / len(pos) + sum(1 - p for p in neg) / len(neg)) / 2


def f1(labels: list[int], predictions: list[int]) -> float | None:
    """2 TP / (2 TP + FP + FN); None with no positive label and no positive prediction."""
    tp = sum(1 for y, p in zip(labels, predictions, strict=True) if y == 1 and p == 1)
    fp = sum(1 for y, p in zip(labels, predictions, strict=True) if y == 0 and p == 1)
    fn = sum(1 for y, p in zip(labels, predictions, strict=True) if y == 1 and p == 0)
    if 2 * tp + fp + fn == 0:
        return None
    return 2 * tp / (2 * tp + fp + fn)


def auroc(labels: list[int], scores: list[float | None]) -> float | None:
    """P(score of a positive > score of a negative), ties counting half (Mann-Whitney U);
    None unless every score is known and both classes occur."""
    if any(s is None for s in scores):
        return None
    pos = [s for y, s in zip(labels, scores, strict=True) if y == 1]
    neg = [s for y, s in zip(labels, scores, strict=True) if y == 0]
    if not pos or not neg:
        return None
    won = sum((p > q) + 0.5 * (p == q) for p in pos for q in neg)
    return won / (len(pos) * len(neg))
