"""Train the zoo's SmolLM2-135M SAEs (``zoo:smollm2-NAME``) and ship them in half precision.

    python -m saebench.zoo.build.smollm2_saes collect --buffer DIR [--tokens N] [--minutes M]
    python -m saebench.zoo.build.smollm2_saes train --buffer DIR [--only NAME,...]
    python -m saebench.zoo.build.smollm2_saes finish --buffer DIR [--eval-tokens N]

``collect`` runs the model once over the ``smollm2-train`` text (the training part of
:mod:`saebench.data.smollm2_text`, disjoint from the ``smollm2`` evaluation part), packed as
saebench packs it at evaluation (128-token contexts, no BOS, documents separated by
``<|endoftext|>``), and writes the activations at the three hooks below to float16 files in
``DIR`` (special-token positions dropped, as the evaluators' masks drop them). It stops at
``--tokens`` or after ``--minutes`` and resumes where it stopped. ``train`` trains every
dictionary of :func:`plan` from those files with :mod:`saebench.zoo.build.train_sae` (one epoch,
one thread, fixed seeds; several ``train`` processes may share the buffer with ``--only``)
and saves each, in float16, under ``saebench/zoo/saes_smollm2/NAME``. ``finish`` writes
``metrics.json`` there: tokens, steps, seconds and final losses of each, and FVU, L0 and
CE-loss score on held-out ``smollm2`` text.

The transcoder reads ``blocks.9.ln2.hook_out``, the pre-MLP norm's output with its gain (what
the MLP reads, and what saebench feeds an SAE with that hook name), not TransformerLens's
``ln2.hook_normalized``, which is taken before the gain.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import torch

from saebench.sae import Sae
from saebench.toolkit.references import neuron_basis, pca_basis, random_dictionary
from saebench.zoo.build import train_sae as T
from saebench.zoo.build.zoo_saes import SaeSpec

MODEL = "smollm2-135m"
LAYER = 9
RESID = f"blocks.{LAYER}.hook_resid_post"
MLP_IN = f"blocks.{LAYER}.ln2.hook_out"
MLP_OUT = f"blocks.{LAYER}.hook_mlp_out"
HOOKS = (RESID, MLP_IN, MLP_OUT)
D_MODEL = 576
D_SAE = 2304  # 4 x d_model: 5.3 MB per dictionary in float16
K = 32  # the shared sparsity target of the TopK family, JumpReLU and the random baseline
CONTEXT = 128
SEPARATOR = 0  # <|endoftext|>, the separator of SmolLM2's pre-training corpus
TRAIN_DATASET = "smollm2-train"
EVAL_DATASET = "smollm2"
CONFIG = T.TrainConfig(lr=2e-3, batch_size=1024, seed=0, log_every=50)
SIZE_LIMIT_BYTES = 64 * 1024 * 1024


def saes_dir() -> Path:
    return Path(__file__).resolve().parent.parent / "saes_smollm2"


def plan() -> list[SaeSpec]:
    """The SmolLM2 SAEs in build order (the first ones matter most if time runs out)."""

    def resid(fn, **kw):
        return lambda acts, cfg, meta, log=None: fn(
            acts[RESID], config=cfg, meta=meta, log=log, **kw
        )

    def transcoder(acts, cfg, meta, log=None) -> Sae:
        return T.train_transcoder(
            acts[MLP_IN], acts[MLP_OUT], d_sae=D_SAE, k=K, config=cfg, meta=meta, log=log
        )

    def closed(fn, **kw):
        # closed form: float64 statistics over the float16 buffer
        return lambda acts, cfg, meta, log=None: fn(acts[RESID].float(), meta=meta, **kw)

    return [
        SaeSpec("resid-neurons", RESID, closed(neuron_basis)),
        SaeSpec("resid-pca", RESID, closed(pca_basis)),
        SaeSpec("resid-random", RESID, closed(random_dictionary, d_sae=D_SAE, k=K, seed=0)),
        SaeSpec("resid-topk-32", RESID, resid(T.train_topk, d_sae=D_SAE, k=K)),
        SaeSpec("resid-batchtopk-32", RESID, resid(T.train_batchtopk, d_sae=D_SAE, k=K)),
        SaeSpec("resid-jumprelu", RESID, resid(T.train_jumprelu, d_sae=D_SAE, target_l0=K)),
        SaeSpec(
            "resid-matryoshka-32",
            RESID,
            resid(T.train_matryoshka, k=K, group_sizes=[128, 256, 512, 1408]),
        ),
        # L1 coefficients aimed at an L0 near K, interpolated (in log L0) between full runs:
        # relu 0.005 -> L0 45, 0.0065 -> 17; gated 0.009 -> 46, 0.014 -> 11 (shipped: relu
        # 0.0055 -> 32.2, gated 0.0102 -> 32.6)
        SaeSpec("resid-relu", RESID, resid(T.train_relu, d_sae=D_SAE, l1_coeff=0.0055)),
        SaeSpec("resid-gated", RESID, resid(T.train_gated, d_sae=D_SAE, l1_coeff=0.0102)),
        SaeSpec("transcoder-topk-32", MLP_IN, transcoder, hook_out=MLP_OUT),
        SaeSpec("resid-topk-16", RESID, resid(T.train_topk, d_sae=D_SAE, k=16)),
        SaeSpec("resid-topk-64", RESID, resid(T.train_topk, d_sae=D_SAE, k=64)),
    ]


# -- collect: the activations, once, to float16 files ------------------------------------------
def _progress(buffer: Path) -> dict:
    path = buffer / "progress.json"
    return json.loads(path.read_text()) if path.is_file() else {}


def _write_progress(buffer: Path, progress: dict) -> None:
    from saebench.files import atomic_write_text

    atomic_write_text(buffer / "progress.json", json.dumps(progress, indent=2) + "\n")


def _file(buffer: Path, hook: str) -> Path:
    return buffer / f"{hook}.f16"


def _open(buffer: Path, hook: str, capacity: int, mode: str) -> np.memmap:
    return np.memmap(_file(buffer, hook), dtype=np.float16, mode=mode, shape=(capacity, D_MODEL))


@torch.no_grad()
def collect(model, buffer: Path, n_tokens: int, minutes: float, log: Callable) -> dict:
    """Activations at :data:`HOOKS` over up to ``n_tokens`` positions of ``smollm2-train``,
    appended to ``buffer`` in context order until ``minutes`` have passed."""
    buffer.mkdir(parents=True, exist_ok=True)
    progress = _progress(buffer) or _fresh_progress(n_tokens)
    capacity = progress["capacity"]
    token_set = _train_token_set(model, capacity)
    mode = "r+" if _file(buffer, RESID).is_file() else "w+"
    files = {hook: _open(buffer, hook, capacity, mode) for hook in HOOKS}
    started, batch = time.perf_counter(), 16
    spent = progress["seconds"]
    while progress["contexts"] < len(token_set.tokens):
        if time.perf_counter() - started > minutes * 60:
            break
        tokens = token_set.tokens[progress["contexts"] : progress["contexts"] + batch]
        n = _append(model, tokens, token_set.mask(tokens), files, progress["rows"])
        progress["contexts"] += len(tokens)
        progress["rows"] += n
        progress["seconds"] = round(spent + time.perf_counter() - started, 1)
        if progress["contexts"] % (batch * 20) == 0:
            _save(buffer, files, progress)
            rate = (progress["rows"]) / max(progress["seconds"], 1e-9)
            log(f"collected {progress['rows']} positions ({rate:.0f}/s)")
    _save(buffer, files, progress)
    log(f"collected {progress['rows']} positions in {progress['seconds']:.0f}s of model time")
    return progress


def _fresh_progress(n_tokens: int) -> dict:
    return {
        "dataset": TRAIN_DATASET,
        "context_size": CONTEXT,
        "capacity": n_tokens,
        "contexts": 0,
        "rows": 0,
        "seconds": 0.0,
    }


def _train_token_set(model, n_tokens: int):
    """``smollm2-train`` packed as saebench packs it at evaluation (see the module doc)."""
    from saebench.data.contexts import make_token_set

    return make_token_set(
        TRAIN_DATASET,
        tokenizer=model.tokenizer,
        context_size=CONTEXT,
        n_tokens=n_tokens,
        prepend_bos=False,
        separator=SEPARATOR,
    )


def _append(model, tokens: torch.Tensor, keep: torch.Tensor, files: dict, rows: int) -> int:
    """Run ``tokens`` up to :data:`LAYER`; write the kept positions' activations at every hook
    from row ``rows`` on; return how many positions were written."""
    seen: dict[str, torch.Tensor] = {}

    def grab(act, hook) -> None:
        seen[hook.name] = act

    with model.hooks(fwd_hooks=[(name, grab) for name in HOOKS]):
        model(tokens, stop_at_layer=LAYER + 1)
    n = int(keep.sum())
    for name in HOOKS:
        files[name][rows : rows + n] = seen[name][keep].to(torch.float16).numpy()
    return n


def _save(buffer: Path, files: dict[str, np.memmap], progress: dict) -> None:
    """Flush the activation files, then record how far they go (so a rerun resumes there)."""
    for mm in files.values():
        mm.flush()
    _write_progress(buffer, progress)


def load_buffer(buffer: Path, hooks: tuple[str, ...] = HOOKS) -> dict[str, torch.Tensor]:
    """The collected activations (float16 tensors ``[rows, d_model]``) of ``hooks``."""
    progress = _progress(buffer)
    if not progress:
        raise SystemExit(f"error: {buffer} holds no activations; run `collect` first")
    rows = progress["rows"]
    out = {}
    for hook in hooks:
        mm = _open(buffer, hook, progress["capacity"], "r")
        out[hook] = torch.from_numpy(np.array(mm[:rows]))
    return out


# -- train ------------------------------------------------------------------------------------
def _meta(spec: SaeSpec) -> dict:
    return {
        "hook_name": spec.hook,
        "hook_name_out": spec.hook_out,
        "model_name": MODEL,
        "context_size": CONTEXT,
        "prepend_bos": False,
        "sequence_separator": SEPARATOR,
        "dataset_path": TRAIN_DATASET,
    }


def train(buffer: Path, out: Path, names: list[str] | None, log: Callable) -> None:
    """Train (or build) each SAE of :func:`plan` named in ``names`` (all when None), save it
    in float16 under ``out/NAME`` and its training log under ``buffer/logs/NAME.json``."""
    from saebench.adapters.saelens import save_saelens

    specs = [s for s in plan() if names is None or s.name in names]
    needed = tuple(sorted({h for s in specs for h in (s.hook, s.hook_out) if h}))
    acts = load_buffer(buffer, needed)
    rows = next(iter(acts.values())).shape[0]
    config = T.TrainConfig(**{**CONFIG.__dict__, "n_tokens": rows})
    (buffer / "logs").mkdir(exist_ok=True)
    for spec in specs:
        lines: list[str] = []

        def keep(line: str, name: str = spec.name, lines: list[str] = lines) -> None:
            lines.append(line.strip())
            log(f"{name}: {line.strip()}")

        clock = time.perf_counter()
        sae = spec.train(acts, config, _meta(spec), keep)
        seconds = time.perf_counter() - clock
        save_saelens(sae.to(torch.float16), out / spec.name)
        entry = {
            "architecture": sae.meta.architecture,
            "train_tokens": rows if lines else 0,
            "steps": config.steps if lines else 0,
            "batch_size": config.batch_size,
            "lr": config.lr,
            "train_seconds": round(seconds, 1),
            "final": lines[-1] if lines else None,
        }
        (buffer / "logs" / f"{spec.name}.json").write_text(json.dumps(entry, indent=2) + "\n")
        log(f"saved {spec.name} ({seconds:.0f}s)")


# -- finish: the figures shipped beside the weights ---------------------------------------------
def finish(buffer: Path, out: Path, eval_tokens: int, log: Callable) -> dict:
    """``out/metrics.json``: how each SAE was trained (from ``buffer/logs``), and its FVU, L0
    and CE-loss score on ``eval_tokens`` of held-out ``smollm2`` text, in one shared pass."""
    from saebench.models.load import load_model
    from saebench.run.executors import evaluate
    from saebench.zoo.build.zoo_saes import _folder_bytes, _round
    from saebench.zoo.catalog import SMOLLM2_PREFIX

    names = [s.name for s in plan() if (buffer / "logs" / f"{s.name}.json").is_file()]
    trained = {n: json.loads((buffer / "logs" / f"{n}.json").read_text()) for n in names}
    clock = time.perf_counter()
    records = evaluate(
        [f"zoo:{SMOLLM2_PREFIX}{n}" for n in names],
        model=load_model(MODEL, device="cpu"),
        dataset=EVAL_DATASET,
        evaluators=["reconstruction", "sparsity"],
        n_tokens=eval_tokens,
        progress=False,
    )
    log(f"evaluated {len(names)} SAEs on {eval_tokens} tokens in {_since(clock)}")
    keys = ("fvu", "explained_variance", "l0", "ce_loss_score", "kl_div_score", "dead_fraction")
    keys += ("ce_loss_clean", "ce_loss_with_sae", "ce_loss_zero_ablation")
    for record in records:
        name = record.sae.name.removeprefix(SMOLLM2_PREFIX)
        found = {k: _round(record.metrics[k]) for k in keys if k in record.metrics}
        trained[name].setdefault("eval", {}).update(found)
    for name in names:
        trained[name]["size_bytes"] = _folder_bytes(out / name)
    progress = _progress(buffer)
    summary = {
        "model": MODEL,
        "train_dataset": TRAIN_DATASET,
        "train_positions": progress["rows"],
        "collect_seconds": progress["seconds"],
        "context_size": CONTEXT,
        "eval_dataset": EVAL_DATASET,
        "eval_tokens": eval_tokens,
        "total_bytes": sum(t["size_bytes"] for t in trained.values()),
        "saes": trained,
    }
    (out / "metrics.json").write_text(json.dumps(summary, indent=2) + "\n")
    if summary["total_bytes"] > SIZE_LIMIT_BYTES:
        raise SystemExit(f"error: the SAEs take {summary['total_bytes']} bytes, over the limit")
    return summary


def _since(start: float) -> str:
    return f"{time.perf_counter() - start:.0f}s"


def _print(message: str) -> None:
    print(time.strftime("%H:%M:%S"), message, flush=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("command", choices=["collect", "train", "finish"])
    parser.add_argument("--buffer", type=Path, required=True, help="the activation files")
    parser.add_argument("--out", type=Path, default=saes_dir(), help="where the SAEs go")
    parser.add_argument("--tokens", type=int, default=1_000_000, help="collect at most")
    parser.add_argument("--minutes", type=float, default=60.0, help="collect for at most")
    parser.add_argument("--only", default=None, help="train these SAEs (comma-separated)")
    parser.add_argument("--eval-tokens", type=int, default=8192)
    args = parser.parse_args(argv)
    torch.set_num_threads(1)  # a shared machine; and results independent of thread count
    torch.manual_seed(0)
    if args.command == "collect":
        from saebench.models.load import load_model

        collect(load_model(MODEL, device="cpu"), args.buffer, args.tokens, args.minutes, _print)
    elif args.command == "train":
        names = args.only.split(",") if args.only else None
        train(args.buffer, args.out, names, _print)
    else:
        finish(args.buffer, args.out, args.eval_tokens, _print)
    return 0


if __name__ == "__main__":
    sys.exit(main())
