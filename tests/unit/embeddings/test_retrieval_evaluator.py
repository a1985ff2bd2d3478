"""The retrieval evaluator on planted embeddings (no wheel needed): a known dictionary
recovers retrieval, a random one does not; skips; where `all` includes it."""

import numpy as np
import pytest
import torch
from embedding_planted import batches, dictionary_sae, planted

from saebench.evaluators.retrieval.config import RetrievalConfig
from saebench.evaluators.retrieval.run import Rows, summarise
from saebench.toolkit.references import random_dictionary

CONFIG = RetrievalConfig(n_resamples=50)


def evaluate(sae, x, part, config=CONFIG):
    rows = Rows()
    for batch in batches(sae, x, part):
        rows.add(batch)
    return summarise(rows, config, None)


@pytest.fixture(scope="module")
def data():
    return planted()


def test_the_planted_dictionary_recovers_retrieval(data):
    x, part, basis = data
    result = evaluate(dictionary_sae(basis, 3), x, part)
    m = result.metrics
    assert m.nmse == pytest.approx(0.0, abs=1e-10) and m.cosine == pytest.approx(1.0)
    assert m.l0 == 3.0 and m.dead_fraction == 0.0
    for variant in ("query", "both", "corpus"):
        assert getattr(m, f"{variant}_overlap") == 1.0
        assert getattr(m, f"{variant}_recall_top1") == 1.0
    assert m.codes_overlap == 1.0  # the codes are the planted coefficients
    assert result.sample_sizes == {"queries": 60, "corpus": 300, "texts": 360}
    assert result.intervals["both_overlap"].unit == "queries"


def test_the_nulls_fall_far_below_the_planted_dictionary(data):
    x, part, basis = data
    result = evaluate(dictionary_sae(basis, 3), x, part)
    assert result.nulls["both_overlap"] < 0.6
    assert result.nulls["codes_overlap"] < 0.6
    assert result.details["nulls"]["l0"] == 3


def test_a_random_dictionary_scores_what_the_null_says(data):
    x, part, basis = data
    sae = random_dictionary(torch.from_numpy(x[part == 0]), d_sae=32, k=3, seed=0)
    result = evaluate(sae, x, part)
    # same width, same L0, same seed: the SAE is the null itself
    assert result.metrics.both_overlap == pytest.approx(result.nulls["both_overlap"])
    assert result.metrics.both_overlap < 0.6
    low, high = result.intervals["both_overlap"].low, result.intervals["both_overlap"].high
    assert low < result.metrics.both_overlap < high


def test_max_queries_keeps_the_first_queries(data):
    x, part, basis = data
    result = evaluate(
        dictionary_sae(basis, 3), x, part, RetrievalConfig(n_resamples=50, max_queries=7)
    )
    assert result.sample_sizes["queries"] == 7


def test_too_few_queries_is_a_skipped_record(data):
    x, part, basis = data
    result = evaluate(dictionary_sae(basis, 3), x, np.zeros_like(part))
    assert result.details["status"].startswith("skipped:")
    assert result.metrics.both_overlap is None


def test_a_transcoder_is_skipped():
    from types import SimpleNamespace

    from saebench.evaluators.retrieval.evaluator import RetrievalEvaluator

    meta = SimpleNamespace(is_transcoder=True, width_out=8, d_in=8, hook_name="pooled",
                           output_hook="blocks.0.hook_mlp_out")  # fmt: skip
    evaluator = RetrievalEvaluator(CONFIG, SimpleNamespace(sae=SimpleNamespace(meta=meta)))
    result = evaluator.finish()
    assert result.details["status"].startswith("skipped:") and result.metrics.nmse is None


def test_retrieval_needs_an_embedding_source():
    from saebench.errors import SaebenchError
    from saebench.evaluators.retrieval.evaluator import RetrievalEvaluator
    from saebench.sources import ModelSource, SyntheticSource, check_serves
    from saebench.sources.embedding import EmbeddingSource

    needs = RetrievalEvaluator.needs
    check_serves(EmbeddingSource.serves, needs, "retrieval", "embedding")
    for source in (ModelSource, SyntheticSource):
        with pytest.raises(SaebenchError, match="needs embeddings"):
            check_serves(source.serves, needs, "retrieval", "model")


def test_all_includes_retrieval_only_on_an_embedding_model():
    from saebench.registry import evaluators
    from saebench.run.suites import Suite

    if "retrieval" not in evaluators.names():
        pytest.skip("retrieval is not registered in this environment")

    def names(model):
        return Suite(
            name="x", version="1", saes=["zoo:*"], model=model, evaluators=["all"]
        ).evaluator_configs()[0]

    assert "retrieval" not in names("zoo")
    on_minilm = names("minilm-l6")
    assert "retrieval" in on_minilm and "reconstruction" in on_minilm
    assert "sparse_probing" not in on_minilm  # needs a model runner
