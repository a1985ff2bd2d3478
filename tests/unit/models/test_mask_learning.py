"""A sigmoid mask over latents, trained through the frozen tail, finds the planted latent."""

import torch
from helpers import make_model

from saebench.models.edits import codes_at, patch_latents
from saebench.models.interventions import ModelRunner
from saebench.models.prompts import make_batch
from saebench.sae import SaeMetadata, build_sae

HOOK = "blocks.0.hook_resid_post"
D_SAE = 8


def _planted(tmp_path):
    """A model whose token "cat" carries a direction u that makes "mat" the next token, and a
    dictionary whose latent 0 reads and writes exactly u (the others: directions orthogonal
    to it)."""
    model = make_model(tmp_path)
    d = model.cfg.d_model
    gen = torch.Generator().manual_seed(3)
    basis, _ = torch.linalg.qr(torch.randn(d, D_SAE, generator=gen))  # orthonormal columns
    u = basis[:, 0]
    cat, mat = model.to_single_token("cat"), model.to_single_token("mat")
    with torch.no_grad():
        model.embed.W_E[cat] += 20 * u
        model.unembed.W_U[:, mat] += 10 * u
        model.unembed.b_U[mat] -= 20  # without u, "mat" is unlikely
    meta = SaeMetadata(architecture="standard", d_in=d, d_sae=D_SAE, hook_name=HOOK)
    tensors = {
        "W_enc": basis.clone(),
        "b_enc": torch.zeros(D_SAE),
        "W_dec": basis.T.clone(),
        "b_dec": torch.zeros(d),
    }
    sae = build_sae(meta, tensors, where="test").requires_grad_(False)
    return model, sae, mat


def test_a_learned_mask_selects_the_planted_latent_and_moves_the_answer(tmp_path):
    model, sae, mat = _planted(tmp_path)
    runner = ModelRunner(model)
    base = make_batch(model, ["the dog", "a bird sat", "the red house", "it was very"])
    source = make_batch(model, ["the cat", "a big cat", "the green cat", "then the cat"])
    assert (runner.answer(source)[0, :, 0] == mat).all()
    assert not (runner.answer(base)[0, :, 0] == mat).any()
    source_codes = codes_at(sae, runner.capture(source, [HOOK])[HOOK], source.ends)
    clean = runner.capture(base, [HOOK])
    target = torch.full((len(base),), mat)

    mask = torch.zeros(D_SAE, requires_grad=True)
    opt = torch.optim.Adam([mask], lr=0.1)
    # the temperature falls so the mask ends up binary (as in RAVEL's MDBM)
    for temperature in torch.logspace(0, -2, 150):
        weights = torch.sigmoid(mask / temperature)
        edit = patch_latents(sae, base.ends, source_codes, weights, keep_error=True)
        logits = runner.logits_at(base, hook=HOOK, edits=[edit], clean=clean)[0]
        loss = torch.nn.functional.cross_entropy(logits, target) + 0.05 * weights.sum()
        opt.zero_grad()
        loss.backward()
        opt.step()

    chosen = mask.detach() > 0
    assert chosen.tolist() == [True] + [False] * (D_SAE - 1)
    hard = patch_latents(sae, base.ends, source_codes, chosen, keep_error=True)
    patched = runner.answer(base, hook=HOOK, edits=[hard], clean=clean)[0, :, 0]
    assert (patched == mat).all()
    assert all(p.grad is None for p in model.parameters())
