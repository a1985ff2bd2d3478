"""Our generator beside SAELens's own (installed in the dev venv, never imported by the
package): same parameters for the same config, same realised statistics (slow: ~20 s)."""

from __future__ import annotations

import pytest
import torch

from saebench.synthetic import build_model, samples, tier

pytestmark = pytest.mark.slow


def saelens_model(config):
    synthetic = pytest.importorskip("sae_lens.synthetic")
    from sae_lens.synthetic.firing_magnitudes import (
        FoldedNormalMagnitudeConfig,
        LinearMagnitudeConfig,
    )
    from sae_lens.synthetic.firing_probabilities import ZipfianFiringProbabilityConfig
    from sae_lens.synthetic.hierarchy import HierarchyConfig
    from sae_lens.synthetic.synthetic_model import (
        LowRankCorrelationConfig,
        OrthogonalizationConfig,
    )

    h, m, z = config.hierarchy, config.magnitudes, config.zipf
    return synthetic.SyntheticModel(
        synthetic.SyntheticModelConfig(
            num_features=config.num_features,
            hidden_dim=config.hidden_dim,
            firing_probability=ZipfianFiringProbabilityConfig(
                max_prob=z.max_prob, min_prob=z.min_prob, exponent=z.exponent
            ),
            hierarchy=HierarchyConfig(
                total_root_nodes=h.total_root_nodes,
                branching_factor=h.branching_factor,
                max_depth=h.max_depth,
                mutually_exclusive_portion=h.mutually_exclusive_portion,
                mutually_exclusive_min_depth=h.min_depth,
                compensate_probabilities=h.compensate_probabilities,
                scale_children_by_parent=h.scale_children_by_parent,
            ),
            mean_firing_magnitudes=LinearMagnitudeConfig(start=m.mean_start, end=m.mean_end),
            std_firing_magnitudes=FoldedNormalMagnitudeConfig(mean=m.std_mean, std=m.std_std),
            correlation=LowRankCorrelationConfig(
                correlation_scale=config.correlation.scale, rank=config.correlation.rank
            ),
            orthogonalization=OrthogonalizationConfig(
                num_steps=config.orthogonalization.steps, lr=config.orthogonalization.lr
            ),
            bias=config.bias,
            seed=config.seed,
        )
    )


def parents_of(roots, n):
    parent, exclusive = torch.full((n,), -1), torch.zeros(n, dtype=torch.bool)
    stack = list(roots)
    while stack:
        node = stack.pop()
        exclusive[node.feature_index] = node.mutually_exclusive_children
        for child in node.children:
            parent[child.feature_index] = node.feature_index
            stack.append(child)
    return parent, exclusive


def test_synth_1k_parameters_and_statistics_match_saelens():
    config = tier("synth-1k")
    theirs, ours = saelens_model(config), build_model(config, "synth-1k")
    generator = theirs.activation_generator
    # the same numbers up to float rounding (their autograd vs our closed-form gradient)
    assert torch.allclose(theirs.feature_dict.feature_vectors.data, ours.features, atol=1e-5)
    assert torch.equal(theirs.feature_dict.bias.data, ours.bias)
    assert torch.allclose(generator.firing_probabilities, ours.probabilities, atol=1e-6)
    assert torch.equal(generator.std_firing_magnitudes, ours.std)
    assert torch.equal(generator.mean_firing_magnitudes, ours.mean)
    assert torch.equal(generator.low_rank_correlation[0], ours.correlation_factor)
    parent, exclusive = parents_of(theirs.hierarchy.roots, config.num_features)
    assert torch.equal(parent, ours.parent) and torch.equal(exclusive, ours.exclusive)
    # realised firing rates: a two-sample z per feature, as a chi-square over all features
    n = 40_960
    torch.manual_seed(0)
    a_theirs = torch.cat([theirs.sample_with_features(4096)[1] for _ in range(n // 4096)])
    a_ours = samples(ours, "eval", n)[1]
    r1, r2 = (a_theirs > 0).double().mean(0), (a_ours > 0).double().mean(0)
    pooled = (r1 + r2) / 2
    z = (r1 - r2) / (2 * pooled * (1 - pooled) / n).sqrt().clamp(min=1e-12)
    k = z.numel()
    assert abs(float((z**2).sum()) - k) < 5 * (2 * k) ** 0.5
    l0_theirs, l0_ours = ((a > 0).sum(1).double().mean().item() for a in (a_theirs, a_ours))
    assert l0_theirs == pytest.approx(l0_ours, abs=0.1)  # ~3 standard errors of the difference
    magnitude_theirs, magnitude_ours = (a[a > 0].mean().item() for a in (a_theirs, a_ours))
    assert magnitude_theirs == pytest.approx(magnitude_ours, abs=0.01)
