"""The ``retrieval`` plug-in: a streaming evaluator on an embedding source. Loads no torch
(the work is in :mod:`.run`).

Example:
    $ saebench eval zoo:minilm-topk-16 --model minilm-l6 --evals retrieval
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from saebench.evaluators import EvalContext, EvalResult, Evaluator, Needs, SaeBatch
from saebench.evaluators.retrieval.config import (
    QUICKSTART_CONFIG,
    RetrievalConfig,
    RetrievalMetrics,
)

if TYPE_CHECKING:
    from saebench.evaluators.retrieval.run import Rows


class RetrievalEvaluator(Evaluator):
    """How much of a sentence-embedding model's retrieval an SAE keeps (O'Neill et al.
    2024): reconstruction, retrieval with reconstructed queries, corpus or both, retrieval
    with the sparse codes, and feature families; beside a random dictionary of the same L0.

    Example:
        >>> saebench.evaluate("zoo:minilm-topk-16", model="minilm-l6", evaluators=["retrieval"])
    """

    version = "1"
    description = (
        "SAEs on sentence embeddings: nMSE, cosine, retrieval overlap@10 / recall / nDCG / "
        "Spearman with reconstructed queries, corpus or both, code retrieval, feature families"
    )
    Config = RetrievalConfig
    Metrics = RetrievalMetrics
    # overlap, not nDCG: nDCG with cosine gains stays near 1 when near-ties swap
    main_metric = "both_overlap"
    headline = ("both_overlap", "query_overlap", "corpus_overlap", "both_recall_top1",
                "codes_overlap", "nmse", "cosine", "l0")  # fmt: skip
    needs = Needs(activations=True, embeddings=True)
    quickstart = QUICKSTART_CONFIG

    def __init__(self, config: RetrievalConfig, context: EvalContext) -> None:
        super().__init__(config, context)
        self.rows: Rows | None = None
        meta = context.sae.meta
        self.unreadable = None  # a transcoder reconstructs no embedding: a skipped record
        if meta.is_transcoder or meta.width_out != meta.d_in:
            self.unreadable = f"skipped: {meta.hook_name} -> {meta.output_hook} is a transcoder"

    def update(self, batch: SaeBatch) -> None:
        from saebench.evaluators.retrieval.run import Rows

        if self.unreadable is not None:
            return
        if self.rows is None:
            self.rows = Rows()
        self.rows.add(batch)

    def finish(self) -> EvalResult:
        from saebench.evaluators.retrieval.run import summarise

        if self.unreadable is not None:
            return EvalResult.skipped(RetrievalMetrics, self.unreadable)
        if self.rows is None:
            return EvalResult.skipped(RetrievalMetrics, "skipped: no embedding was streamed")
        return summarise(self.rows, self.config, self.context)
