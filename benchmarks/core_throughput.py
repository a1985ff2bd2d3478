"""Speed and memory of saebench's core evaluation, as multiples of the compute floor.

On a synthetic 4-layer model built from a config (random weights, word-level tokenizer) and
random SAEs hooked at ``blocks.1.hook_resid_post``, this measures in one run:

  (a) a plain forward pass over all tokens, in the batches the harness uses;
  (b) ``saebench.evaluate`` with ``reconstruction`` + ``sparsity`` (CE/KL on) for one SAE;
  (c) the same for ``--saes`` SAEs on the same hook;

and the compute floor of (b) and (c), measured in the same run: one clean forward, the SAE
encode/decode matmuls, and one forward of the layers after the hook per SAE plus one for zero
ablation. It prints each time, its floor and time/floor, and an estimate of an
SAELens/SAEBench-style evaluation (four full forwards per SAE: clean, spliced, zero-ablated,
and again for sparsity). Then, each in a fresh subprocess, the peak RSS of ``evaluate`` for
one SAE at ``--tokens`` and at ten times as many tokens. It prints figures; it asserts nothing.

Times are best-of-N wall times with the measurements interleaved, so ratios within one run
hold up when other work shares the machine; absolute times do not.

    python benchmarks/core_throughput.py            # full run, about 10 minutes
    python benchmarks/core_throughput.py --quick    # smoke run, under a minute
"""

from __future__ import annotations

import argparse
import json
import math
import random
import subprocess
import sys
import tempfile
import time
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import torch

HOOK = "blocks.1.hook_resid_post"
START_LAYER = 2  # the first block after HOOK
EVALUATORS = ("reconstruction", "sparsity")
SPECIALS = ["<bos>", "<eos>", "<pad>", "<unk>"]


@dataclass(frozen=True)
class Shape:
    """Sizes of one benchmark run."""

    tokens: int = 100_000
    saes: int = 8
    d_model: int = 128
    vocab: int = 2048
    context: int = 128
    expansion: int = 8
    repeats: int = 2
    memory_factor: int = 10


QUICK = Shape(tokens=8_192, saes=4, d_model=64, vocab=1024, repeats=1, memory_factor=4)


# -- the synthetic model, corpus and SAEs ------------------------------------------------------
def word_tokenizer(directory: Path, vocab: int):
    """A word-level fast tokenizer of ``vocab`` ids, saved and loaded back (TransformerLens
    needs a tokenizer object with special tokens)."""
    from tokenizers import Tokenizer, models, pre_tokenizers
    from transformers import PreTrainedTokenizerFast

    words = SPECIALS + [f"w{i}" for i in range(vocab - len(SPECIALS))]
    core = Tokenizer(models.WordLevel(vocab={w: i for i, w in enumerate(words)}, unk_token="<unk>"))
    core.pre_tokenizer = pre_tokenizers.Whitespace()
    fast = PreTrainedTokenizerFast(
        tokenizer_object=core,
        bos_token="<bos>",
        eos_token="<eos>",
        pad_token="<pad>",
        unk_token="<unk>",
    )
    fast.save_pretrained(str(directory))
    return PreTrainedTokenizerFast.from_pretrained(str(directory))


def build_model(directory: Path, shape: Shape):
    from transformer_lens import HookedTransformer, HookedTransformerConfig

    tokenizer = word_tokenizer(directory, shape.vocab)
    cfg = HookedTransformerConfig(
        n_layers=4,
        d_model=shape.d_model,
        n_heads=4,
        d_head=shape.d_model // 4,
        d_mlp=4 * shape.d_model,
        n_ctx=shape.context,
        d_vocab=shape.vocab,
        act_fn="gelu",
        normalization_type="LN",
        model_name="bench-4l",
        seed=0,
        default_prepend_bos=True,
    )
    return HookedTransformer(cfg, tokenizer=tokenizer).eval().requires_grad_(False)


def write_corpus(path: Path, n_tokens: int, vocab: int, seed: int = 0) -> Path:
    """Random documents of 20-400 words, a few more words than ``n_tokens`` in all."""
    rng = random.Random(seed)
    words = [f"w{i}" for i in range(vocab - len(SPECIALS))]
    lines, total = [], 0
    while total < n_tokens * 1.05 + 1000:
        length = rng.randint(20, 400)
        lines.append(" ".join(rng.choices(words, k=length)))
        total += length + 1
    path.write_text("\n".join(lines) + "\n")
    return path


def random_sae(d_in: int, d_sae: int, seed: int):
    """A standard (ReLU) SAE with random weights and unit-norm decoder rows."""
    from saebench.sae import SaeMetadata, build_sae

    gen = torch.Generator().manual_seed(seed)
    W_dec = torch.randn(d_sae, d_in, generator=gen)
    tensors = {
        "W_enc": torch.randn(d_in, d_sae, generator=gen) / d_in**0.5,
        "b_enc": torch.randn(d_sae, generator=gen) * 0.1,
        "W_dec": W_dec / W_dec.norm(dim=1, keepdim=True),
        "b_dec": torch.randn(d_in, generator=gen) * 0.1,
    }
    meta = SaeMetadata(
        architecture="standard",
        d_in=d_in,
        d_sae=d_sae,
        hook_name=HOOK,
        model_name="bench-4l",
        source=f"bench-sae-{seed}",
    )
    return build_sae(meta, tensors, where="benchmark").eval().requires_grad_(False)


def harness_batch_size(model, sae, context: int) -> int:
    """The batch size ``evaluate`` picks by itself for one SAE with CE/KL."""
    from saebench.activations.shared_pass import SaeSlot
    from saebench.evaluators.base import Needs
    from saebench.runner import auto_batch_size

    return auto_batch_size(model, [SaeSlot(sae, [], [Needs(downstream=True)])], context, "cpu")


# -- timing -----------------------------------------------------------------------------------
def run_evaluate(model, corpus: Path, saes: list, n_tokens: int, batch: int, context: int):
    import saebench

    return saebench.evaluate(
        saes,
        model=model,
        dataset=str(corpus),
        evaluators=EVALUATORS,
        n_tokens=n_tokens,
        context_size=context,
        batch_size=batch,
        device="cpu",
        resume=False,
        progress=False,
    )


@contextmanager
def counting_forwards():
    """Collects every SharedPass that runs, to read its count of clean forwards."""
    from saebench.activations.shared_pass import SharedPass

    passes, original = [], SharedPass.run

    def run(self):
        original(self)
        passes.append(self)

    SharedPass.run = run
    try:
        yield passes
    finally:
        SharedPass.run = original


class Stopwatch:
    """Wall and process-CPU seconds, added up over laps. With one thread, CPU time is what
    the work cost even while other processes take turns on the cores."""

    def __init__(self) -> None:
        self.wall = 0.0
        self.cpu = 0.0

    @contextmanager
    def lap(self):
        wall, cpu = time.perf_counter(), time.process_time()
        yield
        self.wall += time.perf_counter() - wall
        self.cpu += time.process_time() - cpu


def time_evaluate(model, corpus, saes, n_tokens, batch, context) -> dict:
    """Seconds of one evaluate call and clean forwards per batch of its shared pass."""
    watch = Stopwatch()
    with counting_forwards() as passes, watch.lap():
        run_evaluate(model, corpus, saes, n_tokens, batch, context)
    forwards = sum(p.model_forwards for p in passes)
    batches = math.ceil(math.ceil(n_tokens / context) / batch)
    return {"wall": watch.wall, "cpu": watch.cpu, "forwards_per_batch": forwards / batches}


@torch.no_grad()
def time_floor(model, tokens: torch.Tensor, saes: list, batch: int) -> dict[str, Stopwatch]:
    """Each part of the floor, summed over batches: the clean forward, each SAE's encode and
    decode, and one forward of the layers after the hook (any edit costs the same)."""
    parts = {"clean": Stopwatch(), "tail": Stopwatch()}
    parts.update({f"sae{i}": Stopwatch() for i in range(len(saes))})
    kept = {}

    def keep(act, hook):
        kept["resid"] = act

    for start in range(0, tokens.shape[0], batch):
        with parts["clean"].lap():
            model.run_with_hooks(
                tokens[start : start + batch], fwd_hooks=[(HOOK, keep)], return_type="logits"
            )
        for i, sae in enumerate(saes):
            with parts[f"sae{i}"].lap():
                sae(kept["resid"])
        with parts["tail"].lap():
            model(kept["resid"], start_at_layer=START_LAYER, return_type="logits")
    return parts


def best(samples: list[dict]) -> dict[str, dict[str, float]]:
    """Per figure, the least wall and the least CPU time over repeats."""

    def get(sample, key, clock):
        value = sample[key]
        return getattr(value, clock) if isinstance(value, Stopwatch) else value[clock]

    return {
        key: {clock: min(get(s, key, clock) for s in samples) for clock in ("wall", "cpu")}
        for key in samples[0]
    }


def measure_speed(model, corpus: Path, saes: list, shape: Shape, batch: int) -> dict:
    from saebench.data.contexts import make_contexts
    from saebench.data.sources import text_source

    tokens = make_contexts(model.tokenizer, text_source(str(corpus)), shape.context, shape.tokens)
    warm = min(shape.tokens, 2 * batch * shape.context)
    run_evaluate(model, corpus, saes[:1], warm, batch, shape.context)  # imports, plug-ins
    floors, runs = [], []
    for _ in range(shape.repeats):  # interleaved, so load drift hits every figure alike
        floors.append(time_floor(model, tokens.tokens, saes, batch))
        one = time_evaluate(model, corpus, saes[:1], shape.tokens, batch, shape.context)
        many = time_evaluate(model, corpus, saes, shape.tokens, batch, shape.context)
        runs.append({"one": one, "many": many})
    forwards = {k: runs[-1][k]["forwards_per_batch"] for k in ("one", "many")}
    return {**best(floors), **best(runs), "forwards": forwards, "n_tokens": tokens.n_tokens}


# -- memory -----------------------------------------------------------------------------------
def memory_child(n_tokens: int, shape: Shape, batch: int, threads: int) -> None:
    """Runs in a fresh process: evaluate one SAE on ``n_tokens``, print RSS figures as JSON."""
    torch.set_num_threads(threads)
    with tempfile.TemporaryDirectory(prefix="saebench-bench-") as tmp:
        model = build_model(Path(tmp), shape)
        corpus = write_corpus(Path(tmp) / "corpus.txt", n_tokens, shape.vocab)
        sae = random_sae(shape.d_model, shape.expansion * shape.d_model, seed=0)
        before = _status_kib("VmRSS")
        records = run_evaluate(model, corpus, [sae], n_tokens, batch, shape.context)
        peak = _status_kib("VmHWM")
    figures = {
        "n_tokens": records[0].dataset.n_tokens,
        "before_mib": before / 1024,
        "peak_mib": peak / 1024,
        "token_ids_mib": records[0].dataset.n_tokens * 8 / 2**20,
    }
    print(json.dumps(figures))


def _status_kib(field: str) -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    raise RuntimeError(f"no {field} in /proc/self/status")


def measure_memory(args, shape: Shape, batch: int) -> list[dict]:
    results = []
    for n_tokens in (shape.tokens, shape.memory_factor * shape.tokens):
        command = [sys.executable, __file__, "--memory-child", str(n_tokens), "--threads"]
        command += [str(args.threads), "--batch-size", str(batch)] + (["--quick"] * args.quick)
        done = subprocess.run(command, capture_output=True, text=True, check=True)
        results.append(json.loads(done.stdout.strip().splitlines()[-1]))
    return results


# -- report -----------------------------------------------------------------------------------
def floors(speed: dict, n: int, clock: str) -> tuple[float, float]:
    """The floor of (b) and (c): one clean forward, the SAE matmuls, and one after-hook
    forward per SAE plus one for zero ablation (once per hook, whatever the SAE count)."""
    clean, tail = speed["clean"][clock], speed["tail"][clock]
    sae = [speed[f"sae{i}"][clock] for i in range(n)]
    return clean + sae[0] + 2 * tail, clean + sum(sae) + (n + 1) * tail


def report_speed(speed: dict, shape: Shape, batch: int) -> None:
    n = shape.saes
    print(f"\nspeed: best of {shape.repeats}; {speed['n_tokens']:,} tokens", end="")
    print(f" in batches of {batch} x {shape.context}                 wall s    cpu s")
    for label, key in (
        ("(a) plain forward over all tokens", "clean"),
        ("    floor part: SAE encode + decode, one SAE", "sae0"),
        ("    floor part: layers after the hook, one run", "tail"),
    ):
        print(f"  {label:66}{speed[key]['wall']:8.2f} {speed[key]['cpu']:8.2f}")
    print(
        f"\n  {'':22}{'wall s':>8}{'floor':>8}{'ratio':>8}{'cpu s':>9}{'floor':>8}{'ratio':>8}",
        end="",
    )
    print(f"{'target':>8}{'clean fwd/batch':>17}")
    rows = [("(b) evaluate, 1 SAE", "one", 0), (f"(c) evaluate, {n} SAEs", "many", 1)]
    for label, key, which in rows:
        line = f"  {label:22}"
        for clock in ("wall", "cpu"):
            got, floor = speed[key][clock], floors(speed, n, clock)[which]
            line += f"{got:8.2f}{floor:8.2f}{got / floor:7.2f}x" + (" " if clock == "wall" else "")
        print(line + f"{'1.3x':>8}{speed['forwards'][key]:17.2f}")
    print("  (whole evaluate call, tokenisation and records included)")
    print("\n  SAELens/SAEBench-style estimate, 4 full forwards per SAE (from (a)):")
    for label, key, which in rows:
        k = 1 if which == 0 else n
        est = {c: 4 * k * speed["clean"][c] for c in ("wall", "cpu")}
        print(
            f"  {label:22}{est['wall']:8.2f} s wall = {est['wall'] / speed[key]['wall']:5.2f}x ours"
            f"{est['cpu']:9.2f} s cpu = {est['cpu'] / speed[key]['cpu']:5.2f}x ours"
        )


def report_memory(results: list[dict]) -> None:
    small, large = results
    print("\nmemory: peak RSS of evaluate, one SAE, each size in a fresh process (MiB)")
    print(
        f"  {'tokens':>10}{'before':>9}{'peak':>9}{'growth':>9}{'token ids':>10}{'growth-ids':>11}"
    )
    for r in results:
        growth = r["peak_mib"] - r["before_mib"]
        print(
            f"  {r['n_tokens']:>10,}{r['before_mib']:9.1f}{r['peak_mib']:9.1f}{growth:9.1f}"
            f"{r['token_ids_mib']:10.1f}{growth - r['token_ids_mib']:11.1f}"
        )
    ids = large["token_ids_mib"] - small["token_ids_mib"]
    print(f"  peak ratio {large['peak_mib'] / small['peak_mib']:.3f} (target <= 1.10); ")
    print(f"  peak ratio without token ids {(large['peak_mib'] - ids) / small['peak_mib']:.3f}")
    print("  (before: RSS after imports, model and SAE; growth: peak - before)")


def report_setup(shape: Shape, batch: int, auto: int, threads: int) -> None:
    print("saebench core throughput")
    print(
        f"  model: 4 layers, d_model {shape.d_model}, d_mlp {4 * shape.d_model}, 4 heads, "
        f"n_ctx {shape.context}, vocab {shape.vocab}; random weights"
    )
    print(
        f"  SAEs: ReLU, width {shape.expansion * shape.d_model} at {HOOK}; "
        f"evaluators {' + '.join(EVALUATORS)} with CE/KL"
    )
    print(f"  torch {torch.__version__}, {threads} thread(s); harness auto batch size {auto}")
    print("  note: wall times on a shared machine; compare the ratios, not the seconds")


# -- entry point ------------------------------------------------------------------------------
def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--tokens", type=int, help="tokens per evaluation (default 100,000)")
    parser.add_argument("--saes", type=int, help="SAEs on the hook in (c) (default 8)")
    parser.add_argument("--threads", type=int, default=1, help="torch threads (default 1)")
    parser.add_argument("--batch-size", type=int, help="contexts per batch (default: harness's)")
    parser.add_argument("--repeats", type=int, help="best of this many timings (default 2)")
    parser.add_argument("--skip-memory", action="store_true", help="skip the RSS measurement")
    parser.add_argument("--quick", action="store_true", help="small sizes, a smoke run")
    parser.add_argument("--memory-child", type=int, help=argparse.SUPPRESS)
    return parser.parse_args(argv)


def shape_from(args) -> Shape:
    base = QUICK if args.quick else Shape()
    fields = {k: getattr(args, k) for k in ("tokens", "saes", "repeats")}
    return Shape(**{**base.__dict__, **{k: v for k, v in fields.items() if v is not None}})


def main(argv=None) -> None:
    args = parse_args(argv)
    shape = shape_from(args)
    if args.memory_child:
        return memory_child(args.memory_child, shape, args.batch_size, args.threads)
    torch.set_num_threads(args.threads)
    with tempfile.TemporaryDirectory(prefix="saebench-bench-") as tmp:
        model = build_model(Path(tmp), shape)
        corpus = write_corpus(Path(tmp) / "corpus.txt", shape.tokens, shape.vocab)
        width = shape.expansion * shape.d_model
        saes = [random_sae(shape.d_model, width, seed) for seed in range(shape.saes)]
        auto = harness_batch_size(model, saes[0], shape.context)
        batch = args.batch_size or auto
        report_setup(shape, batch, auto, args.threads)
        report_speed(measure_speed(model, corpus, saes, shape, batch), shape, batch)
    if not args.skip_memory:
        report_memory(measure_memory(args, shape, batch))


if __name__ == "__main__":
    main()
