"""The figures of a tier on this machine: build time, cached load time, samples per second
on one thread, the true L0 (all features and the top d_sae) and rho_mm (the mean over
features of the largest |cos| with another feature), with and without orthogonalisation.

    python -m saebench.synthetic.measure synth-1k synth-4k
"""

from __future__ import annotations

import argparse
import tempfile
import time

import torch

from saebench.synthetic.build import build_model
from saebench.synthetic.cache import load_model
from saebench.synthetic.config import TIER_RECIPES, tier
from saebench.synthetic.dictionary import max_abs_cosines
from saebench.synthetic.streams import BLOCK, batches, block


def measure(name: str, n: int = 40_960) -> dict:
    """The figures of tier ``name`` (true L0 over the first ``n`` samples of "eval")."""
    config = tier(name)
    with tempfile.TemporaryDirectory() as folder:
        start = time.perf_counter()
        model = load_model(name, cache_dir=folder)
        built = time.perf_counter() - start
        start = time.perf_counter()
        load_model(name, cache_dir=folder)
        loaded = time.perf_counter() - start
    block(model, "train", 0)  # warm-up
    start = time.perf_counter()
    for index in range(1, 5):
        block(model, "train", index)
    per_second = 4 * BLOCK / (time.perf_counter() - start)
    width = TIER_RECIPES[name].d_sae
    l0 = top = 0.0
    for _, a in batches(model, "eval", n, BLOCK):
        l0 += float((a > 0).sum()) / n
        top += float((a[:, :width] > 0).sum()) / n
    plain = build_model(config.model_copy(update={"orthogonalization": None}))
    return {
        "tier": name,
        "build_s": round(built, 2),
        "cached_load_s": round(loaded, 3),
        "samples_per_s": round(per_second),
        "true_l0": round(l0, 3),
        f"true_l0_top_{width}": round(top, 3),
        "rho_mm": round(float(max_abs_cosines(model.features).mean()), 4),
        "rho_mm_without_orthogonalisation": round(float(max_abs_cosines(plain.features).mean()), 4),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("tiers", nargs="+")
    parser.add_argument("--samples", type=int, default=40_960)
    args = parser.parse_args()
    torch.set_num_threads(1)
    for name in args.tiers:
        print(measure(name, args.samples))


if __name__ == "__main__":
    main()
