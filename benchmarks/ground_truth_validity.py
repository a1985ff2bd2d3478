"""Does each evaluator rank SAEs the way their ground truth does? The reliability cards'
ground-truth column, from the records of a panel of SAEs on a synthetic tier.

For every evaluator metric named, over the trained SAEs of the records folder (controls and
references left out): Spearman's rank correlation with the ground-truth metric (F1 by
default, also MCC), with a 95% bootstrap interval over SAEs and the SAE count. Then, for the
ground truth itself and each metric, whether every control lands on the worse side of every
trained SAE (the controls' check).

    saebench run evals/synth-4k.yaml --out results/synth-4k
    python benchmarks/ground_truth_validity.py results/synth-4k
    python benchmarks/ground_truth_validity.py leaderboards/synth-4k/records --write-docs

``--write-docs`` puts each evaluator's lines into ``docs/evaluators/<name>.md`` between the
markers ``<!-- ground-truth:start -->`` and ``<!-- ground-truth:end -->``. Nothing is asserted.
"""

from __future__ import annotations

import argparse
import random
import sys
from pathlib import Path

from scipy.stats import spearmanr

from saebench.records import load_records

sys.path.insert(0, str(Path(__file__).resolve().parent))  # its sibling metric_reliability

ROOT = Path(__file__).resolve().parents[1]
START, END = "<!-- ground-truth:start -->", "<!-- ground-truth:end -->"
METRICS = [  # (evaluator, metric): the main metric of each evaluator that runs on a tier
    ("reconstruction", "explained_variance"),
    ("reconstruction", "fvu"),
    ("sparsity", "l0"),
    ("mdl", "description_length_bits_per_token"),
]
TRUTH = ("ground_truth", "f1")
BOOTSTRAP = 2000


def main(argv: list[str] | None = None) -> int:
    args = _parse(argv)
    table = values_by_sae(load_records(args.records))
    truths = [TRUTH, ("ground_truth", "mcc")]
    lines = {}
    matched = at_common_l0(table)
    for evaluator, metric in METRICS:
        rows = [line(table, (evaluator, metric), truth) for truth in truths]
        rows += [line(matched, (evaluator, metric), truth, "at matched L0") for truth in truths]
        if metric != "l0":  # L0 has no better side
            rows.append(controls_line(table, (evaluator, metric)))
        lines.setdefault(evaluator, []).extend(r for r in rows if r)
    lines.setdefault("ground_truth", []).extend(
        r for r in (controls_line(table, t) for t in truths) if r
    )
    for evaluator, rows in lines.items():
        print(f"## {evaluator}\n" + "\n".join(rows) + "\n")
        if args.write_docs and rows:
            write_doc(evaluator, rows, args.records)
    return 0


def _parse(argv):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("records", help="a records folder (a run's --out, or a board's records/)")
    parser.add_argument("--write-docs", action="store_true")
    return parser.parse_args(argv)


def values_by_sae(records) -> dict[str, dict]:
    """{sae name: {"role": ..., (evaluator, metric): value}} over every record."""
    table: dict[str, dict] = {}
    for record in records:
        if record.sae.role not in ("sae", "control"):
            continue
        row = table.setdefault(record.sae.name, {"role": record.sae.role})
        for metric, value in record.metrics.items():
            if isinstance(value, (int, float)) and not isinstance(value, bool):
                row[(record.evaluator.name, metric)] = float(value)
    return table


def at_common_l0(table: dict, within: float = 0.1) -> dict:
    """The rows whose L0 is within ``within`` of the trained SAEs' median L0 (controls kept):
    an L0 sweep moves every metric at once, so this is the like-for-like comparison."""
    key = ("sparsity", "l0")
    l0s = sorted(row[key] for row in table.values() if row["role"] == "sae" and key in row)
    if not l0s:
        return {}
    median = l0s[len(l0s) // 2]
    return {n: row for n, row in table.items()
            if key in row and abs(row[key] - median) <= within * median}  # fmt: skip


def line(table, metric, truth, subset: str = "") -> str | None:
    """Spearman of ``metric`` with ``truth`` over the trained SAEs, with its interval."""
    pairs = [(row[metric], row[truth]) for row in table.values()
             if row["role"] == "sae" and metric in row and truth in row]  # fmt: skip
    if len(pairs) < 4:
        return None
    rho = _spearman(pairs)
    low, high = _bootstrap(pairs)
    return (f"- `{metric[1]}` against ground-truth `{truth[1]}`: Spearman {rho:+.2f} "
            f"[{low:+.2f}, {high:+.2f}] over {len(pairs)} trained SAEs {subset}".rstrip())  # fmt: skip


def _spearman(pairs) -> float:
    a, b = zip(*pairs, strict=True)
    rho = spearmanr(a, b).statistic
    return 0.0 if rho != rho else float(rho)  # constant column: no ordering


def _bootstrap(pairs, level: float = 0.95) -> tuple[float, float]:
    rng = random.Random(0)
    draws = sorted(_spearman([rng.choice(pairs) for _ in pairs]) for _ in range(BOOTSTRAP))
    cut = int((1 - level) / 2 * BOOTSTRAP)
    return draws[cut], draws[-cut - 1]


def controls_line(table, metric) -> str | None:
    """Whether every control is worse than every trained SAE on ``metric`` (its direction
    read from the ground truth's: higher is better unless the name says it is a cost)."""
    trained = [row[metric] for row in table.values() if row["role"] == "sae" and metric in row]
    controls = {n: row[metric] for n, row in table.items()
                if row["role"] == "control" and metric in row}  # fmt: skip
    if not trained or not controls:
        return None
    lower_better = metric[1] in ("fvu", "mse", "description_length_bits_per_token")
    worst = max(trained) if lower_better else min(trained)
    below = [n for n, v in controls.items() if (v > worst if lower_better else v < worst)]
    return (f"- controls on `{metric[1]}`: {len(below)} of {len(controls)} worse than every "
            f"trained SAE (worst trained {worst:.3f}; controls "
            + ", ".join(f"{n} {v:.3f}" for n, v in sorted(controls.items())) + ")")  # fmt: skip


def write_doc(evaluator: str, rows: list[str], records: str) -> None:
    from metric_reliability import write_doc as write_between

    text = (f"### Against ground truth (synthetic tier)\n\nFrom `{records}`; command: "
            f"`python benchmarks/ground_truth_validity.py {records}`.\n\n" + "\n".join(rows))  # fmt: skip
    write_between(evaluator, text, (START, END), "Ground truth")


if __name__ == "__main__":
    sys.exit(main())
