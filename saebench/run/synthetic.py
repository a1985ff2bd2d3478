"""Planning a run on a synthetic tier: no text, no logits, one site, known features.

The model named is a tier (``synth-1k``, ``synth-4k``, ...); its samples take the place of a
dataset, one sample per one-position context, the first ``n_tokens`` of the tier's ``eval``
stream. Evaluators that need logits lose their CE/KL part unless the user asked for it (then
the run is refused); those that need a model runner, a task or readable text are refused.

Example:
    >>> groups = plan("zoo:synth4k-topk-12-s0", evaluators="reconstruction,ground_truth")
    >>> groups[0].tokens.kind
    'synthetic'
"""

from __future__ import annotations

from typing import Any

from saebench.errors import SaebenchError, setting
from saebench.run.request import RunRequest

# Samples evaluated when the user gives no count: SynthSAEBench's CPU tiers use 50,000.
DEFAULT_SAMPLES = 50_000


def check_synthetic_request(request: RunRequest, model, metas: list) -> None:
    """Refuse text settings and SAEs that do not read the tier's site at its width."""
    from saebench.sources.synthetic import SITE

    text = {"dataset": request.dataset, "context_size": request.context_size,
            "prepend_bos": request.prepend_bos, "separator": request.separator}  # fmt: skip
    given = [name for name, value in text.items() if value is not None]
    if given:
        raise SaebenchError(
            f"{model.name} makes its own samples; drop {', '.join(map(setting, given))}"
        )
    width = model.features.shape[1]
    for meta in metas:
        if meta.hook_name != SITE or meta.output_hook != SITE or meta.d_in != width:
            raise SaebenchError(
                f"SAE {meta.source or meta.hook_name} reads {meta.hook_name} at width "
                f"{meta.d_in}, but {model.name} has only {SITE!r} at width {width}; the SAE "
                "was trained on another model or tier"
            )


def without_logits(request: RunRequest, specs: list) -> dict[str, dict[str, Any]]:
    """The request's evaluator settings with CE/KL turned off where the user left it on by
    default (a synthetic tier has no logits)."""
    from saebench.registry import evaluators

    configs: dict[str, dict[str, Any]] = {k: dict(v) for k, v in request.configs.items()}
    for spec in specs:
        fields = evaluators.get(spec.name).Config.model_fields
        if "downstream" in fields and "downstream" not in configs.get(spec.name, {}):
            configs.setdefault(spec.name, {})["downstream"] = False
    return configs


def check_synthetic_needs(specs: list) -> None:
    """Refuse, before any work, an evaluator the synthetic source cannot serve."""
    from saebench.registry import evaluators
    from saebench.sources import check_serves
    from saebench.sources.synthetic import SyntheticSource

    for spec in specs:
        cls = evaluators.get(spec.name)
        needs = cls.needs_for(cls.Config(**spec.config))
        check_serves(SyntheticSource.serves, needs, spec.name, "synthetic")


def synthetic_tokens(model_spec, n_samples: int | None) -> dict[str, Any]:
    """The fields of the token spec of a tier's evaluation samples (one position each)."""
    return {
        "name": model_spec.name,
        "fingerprint": f"{model_spec.weights_hash}:eval",
        "kind": "synthetic",
        "n_tokens": n_samples or DEFAULT_SAMPLES,
        "context_size": 1,
        "source": {"stream": "eval"},
    }
