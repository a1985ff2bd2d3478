"""The zoo's SAEs: where they live and what they are, read from their cfg.json files."""

from __future__ import annotations

import json
from pathlib import Path


def saes_dir() -> Path:
    return Path(__file__).parent / "saes"


def sae_names() -> list[str]:
    root = saes_dir()
    if not root.is_dir():
        return []
    return sorted(p.name for p in root.iterdir() if (p / "cfg.json").is_file())


def describe() -> list[dict]:
    """One row per zoo SAE: name, architecture, hook(s), width (no weights are read)."""
    rows = []
    for name in sae_names():
        cfg = json.loads((saes_dir() / name / "cfg.json").read_text())
        flat = {**cfg, **cfg.get("metadata", {})}
        rows.append(
            {
                "uri": f"zoo:{name}",
                "architecture": flat.get("saebench_architecture", flat.get("architecture")),
                "hook": flat.get("hook_name"),
                "hook_out": flat.get("hook_name_out") or "",
                "d_sae": flat.get("d_sae"),
                "k": flat.get("k") or flat.get("training_architecture_details", {}).get("k", ""),
            }
        )
    return rows


def evaluation_texts(seed: int = 0) -> list[str]:
    """The zoo's held-out text (the ``zoo`` dataset): test-split city facts under phrasings
    never seen with them, IOI sentences with held-out names and templates, and fresh prose,
    shuffled together so every batch mixes the kinds."""
    import random

    from saebench.zoo.corpus import heldout_sentences

    texts = [text for kind in heldout_sentences("test", seed=seed).values() for text in kind]
    random.Random(f"zoo-sae-eval|{seed}").shuffle(texts)
    return texts
