"""Reliability cards: how much each evaluator's main metric moves when reseeded, how far each
trained SAE stands from its controls, and the smallest difference the metric can resolve.

For every evaluator named, the SAEs (zoo names) and the controls of the first SAE are run
``--seeds`` times. A seed redraws everything the evaluator samples: prompt evaluators get
their ``seed`` (or ``seeds``) setting, streamed evaluators a disjoint slice of the zoo's
held-out documents (their sample is the token set). For each row the card prints:

- the mean main metric over seeds and its reseed standard deviation;
- the mean half-width of the 95% interval the record itself reports (an honest interval is
  close to 1.96 reseed standard deviations);
- for each trained SAE, its separation from each control: the difference of means over the
  standard deviation of that difference (above ~3: told apart);
- the smallest difference the metric resolves at these sizes: 2.77 times the median reseed
  standard deviation (two independent measurements, 95%).

    python benchmarks/metric_reliability.py --evaluators sparsity,reconstruction
    python benchmarks/metric_reliability.py --evaluators ravel --preset quickstart --write-docs

``--write-docs`` puts each card into ``docs/evaluators/<name>.md`` between the markers
``<!-- reliability:start -->`` and ``<!-- reliability:end -->``. Nothing is asserted.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

import saebench
from saebench.registry import evaluators as registry
from saebench.zoo.catalog import evaluation_texts

ROOT = Path(__file__).resolve().parents[1]
START, END = "<!-- reliability:start -->", "<!-- reliability:end -->"


def main(argv: list[str] | None = None) -> int:
    args = _parse(argv)
    cards = {}
    for name in args.evaluators.split(","):
        started = time.perf_counter()
        runs = collect(name, args)
        cards[name] = card(name, runs, args, time.perf_counter() - started)
        print(cards[name], flush=True)
        if args.write_docs:
            write_doc(name, cards[name])
    if args.json:
        Path(args.json).write_text(json.dumps(cards, indent=2))
    return 0


def _parse(argv):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--evaluators", default="reconstruction,sparsity")
    parser.add_argument("--saes", default="resid-topk-16,resid-relu,resid-jumprelu")
    parser.add_argument("--controls", default="permuted_decoder,matched_l0_random")
    parser.add_argument("--seeds", type=int, default=5)
    parser.add_argument("--tokens", type=int, default=12_000, help="per seed (streamed)")
    parser.add_argument("--preset", choices=["default", "quickstart"], default="quickstart")
    parser.add_argument("--set", action="append", default=[], help="EVALUATOR.FIELD=VALUE")
    parser.add_argument("--write-docs", action="store_true")
    parser.add_argument("--json", help="also write the cards to this file")
    parser.add_argument("--llm-model", help="judge of autointerp (e.g. saebench-sim)")
    parser.add_argument("--llm-base-url", help="its server (e.g. `saebench llm-sim`'s URL)")
    return parser.parse_args(argv)


def rows_of(args) -> list[str]:
    saes = [f"zoo:{name}" for name in args.saes.split(",")]
    controls = [k for k in args.controls.split(",") if k]
    return saes + [control_uri(kind, saes[0]) for kind in controls]


def control_uri(kind: str, uri: str) -> str:
    """The URI of a control of ``uri`` (docs/controls.md)."""
    return f"control:{kind}:{uri}"


def collect(name: str, args) -> dict[str, list[tuple[float | None, float | None]]]:
    """(main value, interval half-width) per row and seed."""
    cls = registry.get(name)
    streams = _streams(cls)
    runs: dict[str, list] = {}
    for seed in range(args.seeds):
        config = _config(cls, args, seed)
        dataset = _slice(seed, args.seeds) if streams else None
        with tempfile.TemporaryDirectory() as out:
            records = saebench.evaluate(
                rows_of(args), model="zoo", dataset=dataset or "zoo", evaluators=[name],
                configs={name: config}, n_tokens=args.tokens, out_dir=out, progress=False,
                llm=_llm(args, out),
            )  # fmt: skip
        for record in records:
            interval = record.main_interval
            half = interval.half_width if interval is not None else None
            runs.setdefault(_label(record), []).append((record.main_value, half))
    return runs


def _streams(cls) -> bool:
    """Whether the evaluator reads the streamed tokens (its needs may depend on its config)."""
    return cls.needs_for(cls.Config()).activations


def _llm(args, out: str) -> dict | None:
    """The judge for autointerp; each seed gets a fresh response cache (a real rerun)."""
    if not args.llm_model:
        return None
    return {"model": args.llm_model, "base_url": args.llm_base_url, "cache_dir": out}


def _config(cls, args, seed: int) -> dict:
    config = dict(cls.quickstart) if args.preset == "quickstart" else {}
    for item in args.set:
        target, _, value = item.partition("=")
        evaluator, _, field = target.partition(".")
        if evaluator == cls.name:
            config[field] = json.loads(value) if value[:1] in "[{0123456789-tf" else value
    fields = cls.Config.model_fields
    if "seed" in fields:
        config["seed"] = seed
    elif "seeds" in fields:
        config["seeds"] = [seed]
    return config


def _slice(seed: int, n_seeds: int) -> list[str]:
    """Every n-th held-out document, offset by the seed: disjoint samples of the same text."""
    texts = list(evaluation_texts())
    return texts[seed::n_seeds]


def _label(record) -> str:
    if record.sae.role == "control":
        return f"{record.sae.name} (control)"
    if record.sae.role == "reference":
        return f"{record.sae.name} (reference)"
    return record.sae.name


def card(name: str, runs: dict, args, seconds: float) -> str:
    cls = registry.get(name)
    stats = {row: _stats(values) for row, values in runs.items()}
    lines = [
        f"### Reliability card: `{name}.{cls.main_metric}`",
        "",
        f"{args.seeds} seeds, preset `{args.preset}`"
        + (f", {args.tokens:,} tokens per seed (disjoint slices)" if _streams(cls) else "")
        + f"; {seconds:.0f} s wall on this machine. Command: "
        f"`python benchmarks/metric_reliability.py --evaluators {name} --preset {args.preset}"
        + (f" --seeds {args.seeds}" if args.seeds != 5 else "")
        + "`.",
        "",
        "| row | mean | reseed sd | mean 95% CI half-width |",
        "| --- | ---: | ---: | ---: |",
    ]
    for row, (mean, sd, half) in stats.items():
        lines.append(f"| {row} | {_fmt(mean)} | {_fmt(sd)} | {_fmt(half)} |")
    lines += ["", *_separations(stats), "", _resolution(stats)]
    return "\n".join(lines)


def _stats(values):
    mains = [v for v, _ in values if v is not None]
    halves = [h for _, h in values if h is not None]
    mean = statistics.fmean(mains) if mains else None
    sd = statistics.stdev(mains) if len(mains) > 1 else None
    half = statistics.fmean(halves) if halves else None
    return mean, sd, half


def _separations(stats) -> list[str]:
    controls = {r: s for r, s in stats.items() if r.endswith("(control)")}
    trained = {r: s for r, s in stats.items() if "(" not in r}
    lines = ["Separation from the controls (difference of means / its reseed sd):", ""]
    for row, (mean, sd, _) in trained.items():
        parts = []
        for control, (c_mean, c_sd, _) in controls.items():
            if None in (mean, sd, c_mean, c_sd):
                continue
            spread = (sd**2 + c_sd**2) ** 0.5
            ratio = abs(mean - c_mean) / spread if spread > 0 else float("inf")
            parts.append(f"{control.removesuffix(' (control)')} {ratio:.1f}")
        lines.append(f"- {row}: " + (", ".join(parts) if parts else "n/a"))
    return lines


def _resolution(stats) -> str:
    sds = [sd for _, sd, _ in stats.values() if sd is not None]
    if not sds:
        return "Smallest resolvable difference: n/a (fewer than two seeds)."
    smallest = 2.77 * statistics.median(sds)
    return (
        f"Smallest resolvable difference at these sizes (2.77 x median reseed sd): {smallest:.4f}."
    )


def _fmt(value) -> str:
    return "n/a" if value is None else f"{value:.4f}"


def write_doc(name: str, text: str, markers=(START, END), heading="Reliability") -> None:
    """Put ``text`` into ``docs/evaluators/NAME.md`` between ``markers`` (replacing what was
    there), or under a new ``## heading`` at the end."""
    start, end = markers
    path = ROOT / "docs" / "evaluators" / f"{name}.md"
    doc = path.read_text()
    block = f"{start}\n{text}\n{end}"
    if start in doc and end in doc:
        head, rest = doc.split(start, 1)
        doc = head + block + rest.split(end, 1)[1]
    else:
        doc = doc.rstrip() + f"\n\n## {heading}\n\n" + block + "\n"
    path.write_text(doc)


if __name__ == "__main__":
    sys.exit(main())
