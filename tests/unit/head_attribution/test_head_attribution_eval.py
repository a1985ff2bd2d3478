"""The evaluator end to end on a tiny model: skipped records for SAEs it cannot read, and
the reconstruction evaluator's CE-loss score for a hook_z SAE against an independent
splice of z (Kissane et al.'s ``get_recons_loss`` with saebench's position rules)."""

import pytest
import torch
import torch.nn.functional as F
from helpers import make_sae

import saebench
from saebench.activations.shared_pass import SharedPass

HOOK = "blocks.1.attn.hook_z"


def _evaluate(saes, model, texts, evals=("head_attribution",), configs=None):
    return saebench.evaluate(
        saes,
        model=model,
        dataset=texts,
        evaluators=list(evals),
        configs=configs or {"head_attribution": {"n_resamples": 20, "null_seeds": 1}},
        n_tokens=512,
        context_size=16,
        batch_size=8,
        device="cpu",
        progress=False,
    )


def test_saes_not_on_concatenated_hook_z_are_skipped(tiny_model, texts):
    saes = [
        make_sae(hook_name="blocks.0.hook_resid_post"),
        make_sae(d_in=8, hook_name=HOOK, hook_head_index=1, seed=1),
        make_sae(
            architecture="transcoder",
            hook_name="blocks.1.ln2.hook_normalized",
            hook_name_out="blocks.1.hook_mlp_out",
            seed=2,
        ),
    ]
    records = _evaluate(saes, tiny_model, texts)
    statuses = [r.details["status"] for r in records]
    assert statuses[0].startswith("skipped: reads blocks.0.hook_resid_post")
    assert statuses[1].startswith("skipped: a one-head SAE")
    assert statuses[2].startswith("skipped: a transcoder")
    for record in records:
        assert all(value is None for value in record.metrics.values())


@torch.no_grad()
def _ce_score_by_hand(model, tokens, mask, sae):
    """Splice the reconstruction of z at counted positions, zero z everywhere, count a
    next-token CE where its input token is counted (the reconstruction evaluator's rules)."""

    def splice(z, hook):
        flat = z.flatten(-2)
        new = sae.decode(sae.encode(flat), flat).view_as(z)
        return torch.where(mask[:, :, None, None], new, z)

    def ce(hooks):
        logits = model.run_with_hooks(tokens, fwd_hooks=hooks)
        losses = F.cross_entropy(
            logits[:, :-1].flatten(0, 1), tokens[:, 1:].flatten(), reduction="none"
        )
        return losses[mask[:, :-1].flatten()].double().mean()

    clean = ce([])
    spliced = ce([(HOOK, splice)])
    zero = ce([(HOOK, lambda z, hook: torch.zeros_like(z))])
    return float((zero - spliced) / (zero - clean))


def test_reconstruction_ce_score_agrees_with_a_splice_of_z(tiny_model, texts, monkeypatch):
    seen = {}
    original = SharedPass.run

    def run(self):
        seen["token_set"] = self.source.token_set
        original(self)

    monkeypatch.setattr(SharedPass, "run", run)
    sae = make_sae("topk", d_in=32, hook_name=HOOK, reshape_activations="hook_z", k=8)
    heads, recon = _evaluate(sae, tiny_model, texts, evals=("head_attribution", "reconstruction"))
    token_set = seen["token_set"]
    want = _ce_score_by_hand(tiny_model, token_set.tokens, token_set.mask(), sae)
    assert recon.metrics["ce_loss_score"] == pytest.approx(want, rel=1e-4, abs=1e-5)
    # the head record is complete beside it, its DFA examples exact
    assert heads.details["status"] == "complete"
    assert heads.details["n_heads"] == 4 and len(heads.details["heads"]) == 4
    assert heads.metrics["polysemantic_head_fraction"] is not None
    assert heads.details["dfa_examples"] and heads.details["dfa_identity_max_error"] < 1e-4
    assert set(heads.nulls) >= {"polysemantic_head_fraction", "mean_max_head_share"}
    offsets = [o for h in heads.details["heads"] for o in h["dfa_top_source_offsets"]]
    assert sorted(offsets) == sorted(
        e["top_sources"][0]["offset"] for e in heads.details["dfa_examples"]
    )


def _planted_sae():
    """Rows on hook_z (4 heads x 8): head 0 writes two orthogonal latents, head 1 one,
    heads 2 and 3 only latents spread evenly over every head; a large encoder bias makes
    every latent fire on every token (all alive)."""
    from saebench.sae import SaeMetadata, build_sae

    eye = torch.eye(8)
    rows = [torch.cat([eye[0], torch.zeros(24)]), torch.cat([eye[1], torch.zeros(24)])]
    rows.append(torch.cat([torch.zeros(8), eye[2], torch.zeros(16)]))
    rows += [torch.cat([eye[i]] * 4) / 2 for i in range(3, 8)]
    W_dec = torch.stack(rows)
    tensors = {"W_enc": W_dec.T.contiguous(), "b_enc": torch.full((len(rows),), 1e3), "W_dec": W_dec,
               "b_dec": torch.zeros(32)}  # fmt: skip
    meta = SaeMetadata(architecture="standard", d_in=32, d_sae=len(rows), hook_name=HOOK,
                       reshape_activations="hook_z", model_name="tiny-test")  # fmt: skip
    return build_sae(meta, tensors, where="test").eval()


def test_a_planted_dictionary_gets_the_hand_counted_heads(tiny_model, texts):
    (record,) = _evaluate(_planted_sae(), tiny_model, texts)
    assert record.details["n_alive_latents"] == 8
    statuses = [h["status"] for h in record.details["heads"]]
    assert statuses == ["polysemantic", "monosemantic", "unattributed", "unattributed"]
    assert record.details["heads"][0]["roles"] == [[0], [1]]
    assert record.metrics["polysemantic_head_fraction"] == 0.25
    assert record.metrics["single_head_latent_fraction"] == pytest.approx(3 / 8)
    assert record.metrics["mean_max_head_share"] == pytest.approx((3 + 5 * 0.25) / 8)
    assert record.nulls["unattributed_head_fraction"] == 1.0
