"""The same SAE on the same tokens gives SAELens's own CE/KL numbers (``run_evals``).

The token rows hold BOS at the start and BOS separators inside rows, so the rules for
special positions (splice keeps them clean, the ablation zeroes them too, a CE position
counts when its input token is not special) are all exercised.
"""

import pytest
import torch
from helpers import make_sae

import saebench
from saebench.adapters.saelens import save_saelens

sae_lens = pytest.importorskip("sae_lens")
datasets = pytest.importorskip("datasets")


def _rows(model, n_rows=24, ctx=16, seed=0):
    """Token rows with BOS first and BOS separators between short documents."""
    gen = torch.Generator().manual_seed(seed)
    bos = model.tokenizer.bos_token_id
    first_word = len(model.tokenizer) - 34  # helpers.WORDS start after 4 special tokens
    words = torch.randint(first_word, model.cfg.d_vocab, (n_rows, ctx), generator=gen)
    words[:, 0] = bos
    words[:, 7] = bos
    words[::3, 11] = bos
    return words


def _saelens_metrics(model, folder, rows, batch):
    from sae_lens import SAE
    from sae_lens.evals import EvalConfig, run_evals
    from sae_lens.training.activation_scaler import ActivationScaler
    from sae_lens.training.activations_store import ActivationsStore

    sae = SAE.load_from_disk(str(folder))
    store = ActivationsStore.from_sae(
        model,
        sae,
        dataset=datasets.Dataset.from_dict({"input_ids": rows.tolist()}),
        context_size=rows.shape[1],
        streaming=False,
        store_batch_size_prompts=batch,
        device="cpu",
    )
    config = EvalConfig(
        batch_size_prompts=batch,
        n_eval_reconstruction_batches=rows.shape[0] // batch,
        compute_kl=True,
        compute_ce_loss=True,
    )
    metrics, _ = run_evals(sae, store, model, ActivationScaler(), config)
    return {**metrics["model_performance_preservation"], **metrics["model_behavior_preservation"]}


@pytest.mark.parametrize(
    "hook",
    [
        dict(hook_name="blocks.0.hook_resid_post"),
        dict(hook_name="blocks.1.hook_mlp_out"),
        dict(hook_name="blocks.0.attn.hook_z", reshape_activations="hook_z"),
    ],
)
def test_ce_and_kl_match_saelens_run_evals(tiny_model, tmp_path, hook):
    rows = _rows(tiny_model)
    sae = make_sae("topk", k=8, **hook)
    save_saelens(sae, tmp_path / "sae")
    theirs = _saelens_metrics(tiny_model, tmp_path / "sae", rows, batch=8)
    (record,) = saebench.evaluate(
        str(tmp_path / "sae"),
        model=tiny_model,
        dataset=rows,
        evaluators=["reconstruction"],
        n_tokens=rows.numel(),
        progress=False,
    )
    ours = record.metrics
    pairs = {
        "ce_loss_score": "ce_loss_score",
        "ce_loss_clean": "ce_loss_without_sae",
        "ce_loss_spliced": "ce_loss_with_sae",
        "ce_loss_zero_ablated": "ce_loss_with_ablation",
        "kl_div_score": "kl_div_score",
        "kl_spliced": "kl_div_with_sae",
        "kl_zero_ablated": "kl_div_with_ablation",
    }
    for mine, their in pairs.items():
        assert ours[mine] == pytest.approx(theirs[their], abs=1e-4), mine


def test_the_older_rules_stay_available_and_differ(tiny_model, tmp_path):
    rows = _rows(tiny_model)
    sae = make_sae("topk", k=8)
    default, older = (
        saebench.evaluate(
            sae,
            model=tiny_model,
            dataset=rows,
            evaluators=["reconstruction"],
            n_tokens=rows.numel(),
            configs={"reconstruction": config},
            progress=False,
        )[0].metrics
        for config in (
            {},
            {"zero_ablation": "counted_positions", "ce_positions": "both_counted"},
        )
    )
    assert default["ce_loss_clean"] != pytest.approx(older["ce_loss_clean"], abs=1e-6)
    assert default["kl_zero_ablated"] != pytest.approx(older["kl_zero_ablated"], abs=1e-6)
