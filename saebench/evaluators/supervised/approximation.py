"""Approximation: does a reconstruction of the activation keep what the model uses at this
node (sufficiency), and does removing it take that away (necessity)?

With ``M(x)`` the mean task metric (:mod:`.task_metric`) when the activation at the position
is replaced by ``x``, ``a`` the clean activation, ``a_hat`` a reconstruction and ``mean`` the
training mean of ``a``::

    sufficiency = (M(a_hat) - M(mean)) / (M(a) - M(mean))
    necessity   = (M(a) - M(a - a_hat + E[a_hat])) / (M(a) - M(mean))

Both are 1 for the exact reconstruction and 0 for the mean itself; necessity is written so
that higher is better (1: removing the reconstruction does all that mean ablation does).

Example:
    >>> fraction_kept(ld_replaced, ld_clean, ld_mean)      # sufficiency
    >>> removal_values(acts, acts_hat, mean_hat)           # the rows that test necessity
"""

from __future__ import annotations

from torch import Tensor


def fraction_kept(replaced: float, clean: float, ablated: float) -> float | None:
    """``(replaced - ablated) / (clean - ablated)``; None when the node has no effect."""
    span = clean - ablated
    if abs(span) < 1e-9:
        return None
    return (replaced - ablated) / span


def fraction_removed(removed: float, clean: float, ablated: float) -> float | None:
    """``(clean - removed) / (clean - ablated)``; None when the node has no effect."""
    kept = fraction_kept(removed, clean, ablated)
    return None if kept is None else 1.0 - kept


def removal_values(acts: Tensor, acts_hat: Tensor, mean_hat: Tensor) -> Tensor:
    """``a - a_hat + E[a_hat]``: the reconstruction taken out, its average put back."""
    return acts - acts_hat.to(acts.dtype) + mean_hat.to(acts.dtype)
