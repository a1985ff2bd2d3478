"""The activation-source seam: the shared pass reads any source, and needs are checked."""

import pytest
import torch
from helpers import make_sae

from saebench.activations.shared_pass import SaeSlot, SharedPass
from saebench.errors import SaebenchError
from saebench.evaluators.base import EvalContext, Needs
from saebench.evaluators.sparsity import SparsityConfig, SparsityEvaluator
from saebench.sources import ACTIVATIONS, ActivationSource, SourceBatch, check_serves


class ArraySource(ActivationSource):
    """Fixed activations at one site, no model: what a synthetic source looks like."""

    serves = frozenset({ACTIVATIONS})

    def __init__(self, acts: torch.Tensor, site: str):
        self.acts, self.site = acts, site  # [contexts, pos, d]
        self.forwards = 0

    def identity(self):
        return {"array": float(self.acts.sum())}

    def batches(self, batch_size, label=None):
        for index, start in enumerate(range(0, self.acts.shape[0], batch_size)):
            rows = self.acts[start : start + batch_size]
            tokens = torch.zeros(rows.shape[:2], dtype=torch.long)
            yield SourceBatch(index, start, tokens, torch.ones_like(tokens, dtype=torch.bool))

    def capture(self, batch, sites, final_residual):
        self.forwards += 1
        return {self.site: self.acts[batch.start : batch.start + len(batch.tokens)]}, None


def test_the_shared_pass_streams_a_source_without_a_model():
    sae = make_sae(d_in=8, d_sae=16, hook_name="site")
    acts = torch.randn(6, 5, 8, generator=torch.Generator().manual_seed(0))
    evaluator = SparsityEvaluator(SparsityConfig(), EvalContext(sae=sae))
    source = ArraySource(acts, "site")
    SharedPass(source, [SaeSlot(sae, [evaluator], [Needs()])], 4, progress=False).run()
    result = evaluator.finish()
    codes = sae.encode(acts.reshape(-1, 8))
    assert result.metrics.l0 == pytest.approx(float((codes != 0).sum(-1).double().mean()))
    assert source.forwards == 2 and result.sample_sizes["contexts"] == 6


def test_needs_a_source_cannot_serve_are_refused_with_the_fix():
    with pytest.raises(SaebenchError, match="needs downstream, which the synthetic source"):
        check_serves({ACTIVATIONS}, Needs(downstream=True), "reconstruction", "synthetic")
    check_serves({ACTIVATIONS}, Needs(), "sparsity", "synthetic")  # no error


def test_sources_are_plug_ins_named_by_entry_points():
    from saebench.registry import sources
    from saebench.sources import ModelSource

    assert sources.get("model") is ModelSource and "model" in sources.names()
    with pytest.raises(SaebenchError, match="not a subclass of ActivationSource"):
        sources.register("not-a-source", dict)
    sources.register("arrays", ArraySource)
    try:
        assert sources.get("arrays").serves == frozenset({ACTIVATIONS})
    finally:
        sources._entries.pop("arrays", None)
