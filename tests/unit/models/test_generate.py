"""Generation with a KV cache under right padding equals generating each prompt alone."""

import pytest
import torch

from saebench.errors import SaebenchError
from saebench.models.edits import add_direction, replace_at
from saebench.models.interventions import ModelRunner
from saebench.models.prompts import Prompt, make_batch

TEXTS = ["the cat sat on the mat", "a dog", "the bird flew over the big green tree"]
HOOK = "blocks.0.hook_resid_post"


def _edits(rows, cols, d_model):
    """No edit, a steering edit at one prompt column, and a plain edit of every position."""
    gen = torch.Generator().manual_seed(1)
    direction = torch.randn(d_model, generator=gen) * 4
    return [
        None,
        add_direction(direction, 1.0, (rows, cols)),
        replace_at((rows, cols), torch.zeros(len(rows), d_model)).then(lambda a: a * 1.5),
    ]


def _greedy_alone(runner, tokens, edit, n_new):
    """Reference: the whole unpadded sequence re-run with hooks for every new token."""
    for _ in range(n_new):
        logits = runner.logits_with(tokens, HOOK, edit)
        tokens = torch.cat([tokens, logits[:, -1].argmax(-1, keepdim=True)], dim=1)
    return tokens[0, -n_new:]


def test_padded_cached_generation_equals_each_prompt_alone_and_the_rerun(tiny_model):
    runner = ModelRunner(tiny_model)
    batch = make_batch(tiny_model, TEXTS)
    d = tiny_model.cfg.d_model
    cols = torch.clamp(batch.ends - 1, min=1)
    edits = _edits(torch.arange(len(TEXTS)), cols, d)
    cached = runner.generate(batch, 5, HOOK, edits)
    rerun = runner.generate(batch, 5, HOOK, edits, use_cache=False)
    assert cached.shape == (3, len(TEXTS), 5)
    assert torch.equal(cached, rerun)
    assert not torch.equal(cached[0], cached[1])  # the steering edit changes the answer
    for i in range(len(TEXTS)):
        alone = batch.tokens[i : i + 1, : batch.lengths[i]]
        for k, edit in enumerate(_edits(torch.tensor([0]), cols[i : i + 1], d)):
            want = _greedy_alone(runner, alone, edit, 5)
            assert torch.equal(cached[k, i], want), (k, TEXTS[i])


def test_answer_of_several_tokens_generates_and_matches(tiny_model):
    runner = ModelRunner(tiny_model)
    prompts = [Prompt("the cat sat", answer="on the"), Prompt("a dog", answer="ran")]
    batch = make_batch(tiny_model, prompts)
    assert batch.answer_ids.shape == (2, 2) and batch.answer_lengths.tolist() == [2, 1]
    got = runner.answer(batch)
    assert torch.equal(got, runner.generate(batch, 2))
    fake = batch.answer_ids.clone()
    fake[1, 1] = 0  # past the second answer's length: not compared
    assert batch.matches(fake[None]).tolist() == [[True, True]]
    fake[0, 1] = 0
    assert batch.matches(fake).tolist() == [False, True]


def test_generation_past_the_context_is_refused(tiny_model):
    runner = ModelRunner(tiny_model)
    batch = make_batch(tiny_model, ["the cat"])
    with pytest.raises(SaebenchError, match="context"):
        runner.generate(batch, tiny_model.cfg.n_ctx)
