"""The activation-source protocol and the check of evaluators' needs against a source.

Nothing here imports torch: tensors appear in annotations only.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from saebench.errors import SaebenchError

if TYPE_CHECKING:
    from torch import Tensor

    from saebench.evaluators.base import Needs

ACTIVATIONS = "activations"  # streamed activations at named sites
DOWNSTREAM = "downstream"  # CE and KL of runs with a site edited (needs logits)
MODEL_RUNNER = "model_runner"  # interventions on prompts (the layers after a site)
GROUND_TRUTH = "ground_truth"  # the true feature coefficients of every row (synthetic data)
TEXT = "text"  # token contexts a reader can read (autointerp shows them to a judge)
EMBEDDINGS = "embeddings"  # pooled sentence embeddings of a corpus, its corpus and query parts


@dataclass
class SourceBatch:
    """One batch of contexts: its index, the index of its first context in the source, the
    token ids ``[batch, pos]`` (positions only, for a source without tokens) and the mask of
    the positions that count in metrics."""

    index: int
    start: int
    tokens: Tensor
    mask: Tensor
    truth: Tensor | None = None  # [rows, n_features] true coefficients (a synthetic source)


class ActivationSource:
    """What the shared pass reads from. Subclasses set ``serves`` and implement the rest."""

    serves: frozenset[str] = frozenset({ACTIVATIONS})
    forwards: int = 0  # batches computed (not read from a cache), for benchmarks and tests

    def identity(self) -> dict[str, Any]:
        """What the activations depend on (keys the on-disk activation cache)."""
        raise NotImplementedError

    def batches(self, batch_size: int, label: str | None = None) -> Iterator[SourceBatch]:
        """Every batch of the source in order (``label``: a progress bar's, when shown)."""
        raise NotImplementedError

    def capture(
        self, batch: SourceBatch, sites: Iterable[str], final_residual: bool
    ) -> tuple[dict[str, Tensor], Tensor | None]:
        """Activations at ``sites`` for one batch, and the final residual stream when
        ``final_residual`` (only a source that serves :data:`DOWNSTREAM`)."""
        raise NotImplementedError


def needed_services(needs: Needs) -> set[str]:
    """The services an evaluator's needs ask of a source."""
    wanted = set()
    if needs.activations:
        wanted.add(ACTIVATIONS)
    if needs.downstream:
        wanted.add(DOWNSTREAM)
    if needs.model_runner or needs.task is not None:
        wanted.add(MODEL_RUNNER)
    if needs.ground_truth:
        wanted.add(GROUND_TRUTH)
    if needs.llm:
        wanted.add(TEXT)
    if needs.embeddings:
        wanted.add(EMBEDDINGS)
    return wanted


def check_serves(serves: Iterable[str], needs: Needs, evaluator: str, source: str) -> None:
    """Refuse, before any work, an evaluator whose needs the source cannot serve."""
    missing = sorted(needed_services(needs) - set(serves))
    if missing:
        raise SaebenchError(
            f"evaluator {evaluator!r} needs {', '.join(missing)}, which the {source} source "
            "does not serve; drop the evaluator (or its CE/KL part) or evaluate on a model"
        )
