"""Issue 8: each failure measured on the zoo model at e57f84c, as a regression test."""

import pytest
import torch
from helpers import make_sae

from saebench.models.edits import add_direction, codes_at, patch_latents
from saebench.models.interventions import ModelRunner
from saebench.models.prompts import Prompt, make_batch

HOOK = "blocks.1.hook_resid_post"
TEXTS = [
    "As everyone knows, Kyoto is a city in the country of",
    "Kyoto is a city in the country of",
    "It is well known that the city of Kyoto lies in the country of",
    "People in Kyoto speak",
]


def test_generate_keeps_a_position_edit_while_tokens_are_appended(tiny_model):
    # was: RuntimeError, the mask stayed at prompt length while the sequence grew
    runner = ModelRunner(tiny_model)
    batch = make_batch(tiny_model, ["the cat sat on the mat", "a dog ran"])
    mask = torch.zeros(batch.tokens.shape, dtype=torch.bool)
    mask[:, 2] = True
    edit = add_direction(torch.full((32,), 3.0), 1.0, mask)
    cached = runner.generate(batch, 4, "blocks.0.hook_resid_post", [edit])
    rerun = runner.generate(batch, 4, "blocks.0.hook_resid_post", [edit], use_cache=False)
    assert cached.shape == (1, 2, 4)
    assert torch.equal(cached, rerun)


@torch.no_grad()
def test_right_padded_prompts_get_the_answers_they_get_alone(zoo_model):
    # was: [5, 5, 589, 464] padded against [589, 589, 589, 467] one by one (logits[:, -1])
    runner = ModelRunner(zoo_model)
    batch = make_batch(zoo_model, TEXTS)
    assert batch.padded
    together = runner.generate(batch, 3)[0]
    first = runner.answer(batch, 1)[0, :, 0]
    for i, text in enumerate(TEXTS):
        alone = runner.generate(make_batch(zoo_model, [text]), 3)[0, 0]
        assert torch.equal(together[i], alone), text
        assert first[i] == alone[0]


def test_patch_latents_takes_a_float_mask_and_passes_it_gradients(tiny_model):
    # was: NotImplementedError, "bitwise_and_cpu" not implemented for 'Float'
    runner = ModelRunner(tiny_model)
    sae = make_sae(hook_name="blocks.0.hook_resid_post")
    base, source = make_batch(tiny_model, ["the cat sat"]), make_batch(tiny_model, ["a dog"])
    acts = runner.capture(source, [sae.meta.hook_name])
    codes = codes_at(sae, acts[sae.meta.hook_name], source.ends)
    weights = torch.full((sae.d_sae,), 0.0, requires_grad=True)
    edit = patch_latents(sae, base.ends, codes, weights=torch.sigmoid(weights))
    logits = runner.logits_at(base, hook=sae.meta.hook_name, edits=[edit])
    logits[0, 0, 5].backward()
    assert weights.grad is not None and weights.grad.abs().sum() > 0


def test_no_gradient_reaches_the_model_when_a_mask_is_trained(tmp_path):
    # was: 52 of the zoo model's 70 parameters got a .grad through logits_after
    from helpers import make_model

    tiny_model = make_model(tmp_path)  # its own: other tests may freeze the shared one
    assert all(p.requires_grad for p in tiny_model.parameters())  # a model as users pass it
    runner = ModelRunner(tiny_model)
    sae = make_sae(hook_name="blocks.0.hook_mlp_out")
    batch = make_batch(tiny_model, ["the cat sat on the mat", "a dog"])
    mask = torch.zeros(sae.d_sae, requires_grad=True)
    steer = add_direction(torch.sigmoid(mask) @ sae.W_dec, 1.0, batch.ends)
    runner.logits_at(batch, hook=sae.meta.hook_name, edits=[steer]).logsumexp(-1).sum().backward()
    assert mask.grad is not None
    assert all(p.grad is None for p in tiny_model.parameters())
    assert all(p.requires_grad for p in tiny_model.parameters())  # restored afterwards

    from saebench.models.load import load_model, save_model

    loaded = load_model(save_model(tiny_model, tmp_path / "saved"))
    assert not any(p.requires_grad for p in loaded.parameters())
    assert not any(p.requires_grad for p in load_model("zoo").parameters())


def test_logits_at_unembeds_only_the_rows_asked_for(tiny_model, monkeypatch):
    # was: logits_after always built [edits, batch, pos, vocab]
    runner = ModelRunner(tiny_model)
    batch = make_batch(tiny_model, ["the cat sat on the mat", "a dog ran in the park today"])
    seen = []
    unembed = runner.unembed
    monkeypatch.setattr(runner, "unembed", lambda r: seen.append(r.shape) or unembed(r))
    monkeypatch.setattr(tiny_model.unembed, "forward", lambda *a: pytest.fail("full unembed"))
    logits = runner.logits_at(batch, hook="blocks.1.hook_mlp_out", edits=[None, lambda a: a * 2])
    assert logits.shape == (2, 2, tiny_model.cfg.d_vocab)
    assert seen == [torch.Size([2, 2, tiny_model.cfg.d_model])]


def test_task_prompts_carry_spans_and_batches_carry_positions(zoo_model):
    # was: FactPrompt / IoiPrompt had no positions; a city was found by ids.index(city_id)
    from saebench.tasks.base import build_task

    task = build_task("zoo-cities", {"per_kind": 1})
    prompts = task.prompts("test")[:50]
    batch = make_batch(zoo_model, prompts)
    for row, prompt in enumerate(prompts):
        city_id = zoo_model.to_single_token(prompt.attributes["city"])
        assert batch.tokens[row, batch.last("entity")[row]] == city_id
    ioi = build_task("zoo-ioi", {"n": 20}).prompts("test")
    ioi_batch = make_batch(zoo_model, ioi)
    assert set(ioi_batch.spans) == {"io", "s1", "s2", "end"}
    assert torch.equal(ioi_batch.last("end"), ioi_batch.ends)


def test_ioi_counterfactual_builders_and_prompt_helpers_are_public():
    # was: private IOI builders; last_logits / token_id only in zoo/evaluate_model.py
    from saebench.models import interventions, prompts
    from saebench.tasks import zoo_ioi
    from saebench.zoo import evaluate_model

    for name in ("swap_io_s", "flip_order", "change_io", "change_s"):
        assert callable(getattr(zoo_ioi, name))
    assert evaluate_model.last_logits is interventions.last_logits
    assert evaluate_model.token_id is prompts.token_id


def test_prompt_spans_survive_batching_with_answers(zoo_model):
    text = "Kyoto is a city in the country of"
    batch = make_batch(zoo_model, [Prompt(text, {"entity": (0, 5)}, answer="Japan")])
    assert batch.last("entity").tolist() == [1]
    assert batch.answer_ids.tolist() == [[zoo_model.to_single_token("Japan")]]
