"""output_score on the zoo model: a planted latent writing one token's unembedding direction
scores near 1 while random rows score like the random-direction null; then the evaluator
end to end through saebench.evaluate (SAE, transcoder, a site it cannot read)."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import saebench
from saebench import load_sae
from saebench.evaluators.output_score import amplify as amplify_module
from saebench.evaluators.output_score.amplify import amplify
from saebench.evaluators.output_score.config import OutputScoreConfig
from saebench.evaluators.output_score.run import resolve_prompt, sample_latents, site_problem
from saebench.models import ModelRunner

N_RANDOM = 192


@pytest.fixture(scope="module")
def planted(zoo_model):
    """resid-topk-16 with latent 0 writing the unembedding direction of "Africa" and latents
    1..N_RANDOM writing random unit directions."""
    sae = load_sae("zoo:resid-topk-16")
    token = zoo_model.tokenizer.convert_tokens_to_ids("Africa")
    gen = torch.Generator().manual_seed(1)
    with torch.no_grad():
        direction = zoo_model.W_U[:, token]
        sae.W_dec[0] = direction / direction.norm()
        rows = torch.randn(N_RANDOM, sae.d_out, generator=gen)
        sae.W_dec[1 : N_RANDOM + 1] = rows / rows.norm(dim=1, keepdim=True)
    return sae, token


def run(sae, model, latents):
    return amplify(sae, ModelRunner(model), "It is said that", latents, 10.0, 20, 0)


def test_a_latent_writing_a_tokens_unembedding_scores_near_one(planted, zoo_model):
    sae, token = planted
    found = run(sae, zoo_model, torch.arange(N_RANDOM + 1))
    assert found.lens[0, 0] == token  # its top logit-lens token
    assert found.scores[0] > 0.95 and found.clean_scores[0] < 1e-3  # it rose from nowhere
    assert found.scores[0] > found.null_scores.max()
    # random rows are drawn like the null's directions: same distribution of scores
    random_rows, null = found.scores[1:].numpy(), found.null_scores.numpy()
    assert abs(random_rows.mean() - null.mean()) < 0.06
    assert abs(np.median(random_rows) - np.median(null)) < 0.06
    assert found.scores[1:].mean() < 0.5 * found.scores[0]


def test_scores_do_not_depend_on_how_latents_are_chunked(planted, zoo_model, monkeypatch):
    sae, _ = planted
    latents = torch.arange(10)
    together = run(sae, zoo_model, latents)
    monkeypatch.setattr(amplify_module, "CHUNK", 3)
    chunked = run(sae, zoo_model, latents)
    torch.testing.assert_close(together.scores, chunked.scores, rtol=0, atol=1e-6)
    torch.testing.assert_close(together.null_scores, chunked.null_scores, rtol=0, atol=1e-6)


def test_sampling_is_seeded_nested_and_capped():
    small = sample_latents(OutputScoreConfig(n_latents=8, seed=3), 512)
    large = sample_latents(OutputScoreConfig(n_latents=64, seed=3), 512)
    assert large[:8].tolist() == small.tolist() and len(set(large.tolist())) == 64
    assert sorted(sample_latents(OutputScoreConfig(n_latents=999), 16).tolist()) == list(range(16))


def test_the_zoo_gets_the_fallback_prompt_and_sites_are_checked(zoo_model):
    assert resolve_prompt(OutputScoreConfig(), zoo_model) == "It is said that"
    assert resolve_prompt(OutputScoreConfig(prompt="The city"), zoo_model) == "The city"
    assert site_problem(load_sae("zoo:transcoder-mlp"), zoo_model) is None  # writes mlp_out
    sae = load_sae("zoo:resid-topk-16")
    sae.meta = sae.meta.model_copy(update={"hook_name": "blocks.1.hook_mlp_in"})
    assert site_problem(sae, zoo_model).startswith("skipped: blocks.1.hook_mlp_in")


def test_end_to_end_on_the_zoo():
    records = saebench.evaluate(
        ["zoo:resid-topk-16", "zoo:transcoder-mlp"],
        model="zoo",
        dataset="zoo",
        evaluators=["output_score"],
        n_tokens=4096,
        configs={"output_score": {"n_latents": 32, "min_examples": 3}},
        progress=False,
    )
    sae, transcoder = records
    for record in records:
        m = record.metrics
        assert 0 <= m["output_score_mean"] <= 1 and 0 <= m["output_fraction_above"] <= 1
        assert record.sample_sizes["latents"] == 32 and len(record.details["latents"]) == 32
        low, high = (
            record.intervals["output_score_mean"].low,
            record.intervals["output_score_mean"].high,
        )
        assert low <= m["output_score_mean"] <= high
        assert record.nulls["output_score_mean"] is not None
    # the trained SAE beats its random directions; the null is read the same way
    assert sae.metrics["output_score_excess"] > 0.1 and sae.details["auroc_vs_null"] > 0.65
    assert sae.metrics["input_score_mean"] is not None
    assert sae.details["prompt"] == "It is said that" and sae.details["coefficient"] > 0


def test_a_record_does_not_depend_on_batch_size_or_company():
    def evaluate(saes, batch_size):
        return saebench.evaluate(
            saes,
            model="zoo",
            dataset="zoo",
            evaluators=["output_score"],
            n_tokens=2048,
            batch_size=batch_size,
            configs={"output_score": {"n_latents": 16, "min_examples": 2}},
            progress=False,
        )

    alone = evaluate("zoo:resid-relu", 3)[0]
    shared = evaluate(["zoo:resid-topk-8", "zoo:resid-relu"], 16)[1]
    assert alone.sae.name == shared.sae.name == "resid-relu"
    assert alone.metrics == shared.metrics and alone.nulls == shared.nulls
    assert alone.details["latents"] == shared.details["latents"]


@pytest.mark.parametrize("name", ["zoo:resid-topk-16", "zoo:transcoder-mlp"])
def test_the_step_is_the_decoders_own_change(name):
    """Raising one code by 1 and decoding (the paper's hook) moves the output by u_i."""
    sae = load_sae(name)
    x = torch.randn(1, sae.d_in, generator=torch.Generator().manual_seed(0))
    latents = torch.tensor([5, 17, 300])
    codes = sae.encode(x).detach()
    raised = codes.repeat(3, 1)
    raised[torch.arange(3), latents] += 1.0
    expected = sae.decode(raised, x.expand(3, -1)) - sae.decode(codes, x)
    got = amplify_module.unit_steps(sae, latents, x)
    torch.testing.assert_close(got, expected.detach(), rtol=0, atol=1e-5)
