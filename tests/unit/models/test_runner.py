import pytest
import torch
from helpers import make_sae

from saebench.models.edits import add_direction, edit_codes, patch_latents, zero_where
from saebench.models.runner import ModelRunner, answer_logits


@pytest.fixture(scope="module")
def tokens(tiny_model):
    return tiny_model.to_tokens(["the cat sat on the mat", "a dog ran in the park"])


def _clean(model, tokens, names):
    _, cache = model.run_with_cache(tokens, names_filter=names)
    return {name: cache[name] for name in names}


@pytest.mark.parametrize(
    "hook",
    [
        "blocks.0.hook_resid_post",
        "blocks.1.hook_resid_pre",
        "blocks.1.hook_mlp_out",
        "blocks.0.attn.hook_z",
        "hook_embed",
    ],
)
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


@torch.no_grad()
def test_identity_edit_reproduces_clean_logits(tiny_model, tokens):
    runner = ModelRunner(tiny_model)
    clean = _clean(tiny_model, tokens, ["blocks.0.hook_resid_pre"])
    out = runner.logits_after("blocks.0.hook_mlp_out", clean, [lambda a: a])[0]
    torch.testing.assert_close(out, tiny_model(tokens), atol=1e-4, rtol=1e-4)


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
    base = cache["blocks.0.hook_resid_post"][:1]
    source = cache["blocks.0.hook_resid_post"][1:]
    chosen = torch.zeros(sae.d_sae, dtype=torch.bool)
    chosen[:5] = True
    mask = torch.zeros(base.shape[:2], dtype=torch.bool)
    mask[0, 2] = True
    out = patch_latents(sae, sae.encode(source), chosen, mask)(base)
    codes_out = sae.encode(base).clone()
    codes_out[0, 2, :5] = sae.encode(source)[0, 2, :5]
    torch.testing.assert_close(out[0, 2], sae.decode(codes_out, base)[0, 2], atol=1e-5, rtol=1e-5)
    torch.testing.assert_close(out[0, 3], base[0, 3])  # unmasked positions untouched


def test_add_direction_and_zero_where_respect_the_mask():
    act = torch.ones(1, 3, 4)
    mask = torch.tensor([[False, True, False]])
    steered = add_direction(torch.arange(4.0), 2.0, mask)(act)
    assert torch.equal(steered[0, 1], 1 + 2 * torch.arange(4.0))
    assert torch.equal(steered[0, 0], act[0, 0])
    zeroed = zero_where(mask)(act)
    assert zeroed[0, 1].abs().sum() == 0 and zeroed[0, 2].sum() == 4


@torch.no_grad()
def test_generate_is_greedy_and_applies_the_edit(tiny_model, tokens):
    runner = ModelRunner(tiny_model)
    out = runner.generate(tokens[:1], "blocks.0.hook_resid_post", None, n_new=3)
    assert out.shape == (1, 3)
    first = tiny_model(tokens[:1])[0, -1].argmax()
    assert out[0, 0] == first
    big = add_direction(torch.full((tiny_model.cfg.d_model,), 50.0), 1.0, None)
    steered = runner.generate(tokens[:1], "blocks.0.hook_resid_post", big, n_new=3)
    full = tiny_model.run_with_hooks(
        tokens[:1], fwd_hooks=[("blocks.0.hook_resid_post", lambda a, hook: big(a))]
    )
    assert steered[0, 0] == full[0, -1].argmax()


def test_answer_logits_reads_the_right_cells():
    logits = torch.arange(2 * 3 * 5, dtype=torch.float32).view(2, 3, 5)
    got = answer_logits(logits, torch.tensor([2, 0]), torch.tensor([[1, 4], [0, 3]]))
    assert got.tolist() == [[logits[0, 2, 1], logits[0, 2, 4]], [logits[1, 0, 0], logits[1, 0, 3]]]
