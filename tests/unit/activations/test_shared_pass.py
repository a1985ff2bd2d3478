"""The shared pass against an independent computation: full forwards with hooks."""

import pytest
import torch
import torch.nn.functional as F
from helpers import make_sae

from saebench.activations.shared_pass import SaeSlot, SharedPass
from saebench.data.contexts import make_token_set
from saebench.evaluators.base import EvalContext, Evaluator, Needs
from saebench.sources import ModelSource


class Collect(Evaluator):
    def __init__(self):
        super().__init__(None, EvalContext(sae=None))
        self.batches = []

    def update(self, batch):
        self.batches.append(batch)


def _tokens(model, texts, n_tokens=6 * 16):
    return make_token_set(texts, tokenizer=model.tokenizer, context_size=16, n_tokens=n_tokens)


def _run(model, token_set, saes, downstream=True, batch_size=4, zero_ablation="every_position"):
    collectors = [Collect() for _ in saes]
    slots = [
        SaeSlot(s, [c], [Needs(downstream=downstream, zero_ablation=zero_ablation)])
        for s, c in zip(saes, collectors, strict=True)
    ]
    shared = SharedPass(ModelSource(model, token_set), slots, batch_size, progress=False,
                        splice_rows=2)  # fmt: skip
    shared.run()
    return shared, collectors


def _reference(model, tokens, mask, sae, zero=None):
    """CE ``[batch, pos-1]`` and KL ``[batch, pos]`` from full forwards with the edit applied
    by a hook: the splice at counted positions, or the zero ablation (``"every_position"`` or
    ``"counted_positions"``)."""
    meta = sae.meta
    seen = {}

    def read_input(act, hook):
        seen["x"] = act.flatten(-2) if act.ndim == 4 else act

    def hook_fn(act, hook):
        keep = mask.view(*mask.shape, *([1] * (act.ndim - 2)))
        if zero == "every_position":
            return torch.zeros_like(act)
        if zero == "counted_positions":
            return torch.where(keep, torch.zeros_like(act), act)
        new = sae.decode(sae.encode(seen["x"]), seen["x"]).view_as(act)
        return torch.where(keep, new, act)

    clean = model(tokens)
    hooks = [(meta.hook_name, read_input), (meta.output_hook, hook_fn)]
    edited = model.run_with_hooks(tokens, fwd_hooks=hooks)
    ce = F.cross_entropy(edited[:, :-1].flatten(0, 1), tokens[:, 1:].flatten(), reduction="none")
    kl = F.kl_div(
        edited.log_softmax(-1), clean.log_softmax(-1), log_target=True, reduction="none"
    ).sum(-1)
    return ce.view(tokens.shape[0], -1), kl


HOOKS = [
    dict(hook_name="blocks.0.hook_resid_post"),
    dict(hook_name="blocks.1.hook_resid_pre"),
    dict(hook_name="blocks.1.hook_mlp_out"),
    dict(hook_name="blocks.0.attn.hook_z", reshape_activations="hook_z"),
    dict(
        architecture="transcoder",
        hook_name="blocks.1.ln2.hook_normalized",
        hook_name_out="blocks.1.hook_mlp_out",
    ),
    dict(hook_name="blocks.1.hook_resid_post"),
]


@pytest.mark.parametrize("rule", ["every_position", "counted_positions"])
@torch.no_grad()
def test_downstream_matches_full_forward_with_hooks(tiny_model, texts, rule):
    saes = [make_sae(seed=i, **h) for i, h in enumerate(HOOKS)]
    token_set = _tokens(tiny_model, texts)
    _, collectors = _run(tiny_model, token_set, saes, zero_ablation=rule)
    for sae, collector in zip(saes, collectors, strict=True):
        for batch in collector.batches:
            c, k = _reference(tiny_model, batch.tokens, batch.mask, sae)
            cz, kz = _reference(tiny_model, batch.tokens, batch.mask, sae, zero=rule)
            d = batch.downstream
            torch.testing.assert_close(d.ce_spliced, c, atol=1e-4, rtol=1e-4)
            torch.testing.assert_close(d.kl_spliced, k, atol=1e-4, rtol=1e-4)
            torch.testing.assert_close(d.ce_zero, cz, atol=1e-4, rtol=1e-4)
            torch.testing.assert_close(d.kl_zero, kz, atol=1e-4, rtol=1e-4)


@torch.no_grad()
def test_codes_and_reconstructions_are_the_sae_outputs_at_counted_positions(tiny_model, texts):
    sae = make_sae(hook_name="blocks.0.hook_resid_post")
    token_set = _tokens(tiny_model, texts)
    _, (collector,) = _run(tiny_model, token_set, [sae], downstream=False)
    batch = collector.batches[0]
    _, cache = tiny_model.run_with_cache(batch.tokens)
    x = cache["blocks.0.hook_resid_post"][batch.mask]
    torch.testing.assert_close(batch.x, x)
    codes, x_hat = sae(x)
    torch.testing.assert_close(batch.codes, codes)
    torch.testing.assert_close(batch.x_hat, x_hat)
    # BOS is never counted
    assert not batch.mask[:, 0].any()
    assert batch.x.shape[0] == batch.mask.sum()


def test_one_model_forward_per_batch_for_many_saes(tiny_model, texts):
    saes = [make_sae(seed=i, hook_name=f"blocks.{i % 2}.hook_resid_post") for i in range(4)]
    token_set = _tokens(tiny_model, texts)
    shared, collectors = _run(tiny_model, token_set, saes, batch_size=2)
    n_batches = 3  # 6 contexts in batches of 2
    assert shared.model_forwards == n_batches
    assert all(len(c.batches) == n_batches for c in collectors)


def test_two_passes_read_the_cache_not_the_model(tiny_model, texts):
    sae = make_sae()
    token_set = _tokens(tiny_model, texts)
    collector = Collect()
    slot = SaeSlot(sae, [collector], [Needs(passes=2)])
    shared = SharedPass(ModelSource(tiny_model, token_set), [slot], 2, progress=False)
    shared.run()
    assert shared.model_forwards == 3
    first = [b for b in collector.batches if b.pass_index == 0]
    second = [b for b in collector.batches if b.pass_index == 1]
    assert len(first) == len(second) == 3
    for a, b in zip(first, second, strict=True):
        torch.testing.assert_close(a.codes, b.codes)


def test_stop_at_layer_when_no_logits_are_needed(tiny_model, texts, monkeypatch):
    seen = []
    original = tiny_model.forward

    def spy(*args, **kwargs):
        seen.append(kwargs.get("stop_at_layer"))
        return original(*args, **kwargs)

    monkeypatch.setattr(tiny_model, "forward", spy)
    _run(tiny_model, _tokens(tiny_model, texts), [make_sae()], downstream=False)
    assert seen and all(s == 1 for s in seen)


@pytest.mark.parametrize("n_saes", [1, 3])
def test_batched_splices_equal_one_at_a_time(tiny_model, texts, n_saes):
    saes = [make_sae(seed=i, hook_name="blocks.1.hook_mlp_out") for i in range(n_saes)]
    token_set = _tokens(tiny_model, texts)
    _, together = _run(tiny_model, token_set, saes)
    for sae, collected in zip(saes, together, strict=True):
        _, (alone,) = _run(tiny_model, token_set, [sae])
        for a, b in zip(collected.batches, alone.batches, strict=True):
            torch.testing.assert_close(a.downstream.ce_spliced, b.downstream.ce_spliced)


@torch.no_grad()
def test_a_per_head_sae_ablates_only_its_head(tiny_model, texts):
    """SAELens zeroes the SAE's own head of hook_z, at every position, not all heads."""
    sae = make_sae(d_in=8, hook_name="blocks.0.attn.hook_z", hook_head_index=1)
    token_set = _tokens(tiny_model, texts)
    _, (collector,) = _run(tiny_model, token_set, [sae])

    def zero_head(act, hook):
        act = act.clone()
        act[:, :, 1] = 0
        return act

    for batch in collector.batches:
        clean = tiny_model(batch.tokens)
        edited = tiny_model.run_with_hooks(
            batch.tokens, fwd_hooks=[(sae.meta.hook_name, zero_head)]
        )
        kl = F.kl_div(
            edited.log_softmax(-1), clean.log_softmax(-1), log_target=True, reduction="none"
        ).sum(-1)
        torch.testing.assert_close(batch.downstream.kl_zero, kl, atol=1e-4, rtol=1e-4)
