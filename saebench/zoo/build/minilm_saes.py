"""Train the zoo's SAEs on all-MiniLM-L6-v2 sentence embeddings (``zoo:minilm-NAME``).

    python -m saebench.zoo.build.minilm_saes [--only NAME,...] [--epochs N] [--out DIR]

Data: the first 6,144 texts of the ``train`` part of the ``kjv`` corpus (11,469 verses of a
fixed 16,384-verse sample, hash-ordered, so the first rows are a random sample;
:mod:`saebench.models.embedding_corpus`) embedded by ``minilm-l6`` (mean-pooled, unit norm,
width 384; cached on disk). The evaluators read the ``corpus`` and ``query`` parts, which no
SAE saw. Every SAE is 4x wide (1536 latents), trained by :mod:`saebench.zoo.build.train_sae`
with the recipe of ``shared/references/beyond.md`` section 2.4's demo (Adam at lr 1e-3,
batch 256, AuxK 1/32 for latents dead 200 steps), 40 epochs (960 steps; the demo: 60 epochs
of 7,373 texts). The embedding pass is what limits the training set on a shared CPU. ReLU's L1
coefficient is steered to an L0 of 16 as the synthetic panel's is
(:mod:`saebench.zoo.build.synth_saes`); JumpReLU steers its own. The random dictionary
(TopK 16 over random unit rows, ``b_dec`` the train mean) is the floor.

Each SAE is saved in float16 under ``saebench/zoo/saes_minilm/NAME`` with ``training.json``;
``metrics.json`` there holds every SAE's figures.
"""

from __future__ import annotations

import argparse
import copy
import json
import sys
import time
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from saebench.zoo.build import synth_saes as S
from saebench.zoo.build import train_sae as T

MODEL, CORPUS = "minilm-l6", "kjv"
D_SAE, LR, BATCH, EPOCHS = 1536, 1e-3, 256, 40
TRAIN_TEXTS = 6144  # the first texts of the train part (a random sample: parts are hash-ordered)
DEAD_AFTER_STEPS = 200


@dataclass(frozen=True)
class Spec:
    name: str  # zoo:NAME
    arch: str  # topk, batchtopk, relu, jumprelu, or random
    k: int  # TopK's k; the L0 target of the others


PLAN = [
    Spec("minilm-topk-16", "topk", 16),
    Spec("minilm-topk-32", "topk", 32),
    Spec("minilm-batchtopk-16", "batchtopk", 16),
    Spec("minilm-relu", "relu", 16),
    Spec("minilm-jumprelu", "jumprelu", 16),
    Spec("minilm-random", "random", 16),
]


def meta() -> dict[str, Any]:
    return {"model_name": MODEL, "hook_name": "pooled", "context_size": 1,
            "prepend_bos": False, "dataset_path": f"{CORPUS}/train"}  # fmt: skip


def train_embeddings() -> torch.Tensor:
    """The embeddings of the corpus's ``train`` part (computed once, then cached)."""
    from saebench.models.embedding import load_embedding_model
    from saebench.models.embedding_cache import part_embeddings
    from saebench.models.embedding_corpus import load_corpus

    model, corpus = load_embedding_model(MODEL), load_corpus(CORPUS)
    return part_embeddings(model, corpus, "train", progress=True, rows=TRAIN_TEXTS)


def train(spec: Spec, x: torch.Tensor, epochs: int, log) -> S.Trained:
    """One SAE of the plan on ``x``; the random dictionary is built in closed form."""
    from saebench.toolkit.references import random_dictionary

    clock = time.perf_counter()
    if spec.arch == "random":
        sae = random_dictionary(x, d_sae=D_SAE, k=spec.k, seed=0, meta=meta())
        return S.Trained(sae, 0, 0, 0, time.perf_counter() - clock, "closed form")
    samples = epochs * x.shape[0]
    config = T.TrainConfig(n_tokens=samples, batch_size=BATCH, lr=LR, seed=0,
                           dead_after_tokens=DEAD_AFTER_STEPS * BATCH,
                           log_every=max(1, samples // BATCH // 6))  # fmt: skip
    recipe = S.Recipe(d_sae=D_SAE, k=spec.k, lr=LR, samples=samples, batch_size=BATCH,
                      buffer=x.shape[0])  # fmt: skip
    lines: list[str] = []

    def keep(line: str) -> None:
        lines.append(line.strip())
        log(line.strip())

    with warnings.catch_warnings():  # train_sae's log line reads a float off the live loss
        warnings.filterwarnings("ignore", "Converting a tensor with requires_grad")
        sae = T.fit(S._make(spec.arch, spec.k, recipe, config), x, d_sae=D_SAE, config=config,
                    meta=meta(), log=keep)  # fmt: skip
    seconds = time.perf_counter() - clock
    return S.Trained(
        sae, config.steps * BATCH, config.steps, BATCH, seconds, lines[-1] if lines else ""
    )


def save(spec: Spec, trained: S.Trained, folder: Path, rows: int) -> dict[str, Any]:
    """The SAE in float16 (SAELens folder) and its ``training.json``; returns the entry."""
    from saebench.adapters.saelens import save_saelens
    from saebench.files import atomic_write_text

    sae = copy.deepcopy(trained.sae).to(torch.float16)
    save_saelens(sae, folder)
    entry = {"architecture": spec.arch, "model": MODEL, "corpus": f"{CORPUS}/train",
             "train_texts": rows, "d_sae": D_SAE, "k": spec.k, "samples": trained.samples,
             "steps": trained.steps, "batch_size": trained.batch_size, "lr": LR,
             "train_seconds": round(trained.seconds, 1), "final": trained.final}  # fmt: skip
    atomic_write_text(folder / "training.json", json.dumps(entry, indent=2))
    return entry


def saes_dir() -> Path:
    return Path(__file__).resolve().parent.parent / "saes_minilm"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--only", default=None, help="comma-separated names of the plan")
    parser.add_argument("--epochs", type=int, default=EPOCHS)
    parser.add_argument("--out", type=Path, default=saes_dir())
    args = parser.parse_args(argv)
    specs = [s for s in PLAN if args.only is None or s.name in args.only.split(",")]
    torch.set_num_threads(2)  # the embedding pass (once; cached)
    x = train_embeddings().float()
    torch.set_num_threads(1)  # training: one thread is what the log's times are for
    path = args.out / "metrics.json"
    summary = json.loads(path.read_text()) if path.is_file() else {"saes": {}}
    for spec in specs:
        print(f"[{spec.name}] {spec.arch} on {x.shape[0]} texts", flush=True)
        trained = train(spec, x, args.epochs, lambda line: print(line, flush=True))
        summary["saes"][spec.name] = save(spec, trained, args.out / spec.name, x.shape[0])
        args.out.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(summary, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
