"""What a synthetic model is made of: the typed config of a SynthSAEBench-style generator, the
named tiers and the default SAE recipe of each (torch-free, so the CLI can list them fast).

Example:
    >>> from saebench.synthetic.config import tier
    >>> tier("synth-1k").num_features
    1024
"""

from __future__ import annotations

import difflib

from pydantic import BaseModel, ConfigDict, Field

from saebench.errors import SaebenchError
from saebench.identity import stable_hash

# Bump when the generator's arithmetic changes: it is part of every config key, so a model
# cached by an older generator is never read back as a new one.
GENERATOR_VERSION = 1

# Whether the CPU tiers run the (mild) orthogonalisation of the published recipe; see
# docs/synthetic.md for what it changes and costs.
ORTHO_CPU_TIERS = True


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class ZipfConfig(_Frozen):
    """Base firing probabilities p_r = p_min + (p_max - p_min) (r^-a - N^-a) / (1 - N^-a)."""

    exponent: float = Field(1.0, gt=0)
    max_prob: float = Field(0.3, gt=0, le=1)
    min_prob: float = Field(0.01, gt=0)


class HierarchyConfig(_Frozen):
    """Trees over the most frequent features, built breadth-first across all trees."""

    total_root_nodes: int = Field(0, ge=0)
    branching_factor: int = Field(4, ge=1)
    max_depth: int = Field(3, ge=0)
    mutually_exclusive_portion: float = Field(1.0, ge=0, le=1)
    min_depth: int = Field(0, ge=0)  # parents shallower than this never get exclusive children
    compensate_probabilities: bool = True
    scale_children_by_parent: bool = True


class MagnitudeConfig(_Frozen):
    """a = ReLU(mu_i + sigma_i eps): mu linear over the index, sigma ~ |N(std_mean, std_std^2)|."""

    mean_start: float = 1.0
    mean_end: float = 1.0
    std_mean: float = 0.0
    std_std: float = Field(0.0, ge=0)


class CorrelationConfig(_Frozen):
    """Low-rank Gaussian copula: factor entries N(0, scale^2); scale 0 = independent firing."""

    rank: int = Field(32, ge=1)
    scale: float = Field(0.1, ge=0)


class OrthogonalizationConfig(_Frozen):
    """Adam steps on sum_{i!=j} (f_i.f_j)^2 + N sum_i (|f_i|^2 - 1)^2, rows renormalised after."""

    steps: int = Field(100, ge=1)
    lr: float = Field(3e-4, gt=0)


class SynthConfig(_Frozen):
    """Everything that decides a synthetic model; :meth:`key` names its cache folder."""

    num_features: int = Field(ge=1)
    hidden_dim: int = Field(ge=1)
    zipf: ZipfConfig = ZipfConfig()
    hierarchy: HierarchyConfig | None = None
    magnitudes: MagnitudeConfig = MagnitudeConfig()
    correlation: CorrelationConfig | None = None
    orthogonalization: OrthogonalizationConfig | None = None
    bias: float = Field(0.0, ge=0)  # the norm of the bias direction; 0 = no bias
    seed: int = 42

    def key(self) -> str:
        """A stable hash of every field and of the generator version."""
        return stable_hash({"generator": GENERATOR_VERSION, **self.model_dump(mode="json")})


class TierRecipe(_Frozen):
    """The default SAE of a tier: width, k (about the true L0 over the top d_sae features),
    learning rate, training samples and batch size."""

    d_sae: int
    k: int
    lr: float
    samples: int
    batch_size: int = 1024


def _scaled_16k(num_features: int, hidden_dim: int, orthogonalize: bool) -> SynthConfig:
    """The SynthSAEBench-16k (v2) recipe with N / 128 roots, so that as there two thirds of
    the features sit in trees (85 per tree)."""
    return SynthConfig(
        num_features=num_features,
        hidden_dim=hidden_dim,
        zipf=ZipfConfig(exponent=0.5, max_prob=0.4, min_prob=5e-4),
        hierarchy=HierarchyConfig(
            total_root_nodes=num_features // 128,
            branching_factor=4,
            max_depth=3,
            mutually_exclusive_portion=1.0,
            min_depth=0,
            compensate_probabilities=True,
            scale_children_by_parent=True,
        ),
        magnitudes=MagnitudeConfig(mean_start=5.0, mean_end=4.0, std_mean=0.5, std_std=0.5),
        correlation=CorrelationConfig(rank=25, scale=0.1),
        orthogonalization=OrthogonalizationConfig(steps=100, lr=3e-4) if orthogonalize else None,
        bias=0.5,
        seed=42,
    )


TIERS: dict[str, SynthConfig] = {
    "synth-1k": _scaled_16k(1024, 128, orthogonalize=ORTHO_CPU_TIERS),
    "synth-4k": _scaled_16k(4096, 256, orthogonalize=ORTHO_CPU_TIERS),
    "synthsaebench-16k": _scaled_16k(16384, 768, orthogonalize=True),
}

TIER_RECIPES: dict[str, TierRecipe] = {
    "synth-1k": TierRecipe(d_sae=256, k=6, lr=3e-3, samples=2_000_000),
    "synth-4k": TierRecipe(d_sae=1024, k=12, lr=2e-3, samples=2_000_000),
    "synthsaebench-16k": TierRecipe(d_sae=4096, k=25, lr=3e-4, samples=200_000_000),
}


def tier(name: str) -> SynthConfig:
    """The config of a named tier; an unknown name raises a one-line error listing them."""
    if name in TIERS:
        return TIERS[name]
    close = difflib.get_close_matches(name, TIERS, n=1)
    hint = f"did you mean {close[0]!r}? " if close else ""
    raise SaebenchError(
        f"unknown synthetic tier {name!r}: {hint}known tiers are {', '.join(TIERS)}"
    )


def tier_name(config: SynthConfig) -> str:
    """The name of the tier with exactly this config, else ``custom``."""
    return next((name for name, known in TIERS.items() if known == config), "custom")
