"""Train SAEs on a synthetic tier's "train" stream, and build the synth-4k panel.

    python -m saebench.zoo.build.synth_saes panel [--only NAME,...] [--samples N] [--out DIR]

Every SAE reads a buffer of the first ``buffer`` samples of the tier's ``train`` stream
(:func:`saebench.synthetic.block`; only ``x`` is kept, the true coefficients are not needed
to train), reshuffled every epoch, and is trained by :mod:`saebench.zoo.build.train_sae`
for ``samples`` samples. The settings per tier (:func:`recipe`) follow the CPU recipe
measured in ``shared/references/beyond.md`` section 1.5: batch 1024, lr 3e-3 (synth-1k) or
2e-3 (synth-4k), 2 M samples, a dead window of 200 steps, k 6 / 12.

ReLU and Gated SAEs have no k: their L1 coefficient is steered to the tier's L0 by a slow
multiplicative controller (as SynthSAEBench's sweeps steer theirs), so every architecture of
the panel sits near the same L0. JumpReLU steers its L0 through its own penalty.

``panel`` trains :func:`plan` one SAE at a time in one process (the buffer is drawn once),
saves each in float16 under ``saebench/zoo/saes_synth/NAME`` (``zoo:NAME``) and writes
``metrics.json`` there: samples, steps, seconds, final loss, and a quick ground-truth check
(:func:`quick_check`) on held-out ``eval`` samples.
"""

from __future__ import annotations

import argparse
import copy
import json
import math
import re
import sys
import time
import warnings
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import torch
from torch import Tensor

from saebench.errors import SaebenchError
from saebench.sae import Sae
from saebench.zoo.build import train_sae as T

ARCHITECTURES = ("topk", "batchtopk", "relu", "jumprelu", "matryoshka", "gated")
HOOK = "hook_x"
DEAD_AFTER_STEPS = 200  # short runs: SAELens's 1000-step window never lets AuxK start
Log = Callable[[str], None]


@dataclass(frozen=True)
class Recipe:
    """How an SAE is trained on one tier: the tier's default SAE
    (:data:`saebench.synthetic.config.TIER_RECIPES`) and what only training needs."""

    d_sae: int
    k: int
    lr: float
    samples: int
    batch_size: int
    buffer: int  # distinct training samples, reshuffled every epoch
    aux_coeff: float = 1 / 32
    l1_init: float = 0.01  # start of the steered L1 coefficient (relu, gated)


# 512 k / 1 M samples: what the reference measured; streaming costs 2.3x the wall time
BUFFERS = {"synth-1k": 524_288, "synth-4k": 1_048_576}


def recipe(tier: str) -> Recipe:
    """The training recipe of ``tier``; a one-line error names the known tiers."""
    from saebench.synthetic.config import TIER_RECIPES
    from saebench.synthetic.config import tier as tier_config

    tier_config(tier)  # an unknown tier raises here, naming the known ones
    if tier not in TIER_RECIPES:
        raise SaebenchError(
            f"tier {tier!r} has no default SAE recipe; pick one of {', '.join(TIER_RECIPES)}"
        )
    base = TIER_RECIPES[tier]
    buffer = BUFFERS.get(tier, 1_048_576)
    return Recipe(**base.model_dump(), buffer=buffer)


def check_architecture(arch: str) -> str:
    if arch not in ARCHITECTURES:
        raise SaebenchError(
            f"unknown architecture {arch!r}; choose one of {', '.join(ARCHITECTURES)}"
        )
    return arch


def meta(tier: str) -> dict[str, Any]:
    """The metadata of an SAE trained on ``tier``: where it reads, how it was fed."""
    return {
        "model_name": tier,
        "hook_name": HOOK,
        "context_size": 1,
        "prepend_bos": False,
        "dataset_path": f"{tier}/train",
    }


# -- data ---------------------------------------------------------------------------------------
def train_buffer(model, n: int) -> Tensor:
    """The first ``n`` samples of ``model``'s ``train`` stream, ``x`` only (float32)."""
    from saebench.synthetic import BLOCK, block

    parts, have = [], 0
    for index in range(math.ceil(n / BLOCK)):
        x, _ = block(model, "train", index)  # the block's coefficients are dropped here
        parts.append(x[: n - have])
        have += parts[-1].shape[0]
    return torch.cat(parts)


def tier_buffer(tier: str, samples: int | None = None) -> Tensor:
    """The training buffer of ``tier``: its recipe's size, or ``samples`` if fewer."""
    from saebench.synthetic import load_model

    r = recipe(tier)
    return train_buffer(load_model(tier), min(r.buffer, samples or r.samples))


def tier_rows() -> list[dict[str, Any]]:
    """One row per tier: N, D, the true L0 (on the first block of its ``eval`` stream; all
    features, and the first ``d_sae``, the most frequent) when the tier is built, and the
    recipe. Nothing is built here."""
    from saebench.synthetic import TIER_RECIPES, TIERS, block, model_folder
    from saebench.synthetic.cache import read_model

    rows = []
    for name, config in TIERS.items():
        r = recipe(name) if name in TIER_RECIPES else None
        model = read_model(model_folder(config, name), config, name)
        true = block(model, "eval", 0)[1] > 0 if model is not None else None
        rows.append(
            {
                "tier": name,
                "N": config.num_features,
                "D": config.hidden_dim,
                "true_l0": "not built"
                if true is None
                else round(float(true.sum(1).float().mean()), 2),
                "true_l0_top": "" if true is None or r is None else _top_l0(true, r.d_sae),
                **(
                    {k: getattr(r, k) for k in ("d_sae", "k", "lr", "samples", "buffer")}
                    if r
                    else {}
                ),
            }
        )
    return rows


def _top_l0(true: Tensor, d_sae: int) -> float:
    return round(float(true[:, :d_sae].sum(1).float().mean()), 2)


# -- steering the L1 coefficient to a target L0 ---------------------------------------------------
class _Steered:
    """Mix-in for an L1-penalised trainable: after each step's loss, the coefficient is
    multiplied by ``(L0 / target) ** gain``. Frozen while the penalty still warms up, so the
    ramp does not wind the coefficient up."""

    target_l0: float
    gain: float
    l1_coeff: float

    def steer(self, l0: float, step) -> None:
        if step.sparsity >= 1.0 and l0 > 0:
            self.l1_coeff *= (l0 / self.target_l0) ** self.gain

    def loss(self, x, y, step):
        total, stats = super().loss(x, y, step)
        self.steer(stats["l0"], step)
        return total, {**stats, "l1_coeff": self.l1_coeff}


class _SteeredRelu(_Steered, T._ReluL1):
    def __init__(self, *args, target_l0: float, gain: float, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.target_l0, self.gain = target_l0, gain


class _SteeredGated(_Steered, T._Gated):
    def __init__(self, *args, target_l0: float, gain: float, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.target_l0, self.gain = target_l0, gain


def matryoshka_groups(d_sae: int) -> list[int]:
    """Nested widths d_sae/32, /8, /2 and d_sae (SynthSAEBench's 128/512/2048 of 4096),
    as group sizes."""
    widths = [max(1, d_sae // 32), max(2, d_sae // 8), max(3, d_sae // 2), d_sae]
    return [widths[0]] + [b - a for a, b in zip(widths, widths[1:], strict=False)]


# -- training ---------------------------------------------------------------------------------------
def _make(arch: str, k: int, r: Recipe, config: T.TrainConfig) -> Callable[..., Any]:
    """The ``make`` of :func:`train_sae.fit` for ``arch``."""
    dead = T._dead_after(config)
    topk_kw = {"k": k, "aux_coeff": r.aux_coeff, "dead_after": dead}
    steer = {"target_l0": float(k), "gain": 0.02, "l1_coeff": r.l1_init}
    if arch == "topk":
        return T._partial(T._TopK, **topk_kw)
    if arch == "batchtopk":
        return T._partial(T._BatchTopK, **topk_kw)
    if arch == "matryoshka":
        groups = matryoshka_groups(r.d_sae)
        return T._partial(T._Matryoshka, group_sizes=groups, **topk_kw)
    if arch == "relu":
        return T._partial(_SteeredRelu, **steer)
    if arch == "gated":
        return T._partial(_SteeredGated, **steer)
    jump = {"l0_coeff": 1.0, "target_l0": float(k), "bandwidth": 0.2}
    return T._partial(T._JumpRelu, **jump, init_threshold=None, threshold_lr_scale=5.0)


@dataclass
class Trained:
    """An SAE and how its training went."""

    sae: Sae
    samples: int
    steps: int
    batch_size: int
    seconds: float
    final: str  # the last log line of the loop

    @property
    def final_loss(self) -> float | None:
        found = re.search(r"loss=([-+0-9.eE]+)", self.final)
        return float(found.group(1)) if found else None


def train(
    x: Tensor,
    tier: str,
    arch: str,
    *,
    k: int | None = None,
    samples: int | None = None,
    seed: int = 0,
    aux_coeff: float | None = None,
    log: Log | None = None,
) -> Trained:
    """Train one ``arch`` SAE on the buffer ``x`` of ``tier`` by the tier's recipe (``k``:
    the TopK family's k, the L0 target of the others; default the tier's; ``aux_coeff``:
    the AuxK coefficient of the TopK family, default the recipe's)."""
    r = recipe(tier)
    r = r if aux_coeff is None else replace(r, aux_coeff=aux_coeff)
    check_architecture(arch)
    k = k or r.k
    if not 0 < k < r.d_sae:
        raise SaebenchError(f"k must be between 1 and {r.d_sae - 1} (the SAE's width), not {k}")
    samples = samples or r.samples
    steps = max(1, samples // r.batch_size)
    config = T.TrainConfig(
        n_tokens=samples,
        batch_size=r.batch_size,
        lr=r.lr,
        dead_after_tokens=DEAD_AFTER_STEPS * r.batch_size,
        seed=seed,
        log_every=max(1, steps // 8),
    )
    make = _make(arch, k, r, config)
    lines: list[str] = []

    def keep(line: str) -> None:
        lines.append(line.strip())
        if log:
            log(line.strip())

    clock = time.perf_counter()
    with warnings.catch_warnings():  # train_sae's log line reads a float off the live loss
        warnings.filterwarnings("ignore", "Converting a tensor with requires_grad")
        sae = T.fit(make, x, d_sae=r.d_sae, config=config, meta=meta(tier), log=keep)
    seconds = time.perf_counter() - clock
    used = config.steps * config.batch_size
    return Trained(sae, used, config.steps, config.batch_size, seconds, lines[-1] if lines else "")


def save(trained: Trained, folder: Path, *, half: bool = True) -> Path:
    """Write the SAE as a SAELens folder (float16 by default, as the zoo ships it) and its
    training figures to ``folder/training.json``."""
    from saebench.adapters.saelens import save_saelens
    from saebench.files import atomic_write_text

    sae = copy.deepcopy(trained.sae).to(torch.float16) if half else trained.sae  # .to is in place
    save_saelens(sae, folder)
    atomic_write_text(folder / "training.json", json.dumps(training_entry(trained), indent=2))
    return folder


def training_entry(trained: Trained) -> dict[str, Any]:
    meta = trained.sae.meta
    k = meta.k or meta.extra.get("k")
    return {
        "architecture": meta.architecture,
        "tier": meta.model_name,
        "d_sae": meta.d_sae,
        "k": k,
        "samples": trained.samples,
        "steps": trained.steps,
        "batch_size": trained.batch_size,
        "train_seconds": round(trained.seconds, 1),
        "final_loss": trained.final_loss,
        "final": trained.final,
    }


# -- a quick ground-truth check (the ground_truth evaluator is the reference) -------------------
@torch.no_grad()
def quick_check(sae: Sae, model, n: int = 20_000) -> dict[str, float]:
    """MCC (Hungarian on |cos| of decoder rows and true features), and, on the first ``n``
    samples of the ``eval`` stream, the mean per-latent precision / recall / F1 against each
    latent's best-matching feature (SynthSAEBench's definitions), L0, EV and dead latents."""
    from saebench.synthetic import BLOCK, block
    from saebench.toolkit.matching import assign, cosines

    sim = cosines(sae.W_dec.float(), model.features).abs()
    rows, cols = assign(sim)
    best = sim.argmax(1)
    tp = fp = fn = torch.zeros(sae.d_sae, dtype=torch.float64)
    fired = torch.zeros(sae.d_sae, dtype=torch.bool)
    err = l0 = 0.0
    xs, seen = [], 0
    for index in range(math.ceil(n / BLOCK)):
        x, a = block(model, "eval", index)
        x, a = x[: n - seen], a[: n - seen]
        seen += x.shape[0]
        codes = sae.encode(x.float())
        on, truth = codes != 0, a[:, best] > 0
        tp = tp + (on & truth).sum(0)
        fp = fp + (on & ~truth).sum(0)
        fn = fn + (~on & truth).sum(0)
        fired |= on.any(0)
        err += float((sae.decode(codes, x) - x).double().pow(2).sum())
        l0 += float(on.sum())
        xs.append(x.double())
    x = torch.cat(xs)
    precision = (tp / (tp + fp)).nan_to_num(0.0)
    recall = (tp / (tp + fn)).nan_to_num(0.0)
    f1 = (2 * precision * recall / (precision + recall)).nan_to_num(0.0)
    total = float((x - x.mean(0)).pow(2).sum())
    return {
        "mcc": float(sim[rows, cols].mean()),
        "precision": float(precision.mean()),
        "recall": float(recall.mean()),
        "f1": float(f1.mean()),
        "l0": l0 / seen,
        "explained_variance": 1 - err / total,
        "dead_latents": int((~fired).sum()),
    }


# -- the shipped panel ------------------------------------------------------------------------------
@dataclass(frozen=True)
class Spec:
    """One shipped SAE: ``zoo:NAME``, NAME = ``synth4k-ARCH-K-sSEED``."""

    tier: str
    arch: str
    k: int
    seed: int = 0
    aux: float | None = None  # AuxK coefficient when not the recipe's

    @property
    def name(self) -> str:
        return f"{self.tier.replace('-', '')}-{self.arch}-{self.k}-s{self.seed}"


def plan() -> list[Spec]:
    """The synth-4k panel (every architecture at L0 near 12, TopK at k 6 / 12 / 24, three
    seeds of TopK k 12, then of BatchTopK, JumpReLU and Matryoshka), then three small
    synth-1k SAEs for tests. Most important first."""
    four = [Spec("synth-4k", arch, 12) for arch in ARCHITECTURES]
    four += [Spec("synth-4k", "topk", 12, seed) for seed in (1, 2)]
    four += [Spec("synth-4k", "topk", k) for k in (6, 24)]
    # seed spread of the leading architectures beside TopK's (ReLU and Gated: one seed)
    four += [
        Spec("synth-4k", a, 12, s) for a in ("batchtopk", "jumprelu", "matryoshka") for s in (1, 2)
    ]
    one = [Spec("synth-1k", "topk", 6, seed) for seed in (0, 1)] + [Spec("synth-1k", "relu", 6)]
    return four + one


def saes_dir() -> Path:
    return Path(__file__).resolve().parent.parent / "saes_synth"


def build(
    specs: list[Spec], out: Path, samples: int | None, eval_samples: int, log: Log
) -> dict[str, Any]:
    """Train, save and check each of ``specs`` (one buffer per tier, drawn once) and merge
    the figures into ``out/metrics.json``."""
    from saebench.synthetic import load_model

    path = out / "metrics.json"
    summary = json.loads(path.read_text()) if path.is_file() else {"saes": {}}
    for tier in dict.fromkeys(s.tier for s in specs):
        clock = time.perf_counter()
        model = load_model(tier)
        x = train_buffer(model, recipe(tier).buffer)
        log(f"{tier}: model and a buffer of {x.shape[0]} samples in {_since(clock)}")
        for spec in (s for s in specs if s.tier == tier):
            trained = train(
                x, tier, spec.arch, k=spec.k, samples=samples, seed=spec.seed, aux_coeff=spec.aux
            )
            save(trained, out / spec.name)
            aux = spec.aux or recipe(tier).aux_coeff
            entry = {**training_entry(trained), "seed": spec.seed, "aux_coeff": aux}
            entry["check"] = {
                k: _round(v) for k, v in quick_check(trained.sae, model, eval_samples).items()
            }
            entry["size_bytes"] = sum(f.stat().st_size for f in (out / spec.name).iterdir())
            summary["saes"][spec.name] = entry
            summary["eval_samples"] = eval_samples
            _write(path, summary)
            log(f"{spec.name}: {trained.seconds:.0f}s, loss {trained.final_loss}, {entry['check']}")
    summary["total_bytes"] = sum(e["size_bytes"] for e in summary["saes"].values())
    _write(path, summary)
    return summary


def _write(path: Path, summary: dict) -> None:
    from saebench.files import atomic_write_text

    path.parent.mkdir(parents=True, exist_ok=True)
    atomic_write_text(path, json.dumps(summary, indent=2) + "\n")


def _round(v: float) -> float:
    return round(v, 4) if isinstance(v, float) else v


def _since(start: float) -> str:
    return f"{time.perf_counter() - start:.0f}s"


def _print(message: str) -> None:
    print(time.strftime("%H:%M:%S"), message, flush=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("command", choices=["panel"])
    parser.add_argument("--out", type=Path, default=saes_dir(), help="where the SAEs go")
    parser.add_argument("--only", default=None, help="build these SAEs (comma-separated)")
    parser.add_argument("--samples", type=int, default=None, help="training samples per SAE")
    parser.add_argument("--eval-samples", type=int, default=20_000)
    parser.add_argument("--aux-coeff", type=float, default=None, help="override the AuxK one")
    args = parser.parse_args(argv)
    torch.set_num_threads(1)  # a shared machine; and results independent of thread count
    specs = [s for s in plan() if args.only is None or s.name in args.only.split(",")]
    if args.aux_coeff is not None:
        specs = [replace(s, aux=args.aux_coeff) for s in specs]
    build(specs, args.out, args.samples, args.eval_samples, _print)
    return 0


if __name__ == "__main__":
    sys.exit(main())
