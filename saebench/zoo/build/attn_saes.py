"""Train the zoo's attention-output SAEs (``zoo:attn-NAME``) and ship them in half precision.

    python -m saebench.zoo.build.attn_saes [--out DIR] [--tokens N] [--seed S]

Each dictionary reads block 0's concatenated ``hook_z`` (4 heads x d_head 32 = 128 inputs,
SAELens ``reshape_activations: "hook_z"``), the input of the attention output projection, as
Kissane et al. (arXiv 2406.17759) train theirs. Block 0: zero-ablating its ``z`` raises the
held-out loss from 3.38 to 6.06 nats, while zero-ablating block 1, 2 or 3's changes it by
under 0.08 nats (sometimes lowering it), which would make a CE-loss score there meaningless
(the same reason the zoo's MLP dictionaries read block 0).

Text, packing, token budget, trainer and seeds are those of :mod:`saebench.zoo.build.zoo_saes`
(one draw of the zoo training corpus, 1M tokens, :mod:`saebench.zoo.build.train_sae`, one
thread). Only the capture differs: ``hook_z`` is ``[batch, pos, head, d_head]`` and is
flattened head-major, as the evaluators read it. ``OUT/metrics.json`` keeps FVU, L0 and
CE-loss score on held-out zoo text (``saebench/zoo/SAES_ATTN.md``).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import torch
from torch import Tensor

from saebench.zoo.build import train_sae as T
from saebench.zoo.build import zoo_saes as Z

HOOK = "blocks.0.attn.hook_z"
D_SAE = 512
K = 16  # the zoo's shared sparsity target
RELU_L1 = 0.01


def plan() -> list[Z.SaeSpec]:
    """The attention-output dictionaries: one TopK, one ReLU, both at :data:`HOOK`."""

    def on_z(fn, **kw) -> Z.Train:
        return lambda acts, cfg, meta: fn(acts[HOOK], config=cfg, meta=meta, **kw)

    return [
        Z.SaeSpec("attn-topk-16", HOOK, on_z(T.train_topk, d_sae=D_SAE, k=K)),
        Z.SaeSpec("attn-relu", HOOK, on_z(T.train_relu, d_sae=D_SAE, l1_coeff=RELU_L1)),
    ]


@torch.no_grad()
def collect_z(model, texts: list[str], n_tokens: int, batch_size: int = 64) -> Tensor:
    """Concatenated ``z`` ``[n, n_heads * d_head]`` at :data:`HOOK` over the packed contexts
    of :func:`zoo_saes.collect` (special-token positions dropped)."""
    from saebench.data.contexts import make_token_set

    token_set = make_token_set(
        texts,
        tokenizer=model.tokenizer,
        context_size=model.cfg.n_ctx,
        n_tokens=n_tokens,
        separator="eos",
    )
    width = model.cfg.n_heads * model.cfg.d_head
    found = torch.empty(int(token_set.mask().sum()), width)
    seen: dict[str, Tensor] = {}
    row = 0
    for tokens in token_set.tokens.split(batch_size):
        with model.hooks(fwd_hooks=[(HOOK, lambda act, hook: seen.update(z=act))]):
            model(tokens, stop_at_layer=1)
        z = seen["z"][token_set.mask(tokens)].flatten(1)  # head-major, as hook_z reshapes
        found[row : row + z.shape[0]] = z
        row += z.shape[0]
    return found


def build(model, out: Path, n_tokens: int = Z.DEFAULT_TOKENS, seed: int = 0) -> dict:
    """Train, save in float16, reload and evaluate the dictionaries of :func:`plan`."""
    from saebench.adapters.saelens import save_saelens

    torch.manual_seed(seed)
    started = time.perf_counter()
    acts = {HOOK: collect_z(model, Z.training_texts(seed, n_tokens), n_tokens)}
    n_acts = acts[HOOK].shape[0]
    print(f"collected {n_acts} z rows in {time.perf_counter() - started:.1f}s", flush=True)
    config = T.TrainConfig(n_tokens=n_acts, seed=seed)
    timings = {}
    for spec in plan():
        clock = time.perf_counter()
        meta = {**Z._meta(spec, model), "reshape_activations": "hook_z"}
        sae = spec.train(acts, config, meta)
        save_saelens(sae.to(torch.float16), out / spec.name)
        timings[spec.name] = round(time.perf_counter() - clock, 1)
        print(f"trained {spec.name} in {timings[spec.name]}s", flush=True)
    del acts
    names = [s.name for s in plan()]
    metrics = Z.evaluate_saved(model, out, names, Z.EVAL_TOKENS)
    for name, row in metrics.items():
        row["train_seconds"] = timings[name]
        row["size_bytes"] = Z._folder_bytes(out / name)
    summary = {
        "seed": seed,
        "hook": HOOK,
        "train_tokens": n_acts,
        "eval_tokens": Z.EVAL_TOKENS,
        "eval_dataset": "zoo (saebench.zoo.catalog.evaluation_texts(seed=0))",
        "build_seconds": round(time.perf_counter() - started, 1),
        "saes": metrics,
    }
    (out / "metrics.json").write_text(json.dumps(summary, indent=2) + "\n")
    return summary


def saes_dir() -> Path:
    return Path(__file__).resolve().parent.parent / "saes_attn"


def main(argv: list[str] | None = None) -> int:
    from saebench.models.load import load_model

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=saes_dir(), help="where the SAEs go")
    parser.add_argument("--tokens", type=int, default=Z.DEFAULT_TOKENS, help="training tokens")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    torch.set_num_threads(1)
    summary = build(load_model("zoo", device="cpu"), args.out, args.tokens, args.seed)
    print(json.dumps(summary["saes"], indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
