"""The zoo's SAEs: where they live and what they are, read from their cfg.json files.

Two families ship: the toy zoo model's (``zoo:NAME``, in ``saes/``; ``zoo:*`` means these)
and SmolLM2-135M's (``zoo:smollm2-NAME``, in ``saes_smollm2/``, float16 weights; built by
``saebench.zoo.build.smollm2_saes``). SAEs trained on the synthetic tiers (``zoo:synth4k-NAME``,
``zoo:synth1k-NAME``, in ``saes_synth/``, float16) are built by ``saebench.zoo.build.synth_saes``.
"""

from __future__ import annotations

import json
from pathlib import Path

SMOLLM2_PREFIX = "smollm2-"
SMOLLM2_MODEL = "smollm2-135m"
SYNTH_PREFIXES = {"synth1k-": "synth-1k", "synth4k-": "synth-4k"}  # name prefix -> tier


def saes_dir() -> Path:
    return Path(__file__).parent / "saes"


def smollm2_saes_dir() -> Path:
    return Path(__file__).parent / "saes_smollm2"


def synth_saes_dir() -> Path:
    return Path(__file__).parent / "saes_synth"


def _folders(root: Path) -> list[str]:
    if not root.is_dir():
        return []
    return sorted(p.name for p in root.iterdir() if (p / "cfg.json").is_file())


def sae_names() -> list[str]:
    """The toy zoo model's SAEs (what ``zoo:*`` matches)."""
    return _folders(saes_dir())


def all_sae_names() -> list[str]:
    """Every shipped SAE: the toy zoo's, SmolLM2's (``smollm2-NAME``), then the synthetic
    tiers' (``synth4k-NAME``, ``synth1k-NAME``)."""
    smollm2 = [SMOLLM2_PREFIX + n for n in _folders(smollm2_saes_dir())]
    synth = [n for n in _folders(synth_saes_dir()) if n.startswith(tuple(SYNTH_PREFIXES))]
    return sae_names() + smollm2 + synth


def sae_folder(name: str) -> Path:
    """The SAELens folder of a shipped SAE (``resid-topk-16``, ``smollm2-resid-topk-32``)."""
    if name.startswith(SMOLLM2_PREFIX):
        return smollm2_saes_dir() / name[len(SMOLLM2_PREFIX) :]
    if name.startswith(tuple(SYNTH_PREFIXES)):
        return synth_saes_dir() / name
    return saes_dir() / name


def sae_model(name: str) -> str:
    """The model a shipped SAE was trained on: ``zoo``, ``smollm2-135m`` or a synthetic tier."""
    tier = next((t for p, t in SYNTH_PREFIXES.items() if name.startswith(p)), None)
    return SMOLLM2_MODEL if name.startswith(SMOLLM2_PREFIX) else tier or "zoo"


def describe() -> list[dict]:
    """One row per shipped SAE: name, model, architecture, hook(s), width (no weights read)."""
    rows = []
    for name in all_sae_names():
        cfg = json.loads((sae_folder(name) / "cfg.json").read_text())
        flat = {**cfg, **cfg.get("metadata", {})}
        rows.append(
            {
                "uri": f"zoo:{name}",
                "model": sae_model(name),
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
