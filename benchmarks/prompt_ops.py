"""Speed and memory of the runner's prompt operations against the plain way of doing them.

On the zoo model (4 layers, vocabulary 1,807) and on a 4-layer model built from a config with
a 50,257-id vocabulary (random weights), with right-padded prompts of different lengths and
an edit at ``blocks.1.hook_resid_post`` (steering at each prompt's last token), it measures:

  (a) prompts per second of ``runner.logits_at`` (capture up to the hook, re-run the layers
      after it, unembed one row per prompt) against a full forward with the edit as a hook
      that returns every position's logits, read at each prompt's last token; for one edit,
      and for four edits sharing one capture against four full forwards;
  (b) peak memory of ``logits_at`` against the full forward's logits, each measured in a
      fresh subprocess as the growth of the peak RSS over the resident size before the call;
  (c) new tokens per second of ``runner.generate`` under the edit (KV cache) against
      re-running the whole sequence each step (``use_cache=False``).

Times are best-of-N process CPU seconds on one thread (see benchmarks/README.md: on a shared
machine CPU time is what the work cost), measured interleaved; the figures are ratios.

    python benchmarks/prompt_ops.py            # about 2 minutes
    python benchmarks/prompt_ops.py --quick    # smoke run, about 30 seconds
"""

from __future__ import annotations

import argparse
import json
import os
import random
import subprocess
import sys
import tempfile
import time
import warnings
from pathlib import Path

import torch

HOOK = "blocks.1.hook_resid_post"
SPECIALS = ["<bos>", "<eos>", "<pad>", "<unk>"]


# -- models and prompts -----------------------------------------------------------------------
def big_vocab_model(directory: Path, vocab: int = 50_257, d_model: int = 256):
    """A 4-layer HookedTransformer from a config, random weights, a word-level tokenizer."""
    from tokenizers import Tokenizer, models, pre_tokenizers
    from transformer_lens import HookedTransformer, HookedTransformerConfig
    from transformers import PreTrainedTokenizerFast

    words = SPECIALS + [f"w{i}" for i in range(vocab - len(SPECIALS))]
    core = Tokenizer(models.WordLevel(vocab={w: i for i, w in enumerate(words)}, unk_token="<unk>"))
    core.pre_tokenizer = pre_tokenizers.Whitespace()
    special = {t.strip("<>") + "_token": t for t in SPECIALS}
    PreTrainedTokenizerFast(tokenizer_object=core, **special).save_pretrained(str(directory))
    tokenizer = PreTrainedTokenizerFast.from_pretrained(str(directory))
    cfg = HookedTransformerConfig(
        n_layers=4,
        d_model=d_model,
        n_heads=4,
        d_head=d_model // 4,
        d_mlp=4 * d_model,
        n_ctx=128,
        d_vocab=vocab,
        act_fn="gelu",
        normalization_type="LN",
        model_name="bench-4l-50k",
        seed=0,
        default_prepend_bos=True,
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        model = HookedTransformer(cfg, tokenizer=tokenizer)
    return model.eval().requires_grad_(False)


def load(name: str, directory: Path):
    if name == "zoo":
        from saebench.zoo.model import load_model

        return load_model().requires_grad_(False)
    return big_vocab_model(directory)


def prompts_for(name: str, n: int) -> list[str]:
    """Zoo city prompts (real text, 8-20 tokens), or random words of 8-24 tokens."""
    if name == "zoo":
        from saebench.tasks import build_task

        prompts = build_task("zoo-cities", {"per_kind": 1}).prompts("test")
        return [p.text for p in random.Random(0).sample(prompts, n)]
    rng = random.Random(0)
    return [
        " ".join(f"w{rng.randrange(50_000)}" for _ in range(rng.randint(8, 24))) for _ in range(n)
    ]


def steering(model, batch, scale: float):
    from saebench.models.edits import add_direction

    gen = torch.Generator().manual_seed(int(scale))
    direction = torch.randn(model.cfg.d_model, generator=gen)
    return add_direction(direction, scale, batch.ends)


# -- the operations -----------------------------------------------------------------------------
def full_forward_rows(model, batch, edits) -> torch.Tensor:
    """The plain way: one full forward per edit, the edit as a hook, logits of every position,
    then the last token's row of each prompt."""
    rows = torch.arange(len(batch))
    out = []
    for edit in edits:
        hook = [(HOOK, lambda act, hook, e=edit: e(act, 0))]
        logits = model.run_with_hooks(
            batch.tokens, attention_mask=batch.attention_mask, fwd_hooks=hook
        )
        out.append(logits[rows, batch.ends])
    return torch.stack(out)


def measure_speed(name: str, model, args) -> dict[str, float]:
    """Best-of-``repeats`` CPU seconds of each operation, the operations interleaved."""
    from saebench.models.interventions import ModelRunner
    from saebench.models.prompts import make_batch

    runner = ModelRunner(model)
    batch = make_batch(model, prompts_for(name, args.prompts))
    one = [steering(model, batch, 4.0)]
    four = [steering(model, batch, s) for s in (1.0, 2.0, 4.0, 8.0)]
    check = runner.logits_at(batch, hook=HOOK, edits=four)
    torch.testing.assert_close(check, full_forward_rows(model, batch, four), atol=1e-3, rtol=1e-3)
    small = batch.select(range(args.gen_prompts))
    steer = [steering(model, small, 4.0)]
    ops = {
        "logits_at_1": lambda: runner.logits_at(batch, hook=HOOK, edits=one),
        "full_1": lambda: full_forward_rows(model, batch, one),
        "logits_at_4": lambda: runner.logits_at(batch, hook=HOOK, edits=four),
        "full_4": lambda: full_forward_rows(model, batch, four),
        "generate": lambda: runner.generate(small, args.new, HOOK, steer),
        "rerun": lambda: runner.generate(small, args.new, HOOK, steer, use_cache=False),
    }
    best = dict.fromkeys(ops, float("inf"))
    with torch.no_grad():
        for _ in range(args.repeats):
            for key, op in ops.items():
                start = time.process_time()
                op()
                best[key] = min(best[key], time.process_time() - start)
    return {
        **best,
        "prompts": len(batch),
        "width": batch.tokens.shape[1],
        "gen_prompts": len(small),
    }


# -- memory, in a fresh process ---------------------------------------------------------------
def _status_kib(field: str) -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    raise RuntimeError(f"{field} not in /proc/self/status")


def _peak_growth(fn) -> int:
    """Bytes the peak RSS rose above the resident size while ``fn`` ran."""
    Path("/proc/self/clear_refs").write_text("5")  # resets the peak (VmHWM) to the current RSS
    before = _status_kib("VmRSS")
    fn()
    return (_status_kib("VmHWM") - before) * 1024


def memory_child(name: str, n_prompts: int) -> None:
    from saebench.models.interventions import ModelRunner
    from saebench.models.prompts import make_batch

    torch.set_num_threads(1)
    with tempfile.TemporaryDirectory() as tmp:
        model = load(name, Path(tmp))
    runner = ModelRunner(model)
    batch = make_batch(model, prompts_for(name, n_prompts))
    edits = [steering(model, batch, 4.0)]
    ops = {
        "logits_at": lambda: runner.logits_at(batch, hook=HOOK, edits=edits),
        "full": lambda: full_forward_rows(model, batch, edits),
    }
    with torch.no_grad():
        for op in [*ops.values()] * 2:
            op()  # warm up: lazy buffers, the allocator's arenas
        # the smallest of three: small allocations come from heap arenas whose growth varies
        growth = {key: min(_peak_growth(op) for _ in range(3)) for key, op in ops.items()}
    cells = len(batch) * model.cfg.d_vocab * 4
    growth["rows_bytes"] = cells
    growth["full_logits_bytes"] = cells * batch.tokens.shape[1]
    print(json.dumps(growth))


def measure_memory(name: str, n_prompts: int) -> dict:
    env = {**os.environ, "MALLOC_MMAP_THRESHOLD_": str(2**20)}  # RSS follows the live tensors
    command = [sys.executable, __file__, "--memory-child", name, "--prompts", str(n_prompts)]
    out = subprocess.run(command, env=env, capture_output=True, text=True, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


# -- report -------------------------------------------------------------------------------------
def report(name: str, model, speed: dict, memory: dict, args) -> None:
    n, g = speed["prompts"], speed["gen_prompts"]
    cfg = model.cfg
    print(
        f"\n{name}: {cfg.n_layers} layers, d_model {cfg.d_model}, vocab {cfg.d_vocab:,}; "
        f"{n} prompts, padded width {speed['width']}; edit at {HOOK}"
    )
    for k in (1, 4):
        ours, full = n / speed[f"logits_at_{k}"], n / speed[f"full_{k}"]
        print(
            f"  (a) {k} edit(s): logits_at {ours:8.0f} prompts/s   full forward with hooks "
            f"{full:8.0f} prompts/s   ratio {ours / full:5.2f}x"
        )
    mib = 2**20
    print(
        f"  (b) peak RSS growth: logits_at {memory['logits_at'] / mib:7.1f} MiB   full logits "
        f"{memory['full'] / mib:7.1f} MiB   ratio {memory['full'] / max(memory['logits_at'], 1):5.1f}x"
        f"   (logits tensors: rows {memory['rows_bytes'] / mib:.1f} MiB, "
        f"every position {memory['full_logits_bytes'] / mib:.1f} MiB)"
    )
    new = g * args.new
    cached, rerun = new / speed["generate"], new / speed["rerun"]
    print(
        f"  (c) generate {args.new} tokens x {g} prompts under the edit: KV cache "
        f"{cached:7.0f} tokens/s   re-running the prefix {rerun:7.0f} tokens/s   ratio "
        f"{cached / rerun:5.2f}x"
    )


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--prompts", type=int, default=64, help="prompts per batch for (a), (b)")
    parser.add_argument("--gen-prompts", type=int, default=16, help="prompts generated in (c)")
    parser.add_argument("--new", type=int, default=24, help="tokens generated per prompt in (c)")
    parser.add_argument("--repeats", type=int, default=5, help="best of N")
    parser.add_argument("--models", default="zoo,50k", help="comma-separated: zoo, 50k")
    parser.add_argument("--quick", action="store_true", help="fewer prompts and repeats")
    parser.add_argument("--memory-child", default=None, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.quick:
        args.prompts, args.gen_prompts, args.new, args.repeats = 16, 4, 8, 2
    return args


def main(argv=None) -> None:
    args = parse_args(argv)
    if args.memory_child:
        memory_child(args.memory_child, args.prompts)
        return
    torch.set_num_threads(1)
    print(f"torch {torch.__version__}, 1 thread; best of {args.repeats}, process CPU time")
    for name in args.models.split(","):
        with tempfile.TemporaryDirectory() as tmp:
            model = load(name, Path(tmp))
        speed = measure_speed(name, model, args)
        memory = measure_memory(name, args.prompts)
        report(name, model, speed, memory, args)


if __name__ == "__main__":
    main()
