"""How much each CE/KL convention moves the numbers, on the zoo (the sizes that
docs/evaluators/reconstruction.md quotes).

For a few zoo SAEs it evaluates ``reconstruction`` under SAELens's rules (the default: the
zero ablation zeroes every position, a CE position counts when its input token is not
special) and under the older rules (special positions keep their clean activation in the
ablation, and a CE position also needs a non-special target), and prints both with their
difference. It also prints the uncentred explained variance ``1 - sum||x - x_hat||^2 /
sum||x||^2`` beside the centred one, the quantity SAEBench's formula comes close to.

    python benchmarks/conventions.py [--tokens 32768]
"""

from __future__ import annotations

import argparse

import torch

SAES = ("resid-topk-16", "resid-relu", "resid-random", "mlp-topk-16", "transcoder-mlp")
OLDER = {"zero_ablation": "counted_positions", "ce_positions": "both_counted"}
SHOWN = (
    "ce_loss_clean",
    "ce_loss_zero_ablated",
    "ce_loss_score",
    "kl_zero_ablated",
    "kl_div_score",
)


def evaluate(names, n_tokens, config):
    import saebench

    return saebench.evaluate(
        [f"zoo:{name}" for name in names],
        model="zoo",
        dataset="zoo",
        evaluators=["reconstruction"],
        n_tokens=n_tokens,
        configs={"reconstruction": config},
        device="cpu",
        progress=False,
    )


def uncentred_explained_variance(name: str, n_tokens: int) -> float:
    """1 - sum||x - x_hat||^2 / sum||x||^2 over the counted tokens of the zoo text."""
    from saebench.adapters.resolve import load_sae
    from saebench.data.contexts import make_token_set
    from saebench.models.load import load_model

    model, sae = load_model("zoo", "cpu"), load_sae(f"zoo:{name}")
    meta = sae.meta
    tokens = make_token_set(
        "zoo", tokenizer=model.tokenizer, context_size=meta.context_size, n_tokens=n_tokens,
        separator=meta.sequence_separator,
    )  # fmt: skip
    hooks = sorted({meta.hook_name, meta.output_hook})
    err = total = 0.0
    with torch.no_grad():
        for batch in tokens.tokens.split(16):
            cache = model.run_with_cache(batch, names_filter=hooks)[1]
            keep = tokens.mask(batch)
            x, target = cache[meta.hook_name][keep], cache[meta.output_hook][keep]
            x_hat = sae(x)[1]
            err += float((target - x_hat).double().pow(2).sum())
            total += float(target.double().pow(2).sum())
    return 1 - err / total


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--tokens", type=int, default=32_768)
    args = parser.parse_args(argv)
    torch.set_num_threads(1)
    saelens = {r.sae.name: r.metrics for r in evaluate(SAES, args.tokens, {})}
    older = {r.sae.name: r.metrics for r in evaluate(SAES, args.tokens, OLDER)}
    print(f"zoo model, zoo text, {args.tokens:,} tokens; SAELens rules (default) / older rules")
    print(f"{'sae':16}" + "".join(f"{m:>34}" for m in SHOWN))
    for name in SAES:
        cells = [
            f"{saelens[name][m]:.4f} / {older[name][m]:.4f} ({older[name][m] - saelens[name][m]:+.4f})"
            for m in SHOWN
        ]
        print(f"{name:16}" + "".join(f"{c:>34}" for c in cells))
    print("\nexplained variance, centred (ours) / uncentred (close to SAEBench's formula)")
    for name in SAES:
        centred = saelens[name]["explained_variance"]
        print(f"  {name:16}{centred:.4f} / {uncentred_explained_variance(name, args.tokens):.4f}")


if __name__ == "__main__":
    main()
