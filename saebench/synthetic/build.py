"""Building a synthetic model from its config (seconds for the CPU tiers; cached by
saebench.synthetic.cache). Each random part has its own generator, seeded from the config's
seed with a fixed offset: the dictionary ``seed``, magnitude std ``seed + 1``, hierarchy
``seed + 3``, correlation ``seed + 4`` (SAELens's offsets, so the structure, the dictionary
before orthogonalisation and the correlation factor equal SAELens's for the same config)."""

from __future__ import annotations

import warnings

import torch

from saebench.errors import SaebenchWarning
from saebench.synthetic.config import SynthConfig
from saebench.synthetic.dictionary import orthogonalize, random_directions
from saebench.synthetic.hierarchy import build_forest, compensation
from saebench.synthetic.laws import correlation_factor, magnitude_std, zipf_probabilities
from saebench.synthetic.model import SyntheticModel
from saebench.toolkit.determinism import fixed_threads


def build_model(config: SynthConfig, name: str = "custom") -> SyntheticModel:
    """Every tensor of the model of ``config``, built deterministically (one thread, so the
    dictionary's bits do not depend on the machine's thread count)."""
    with fixed_threads(1):
        features, bias = random_directions(
            config.num_features, config.hidden_dim, config.bias, config.seed
        )
        if config.orthogonalization is not None:
            features = orthogonalize(features, config.orthogonalization)
    forest = build_forest(config.num_features, config.hierarchy, config.seed + 3)
    base = zipf_probabilities(config.num_features, config.zipf)
    probabilities = base.double()
    if config.hierarchy is not None and config.hierarchy.compensate_probabilities:
        probabilities = probabilities * compensation(base, forest)
    _warn_clamped(probabilities, name)
    return SyntheticModel(
        features=features.contiguous(),
        bias=bias,
        probabilities=probabilities.clamp(max=1).float(),
        mean=torch.linspace(
            config.magnitudes.mean_start, config.magnitudes.mean_end, config.num_features
        ),
        std=magnitude_std(config.num_features, config.magnitudes, config.seed + 1),
        parent=forest.parent,
        depth=forest.depth,
        in_tree=forest.in_tree,
        exclusive=forest.exclusive,
        correlation_factor=correlation_factor(
            config.num_features, config.correlation, config.seed + 4
        ),
        config=config,
        name=name,
    )


def _warn_clamped(probabilities: torch.Tensor, name: str) -> None:
    clamped = int((probabilities > 1).sum())
    if clamped:
        warnings.warn(
            f"synthetic model {name}: the hierarchy's compensation asks {clamped} features "
            "to fire with probability above 1 (clamped at 1), so their realised rates fall "
            "below the Zipf base; use fewer roots or compensate_probabilities=False",
            SaebenchWarning,
            stacklevel=3,
        )
