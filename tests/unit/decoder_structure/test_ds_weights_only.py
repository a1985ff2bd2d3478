"""decoder_structure with ``tokens: false``: weights only, the token metrics skipped with a
status, the random-dictionary null computed once per shape and shared."""

from __future__ import annotations

import pytest
import torch

from saebench.evaluators import EvalContext
from saebench.evaluators.decoder_structure import DecoderStructureConfig, DecoderStructureEvaluator
from saebench.sae.metadata import SaeMetadata
from saebench.sae.standard import StandardSae

TINY = dict(meta_steps=5, meta_batch_size=16, meta_seeds=2, tokens=False)


def sae_with(rows: torch.Tensor) -> StandardSae:
    h, d = rows.shape
    meta = SaeMetadata(architecture="standard", d_in=d, d_sae=h, hook_name="h")
    return StandardSae(meta, rows.T.clone(), torch.zeros(h), rows.clone(), torch.zeros(d))


def test_weights_only_record_and_shared_null():
    config = DecoderStructureConfig(**TINY)
    assert DecoderStructureEvaluator.needs_for(config).activations is False
    shared: dict = {}
    rows = torch.cat([torch.eye(8), -torch.eye(8)])  # ± pairs: max |cos| 1, mean 1/15
    results = []
    for sae in (sae_with(rows), sae_with(rows * 2)):
        context = EvalContext(sae=sae, shared=shared)
        results.append(DecoderStructureEvaluator(config, context).finish())
    first = results[0]
    assert first.metrics.max_abs_cos == pytest.approx(1.0)
    assert first.metrics.mean_abs_cos == pytest.approx(1 / 15)
    assert first.metrics.eps_lbo_median is None
    assert first.details["eps_lbo_status"].startswith("skipped")
    assert len(first.seeds["meta_fve"]) == 2
    # the same shape: one null for both, and row norms do not change unit-row metrics
    assert len([k for k in shared if k[1] == "random_dictionary"]) == 1
    assert results[1].nulls == first.nulls
    assert results[1].metrics.meta_fve == pytest.approx(first.metrics.meta_fve)
