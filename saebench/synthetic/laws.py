"""The per-feature laws of a synthetic model: Zipf firing probabilities, the spread of the
magnitudes and the copula's correlation factor."""

from __future__ import annotations

import torch

from saebench.synthetic.config import CorrelationConfig, MagnitudeConfig, ZipfConfig

_MIN_NOISE = 0.01  # the least idiosyncratic variance a feature keeps in the copula


def zipf_probabilities(num_features: int, config: ZipfConfig) -> torch.Tensor:
    """p_r = p_min + (p_max - p_min) (r^-a - N^-a) / (1 - N^-a), r = 1..N (index 0 most frequent)."""
    if num_features == 1:
        return torch.tensor([config.max_prob])
    power = torch.arange(1, num_features + 1, dtype=torch.float64) ** -config.exponent
    low = float(num_features) ** -config.exponent
    scaled = (power - low) / (1 - low)
    return (config.min_prob + (config.max_prob - config.min_prob) * scaled).float()


def magnitude_std(num_features: int, config: MagnitudeConfig, seed: int) -> torch.Tensor:
    """sigma_i = |N(std_mean, std_std^2)| drawn once per feature (constant when std_std = 0)."""
    if config.std_std == 0:
        return torch.full((num_features,), abs(config.std_mean))
    draws = torch.randn(num_features, generator=torch.Generator().manual_seed(seed))
    return (config.std_mean + draws * config.std_std).abs()


def correlation_factor(
    num_features: int, config: CorrelationConfig | None, seed: int
) -> torch.Tensor:
    """Phi [N, r] with N(0, scale^2) entries; a row whose |phi_i|^2 would leave less than 0.01
    of idiosyncratic variance is shrunk to |phi_i|^2 = 0.99."""
    if config is None:
        return torch.zeros(num_features, 0)
    generator = torch.Generator().manual_seed(seed)
    factor = torch.randn(num_features, config.rank, generator=generator) * config.scale
    squares = (factor**2).sum(dim=1)
    capped = 1 - squares < _MIN_NOISE
    factor[capped] *= torch.sqrt((1 - _MIN_NOISE) / squares[capped]).unsqueeze(1)
    return factor
