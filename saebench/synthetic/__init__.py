"""Synthetic activations with known features (SynthSAEBench's structure, our own seeded
generator): x = a F + b with a planted dictionary F, Zipfian firing, hierarchies with
mutually exclusive children, low-rank correlated firing and noisy magnitudes. Names load on
first use; the config (tiers, recipes) never loads torch.

Example:
    >>> from saebench.synthetic import load_model, samples
    >>> model = load_model("synth-1k")
    >>> x, a = samples(model, "eval", 10_000)   # the same for every batch size
"""

from typing import TYPE_CHECKING

from saebench.lazy import lazy_exports

_CONFIG = "saebench.synthetic.config"
_EXPORTS = {
    **dict.fromkeys(
        [
            "SynthConfig",
            "ZipfConfig",
            "HierarchyConfig",
            "MagnitudeConfig",
            "CorrelationConfig",
            "OrthogonalizationConfig",
            "TierRecipe",
            "TIERS",
            "TIER_RECIPES",
            "GENERATOR_VERSION",
            "tier",
            "tier_name",
        ],
        _CONFIG,
    ),
    "SyntheticModel": "saebench.synthetic.model",
    "build_model": "saebench.synthetic.build",
    **dict.fromkeys(["load_model", "cache_root", "model_folder"], "saebench.synthetic.cache"),
    **dict.fromkeys(
        ["BLOCK", "block", "samples", "batches", "block_seed"], "saebench.synthetic.streams"
    ),
    "max_abs_cosines": "saebench.synthetic.dictionary",
}
__all__ = sorted(_EXPORTS)
__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)

if TYPE_CHECKING:  # pragma: no cover
    from saebench.synthetic.build import build_model  # noqa: F401
    from saebench.synthetic.cache import cache_root, load_model, model_folder  # noqa: F401
    from saebench.synthetic.config import (  # noqa: F401
        GENERATOR_VERSION,
        TIER_RECIPES,
        TIERS,
        CorrelationConfig,
        HierarchyConfig,
        MagnitudeConfig,
        OrthogonalizationConfig,
        SynthConfig,
        TierRecipe,
        ZipfConfig,
        tier,
        tier_name,
    )
    from saebench.synthetic.dictionary import max_abs_cosines  # noqa: F401
    from saebench.synthetic.model import SyntheticModel  # noqa: F401
    from saebench.synthetic.streams import BLOCK, batches, block, block_seed, samples  # noqa: F401
