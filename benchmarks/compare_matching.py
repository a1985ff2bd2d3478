"""Cost of exact Hungarian matching and error of the approximate one (saebench.toolkit.matching).

For pairs of direction sets of n latents in d = n/16 dimensions, two kinds of pair:
``aligned`` (85 % of B's latents are noisy copies of A's, permuted; mean matched cos about
0.8, like two seeds of one SAE) and ``unrelated`` (independent random directions, the worst
case for the Hungarian algorithm), it times the exact matching (``match``, dense matrix and
scipy's linear_sum_assignment) and the approximate one (``match(max_exact=0)``: sparse graph
of each side's ``--candidates`` best partners, LAPJVsp), and prints the approximation's error
against exact: the mean matched cos, the fraction of pairs above 0.5 / 0.7 / 0.9, and the
fraction of latents given the same partner. With ``--zoo`` it does the same on the trained
SmolLM2 zoo SAEs (2304 latents). Sizes above ``--exact-up-to`` get the approximation only.
One torch thread; wall and CPU seconds (on a shared machine the CPU time is the steadier).

    python benchmarks/compare_matching.py --sizes 1024 4096 16384
    python benchmarks/compare_matching.py --sizes 32768 65536 --exact-up-to 16384
    python benchmarks/compare_matching.py --sizes --zoo
"""

from __future__ import annotations

import argparse
import time

import torch

from saebench.toolkit.matching import CosineRows, match


def pair(n: int, kind: str, seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    gen = torch.Generator().manual_seed(seed)
    d = max(16, n // 16)
    a = torch.randn(n, d, generator=gen)
    b = torch.randn(n, d, generator=gen)
    if kind == "aligned":
        k = int(0.85 * n)
        source = torch.randperm(n, generator=gen)[:k]
        unit = a[source] / a[source].norm(dim=1, keepdim=True)
        b[:k] = unit + 0.55 * torch.randn(k, d, generator=gen) / d**0.5
    return a, b


def compare(sim, n: int, exact_too: bool, candidates: int) -> dict:
    out = {}
    began, cpu = time.perf_counter(), time.process_time()
    approx = match(sim, max_exact=0, candidates=candidates)
    out["approx_s"] = time.perf_counter() - began
    out["approx_cpu"] = time.process_time() - cpu
    out["approx_mean"] = approx.mean()
    if exact_too:
        began, cpu = time.perf_counter(), time.process_time()
        exact = match(sim)
        out["exact_s"] = time.perf_counter() - began
        out["exact_cpu"] = time.process_time() - cpu
        out["exact_mean"] = exact.mean()
        out["d_mean"] = approx.mean() - exact.mean()
        out["d_frac"] = max(
            abs(approx.fraction_above(t) - exact.fraction_above(t)) for t in (0.5, 0.7, 0.9)
        )
        same = approx.partner_of_rows(sim.n_rows) == exact.partner_of_rows(sim.n_rows)
        out["same_partner"] = float(same.float().mean())
    return out


def show(label: str, row: dict) -> None:
    text = "  ".join(f"{k} {v:.4f}" if isinstance(v, float) else f"{k} {v}" for k, v in row.items())
    print(f"{label:<32} {text}", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="*", default=[1024, 4096])
    parser.add_argument("--exact-up-to", type=int, default=16384)
    parser.add_argument("--candidates", type=int, default=16)
    parser.add_argument("--zoo", action="store_true")
    args = parser.parse_args()
    torch.set_num_threads(1)
    for n in args.sizes:
        for kind in ("aligned", "unrelated"):
            a, b = pair(n, kind)
            row = compare(CosineRows(a, b), n, n <= args.exact_up_to, args.candidates)
            show(f"{kind} {n}x{n}", row)
    if args.zoo:
        from saebench.adapters.resolve import load_sae

        names = ["smollm2-resid-topk-16", "smollm2-resid-topk-32", "smollm2-resid-relu"]
        saes = {name: load_sae(f"zoo:{name}") for name in names}
        for i, x in enumerate(names):
            for y in names[i + 1 :]:
                sim = CosineRows(saes[x].W_dec, saes[y].W_dec)
                show(f"{x[14:]} vs {y[14:]} dec", compare(sim, sim.n_rows, True, args.candidates))


if __name__ == "__main__":
    main()
