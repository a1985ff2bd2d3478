"""What RAVEL costs on the zoo: a full-size run (the evaluator's defaults) over every zoo SAE,
with the neuron, PCA and DAS references shared per hook.

Prints, per SAE, the mask-training time, the held-out interventions per second and its
disentanglement; per hook, what each reference cost (paid once, by the first SAE of the
hook); and the time to build the instances (once per run). With ``--table`` it also prints
the markdown tables of ``docs/evaluators/ravel.md`` (cause / isolation / disentanglement per
target attribute and split, for every SAE and reference).

    python benchmarks/ravel_throughput.py                          # full size, every zoo SAE
    python benchmarks/ravel_throughput.py --set position=last --table
    python benchmarks/ravel_throughput.py --quickstart --saes resid-topk-16,resid-relu

Per-part times are CPU seconds of the process (what the part costs on an idle machine with
one thread; the wall time of a shared machine is longer), the total is given both ways;
``--threads`` sets torch's CPU threads (1 by default: the zoo's tensors are too small for
more to help). Records go to ``--out``.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path


def parse_args() -> argparse.Namespace:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--saes", default=None, help="comma-separated zoo names (default: all)")
    ap.add_argument(
        "--set",
        action="append",
        default=[],
        metavar="FIELD=VALUE",
        help="a ravel config value (JSON or text), repeatable",
    )
    ap.add_argument("--quickstart", action="store_true", help="start from QUICKSTART_CONFIG")
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--out", type=Path, default=None, help="folder for the records")
    ap.add_argument("--table", action="store_true", help="print the docs' score tables")
    return ap.parse_args()


def config_of(args: argparse.Namespace) -> dict:
    from saebench.evaluators.ravel import QUICKSTART_CONFIG

    config = dict(QUICKSTART_CONFIG) if args.quickstart else {}
    for item in args.set:
        field, _, raw = item.partition("=")
        try:
            config[field] = json.loads(raw)
        except json.JSONDecodeError:
            config[field] = raw
    return config


def main() -> None:
    args = parse_args()
    import torch

    torch.set_num_threads(args.threads)
    import saebench
    from saebench.zoo.catalog import sae_names

    names = args.saes.split(",") if args.saes else sae_names()
    config = config_of(args)
    began, cpu = time.perf_counter(), time.process_time()
    records = saebench.evaluate(
        [f"zoo:{n}" for n in names],
        model="zoo",
        evaluators=["ravel"],
        configs={"ravel": config},
        out_dir=args.out,
        progress=False,
    )
    total, cpu = time.perf_counter() - began, time.process_time() - cpu
    print(
        f"ravel on {len(records)} zoo SAEs, config {config or 'defaults'}: {total:.1f} s wall, "
        f"{cpu:.1f} s CPU (model and SAE loading included; {torch.get_num_threads()} thread(s))"
    )
    report(records)
    if args.table:
        print()
        print(tables(records))


def report(records) -> None:
    refs = [r for r in records if r.sae.role == "reference"]
    records = [r for r in records if r.sae.role != "reference"]
    ok = [r for r in records if r.details.get("status") == "ok"]
    if ok:
        d = ok[0].details
        print(
            f"answers: {d['answers_cpu_seconds']:.1f} CPU s; pairs {d['pairs']}; "
            f"answer tokens {d['answer_tokens']}; position {d['position']}"
        )
    print(
        "| sae | hook | mask training CPU s | probe CPU s | interventions per CPU s | "
        "disentanglement |"
    )
    print("|---|---|---|---|---|---|")
    for r in records:
        if r.details.get("status") != "ok":
            print(f"| {r.sae.name} | {r.sae.hook_name} | {r.details.get('status')} | | | |")
            continue
        t = r.details["timing"]
        print(
            f"| {r.sae.name} | {r.sae.hook_name} | {t['mdbm']['train_cpu_seconds']:.2f} | "
            f"{t['probe']['train_cpu_seconds']:.2f} | {t['mdbm']['pairs_per_cpu_second']} | "
            f"{r.metrics['disentanglement']:.3f} |"
        )
    print("\n| hook | reference | CPU s (train + eval) | interventions per CPU s |")
    print("|---|---|---|---|")
    for r in refs:  # references are records of their own (ravel version 2)
        t = r.details["timing"]
        seconds = t["train_cpu_seconds"] + t["eval_cpu_seconds"]
        print(f"| {r.sae.hook_name} | {r.sae.name} | {seconds:.2f} | {t['pairs_per_cpu_second']} |")


def tables(records) -> str:
    """One row per (SAE or reference, target): cause / isolation / disentanglement on both
    splits; each reference once per hook."""
    refs = [r for r in records if r.sae.role == "reference"]
    ok = [r for r in records if r.sae.role != "reference" and r.details.get("status") == "ok"]
    lines = [
        "| dictionary | hook | target | cause (entity) | isolation (entity) | "
        "disentanglement (entity) | cause (context) | isolation (context) | "
        "disentanglement (context) |",
        "|---|---|---|---|---|---|---|---|---|",
    ]

    def rows(name, hook, scores):
        for target, splits in scores.items():
            e, c = splits["entity"], splits["context"]
            lines.append(
                f"| {name} | {hook} | {target} | "
                + " | ".join(
                    _num(s[k]) for s in (e, c) for k in ("cause", "isolation", "disentanglement")
                )
                + " |"
            )

    for r in ok:
        rows(r.sae.name, r.sae.hook_name, r.details["scores"]["mdbm"])
    for r in refs:
        rows(f"*{r.sae.name}*", r.sae.hook_name, r.details["scores"])
    lines += [
        "",
        "| dictionary | disentanglement (95 % interval over pairs) | probe | context | train | "
        "selected |",
        "|---|---|---|---|---|---|",
    ]
    for r in ok + refs:
        m, iv = r.metrics, r.intervals.get("disentanglement")
        span = "" if iv is None or iv.low is None else f" [{iv.low:.3f}, {iv.high:.3f}]"
        lines.append(
            f"| {r.sae.name} | {_num(m.get('disentanglement'))}{span} | "
            f"{_num(m.get('disentanglement_probe'))} | "
            f"{_num(m.get('disentanglement_context'))} | {_num(m.get('disentanglement_train'))} | "
            f"{_num(m.get('selected_latents'), 1)} |"
        )
    return "\n".join(lines)


def _num(value, digits: int = 3) -> str:
    return "–" if value is None else f"{value:.{digits}f}"


if __name__ == "__main__":
    main()
