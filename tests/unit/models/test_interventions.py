"""The runner's tail-only operations equal full forward passes with hooks."""

import pytest
import torch
from helpers import make_sae

from saebench.models.edits import (
    add_direction,
    codes_at,
    edit_codes,
    patch_latents,
    replace_at,
    zero_where,
)
from saebench.models.interventions import ModelRunner, answer_logits
from saebench.models.prompts import make_batch

UNEQUAL = ["the cat sat on the mat", "a dog ran", "the bird flew over the big green tree today"]
EQUAL = ["the cat sat on the mat", "a dog ran in the park"]
HOOKS = [
    "blocks.0.hook_resid_post",
    "blocks.1.hook_resid_pre",
    "blocks.1.hook_mlp_out",
    "blocks.0.attn.hook_z",
    "blocks.0.ln2.hook_normalized",  # a transcoder's input
    "hook_embed",
]


@pytest.fixture(scope="module")
def tokens(tiny_model):
    return tiny_model.to_tokens(EQUAL)


def _clean(model, tokens, names):
    _, cache = model.run_with_cache(tokens, names_filter=names)
    return {name: cache[name] for name in names}


@pytest.mark.parametrize("hook", HOOKS)
@torch.no_grad()
def test_tail_run_equals_full_run_with_hook(tiny_model, tokens, hook):
    runner = ModelRunner(tiny_model)
    restart = runner.restart_hook(hook)
    clean = _clean(tiny_model, tokens, [restart]) if restart else {}
    edits = [lambda a: a * 0.5, lambda a: a + 1.0]
    tail = runner.logits_after(hook, clean, edits, tokens)
    assert tail.shape[:2] == (2, tokens.shape[0])
    for edit, got in zip(edits, tail, strict=True):
        full = tiny_model.run_with_hooks(
            tokens, fwd_hooks=[(hook, lambda act, hook, e=edit: e(act))]
        )
        torch.testing.assert_close(got, full, atol=1e-4, rtol=1e-4)


def _edits(rows, cols, values):
    """A plain edit and a position-targeted one (values at the given pairs)."""
    return [lambda a: a * 0.5 + 0.1, replace_at((rows, cols), values)]


@pytest.mark.parametrize("texts", [UNEQUAL, EQUAL], ids=["padded", "unpadded"])
@pytest.mark.parametrize("hook", HOOKS)
def test_logits_at_equals_each_prompt_alone_with_hooks(tiny_model, hook, texts):
    runner = ModelRunner(tiny_model)
    batch = make_batch(tiny_model, texts)
    assert batch.padded == (texts is UNEQUAL)
    shape = runner.capture(batch, [hook])[hook].shape
    gen = torch.Generator().manual_seed(0)
    values = torch.randn(len(texts), *shape[2:], generator=gen)
    cols = batch.ends - 1
    rows = torch.arange(len(texts))
    got = runner.logits_at(batch, hook=hook, edits=_edits(rows, cols, values))
    assert got.shape == (2, len(texts), tiny_model.cfg.d_vocab)
    for i, text in enumerate(texts):
        alone = tiny_model.to_tokens(text)
        one = [torch.tensor([0]), cols[i : i + 1]]
        for k, edit in enumerate(_edits(*one, values[i : i + 1])):
            full = runner.logits_with(alone, hook, edit)[0, -1]
            torch.testing.assert_close(got[k, i], full, atol=1e-4, rtol=1e-4)


def test_logits_at_reads_named_and_several_positions(tiny_model):
    runner = ModelRunner(tiny_model)
    batch = make_batch(tiny_model, UNEQUAL)
    full = tiny_model(batch.tokens, attention_mask=batch.attention_mask)
    cols = torch.stack([batch.ends, torch.zeros_like(batch.ends)], dim=1)
    got = runner.logits_at(batch, cols)[0]
    rows = torch.arange(len(UNEQUAL))
    torch.testing.assert_close(got[:, 0], full[rows, batch.ends], atol=1e-4, rtol=1e-4)
    torch.testing.assert_close(got[:, 1], full[:, 0], atol=1e-4, rtol=1e-4)


def test_transcoder_patch_equals_a_full_forward(tiny_model):
    """A transcoder reads ln2.hook_normalized and writes hook_mlp_out: the edit at the output
    needs the clean input, and the tail from resid_pre equals the full model."""
    runner = ModelRunner(tiny_model)
    tc = make_sae(hook_name="blocks.0.ln2.hook_normalized", hook_name_out="blocks.0.hook_mlp_out")
    base = make_batch(tiny_model, UNEQUAL)
    source = make_batch(tiny_model, EQUAL + ["a bird"])
    hooks = [tc.meta.hook_name, tc.meta.output_hook, "blocks.0.hook_resid_pre"]
    clean = runner.capture(base, hooks)
    codes = codes_at(tc, runner.capture(source, hooks)[tc.meta.hook_name], source.ends)
    x = clean[tc.meta.hook_name]
    edit = patch_latents(tc, base.ends, codes, keep_error=True, x=x)
    got = runner.logits_at(base, hook=tc.meta.output_hook, edits=[edit], clean=clean)[0]
    for i in range(len(UNEQUAL)):
        one = patch_latents(
            tc,
            (torch.tensor([0]), base.ends[i : i + 1]),
            codes[i : i + 1],
            keep_error=True,
            x=x[i : i + 1, : base.lengths[i]],
        )
        alone = base.tokens[i : i + 1, : base.lengths[i]]
        full = runner.logits_with(alone, tc.meta.output_hook, one)[0, -1]
        torch.testing.assert_close(got[i], full, atol=1e-4, rtol=1e-4)
    with pytest.raises(ValueError, match="transcoder"):
        patch_latents(tc, base.ends, codes)


@torch.no_grad()
def test_identity_edit_reproduces_clean_logits(tiny_model, tokens):
    runner = ModelRunner(tiny_model)
    clean = _clean(tiny_model, tokens, ["blocks.0.hook_resid_pre"])
    out = runner.logits_after("blocks.0.hook_mlp_out", clean, [lambda a: a])[0]
    torch.testing.assert_close(out, tiny_model(tokens), atol=1e-4, rtol=1e-4)


@torch.no_grad()
def test_the_clean_activations_are_never_written(tiny_model, tokens):
    runner = ModelRunner(tiny_model)
    hook = "blocks.0.hook_resid_post"
    clean = _clean(tiny_model, tokens, [hook])
    before = clean[hook].clone()
    zeros = torch.zeros(2, tiny_model.cfg.d_model)
    edit = replace_at(torch.tensor([1, 2]), zeros)
    runner.run_after(hook, clean, [edit])
    runner.run_after(hook, clean, [edit, add_direction(zeros[0] + 1, 1.0)])
    assert torch.equal(clean[hook], before)


@torch.no_grad()
def test_keep_error_makes_an_unchanged_code_edit_the_identity(tiny_model, tokens):
    sae = make_sae()
    act = tiny_model.run_with_cache(tokens)[1]["blocks.0.hook_resid_post"]
    unchanged = edit_codes(sae, lambda c: c, mask=None, keep_error=True)(act)
    torch.testing.assert_close(unchanged, act, atol=1e-5, rtol=1e-5)
    spliced = edit_codes(sae, None, mask=None)(act)
    torch.testing.assert_close(spliced, sae(act)[1])


@torch.no_grad()
def test_patch_latents_takes_chosen_latents_from_the_source(tiny_model, tokens):
    sae = make_sae()
    cache = tiny_model.run_with_cache(tokens)[1]
    base = cache["blocks.0.hook_resid_post"][:1].clone()
    source = cache["blocks.0.hook_resid_post"][1:]
    chosen = torch.zeros(sae.d_sae, dtype=torch.bool)
    chosen[:5] = True
    source_codes = codes_at(sae, source, torch.tensor([4]))  # the source's own position
    out = patch_latents(sae, torch.tensor([2]), source_codes, chosen)(base.clone())
    codes_out = sae.encode(base).clone()
    codes_out[0, 2, :5] = sae.encode(source)[0, 4, :5]
    torch.testing.assert_close(out[0, 2], sae.decode(codes_out, base)[0, 2], atol=1e-5, rtol=1e-5)
    torch.testing.assert_close(out[0, 3], base[0, 3])  # other positions untouched
    half = patch_latents(sae, torch.tensor([2]), source_codes, torch.full((sae.d_sae,), 0.5))
    mixed = sae.decode(0.5 * sae.encode(base[0, 2]) + 0.5 * source_codes[0], base[0, 2])
    torch.testing.assert_close(half(base.clone())[0, 2], mixed, atol=1e-5, rtol=1e-5)


def test_add_direction_and_zero_where_respect_the_mask():
    act = torch.ones(1, 3, 4)
    mask = torch.tensor([[False, True, False]])
    steered = add_direction(torch.arange(4.0), 2.0, mask)(act.clone())
    assert torch.equal(steered[0, 1], 1 + 2 * torch.arange(4.0))
    assert torch.equal(steered[0, 0], act[0, 0])
    zeroed = zero_where(mask)(act)
    assert zeroed[0, 1].abs().sum() == 0 and zeroed[0, 2].sum() == 4
    assert act.sum() == 12  # zero_where returns a new tensor


def test_answer_logits_reads_the_right_cells():
    logits = torch.arange(2 * 3 * 5, dtype=torch.float32).view(2, 3, 5)
    got = answer_logits(logits, torch.tensor([2, 0]), torch.tensor([[1, 4], [0, 3]]))
    assert got.tolist() == [[logits[0, 2, 1], logits[0, 2, 4]], [logits[1, 0, 0], logits[1, 0, 3]]]
