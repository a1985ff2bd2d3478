"""The model source: token contexts streamed through a TransformerLens model, hooks captured.

It serves streamed activations at any hook, the final residual stream for CE and KL, and a
:class:`~saebench.models.interventions.ModelRunner` for interventions. When no logits are
needed, the forward stops after the last layer a captured hook needs.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import TYPE_CHECKING, Any

from saebench.sources.base import (
    ACTIVATIONS,
    DOWNSTREAM,
    MODEL_RUNNER,
    TEXT,
    ActivationSource,
    SourceBatch,
)

if TYPE_CHECKING:
    from torch import Tensor


class ModelSource(ActivationSource):
    """A model and a token set (see :func:`saebench.data.contexts.make_token_set`).

    Example:
        >>> source = ModelSource(model, token_set, device="cpu")
        >>> acts, _ = source.capture(next(source.batches(4)), ["blocks.0.hook_resid_post"], False)
    """

    serves = frozenset({ACTIVATIONS, DOWNSTREAM, MODEL_RUNNER, TEXT})

    def __init__(self, model, token_set, device: str = "cpu", identity: dict | None = None):
        from saebench.models.interventions import ModelRunner

        self.model = model
        self.token_set = token_set
        self.device = device
        self.runner = ModelRunner(model)
        self._identity = identity
        self.forwards = 0

    def identity(self) -> dict[str, Any]:
        """The planned identities of model and tokens, or hashes of both when not given."""
        if self._identity is not None:
            return self._identity
        from saebench.identity import model_weights_hash, tensors_hash

        self._identity = {
            "model": model_weights_hash(self.model),
            "tokens": tensors_hash({"tokens": self.token_set.tokens}),
        }
        return self._identity

    def batches(self, batch_size: int, label: str | None = None) -> Iterator[SourceBatch]:
        tokens = self.token_set.tokens
        starts = range(0, tokens.shape[0], batch_size)
        if label is not None:
            from tqdm.auto import tqdm

            starts = tqdm(starts, desc=label, unit="batch", leave=False)
        for index, start in enumerate(starts):
            batch = tokens[start : start + batch_size].to(self.device)
            yield SourceBatch(index, start, batch, self.token_set.mask(batch))

    def capture(
        self, batch: SourceBatch, sites: Iterable[str], final_residual: bool
    ) -> tuple[dict[str, Tensor], Tensor | None]:
        from saebench.models.hooks import stop_layer

        sites = list(sites)
        acts: dict[str, Tensor] = {}

        def keep(act, hook):
            acts[hook.name] = act.detach()

        n_layers = self.model.cfg.n_layers
        stop = n_layers if final_residual else stop_layer(sites, n_layers)
        with self.model.hooks(fwd_hooks=[(name, keep) for name in sites]):
            out = self.model(batch.tokens, stop_at_layer=stop)
        self.forwards += 1
        return acts, (out if final_residual else None)
