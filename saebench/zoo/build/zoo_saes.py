"""Train the zoo's SAEs on the zoo model and save them in the package.

    python -m saebench.zoo.build.zoo_saes [--out DIR] [--tokens N] [--seed S]

Activations come from one draw of the zoo training corpus, packed into contexts that start
with BOS (BOS, EOS and padding positions are dropped), captured at every hook in one forward
pass per batch: the residual stream after block 1, the output of block 1's MLP and that
MLP's input (for the transcoder). Each SAE is trained with :mod:`saebench.zoo.build.train_sae`,
saved as a SAELens folder ``OUT/NAME/``, loaded back and evaluated on held-out zoo text;
``OUT/metrics.json`` keeps the measurements. The result depends only on the arguments:
one thread, fixed seeds.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import torch
from torch import Tensor

from saebench.sae import Sae
from saebench.toolkit.references import neuron_basis, pca_basis, random_dictionary
from saebench.zoo.build import train_sae as T

RESID = "blocks.1.hook_resid_post"
# Block 0's MLP: zero-ablating it raises the held-out loss from 3.44 to 9.22 nats, while
# ablating any later MLP changes it by under 0.04 (the later blocks are redundant in this
# small model), which would make the CE-loss score of an MLP dictionary meaningless.
MLP_IN = "blocks.0.ln2.hook_normalized"
MLP_OUT = "blocks.0.hook_mlp_out"
D_SAE = 512
K = 16  # the shared sparsity target of the TopK-family SAEs and the random baseline
DATASET = "saebench-zoo-corpus"
SIZE_LIMIT_BYTES = 20 * 1024 * 1024  # the whole zoo (model + SAEs) as committed
DEFAULT_TOKENS = 1_000_000
EVAL_TOKENS = 32_768

Train = Callable[[dict[str, Tensor], T.TrainConfig, dict], Sae]


@dataclass(frozen=True)
class SaeSpec:
    """One zoo SAE: its name, its input hook (output hook for transcoders), how to train."""

    name: str
    hook: str
    train: Train
    hook_out: str | None = None


def plan() -> list[SaeSpec]:
    """The zoo's SAEs in build order: names, hooks and training settings."""

    def resid(fn, **kw) -> Train:
        return lambda acts, cfg, meta: fn(acts[RESID], config=cfg, meta=meta, **kw)

    def mlp(fn, **kw) -> Train:
        return lambda acts, cfg, meta: fn(acts[MLP_OUT], config=cfg, meta=meta, **kw)

    def transcoder(acts, cfg, meta) -> Sae:
        return T.train_transcoder(
            acts[MLP_IN], acts[MLP_OUT], d_sae=D_SAE, l1_coeff=0.006, config=cfg, meta=meta
        )

    return [
        SaeSpec("resid-relu", RESID, resid(T.train_relu, d_sae=D_SAE, l1_coeff=0.012)),
        SaeSpec("resid-topk-8", RESID, resid(T.train_topk, d_sae=D_SAE, k=8)),
        SaeSpec("resid-topk-16", RESID, resid(T.train_topk, d_sae=D_SAE, k=K)),
        SaeSpec("resid-topk-32", RESID, resid(T.train_topk, d_sae=D_SAE, k=32)),
        SaeSpec("resid-batchtopk", RESID, resid(T.train_batchtopk, d_sae=D_SAE, k=K)),
        SaeSpec("resid-jumprelu", RESID, resid(T.train_jumprelu, d_sae=D_SAE, target_l0=K)),
        SaeSpec("resid-gated", RESID, resid(T.train_gated, d_sae=D_SAE, l1_coeff=0.02)),
        SaeSpec(
            "resid-matryoshka",
            RESID,
            resid(T.train_matryoshka, k=K, group_sizes=[32, 64, 128, 288]),
        ),
        SaeSpec(
            "resid-neurons", RESID, lambda acts, cfg, meta: neuron_basis(acts[RESID], meta=meta)
        ),
        SaeSpec("resid-pca", RESID, lambda acts, cfg, meta: pca_basis(acts[RESID], meta=meta)),
        SaeSpec(
            "resid-random",
            RESID,
            lambda acts, cfg, meta: random_dictionary(
                acts[RESID], d_sae=D_SAE, k=K, seed=cfg.seed, meta=meta
            ),
        ),
        SaeSpec("mlp-topk-16", MLP_OUT, mlp(T.train_topk, d_sae=D_SAE, k=K)),
        SaeSpec("mlp-relu", MLP_OUT, mlp(T.train_relu, d_sae=D_SAE, l1_coeff=0.01)),
        SaeSpec("transcoder-mlp", MLP_IN, transcoder, hook_out=MLP_OUT),
    ]


# -- activations ------------------------------------------------------------------------------
def training_texts(seed: int, n_tokens: int) -> list[str]:
    """Enough draws of the zoo training corpus for ``n_tokens`` (one draw is ~1.2M tokens)."""
    from saebench.zoo.corpus import build_corpus

    texts: list[str] = []
    for draw in range(1 + n_tokens // 1_000_000):
        texts += build_corpus(seed=seed * 1000 + draw)
    return texts


@torch.no_grad()
def collect(
    model, texts: list[str], n_tokens: int, hooks: list[str], batch_size: int = 64
) -> dict[str, Tensor]:
    """Activations ``[n, d]`` at each hook over ``n_tokens`` context positions of ``texts``
    (packed ``n_ctx`` contexts starting with BOS), special-token positions dropped."""
    from saebench.data.contexts import make_token_set
    from saebench.models.hooks import stop_layer

    token_set = make_token_set(
        texts,
        tokenizer=model.tokenizer,
        context_size=model.cfg.n_ctx,
        n_tokens=n_tokens,
        separator="eos",
    )
    names = sorted(set(hooks))
    stop = stop_layer(names, model.cfg.n_layers)
    n_kept = int(token_set.mask().sum())
    found: dict[str, Tensor] = {}
    seen: dict[str, Tensor] = {}

    def grab(act: Tensor, hook) -> None:
        seen[hook.name] = act

    row = 0
    for tokens in token_set.tokens.split(batch_size):
        with model.hooks(fwd_hooks=[(name, grab) for name in names]):
            model(tokens, stop_at_layer=stop)
        keep = token_set.mask(tokens)
        for name in names:
            act = seen[name][keep]
            if name not in found:  # filled in place: no list of parts to concatenate
                found[name] = torch.empty(n_kept, act.shape[-1], dtype=torch.float32)
            found[name][row : row + act.shape[0]] = act
        row += int(keep.sum())
    return found


# -- building ---------------------------------------------------------------------------------
def build(
    model,
    out: Path,
    n_tokens: int = DEFAULT_TOKENS,
    seed: int = 0,
    eval_tokens: int = EVAL_TOKENS,
    specs: list[SaeSpec] | None = None,
    log: Callable[[str], None] | None = None,
) -> dict[str, dict]:
    """Train, save, reload and evaluate every SAE of ``specs`` (default: the zoo's)."""
    from saebench.adapters.saelens import save_saelens

    log = log or _print
    torch.manual_seed(seed)
    specs = specs if specs is not None else plan()
    started = time.perf_counter()
    hooks = [s.hook for s in specs] + [s.hook_out for s in specs if s.hook_out]
    acts = collect(model, training_texts(seed, n_tokens), n_tokens, hooks)
    n_acts = next(iter(acts.values())).shape[0]
    log(f"collected {n_acts} activations at {len(acts)} hooks in {_since(started)}")
    config = T.TrainConfig(n_tokens=n_acts, seed=seed)
    timings = {}
    for spec in specs:
        clock = time.perf_counter()
        sae = spec.train(acts, config, _meta(spec, model))
        save_saelens(sae, out / spec.name)
        timings[spec.name] = time.perf_counter() - clock
        log(f"trained {spec.name} ({sae.meta.architecture}) in {timings[spec.name]:.1f}s")
    del acts
    metrics = evaluate_saved(model, out, [s.name for s in specs], eval_tokens)
    for name, row in metrics.items():
        row["train_seconds"] = round(timings[name], 1)
        row["size_bytes"] = _folder_bytes(out / name)
    summary = {
        "seed": seed,
        "train_tokens": n_acts,
        "eval_tokens": eval_tokens,
        "eval_dataset": "zoo (saebench.zoo.catalog.evaluation_texts(seed=0))",
        "build_seconds": round(time.perf_counter() - started, 1),
        "saes": metrics,
    }
    (out / "metrics.json").write_text(json.dumps(summary, indent=2) + "\n")
    log(f"built {len(specs)} SAEs in {_since(started)}")
    return summary


def _print(message: str) -> None:
    print(message, flush=True)


def _meta(spec: SaeSpec, model) -> dict:
    return {
        "hook_name": spec.hook,
        "hook_name_out": spec.hook_out,
        "model_name": "zoo",
        "context_size": model.cfg.n_ctx,
        "prepend_bos": True,
        "sequence_separator": "eos",  # collect() packs documents with an EOS between them
        "dataset_path": DATASET,
    }


def evaluate_saved(model, out: Path, names: list[str], n_tokens: int) -> dict[str, dict]:
    """FVU, L0 and CE-loss score of each saved SAE on the ``zoo`` dataset (held-out text,
    :func:`saebench.zoo.catalog.evaluation_texts`), in one shared pass."""
    from saebench.run.executors import evaluate

    uris = [str(out / name) for name in names]
    records = evaluate(
        uris,
        model=model,
        dataset="zoo",
        evaluators=["reconstruction", "sparsity"],
        n_tokens=n_tokens,
        progress=False,
    )
    found: dict[str, dict] = {name: {} for name in names}
    for record in records:
        found[record.sae.name].update(record.metrics)
    keys = ("fvu", "explained_variance", "l0", "ce_loss_score", "kl_div_score", "dead_fraction")
    return {
        name: {key: _round(metrics.get(key)) for key in keys if key in metrics}
        for name, metrics in found.items()
    }


def _round(value):
    return None if value is None else round(float(value), 5)


def _folder_bytes(path: Path) -> int:
    return sum(f.stat().st_size for f in path.rglob("*") if f.is_file())


def _since(start: float) -> str:
    return f"{time.perf_counter() - start:.1f}s"


def check_size(out: Path, model_folder: Path, log: Callable[[str], None] = _print) -> int:
    """Total bytes of the zoo as shipped; raise if over :data:`SIZE_LIMIT_BYTES`."""
    saes, weights = _folder_bytes(out), _folder_bytes(model_folder)
    total = saes + weights
    log(
        f"zoo size: model {weights / 2**20:.2f} MiB + SAEs {saes / 2**20:.2f} MiB "
        f"= {total / 2**20:.2f} MiB (limit {SIZE_LIMIT_BYTES / 2**20:.0f} MiB)"
    )
    if total > SIZE_LIMIT_BYTES:
        raise SystemExit(f"the zoo is {total} bytes, over the {SIZE_LIMIT_BYTES}-byte limit")
    return total


def reevaluate(model, out: Path, eval_tokens: int = EVAL_TOKENS) -> dict:
    """Measure the shipped SAEs again (after a change of the evaluation rules) and update
    their figures in ``metrics.json``, keeping how they were trained."""
    summary = json.loads((out / "metrics.json").read_text())
    fresh = evaluate_saved(model, out, sorted(summary["saes"]), eval_tokens)
    for name, row in fresh.items():
        summary["saes"][name].update(row)
    summary["eval_tokens"] = eval_tokens
    (out / "metrics.json").write_text(json.dumps(summary, indent=2) + "\n")
    return summary


def main(argv: list[str] | None = None) -> int:
    from saebench.models.load import load_model
    from saebench.zoo.catalog import saes_dir
    from saebench.zoo.model import model_dir

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=saes_dir(), help="where the SAEs go")
    parser.add_argument("--tokens", type=int, default=DEFAULT_TOKENS, help="training tokens")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--evaluate-only", action="store_true", help="re-measure the shipped SAEs, no training"
    )
    args = parser.parse_args(argv)
    torch.set_num_threads(1)
    model = load_model("zoo", device="cpu")
    if args.evaluate_only:
        reevaluate(model, args.out)
        return 0
    build(model, args.out, n_tokens=args.tokens, seed=args.seed)
    check_size(args.out, model_dir())
    return 0


if __name__ == "__main__":
    sys.exit(main())
