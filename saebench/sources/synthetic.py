"""The synthetic source: activations ``x = a F + b`` drawn from a model with known features.

Each sample is a context of one position at the site ``hook_x``; every batch also carries
the true coefficients ``a`` (:data:`GROUND_TRUTH`), so an evaluator can compare an SAE's
latents with the features that made its input. Samples are the first ``n_samples`` of a
named stream of the model (:func:`saebench.synthetic.block`): they depend on the model's
config, the stream and the count, never on the batch size.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from saebench.sources.base import ACTIVATIONS, GROUND_TRUTH, ActivationSource, SourceBatch

if TYPE_CHECKING:
    from torch import Tensor

SITE = "hook_x"  # the one site of a synthetic model


@dataclass
class SyntheticBatch(SourceBatch):
    x: Tensor | None = None  # [rows, d] the activations (the only site's)


class SyntheticSource(ActivationSource):
    """``n_samples`` of a synthetic model's ``stream``.

    Example:
        >>> source = SyntheticSource(load_model("synth-1k"), 50_000)
        >>> acts, _ = source.capture(next(source.batches(4096)), ["hook_x"], False)
    """

    serves = frozenset({ACTIVATIONS, GROUND_TRUTH})
    cacheable = False  # generating is as cheap as reading a cache

    def __init__(self, model, n_samples: int, stream: str = "eval", device: str = "cpu",
                 identity: dict | None = None):  # fmt: skip
        self.model = model
        self.n_samples = n_samples
        self.stream = stream
        self.device = device
        self._identity = identity
        self.forwards = 0

    def identity(self) -> dict[str, Any]:
        if self._identity is None:
            self._identity = {**self.model.identity(), "stream": self.stream, "n": self.n_samples}
        return self._identity

    def batches(self, batch_size: int, label: str | None = None) -> Iterator[SourceBatch]:
        import torch

        from saebench.synthetic import batches

        rows = batches(self.model, self.stream, self.n_samples, batch_size)
        if label is not None:
            from tqdm.auto import tqdm

            total = -(-self.n_samples // batch_size)
            rows = tqdm(rows, desc=label, unit="batch", total=total, leave=False)
        for index, (x, a) in enumerate(rows):
            n = x.shape[0]
            positions = torch.zeros(n, 1, dtype=torch.long, device=self.device)
            mask = torch.ones(n, 1, dtype=torch.bool, device=self.device)
            self.forwards += 1
            yield SyntheticBatch(index, index * batch_size, positions, mask,
                                 a.to(self.device), x.to(self.device))  # fmt: skip

    def capture(
        self, batch: SourceBatch, sites: Iterable[str], final_residual: bool
    ) -> tuple[dict[str, Tensor], Tensor | None]:
        unknown = sorted(set(sites) - {SITE})
        if unknown:  # planning checks SAEs' hooks first; this guards direct use
            raise KeyError(f"a synthetic source has only the site {SITE!r}, not {unknown}")
        return {SITE: batch.x[:, None, :]}, None
