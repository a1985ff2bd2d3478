"""A world where the answer to RAVEL is known by construction.

A one-layer model reads prompts whose entity is their last token ("in the e3" asks the
country, "then it was e3" the continent). The entity's embedding carries its country on a
direction ``u`` and its continent on ``v`` (a sign each); the position of the last token
carries which attribute is asked (``p`` at column 3, ``q`` at column 4); the unembedding
reads ``p + u`` / ``p - u`` as the two countries and ``q + v`` / ``q - v`` as the two
continents. All four directions are orthonormal and orthogonal to the all-ones vector (so
the final LayerNorm keeps them), and large next to the random weights.

Two dictionaries at ``blocks.0.hook_resid_post``, both exact (latents ``relu(+-x . b_i)``
over an orthonormal basis): ``right`` has basis vectors on ``u`` and ``v`` (latents 1 and
33 carry the country exactly), ``wrong`` mixes them ((u + v)/sqrt 2, (u - v)/sqrt 2), so
no set of its latents moves the country without the continent.
"""

from __future__ import annotations

import tempfile
from dataclasses import dataclass
from functools import lru_cache

import torch

from saebench.tasks.base import Task, TaskPrompt

HOOK = "blocks.0.hook_resid_post"
D = 32
ENTITIES = [f"e{i}" for i in range(20)]  # e0..e7 train, e8..e15 held out, e16..e19 val
COUNTRIES = ("red", "blue")
CONTINENTS = ("small", "big")
TEMPLATES = {  # (train template, held-out template) per attribute; the entity ends each
    "country": ("in the %s", "on a %s"),
    "continent": ("then it was %s", "and it was %s"),
}
WORDS = ["in", "the", "on", "a", "then", "it", "was", "and", *COUNTRIES, *CONTINENTS]


def country_of(i: int) -> str:
    return COUNTRIES[i % 2]


def continent_of(i: int) -> str:
    return CONTINENTS[(i // 2) % 2]


def entity_split(i: int) -> str:
    return "train" if i < 8 else "test" if i < 16 else "val"


class PlantedTask(Task):
    """The planted world's prompts; ``instance_split`` maps them onto RAVEL's splits."""

    name = "planted-cities"
    version = "1"
    splits = ("train", "val", "test")

    def build(self, split: str) -> list[TaskPrompt]:
        out = []
        for i, entity in enumerate(ENTITIES):
            if entity_split(i) != split:
                continue
            attrs = {"city": entity, "country": country_of(i), "continent": continent_of(i)}
            for asks, templates in TEMPLATES.items():
                for t, template in enumerate(templates):
                    text = template % entity
                    start = text.index(entity)
                    out.append(
                        TaskPrompt(
                            text,
                            {"entity": (start, start + len(entity))},
                            attrs[asks],
                            attrs,
                            asks,
                            split,
                            {"template": t},
                        )
                    )
        return out

    def attribute_values(self) -> dict[str, list[str]]:
        return {
            "city": sorted(ENTITIES),
            "country": sorted(COUNTRIES),
            "continent": sorted(CONTINENTS),
        }

    def instance_split(self, prompt: TaskPrompt) -> str | None:
        held_template = prompt.tags["template"] == 1
        if prompt.split == "train":
            return "context" if held_template else "train"
        if held_template:
            return None
        return "val" if prompt.split == "val" else "entity"


@dataclass
class World:
    model: object
    task: PlantedTask
    right: object
    wrong: object
    directions: dict
    basis: torch.Tensor


def _tokenizer(directory: str):
    from tokenizers import Tokenizer, models, pre_tokenizers
    from transformers import PreTrainedTokenizerFast

    vocab = {t: i for i, t in enumerate(["<bos>", "<eos>", "<pad>", "<unk>", *WORDS, *ENTITIES])}
    core = Tokenizer(models.WordLevel(vocab=vocab, unk_token="<unk>"))
    core.pre_tokenizer = pre_tokenizers.Whitespace()
    fast = PreTrainedTokenizerFast(
        tokenizer_object=core,
        bos_token="<bos>",
        eos_token="<eos>",
        pad_token="<pad>",
        unk_token="<unk>",
    )
    fast.save_pretrained(directory)
    return PreTrainedTokenizerFast.from_pretrained(directory)


def _basis(seed: int = 0) -> torch.Tensor:
    """An orthonormal basis [D, D] whose first column is the all-ones direction."""
    gen = torch.Generator().manual_seed(seed)
    start = torch.cat([torch.ones(D, 1), torch.randn(D, D - 1, generator=gen)], dim=1)
    q, r = torch.linalg.qr(start)
    return q * torch.sign(torch.diagonal(r))  # columns with a fixed orientation


def plus_minus_sae(basis: torch.Tensor):
    """A ReLU dictionary of latents +b_i (latent i) and -b_i (latent k + i) over the k
    orthonormal columns of ``basis``: exact when k = D."""
    from saebench.sae import SaeMetadata, build_sae

    k = basis.shape[1]
    meta = SaeMetadata(
        architecture="relu", d_in=D, d_sae=2 * k, hook_name=HOOK, model_name="planted"
    )
    tensors = {
        "W_enc": torch.cat([basis, -basis], dim=1).clone(),
        "b_enc": torch.zeros(2 * k),
        "W_dec": torch.cat([basis.T, -basis.T], dim=0).clone(),
        "b_dec": torch.zeros(D),
    }
    return build_sae(meta, tensors, where="test").eval().requires_grad_(False)


def _plant(model, basis: torch.Tensor, scale: float = 8.0) -> dict:
    u, v, p, q = (basis[:, i] for i in (1, 2, 3, 4))
    tok = model.tokenizer.convert_tokens_to_ids
    with torch.no_grad():
        for i, entity in enumerate(ENTITIES):
            su = 1.0 if country_of(i) == COUNTRIES[0] else -1.0
            sv = 1.0 if continent_of(i) == CONTINENTS[0] else -1.0
            model.embed.W_E[tok(entity)] += scale * (su * u + sv * v)
        model.pos_embed.W_pos[3] += scale * p  # the last column of a country prompt
        model.pos_embed.W_pos[4] += scale * q  # ... and of a continent prompt
        model.unembed.b_U.zero_()
        for word, direction in [("red", p + u), ("blue", p - u), ("small", q + v), ("big", q - v)]:
            model.unembed.W_U[:, tok(word)] = 3.0 * direction
    return {"u": u, "v": v, "p": p, "q": q}


@lru_cache(maxsize=1)
def planted_world() -> World:
    from transformer_lens import HookedTransformer, HookedTransformerConfig

    tokenizer = _tokenizer(tempfile.mkdtemp(prefix="ravel-planted-"))
    cfg = HookedTransformerConfig(
        n_layers=1,
        d_model=D,
        n_ctx=16,
        d_head=8,
        n_heads=4,
        d_mlp=64,
        d_vocab=len(tokenizer),
        act_fn="gelu",
        normalization_type="LN",
        model_name="planted",
        seed=0,
        default_prepend_bos=True,
    )
    model = HookedTransformer(cfg, tokenizer=tokenizer).eval()
    basis = _basis()
    directions = _plant(model, basis)
    mixed = basis.clone()
    mixed[:, 1] = (basis[:, 1] + basis[:, 2]) / 2**0.5
    mixed[:, 2] = (basis[:, 1] - basis[:, 2]) / 2**0.5
    return World(
        model, PlantedTask(), plus_minus_sae(basis), plus_minus_sae(mixed), directions, basis
    )
