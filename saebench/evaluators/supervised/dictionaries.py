"""Supervised feature dictionaries: one vector per value of a task's attributes.

For activations ``A [n, d]`` at one hook and position and attribute sets (each set a tuple of
attributes; a set of several attributes is *coupled*: one code per joint value)::

    mean = E[a];   u(S, v) = E[a | S = v] - mean         (mean-difference codes)
    a_hat(p) = mean + sum_S u(S, v_S(p))

The least-squares variant fits ``mean`` and every ``u`` jointly, minimising
``|| X C - A ||`` over the one-hot design ``X = [1, onehot(S_1), onehot(S_2), ...]`` (the
minimum-norm solution: only differences of codes within a set and the reconstruction are
identified, and those are what reconstruction and edits use). Pure tensor code.

Example:
    >>> d = fit_dictionary(acts, labels, [("io",), ("s",), ("order",)])
    >>> a_hat = d.reconstruct(labels)                       # [n, d]
    >>> edited = d.edit(acts, labels, new_labels)           # a - u(old) + u(new)
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import torch
from torch import Tensor

AttributeSet = tuple[str, ...]
Labels = Sequence[Mapping[str, str]]


def set_name(attributes: AttributeSet) -> str:
    """``"io"`` or, for a coupled set, ``"io+order"``."""
    return "+".join(attributes)


def joint_value(labels: Mapping[str, str], attributes: AttributeSet) -> str:
    """The value of a (possibly coupled) attribute set for one prompt."""
    return "|".join(labels[a] for a in attributes)


@dataclass
class SupervisedDictionary:
    """``mean`` ``[d]`` and ``codes[set_name][value]`` ``[d]`` for each attribute set."""

    mean: Tensor
    sets: list[AttributeSet]
    codes: dict[str, dict[str, Tensor]]
    method: str = "mean"

    def knows(self, labels: Mapping[str, str]) -> bool:
        """Whether every set's value of ``labels`` has a code (was seen in training)."""
        return all(joint_value(labels, s) in self.codes[set_name(s)] for s in self.sets)

    def code_rows(self, labels: Labels, attributes: AttributeSet) -> Tensor:
        """``u(S, v_S(p))`` for every prompt ``[n, d]``."""
        table = self.codes[set_name(attributes)]
        return torch.stack([table[joint_value(p, attributes)] for p in labels])

    def reconstruct(self, labels: Labels) -> Tensor:
        """``mean + sum_S u(S, v_S(p))`` ``[n, d]``."""
        out = self.mean.expand(len(labels), -1).clone()
        for s in self.sets:
            out += self.code_rows(labels, s)
        return out

    def edit(self, acts: Tensor, old: Labels, new: Labels) -> Tensor:
        """``a - u(S, old) + u(S, new)`` summed over the sets whose value changes."""
        out = acts.to(self.mean.dtype).clone()
        for s in self.sets:
            out += self.code_rows(new, s) - self.code_rows(old, s)
        return out

    def removed_weight(self, old: Labels, new: Labels) -> Tensor:
        """Per prompt, the share of the reconstruction ``a_hat - mean`` carried by the codes
        an edit takes out (the sets whose value changes): ``sum_S u_S . r / |r|^2``."""
        r = self.reconstruct(old) - self.mean
        norm = (r * r).sum(-1).clamp_min(1e-30)
        out = torch.zeros(len(old), dtype=self.mean.dtype)
        for s in self.sets:
            changed = torch.tensor(
                [joint_value(o, s) != joint_value(n, s) for o, n in zip(old, new, strict=True)]
            )
            share = (self.code_rows(old, s) * r).sum(-1) / norm
            out += torch.where(changed, share, torch.zeros_like(share))
        return out

    def strength(self, labels: Labels) -> dict[str, float]:
        """Mean norm of each attribute's code over ``labels``, per single attribute (a
        coupled set's norm counts for each of its attributes): which attribute is stronger."""
        out: dict[str, float] = {}
        for s in self.sets:
            norm = float(self.code_rows(labels, s).norm(dim=-1).mean())
            for a in s:
                out[a] = max(out.get(a, 0.0), norm)
        return out


def fit_dictionary(
    acts: Tensor, labels: Labels, sets: Sequence[AttributeSet], method: str = "mean"
) -> SupervisedDictionary:
    """The supervised dictionary of ``acts`` ``[n, d]`` for the attribute ``sets``
    (``method``: ``"mean"`` differences or ``"least_squares"``), fitted in float64.

    Example:
        >>> fit_dictionary(acts, [p.attributes for p in prompts], [("io",), ("s",)])
    """
    if len(acts) != len(labels) or not len(labels):
        raise ValueError(f"need one label row per activation, got {len(labels)} for {len(acts)}")
    x = acts.double()
    sets = [tuple(s) for s in sets]
    if method == "mean":
        return _mean_codes(x, labels, sets)
    if method == "least_squares":
        return _least_squares(x, labels, sets)
    raise ValueError(f"method must be 'mean' or 'least_squares', not {method!r}")


def _values(labels: Labels, attributes: AttributeSet) -> tuple[list[str], Tensor]:
    """Sorted joint values of a set and each prompt's index into them."""
    joint = [joint_value(p, attributes) for p in labels]
    values = sorted(set(joint))
    index = {v: i for i, v in enumerate(values)}
    return values, torch.tensor([index[v] for v in joint])


def _mean_codes(x: Tensor, labels: Labels, sets: list[AttributeSet]) -> SupervisedDictionary:
    mean = x.mean(0)
    codes = {}
    for s in sets:
        values, index = _values(labels, s)
        sums = torch.zeros(len(values), x.shape[1], dtype=x.dtype).index_add_(0, index, x)
        counts = torch.bincount(index, minlength=len(values)).to(x.dtype)
        means = sums / counts[:, None] - mean
        codes[set_name(s)] = dict(zip(values, means, strict=True))
    return SupervisedDictionary(mean, sets, codes, "mean")


def _least_squares(x: Tensor, labels: Labels, sets: list[AttributeSet]) -> SupervisedDictionary:
    columns = [torch.ones(len(labels), 1, dtype=x.dtype)]
    blocks = []
    for s in sets:
        values, index = _values(labels, s)
        columns.append(torch.nn.functional.one_hot(index, len(values)).to(x.dtype))
        blocks.append(values)
    design = torch.cat(columns, dim=1)
    solution = torch.linalg.pinv(design) @ x  # the minimum-norm least-squares codes
    codes, row = {}, 1
    for s, values in zip(sets, blocks, strict=True):
        codes[set_name(s)] = dict(zip(values, solution[row : row + len(values)], strict=True))
        row += len(values)
    return SupervisedDictionary(solution[0], sets, codes, "least_squares")
