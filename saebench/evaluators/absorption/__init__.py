"""Feature absorption on the first-letter task (Chanin et al. 2024, "A is for Absorption",
arXiv 2409.14507), as SAEBench's ``absorption_first_letter`` eval measures it.

A linear probe per letter, trained on the activations the dictionary reads at the word's
token of in-context first-letter prompts over the model's own vocabulary
(:mod:`saebench.tasks.first_letter`), is the ground truth. Per SAE, an L1 probe on the
latents ranks them per letter, k-sparse probes on the top ``k`` (k = 1, 2, ...) choose the
letter's main ("split") latents, and on each test token where the probe fires the main
latents' share of the probe projection is compared with the other latents' (absorption
fraction, full absorption; :mod:`.scores`). A model whose probe does not know first letters
(fewer than ``min_letters`` letters of test F1 above ``min_probe_f1``) gets a skipped record
with the probe's numbers and no absorption. Transcoders are skipped.

Modules: :mod:`.config` and :mod:`.evaluator` load no torch; :mod:`.run` prepares once
and measures each SAE; :mod:`.probes` trains the probes, :mod:`.scores` scores tokens.
``docs/evaluators/absorption.md`` has the definitions, the differences from SAEBench and
the figures.

Example:
    >>> records = saebench.evaluate("zoo:smollm2-resid-topk-32", model="smollm2-135m",
    ...                             evaluators=["absorption"])
    >>> records[0].metrics["mean_absorption_fraction"], records[0].details["status"]
"""

from saebench.evaluators.absorption.config import (
    QUICKSTART_CONFIG,
    AbsorptionConfig,
    AbsorptionMetrics,
)
from saebench.evaluators.absorption.evaluator import AbsorptionEvaluator

__all__ = ["QUICKSTART_CONFIG", "AbsorptionConfig", "AbsorptionEvaluator", "AbsorptionMetrics"]
