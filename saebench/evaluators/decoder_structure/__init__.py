"""``decoder_structure``: what the decoder's rows look like, from the weights and the one
shared activation pass (no forward of its own).

* **Meta-SAE** (SAEBench ``meta_structure``, PR #87): a BatchTopK SAE of width
  ``ceil(d_sae / 4)`` and ``k = 4`` trained on the unit-norm decoder rows; ``meta_fve`` is
  the fraction of their variance it explains, over ``meta_seeds`` seeds (the seed spread is
  its interval); the null is the same meta-SAE on random unit rows of the same shape.
* **Quasi-orthogonality** (Lee et al. 2025, arXiv 2503.24277): max and mean off-diagonal
  ``|cos|`` of the rows, blockwise; nulls from random unit rows (closed form for the mean).
* **ε_LBO** per token and the ZF plot (same paper): the gap between ``||z||^2`` and the
  squared norm of the decoder-scaled codes, over ``(h - 1) ||f~||^2``; mean and quantiles
  with a block bootstrap over contexts, and the plot's binned data in ``details["zf"]``
  (drawn by :func:`saebench.results.zf_plot.draw_zf_plot`).

Modules: :mod:`.config` and :mod:`.evaluator` load no torch; :mod:`.meta_sae`,
:mod:`.geometry` and :mod:`.afa` hold the tensor work, :mod:`.run` assembles the record.
``docs/evaluators/decoder_structure.md`` has the definitions and the zoo's figures.

Example:
    >>> records = saebench.evaluate("zoo:resid-topk-16", model="zoo",
    ...                             evaluators=["decoder_structure"])
    >>> records[0].metrics["meta_fve"], records[0].nulls["meta_fve"]
"""

from saebench.evaluators.decoder_structure.config import (
    QUICKSTART_CONFIG,
    DecoderStructureConfig,
    DecoderStructureMetrics,
)
from saebench.evaluators.decoder_structure.evaluator import DecoderStructureEvaluator

__all__ = [
    "QUICKSTART_CONFIG",
    "DecoderStructureConfig",
    "DecoderStructureEvaluator",
    "DecoderStructureMetrics",
]
