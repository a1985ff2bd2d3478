"""Measure what the zoo model knows on held-out data: fact recall through phrasings it never saw
for a city, IOI on held-out name pairs and templates, and the loss on held-out text.

``python -m saebench.zoo.evaluate_model [--split test|val] [--quick]`` prints the figures;
``build_model`` calls :func:`evaluate` to write ``metrics.json``.

Example:
    >>> from saebench.zoo.model import load_model
    >>> metrics = evaluate(load_model(), split="test")
    >>> metrics["country_accuracy"] >= 0.9
"""

from __future__ import annotations

import argparse
import json
from collections import defaultdict
from collections.abc import Sequence

import torch

from saebench.models import last_logits, token_id
from saebench.tasks import zoo_facts, zoo_ioi
from saebench.zoo.corpus import heldout_sentences

# The gates the shipped model must pass on the test split (see README.md).
GATES: dict[str, float] = {
    "country_accuracy": 0.90,
    "continent_accuracy": 0.90,
    "language_accuracy": 0.85,
    "ioi_heldout_pairs_accuracy": 0.95,
    "ioi_heldout_templates_accuracy": 0.85,
}


def fact_accuracy(model, prompts: Sequence[zoo_facts.FactPrompt]) -> dict[str, float]:
    """Top-1 accuracy of the answer token, per relation, per (relation, kind) and per kind."""
    logits = last_logits(model, [p.text for p in prompts])
    predicted = logits.argmax(-1).tolist()
    hits: dict[str, list[bool]] = defaultdict(list)
    for p, guess in zip(prompts, predicted, strict=True):
        ok = guess == token_id(model, p.answer)
        hits[p.relation].append(ok)
        hits[f"{p.relation}_{p.kind}"].append(ok)
        hits[p.kind].append(ok)
    return {key: sum(v) / len(v) for key, v in hits.items()}


def ioi_accuracy(model, prompts: Sequence[zoo_ioi.IoiPrompt]) -> dict[str, float]:
    """Share of prompts with logit(IO) > logit(S), the mean logit difference, and top-1
    accuracy of the IO name."""
    logits = last_logits(model, [p.text for p in prompts])
    io = torch.tensor([token_id(model, p.io) for p in prompts])
    s = torch.tensor([token_id(model, p.s) for p in prompts])
    rows = torch.arange(len(prompts))
    diff = logits[rows, io] - logits[rows, s]
    return {
        "accuracy": (diff > 0).float().mean().item(),
        "logit_diff": diff.mean().item(),
        "top1_accuracy": (logits.argmax(-1) == io).float().mean().item(),
    }


def mean_loss(model, texts: Sequence[str], batch_size: int = 128) -> float:
    """Mean next-token cross-entropy (nats) over every token of ``texts`` after ``<bos>``."""
    total, count = summed_loss(model, texts, batch_size)
    return total / count


@torch.no_grad()
def summed_loss(model, texts: Sequence[str], batch_size: int = 128) -> tuple[float, int]:
    """Summed next-token cross-entropy over every token of ``texts`` after ``<bos>``, and the
    number of tokens it covers."""
    tok = model.tokenizer
    total, count = 0.0, 0
    for start in range(0, len(texts), batch_size):
        ids = [tok(t)["input_ids"][: model.cfg.n_ctx] for t in texts[start : start + batch_size]]
        width = max(len(i) for i in ids)
        batch = torch.full((len(ids), width), tok.pad_token_id, dtype=torch.long)
        mask = torch.zeros((len(ids), width), dtype=torch.bool)
        for r, row in enumerate(ids):
            batch[r, : len(row)] = torch.tensor(row)
            mask[r, : len(row)] = True
        logits = model(batch.to(model.cfg.device), return_type="logits").float().cpu()
        losses = torch.nn.functional.cross_entropy(
            logits[:, :-1].transpose(1, 2), batch[:, 1:], reduction="none"
        )
        keep = mask[:, 1:]
        total += losses[keep].sum().item()
        count += int(keep.sum())
    return total, count


def evaluate(
    model,
    split: str = "test",
    fact_per_kind: int | None = 2,
    n_ioi: int = 1000,
    n_loss_sentences: int = 2000,
    diagnostics: bool = True,
    seed: int = 0,
) -> dict[str, float]:
    """All figures of ``metrics.json`` on ``split`` (``"test"`` for the shipped numbers,
    ``"val"`` while training). Smaller arguments give a quicker, noisier estimate."""
    out: dict[str, float] = {}
    heldout = zoo_facts.fact_prompts(split, per_kind=fact_per_kind, seed=seed)
    by_key = fact_accuracy(model, heldout)
    for rel in zoo_facts.RELATIONS:
        out[f"{rel}_accuracy"] = by_key[rel]
        for kind in ("unseen_for_city", "unseen_anywhere"):
            out[f"{rel}_{kind}_accuracy"] = by_key[f"{rel}_{kind}"]
    for heldout_part in ("pairs", "templates"):
        prompts = zoo_ioi.ioi_prompts(split, n_ioi, seed=seed, heldout=heldout_part)
        for key, value in ioi_accuracy(model, prompts).items():
            out[f"ioi_heldout_{heldout_part}_{key}"] = value
    if diagnostics:
        kinds = ("seen", "diagnostic")
        extra = fact_accuracy(
            model, zoo_facts.fact_prompts(split, kinds=kinds, per_kind=1, seed=seed)
        )
        for rel in zoo_facts.RELATIONS:
            for kind in kinds:
                out[f"{rel}_{kind}_accuracy"] = extra[f"{rel}_{kind}"]
    if n_loss_sentences:
        half = n_loss_sentences // 2
        texts = heldout_sentences(split, seed=seed, n_ioi=half, n_prose=half)
        sums = {kind: summed_loss(model, lines) for kind, lines in texts.items()}
        for kind, (total, count) in sums.items():
            out[f"heldout_{kind}_loss"] = total / count
        # pooled over all tokens: the checkpoint tie-breaker; its mix depends on the sizes
        out["heldout_loss"] = sum(t for t, _ in sums.values()) / sum(c for _, c in sums.values())
    out["n_cities"] = float(len(zoo_facts.load_cities(split)))
    out["n_fact_prompts"] = float(len(heldout))
    return out


def passes_gates(metrics: dict[str, float]) -> dict[str, bool]:
    """For each gate of :data:`GATES`, whether ``metrics`` reaches it."""
    return {key: metrics[key] >= floor for key, floor in GATES.items()}


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="Print the zoo model's held-out figures.")
    parser.add_argument("--split", default="test", choices=["val", "test"])
    parser.add_argument("--quick", action="store_true", help="a smaller sample (seconds)")
    args = parser.parse_args(argv)
    from saebench.zoo.model import load_model

    torch.set_num_threads(1)
    model = load_model()
    sample = {"fact_per_kind": 1, "n_ioi": 300, "n_loss_sentences": 600} if args.quick else {}
    metrics = evaluate(model, split=args.split, **sample)
    gates = passes_gates(metrics)
    for key, value in metrics.items():
        flag = "" if key not in gates else ("  pass" if gates[key] else "  FAIL")
        print(f"{key:42s} {value:10.4f}{flag}")
    print(json.dumps({"gates_passed": all(gates.values())}))


if __name__ == "__main__":
    main()
