"""Description length of TopK SAEs of several widths on 8x8 digits, at one reconstruction error.

Ayonrinde et al. (2024) find on MNIST that the SAE with the shortest description at a fixed
error tolerance is neither the narrowest (dense codes of small fragments) nor the widest
(memorised whole digits). This script asks the same of scikit-learn's bundled 8x8 digits:

* data: the 1,797 digits scaled to [0, 1], each also shifted by one pixel in the 8
  directions (9 copies); 360 digits (3,240 vectors) are held out and every number below is
  measured on them, so memorising the training digits does not pay;
* SAEs: TopK, trained here in plain torch (Adam, unit-norm decoder rows, decoder initialised
  from training vectors), for each width over a ladder of k;
* matched accuracy: the evaluator runs with ``max_fvu=EPSILON``, i.e. at the coarsest
  precision whose quantised held-out FVU is at most EPSILON (the paper's epsilon). For each
  width the table shows the k with the shortest description among those that reach EPSILON
  (the search finds the smallest k on the ladder that does, and also tries the next one).

Run:  python benchmarks/mdl_digits.py            (about 2 minutes on one core)
      python benchmarks/mdl_digits.py --epsilon 0.2 --widths 32,128,512
"""

from __future__ import annotations

import argparse
import time
import warnings

import numpy as np
import torch

from saebench.evaluators.base import EvalContext, SaeBatch
from saebench.evaluators.mdl import MdlConfig, MdlEvaluator
from saebench.sae import SaeMetadata, build_sae

K_LADDER = (1, 2, 3, 4, 6, 8, 12, 16, 24, 32)
HELD_OUT_DIGITS = 360


def load_data(seed: int) -> tuple[torch.Tensor, torch.Tensor]:
    """(train, test) digit vectors in [0, 1], shifted copies included, split by digit."""
    from sklearn.datasets import load_digits

    images = load_digits().images / 16.0
    order = np.random.default_rng(seed).permutation(len(images))

    def with_shifts(block: np.ndarray) -> torch.Tensor:
        padded = np.pad(block, ((0, 0), (1, 1), (1, 1)))  # shifted-in pixels are blank
        copies = [
            padded[:, 1 + dy : 9 + dy, 1 + dx : 9 + dx] for dy in (-1, 0, 1) for dx in (-1, 0, 1)
        ]
        return torch.tensor(np.concatenate(copies).reshape(-1, 64), dtype=torch.float32)

    test = with_shifts(images[order[:HELD_OUT_DIGITS]])
    train = with_shifts(images[order[HELD_OUT_DIGITS:]])
    return train, test


def topk_codes(pre: torch.Tensor, k: int) -> torch.Tensor:
    values, indices = pre.topk(k, dim=-1)
    return torch.zeros_like(pre).scatter(-1, indices, values.relu())


def train_topk(data: torch.Tensor, width: int, k: int, epochs: int, seed: int) -> dict:
    """Plain TopK SAE training; returns canonical tensors for ``build_sae``."""
    gen = torch.Generator().manual_seed(seed)
    mean = data.mean(0)
    start = data[torch.randint(0, len(data), (width,), generator=gen)] - mean
    W_dec = start + 0.01 * torch.randn(width, data.shape[1], generator=gen)
    W_dec = (W_dec / W_dec.norm(dim=1, keepdim=True)).requires_grad_(True)
    W_enc = W_dec.detach().T.clone().requires_grad_(True)
    b_enc = torch.zeros(width, requires_grad=True)
    b_dec = mean.clone().requires_grad_(True)
    optimiser = torch.optim.Adam([W_enc, b_enc, W_dec, b_dec], lr=3e-3)
    for _ in range(epochs):
        for rows in torch.randperm(len(data), generator=gen).split(128):
            x = data[rows]
            x_hat = topk_codes((x - b_dec) @ W_enc + b_enc, k) @ W_dec + b_dec
            loss = (x - x_hat).pow(2).sum(-1).mean()
            optimiser.zero_grad()
            loss.backward()
            optimiser.step()
            with torch.no_grad():
                W_dec /= W_dec.norm(dim=1, keepdim=True)
    return {"W_enc": W_enc, "b_enc": b_enc, "W_dec": W_dec, "b_dec": b_dec}


def as_sae(tensors: dict, width: int, k: int):
    meta = SaeMetadata(
        architecture="topk",
        d_in=64,
        d_sae=width,
        k=k,
        hook_name="digits.pixels",
        apply_b_dec_to_input=True,
        dataset_path="sklearn.datasets.load_digits",
    )
    tensors = {name: t.detach() for name, t in tensors.items()}
    return build_sae(meta, tensors, where=f"digits width {width} k {k}").requires_grad_(False)


def measure(sae, data: torch.Tensor, epsilon: float):
    """Run the MDL evaluator's two passes over ``data`` directly (no language model)."""
    config = MdlConfig(max_fvu=epsilon, bits=list(range(1, 11)), dense_bits=list(range(1, 9)))
    evaluator = MdlEvaluator(config, EvalContext(sae=sae))
    with torch.no_grad():
        for pass_index in (0, 1):
            for index, x in enumerate(data.split(1024)):
                codes, x_hat = sae(x)
                evaluator.update(
                    SaeBatch(
                        sae=sae,
                        tokens=torch.zeros(1, len(x), dtype=torch.long),
                        mask=torch.ones(1, len(x), dtype=torch.bool),
                        x=x,
                        target=x,
                        codes=codes,
                        x_hat=x_hat,
                        pass_index=pass_index,
                        batch_index=index,
                    )
                )
    return evaluator.finish()


def sweep_width(train, test, width, epsilon, epochs, seed, k_start) -> list[dict]:
    """Every (width, k) tried while looking for the smallest k that reaches epsilon.

    A wider SAE rarely needs a larger k, so the search starts at the narrower width's answer
    (``k_start``) and walks the ladder down while epsilon is reached, or up until it is
    reached; it also keeps one rung above the smallest k that reaches it, since a larger k
    can need fewer bits per value and so cost less.
    """
    ladder = [k for k in K_LADDER if k <= width]
    at = max((i for i, k in enumerate(ladder) if k <= k_start), default=0)
    tried: dict[int, dict] = {}

    def ok(i: int) -> bool:
        if i not in tried:
            tried[i] = measure_row(train, test, width, ladder[i], epsilon, epochs, seed)
        return tried[i]["ok"]

    step = -1 if ok(at) else 1
    while 0 <= at + step < len(ladder) and ok(at + step) == (step < 0):
        at += step
    if step > 0 and tried[at]["ok"] is False and at + 1 < len(ladder):
        at += 1
    if tried[at]["ok"] and at + 1 < len(ladder):
        ok(at + 1)
    return [tried[i] for i in sorted(tried)]


def measure_row(train, test, width, k, epsilon, epochs, seed) -> dict:
    sae = as_sae(train_topk(train, width, k, epochs, seed), width, k)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # "no precision reaches epsilon" is an expected answer
        result = measure(sae, test, epsilon)
    m, details = result.metrics, result.details
    return dict(
        width=width,
        k=k,
        alive=details["alive_latents"],
        fvu=m.fvu,
        fvu_q=m.fvu_quantized,
        bits=m.precision_bits,
        dl=m.description_length_bits_per_token,
        firing=m.firing_bits_per_token,
        value=m.value_bits_per_token,
        bound=m.simple_bound_bits_per_token,
        dense=m.dense_baseline_bits_per_token,
        ok=details["tolerance_met"],
    )


def print_table(rows: list[dict]) -> None:
    head = (
        f"{'width':>6} {'k=L0':>5} {'alive':>6} {'FVU':>6} {'FVU_q':>6} {'bits':>5} "
        f"{'DL':>7} {'firing':>7} {'value':>7} {'bound':>7} {'dense':>6}"
    )
    print(head)
    print("-" * len(head))
    for r in rows:
        dense = "-" if r["dense"] is None else f"{r['dense']:.0f}"
        print(
            f"{r['width']:>6} {r['k']:>5} {r['alive']:>6} {r['fvu']:>6.3f} {r['fvu_q']:>6.3f} "
            f"{r['bits']:>5.0f} {r['dl']:>7.1f} {r['firing']:>7.1f} {r['value']:>7.1f} "
            f"{r['bound']:>7.1f} {dense:>6}"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument(
        "--epsilon", default="0.25,0.15", help="held-out FVU(s) to match, comma-separated"
    )
    parser.add_argument("--widths", default="16,32,64,128,256,512,1024,2048")
    parser.add_argument("--epochs", type=int, default=5)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--all", action="store_true", help="also print every (width, k) tried")
    args = parser.parse_args()
    torch.set_num_threads(1)
    started = time.perf_counter()
    train, test = load_data(args.seed)
    print(f"digits: {len(train)} training and {len(test)} held-out vectors (64-d, in [0, 1])")
    widths = [int(w) for w in args.widths.split(",")]
    n_trained = 0
    for epsilon in (float(e) for e in args.epsilon.split(",")):
        print(f"\nmatched accuracy: quantised held-out FVU <= {epsilon}")
        best, tried = sweep_widths(train, test, widths, epsilon, args.epochs, args.seed)
        n_trained += len(tried)
        print_table(best)
        if args.all:
            print("every SAE trained:")
            print_table(tried)
        report_minimum(best)
    seconds = time.perf_counter() - started
    print(f"\n{n_trained} SAEs trained and measured in {seconds:.0f} s")


def sweep_widths(train, test, widths, epsilon, epochs, seed) -> tuple[list[dict], list[dict]]:
    """The best row per width reaching epsilon, and every row tried."""
    best, tried, k_start = [], [], 1
    for width in widths:
        rows = sweep_width(train, test, width, epsilon, epochs, seed, k_start)
        tried += rows
        ok = [row for row in rows if row["ok"]]
        if not ok:
            print(f"width {width}: no k up to {rows[-1]['k']} reaches FVU {epsilon}; skipped")
            k_start = rows[-1]["k"]
            continue
        best.append(min(ok, key=lambda row: row["dl"]))
        k_start = min(row["k"] for row in ok)
    return best, tried


def report_minimum(best: list[dict]) -> None:
    if not best:
        return
    lowest = min(best, key=lambda row: row["dl"])
    inner = best[0] is not lowest and best[-1] is not lowest
    where = "an intermediate width" if inner else "an end of the range of widths"
    print(
        f"\nshortest description: width {lowest['width']} (k={lowest['k']}), "
        f"{lowest['dl']:.1f} bits/token, at {where}."
    )
    dense = lowest["dense"]
    if dense is not None:
        print(f"dense baseline at the same FVU: {dense:.0f} bits/token")


if __name__ == "__main__":
    main()
