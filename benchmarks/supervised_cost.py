"""The ``supervised`` evaluator on every zoo SAE: every axis per SAE, the supervised
dictionary and the baselines (neurons, PCA, random) at each hook, and what it costs (the
figures of docs/evaluators/supervised.md).

    python benchmarks/supervised_cost.py                  # default config (IOI, END)
    python benchmarks/supervised_cost.py --quickstart     # QUICKSTART_CONFIG, timed
    python benchmarks/supervised_cost.py --set position=s2 --saes resid-topk-16,resid-relu
"""

from __future__ import annotations

import argparse
import json
import time

COLUMNS = (
    ("suff", "sufficiency"),
    ("nec", "necessity"),
    ("acc_aware", "edit_accuracy_aware"),
    ("acc_agn", "edit_accuracy_agnostic"),
    ("mag_aware", "edit_magnitude_aware"),
    ("mag_agn", "edit_magnitude_agnostic"),
    ("best_f1", "mean_best_f1"),
    ("covered", "fraction_values_covered"),
    ("occl", "occluded_values"),
    ("split", "oversplit_values"),
)


def _cell(value) -> str:
    if value is None:
        return "-"
    return f"{value:.3f}" if isinstance(value, float) and not value.is_integer() else f"{value:g}"


def _row(name: str, values: dict) -> str:
    return "| " + " | ".join([name] + [_cell(values.get(key)) for _, key in COLUMNS]) + " |"


def table(records) -> str:
    """One markdown row per SAE, then the reference records (the supervised dictionary, whose
    edit is its aware edit, and the baselines), one per hook."""
    head = "| dictionary | " + " | ".join(short for short, _ in COLUMNS) + " |"
    lines = [head, "|" + "---|" * (len(COLUMNS) + 1)]
    for rec in records:
        if rec.sae.role == "reference":
            continue
        status = rec.details.get("status", "")
        if status != "ok":
            lines.append(f"| {rec.sae.name} | {status} |")
            continue
        lines.append(_row(rec.sae.name, rec.metrics))
    for rec in records:
        if rec.sae.role == "reference":
            lines.append(_row(f"{rec.sae.name} @ {rec.sae.hook_name}", rec.metrics))
    return "\n".join(lines)


def main() -> None:
    import torch

    import saebench
    from saebench.evaluators.supervised import QUICKSTART_CONFIG
    from saebench.zoo.catalog import sae_names

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quickstart", action="store_true", help="use QUICKSTART_CONFIG")
    parser.add_argument("--saes", default=None, help="comma-separated zoo names (all)")
    parser.add_argument("--set", action="append", default=[], help="FIELD=JSON value")
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    config = dict(QUICKSTART_CONFIG) if args.quickstart else {}
    for item in args.set:
        key, _, value = item.partition("=")
        try:
            config[key] = json.loads(value)
        except json.JSONDecodeError:
            config[key] = value
    names = args.saes.split(",") if args.saes else sae_names()
    started = time.perf_counter()
    records = saebench.evaluate(
        [f"zoo:{n}" for n in names],
        model="zoo",
        dataset="zoo",
        evaluators=["supervised"],
        n_tokens=256,  # no tokens are streamed for this evaluator
        configs={"supervised": config},
        progress=False,
    )
    seconds = time.perf_counter() - started
    first = next((r for r in records if r.details.get("status") == "ok"), None)
    if first is not None:
        d = first.details
        print(
            f"task {first.task.name} position {d['position']} metric builder "
            f"{d['metric_builder']} prompts {d['prompts']} pairs {d['pairs']}"
        )
    print(table(records))
    finish = sum(r.timing.get("finish_seconds", 0.0) for r in records)
    print(f"\n{len(records)} SAEs: {seconds:.1f} s wall, {finish:.1f} s in finish()")


if __name__ == "__main__":
    main()
