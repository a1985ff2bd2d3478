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

# Families beside the toy zoo's own SAEs: (name prefix, folder under zoo/, whether the
# prefix is part of the folder name, model). A family is matched by its prefix, never by
# ``zoo:*``. Add a family with one line here (its folder ships through the package data).
FAMILIES: list[tuple[str, str, bool, str]] = [
    (SMOLLM2_PREFIX, "saes_smollm2", False, SMOLLM2_MODEL),
    *((prefix, "saes_synth", True, tier) for prefix, tier in SYNTH_PREFIXES.items()),
    ("attn-", "saes_attn", True, "zoo"),  # attention-output SAEs (SAES_ATTN.md)
    ("heads-", "saes_heads", False, "zoo"),  # one SAE per attention head (SAES_HEADS.md)
    ("minilm-", "saes_minilm", True, "minilm-l6"),  # sentence-embedding SAEs (SAES_MINILM.md)
]


def zoo_root() -> Path:
    """The folder every family's SAE folders live under."""
    return Path(__file__).parent


def saes_dir() -> Path:
    return zoo_root() / "saes"


def smollm2_saes_dir() -> Path:
    return zoo_root() / "saes_smollm2"


def synth_saes_dir() -> Path:
    return zoo_root() / "saes_synth"


def family_prefixes() -> tuple[str, ...]:
    """The name prefixes of every family beside the toy zoo's own SAEs."""
    return tuple(prefix for prefix, *_ in FAMILIES)


def _family(name: str) -> tuple[str, str, bool, str] | None:
    return next((f for f in FAMILIES if name.startswith(f[0])), None)


def _folders(root: Path) -> list[str]:
    if not root.is_dir():
        return []
    return sorted(p.name for p in root.iterdir() if (p / "cfg.json").is_file())


def sae_names() -> list[str]:
    """The toy zoo model's SAEs (what ``zoo:*`` matches)."""
    return _folders(saes_dir())


def all_sae_names() -> list[str]:
    """Every shipped SAE: the toy zoo's, then each family's in ``FAMILIES`` order
    (SmolLM2's ``smollm2-NAME``, the synthetic tiers' ``synth4k-NAME``, ...)."""
    names = sae_names()
    for prefix, folder, prefixed, _ in FAMILIES:
        found = _folders(zoo_root() / folder)
        if prefixed:
            names += [n for n in found if n.startswith(prefix)]
        else:
            names += [prefix + n for n in found]
    return names


def sae_folder(name: str) -> Path:
    """The SAELens folder of a shipped SAE (``resid-topk-16``, ``smollm2-resid-topk-32``)."""
    family = _family(name)
    if family is None:
        return saes_dir() / name
    prefix, folder, prefixed, _ = family
    return zoo_root() / folder / (name if prefixed else name[len(prefix) :])


def sae_model(name: str) -> str:
    """The model a shipped SAE was trained on: ``zoo``, ``smollm2-135m``, a synthetic tier, ..."""
    family = _family(name)
    return family[3] if family else "zoo"


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
