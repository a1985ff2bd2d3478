"""The pooled ablation shortcut (run.py) against the per-token definition computed by brute
force: decode(codes with S zeroed, x) + (x - decode(codes, x)), then the mean per prompt."""

import numpy as np
import pytest
import torch
from helpers import make_sae

from saebench.evaluators.scr_tpp.prepare import Captured
from saebench.evaluators.scr_tpp.run import pooled_codes


@pytest.mark.parametrize("normalize", ["none", "layer_norm", "constant_norm_rescale"])
def test_pooled_ablation_equals_the_per_token_definition(normalize):
    rng = np.random.default_rng(1)
    sae = make_sae("relu", d_in=12, d_sae=30, seed=2, normalize_activations=normalize)
    lengths = [3, 1, 5, 2]
    owner = np.repeat(np.arange(len(lengths)), lengths)
    tokens = rng.normal(size=(len(owner), 12)).astype(np.float32)
    pooled = np.stack([tokens[owner == i].mean(0) for i in range(len(lengths))])
    captured = Captured(owner, tokens, pooled)
    ablate = np.zeros(30, dtype=bool)
    ablate[[0, 3, 7, 11, 29]] = True
    with torch.no_grad():
        x = torch.from_numpy(tokens)
        codes = sae.encode(x)
        zeroed = codes.clone()
        zeroed[:, torch.from_numpy(ablate)] = 0
        per_token = (sae.decode(zeroed, x) + (x - sae.decode(codes, x))).double().numpy()
    expected = np.stack([per_token[owner == i].mean(0) for i in range(len(lengths))])
    c = pooled_codes(sae, captured, scaled=True)
    w_dec = sae.W_dec.detach().double().numpy()
    got = pooled.astype(np.float64) - c[:, ablate] @ w_dec[ablate]
    assert np.abs(got - expected).max() < 1e-5
