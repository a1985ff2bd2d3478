"""Train one small SAE per attention head of the zoo model on IOI prompts (``heads-`` family).

    python -m saebench.zoo.build.head_saes [--out DIR] [--prompts N] [--tokens N]

Following O'Neill and Bui (2024), the SAEs see a task's positive and negative prompts: the
``zoo-ioi`` train split (positives) and each prompt's ABC counterpart (its repeated subject
replaced by a third name, :func:`saebench.toolkit.circuits.abc_prompts`). Each head's
``hook_z`` (d_head 32) is read at the last token of the spans ``io``, ``s1``, ``s2`` and
``end`` of both, and averaged over each prompt's tokens (the reference's ``position="mean"``,
which ``circuits`` reads by default). Two families of 16 SAEs are trained with :mod:`saebench.zoo.build.train_sae`:
ReLU with an L1 penalty (the reference's architecture) and TopK; 64 latents each. Each is
saved in float16 as ``OUT/ARCH-LlHh`` (``zoo:heads-ARCH-LlHh``) and ``OUT/metrics.json``
keeps its FVU and L0 on the test split's prompts. One thread, fixed seeds.
"""

from __future__ import annotations

import argparse
import copy
import json
import sys
import time
from pathlib import Path

import torch

from saebench.toolkit import circuits as C
from saebench.zoo.build import train_sae as T

D_SAE = 64
K = 4
L1_COEFF = 0.04
POSITIONS = ("io", "s1", "s2", "end")
DATASET = "zoo-ioi/train+abc"


def head_rows(model, split: str, n: int) -> dict[int, torch.Tensor]:
    """``{layer: [rows, n_heads, d_head]}``: ``hook_z`` at the IOI positions of ``n``
    prompts of ``split`` and of their ABC counterparts, and its mean over each prompt's real
    tokens (the reference's ``position="mean"``, the ``circuits`` default)."""
    from saebench.models.interventions import ModelRunner
    from saebench.tasks import build_task

    task = build_task("zoo-ioi", {"n": n})
    positives = task.prompts(split)
    negatives = C.abc_prompts(positives, task.attribute_values()["io"], seed=1)
    hooks = [C.z_hook(layer) for layer in range(model.cfg.n_layers)]
    out: dict[int, list] = {layer: [] for layer in range(model.cfg.n_layers)}
    for prompts in (positives, negatives):
        for start in range(0, len(prompts), 256):
            data = C.ioi_batch(model, prompts[start : start + 256])
            acts = ModelRunner(model).capture(data.batch, hooks)
            rows = torch.arange(len(data.batch))
            for layer in out:
                z = acts[C.z_hook(layer)]
                out[layer] += [z[rows, data.batch.last(p)] for p in POSITIONS]
                real = data.batch.attention_mask[..., None, None].to(z.dtype)
                out[layer].append((z * real).sum(1) / real.sum(1))
    return {layer: torch.cat(parts).float() for layer, parts in out.items()}


def train_head(arch: str, x: torch.Tensor, layer: int, head: int, tokens: int, seed: int):
    meta = {
        "model_name": "zoo",
        "hook_name": C.z_hook(layer),
        "hook_head_index": head,
        "context_size": 64,
        "prepend_bos": True,
        "dataset_path": DATASET,
    }
    config = T.TrainConfig(n_tokens=tokens, batch_size=512, lr=3e-3, seed=seed)
    if arch == "relu":
        return T.train_relu(x, d_sae=D_SAE, l1_coeff=L1_COEFF, config=config, meta=meta)
    return T.train_topk(x, k=K, d_sae=D_SAE, config=config, meta=meta)


@torch.no_grad()
def quality(sae, x: torch.Tensor) -> dict[str, float]:
    """FVU (centred) and L0 of ``sae`` on rows ``x``."""
    codes = sae.encode(x)
    x_hat = sae.decode(codes)
    fvu = (x_hat - x).pow(2).sum() / (x - x.mean(0)).pow(2).sum()
    return {"fvu": round(float(fvu), 4), "l0": round(float((codes > 0).sum(-1).float().mean()), 3)}


def build(out: Path, n_prompts: int, tokens: int, log=print) -> dict:
    from saebench.adapters.saelens import save_saelens
    from saebench.models import load_model

    torch.manual_seed(0)
    torch.set_num_threads(1)
    model = load_model("zoo", device="cpu")
    train, test = head_rows(model, "train", n_prompts), head_rows(model, "test", 200)
    metrics: dict = {"prompts": n_prompts, "rows_per_head": int(train[0].shape[0]), "saes": {}}
    for arch in ("relu", "topk"):
        for layer in range(model.cfg.n_layers):
            for head in range(model.cfg.n_heads):
                began = time.process_time()
                x = train[layer][:, head]
                sae = train_head(arch, x, layer, head, tokens, seed=layer * 16 + head)
                name = f"{arch}-L{layer}H{head}"
                save_saelens(copy.deepcopy(sae).to(torch.float16), out / name)
                row = quality(sae, test[layer][:, head])
                row["cpu_seconds"] = round(time.process_time() - began, 2)
                metrics["saes"][name] = row
                log(f"{name}: {row}")
    (out / "metrics.json").write_text(json.dumps(metrics, indent=2) + "\n")
    return metrics


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    default = Path(__file__).resolve().parent.parent / "saes_heads"
    parser.add_argument("--out", type=Path, default=default)
    parser.add_argument("--prompts", type=int, default=2000, help="train prompts (x2 with ABC)")
    parser.add_argument("--tokens", type=int, default=400_000, help="training rows per SAE")
    args = parser.parse_args(argv)
    args.out.mkdir(parents=True, exist_ok=True)
    build(args.out, args.prompts, args.tokens)
    return 0


if __name__ == "__main__":
    sys.exit(main())
