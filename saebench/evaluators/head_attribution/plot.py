"""Figures of a ``head_attribution`` record (matplotlib, Agg backend, no display needed).

Example:
    >>> record = saebench.evaluate("zoo:attn-topk-16", model="zoo", evaluators=["head_attribution"])[0]
    >>> plot_dfa(record.details["dfa_examples"][0], "dfa.png")
    >>> plot_head_shares(record.details, "heads.png")
"""

from __future__ import annotations

from pathlib import Path


def _pyplot():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def plot_dfa(example: dict, path: str | Path | None = None, max_sources: int = 48):
    """Bars of one example's DFA by source position (the last ``max_sources`` up to the
    destination), labelled with their tokens; returns the figure, saved when ``path`` is set."""
    plt = _pyplot()
    values = example["dfa"][-max_sources:]
    tokens = example["tokens"][-max_sources:]
    first = len(example["dfa"]) - len(values)
    fig, ax = plt.subplots(figsize=(max(6.0, 0.22 * len(values)), 3.2))
    colors = ["tab:blue" if v >= 0 else "tab:red" for v in values]
    ax.bar(range(len(values)), values, color=colors)
    ax.set_xticks(range(len(values)))
    ax.set_xticklabels([f"{t} ({first + i})" for i, t in enumerate(tokens)], rotation=90)
    ax.axhline(0.0, color="black", linewidth=0.5)
    ax.set_ylabel("DFA (pre-activation)")
    ax.set_title(
        f"latent {example['latent']} at position {example['dest']} "
        f"({example['dest_token']!r}), activation {example['activation']:.3g}"
    )
    fig.tight_layout()
    if path is not None:
        fig.savefig(path, dpi=120)
    return fig


def plot_head_shares(details: dict, path: str | Path | None = None):
    """Each head's mean share of decoder norm and its attributed latents, beside the random
    dictionary's mean share; returns the figure, saved when ``path`` is set."""
    plt = _pyplot()
    heads = details["heads"]
    fig, (left, right) = plt.subplots(1, 2, figsize=(8.0, 3.0))
    xs = [h["head"] for h in heads]
    left.bar(xs, [h["mean_share"] for h in heads], label="SAE")
    if details.get("null"):
        null = details["null"]["mean_share_per_head"]
        left.plot(xs, null, "k_", markersize=20, label="random rows")
    left.set_xlabel("head")
    left.set_ylabel("mean share of decoder norm")
    left.legend()
    right.bar(xs, [h["n_attributed_latents"] for h in heads])
    right.set_xlabel("head")
    right.set_ylabel("latents attributed")
    for h in heads:
        right.annotate(h["status"][:4], (h["head"], h["n_attributed_latents"]), ha="center")
    fig.tight_layout()
    if path is not None:
        fig.savefig(path, dpi=120)
    return fig
