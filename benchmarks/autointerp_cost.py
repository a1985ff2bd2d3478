"""What autointerp costs at default settings, per latent and per scored example, beside
SAEBench's and delphi's defaults. Every default scorer is counted (explain, detection,
fuzzing and intervention, with its null): the first line is the whole bill per latent.

It runs ``autointerp`` (default config) on one zoo SAE against the simulated judge
(``SimServer`` on 127.0.0.1) and attributes the client's counts to each purpose (explain,
detect, fuzz, choose / surprisal). The simulated server counts tokens by whitespace, so its
token figures are word counts: a real tokenizer gives about 1.3 tokens per English word.

SAEBench and delphi are derived from their defaults (docs/evaluators/autointerp.md, and
the reference notes in the docs): SAEBench makes 2 calls per latent (one explanation of 15
windows of 21 tokens, one scoring call over 14 windows) for 14 scored examples; delphi's
CLI makes 1 explanation call (40 windows of 32 tokens) + 20 detection + 20 fuzzing calls (5
examples per prompt over 50 activating + 50 non-activating windows) = 41 calls for 200
scored examples. Their example tokens are the windows' tokens only (a lower bound: their
system prompts and few-shot examples come on top), printed to compare with our prompts'
totals.

    python benchmarks/autointerp_cost.py [--sae zoo:resid-topk-16] [--tokens 40000]
        [--no-prompt-logprobs]
"""

from __future__ import annotations

import argparse
import tempfile
from collections import defaultdict

PURPOSES = ("explain", "detect", "fuzz", "choose", "surprisal")
USAGE = ("requests", "prompt_tokens", "completion_tokens")


def instrument(counts: dict) -> None:
    """Attribute the client's counters to each call's purpose (each call of the evaluator
    sends requests of one purpose)."""
    from saebench.llm.client import LlmClient

    chat, surprisal = LlmClient.chat, LlmClient.surprisal

    def measured(method, purpose_of):
        def call(self, requests):
            before = self.stats
            out = method(self, requests)
            after = self.stats
            purpose = purpose_of(requests)
            for name in USAGE:
                counts[purpose][name] += after[name] - before[name]
            return out

        return call

    LlmClient.chat = measured(chat, lambda reqs: reqs[0].purpose if reqs else "explain")
    LlmClient.surprisal = measured(surprisal, lambda reqs: "surprisal")


def measure(sae: str, n_tokens: int, prompt_logprobs: bool) -> tuple[dict, dict]:
    import saebench
    from saebench.llm.sim import SimServer

    counts: dict = defaultdict(lambda: dict.fromkeys(USAGE, 0))
    instrument(counts)
    with (
        SimServer(port=0, prompt_logprobs=prompt_logprobs) as server,
        tempfile.TemporaryDirectory() as d,
    ):
        llm = {"model": "saebench-sim", "base_url": server.base_url, "cache_dir": d}
        (record,) = saebench.evaluate(
            [sae], model="zoo", dataset="zoo", evaluators=["autointerp"], n_tokens=n_tokens,
            llm=llm, progress=False,
        )  # fmt: skip
    return counts, record


def scored_examples(record) -> dict[str, int]:
    out = {"detect": 0, "fuzz": 0, "intervention": 0}
    names = {"detection": "detect", "fuzzing": "fuzz", "intervention": "intervention"}
    for latent in record.details["latents"]:
        for scorer, score in latent["scores"].items():
            out[names[scorer]] += score["n"]
    return out


def explained_latents(record) -> int:
    """Latents that got an explanation and went to the scorers (scored or dense)."""
    return int(record.metrics["n_latents_scored"] + record.metrics.get("n_dense", 0))


def totals(counts: dict, purposes=PURPOSES) -> dict[str, float]:
    """Requests and tokens summed over every purpose (every scorer a run made)."""
    return {name: sum(counts[p][name] for p in purposes if p in counts) for name in USAGE}


def print_ours(counts: dict, record) -> dict:
    n_latents = explained_latents(record)
    examples = scored_examples(record)
    mode = record.details["intervention_mode"]
    print(f"saebench autointerp, defaults, {int(n_latents)} scored latents, intervention: {mode}")
    print(f"{'purpose':<12}{'req/latent':>12}{'prompt/latent':>15}{'compl/latent':>14}"
          f"{'examples/latent':>17}")  # fmt: skip
    for purpose in PURPOSES:
        if purpose not in counts:
            continue
        c = counts[purpose]
        shown = {"detect": "detect", "fuzz": "fuzz", "choose": "intervention",
                 "surprisal": "intervention"}.get(purpose)  # fmt: skip
        ex = examples[shown] / n_latents if shown else 0.0
        print(f"{purpose:<12}{c['requests'] / n_latents:>12.2f}{c['prompt_tokens'] / n_latents:>15.1f}"
              f"{c['completion_tokens'] / n_latents:>14.1f}{ex:>17.1f}")  # fmt: skip
    every = totals(counts)
    shown = sum(examples.values()) / n_latents
    print(f"{'all':<12}{every['requests'] / n_latents:>12.2f}{every['prompt_tokens'] / n_latents:>15.1f}"
          f"{every['completion_tokens'] / n_latents:>14.1f}{shown:>17.1f}")  # fmt: skip
    return examples


def window_tokens_per_example(record) -> float:
    """Tokens of the windows shown (explainer + detection + fuzzing) per scored example:
    the same basis as the SAEBench and delphi figures."""
    shown = n = 0
    for latent in record.details["latents"]:
        if "detection" not in latent["scores"] and "fuzzing" not in latent["scores"]:
            continue
        for ex in latent.get("examples", []):
            size = len(ex["tokens"])
            if ex["used_for"] == "explain":
                shown += size
            else:
                shown += size * (1 + (ex["kind"] != "negative"))  # detection, fuzzing
        n += sum(
            latent["scores"][s]["n"] for s in ("detection", "fuzzing") if s in latent["scores"]
        )
    return shown / max(n, 1)


def per_example(counts: dict, purposes: tuple[str, ...], n_examples: int) -> dict[str, float]:
    return {
        name: sum(counts[p][name] for p in purposes if p in counts) / max(n_examples, 1)
        for name in USAGE
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sae", default="zoo:resid-topk-16")
    parser.add_argument("--tokens", type=int, default=40_000)
    parser.add_argument("--no-prompt-logprobs", action="store_true")
    args = parser.parse_args()
    counts, record = measure(args.sae, args.tokens, not args.no_prompt_logprobs)
    examples = print_ours(counts, record)
    both = per_example(counts, ("explain", "detect", "fuzz"), examples["detect"] + examples["fuzz"])
    steer = per_example(counts, ("choose", "surprisal"), examples["intervention"])
    print()
    every = per_example(counts, PURPOSES, sum(examples.values()))
    print("per scored example (explanation included)    requests  prompt words  completion words")
    print(f"  saebench, every default scorer           {every['requests']:>8.3f}"
          f"{every['prompt_tokens']:>14.1f}{every['completion_tokens']:>18.1f}")  # fmt: skip
    print(f"  saebench detection + fuzzing             {both['requests']:>8.3f}"
          f"{both['prompt_tokens']:>14.1f}{both['completion_tokens']:>18.1f}")  # fmt: skip
    print(f"  saebench intervention (per passage)      {steer['requests']:>8.3f}"
          f"{steer['prompt_tokens']:>14.1f}{steer['completion_tokens']:>18.1f}")  # fmt: skip
    print(f"  saebench, window tokens only             {'':>8}"
          f"{window_tokens_per_example(record):>14.1f}")  # fmt: skip
    # window tokens only, a lower bound on their prompts
    saebench_tokens = (15 * 21 + 14 * 21) / 14
    delphi_tokens = (40 * 32 + 200 * 32) / 200
    print(
        f"  SAEBench (2 calls / 14 examples)         {2 / 14:>8.3f}{saebench_tokens:>14.1f}"
        "   (window tokens only; + system prompts)"
    )
    print(
        f"  delphi CLI (41 calls / 200 examples)     {41 / 200:>8.3f}{delphi_tokens:>14.1f}"
        "   (window tokens only; + system and few-shot prompts)"
    )


if __name__ == "__main__":
    main()
