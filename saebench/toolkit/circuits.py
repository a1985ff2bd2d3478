"""A task's reference circuit of attention heads, found in the model itself by head ablation.

The task is an indirect-object (IOI) task (``zoo-ioi``, ``smollm2-ioi``): prompts end before
the indirect object, ``answer`` is the indirect object and ``attributes["s"]`` the subject.
The measure is the logit difference ``logit(IO) - logit(S)`` at the last token, averaged
over prompts (Wang et al. 2022).

* **Negatives** (:func:`abc_prompts`): each prompt with its repeated subject (span ``s2``)
  replaced by a third name, so the three names differ ("When Mary and John went to the store,
  Tom gave a drink to"): the "ABC" distribution of Wang et al. and of O'Neill and Bui's
  counterfactual prompts, on which the model cannot tell the indirect object.
* **Mean ablation**: a head's ``hook_z`` replaced, at every real position, by its mean over
  the task's prompts for that position's role: BOS, the last token of each named span
  (``io``, ``s1``, ``s2``, ``end``), or any other token. Role means stand in for Wang et
  al.'s per-template position means, since templates here differ in length.
* **Effects** (:func:`head_effects`): the drop of the mean logit difference when one head is
  mean-ablated (negative for heads that work against the answer, such as negative name
  movers). The **circuit** is every head whose ``|effect|`` is at least ``threshold`` times
  the clean logit difference; its **faithfulness** is the logit difference with only the
  circuit's heads kept (every other head mean-ablated) over the clean one, and the
  complement's is the same with the circuit's heads ablated instead.

Example:
    >>> task = build_task("zoo-ioi", {"n": 200})
    >>> found = reference_circuit(load_model("zoo"), task.prompts("test"))
    >>> found.heads, found.faithfulness      # 11 of 16 heads, 0.965
    >>> negatives = abc_prompts(task.prompts("test"), task.attribute_values()["io"])
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import torch
from torch import Tensor

from saebench.errors import SaebenchError

ROLES: tuple[str, ...] = ("io", "s1", "s2", "end")  # spans whose last token has its own mean
Head = tuple[int, int]  # (layer, head)


def z_hook(layer: int) -> str:
    return f"blocks.{layer}.attn.hook_z"


# -- prompts ------------------------------------------------------------------------------------
def abc_prompts(prompts: Sequence, names: Sequence[str], seed: int = 0) -> list:
    """Each IOI prompt with its repeated subject (span ``s2``) replaced by a third name, drawn
    reproducibly from ``names`` (neither its indirect object nor its subject). The spans
    are moved with the text; the answer is kept (the model has no way to find it)."""
    from dataclasses import replace

    rng = random.Random(f"abc|{seed}")
    pool = sorted(set(names))
    out = []
    for p in prompts:
        io, s = p.answer, p.attributes["s"]
        other = rng.choice([n for n in pool if n not in (io, s)])
        start, end = p.spans["s2"]
        text = p.text[:start] + other + p.text[end:]
        shift = len(other) - (end - start)
        spans = {k: _moved(v, start, shift) for k, v in p.spans.items()}
        spans["s2"] = (start, start + len(other))
        attributes = {**p.attributes, "c": other}
        out.append(replace(p, text=text, spans=spans, attributes=attributes))
    return out


def _moved(span: tuple[int, int], at: int, shift: int) -> tuple[int, int]:
    return (span[0] + shift, span[1] + shift) if span[0] > at else span


@dataclass
class IoiBatch:
    """Prompts as a batch, with the first token of the indirect object and of the subject
    as they follow each prompt, and the role of every position (-1: padding)."""

    batch: object  # saebench.models.prompts.PromptBatch
    io_ids: Tensor
    s_ids: Tensor
    roles: Tensor  # [batch, pos] long: 0 other, 1 BOS, 2.. ROLES, -1 pad


def ioi_batch(model, prompts: Sequence) -> IoiBatch:
    """The batch of ``prompts`` (TaskPrompts of an IOI task) with answer and role tensors."""
    from saebench.models.prompts import Prompt, make_batch

    if not prompts:
        raise SaebenchError("no IOI prompts to run; ask the task for more (its n)")
    spans = [{k: p.spans[k] for k in ROLES} for p in prompts]
    batch = make_batch(
        model, [Prompt(p.text, sp, p.answer) for p, sp in zip(prompts, spans, strict=True)]
    )
    subjects = make_batch(
        model, [Prompt(p.text, sp, p.attributes["s"]) for p, sp in zip(prompts, spans, strict=True)]
    )
    return IoiBatch(batch, batch.answer_ids[:, 0], subjects.answer_ids[:, 0], _roles(model, batch))


def _roles(model, batch) -> Tensor:
    roles = torch.where(batch.attention_mask.bool(), 0, -1)
    if model.cfg.default_prepend_bos:
        roles[:, 0] = 1
    rows = torch.arange(len(batch), device=roles.device)
    for index, name in enumerate(ROLES):
        roles[rows, batch.last(name)] = 2 + index
    return roles


# -- running the model with heads mean-ablated --------------------------------------------------
def role_means(model, data: IoiBatch) -> dict[int, Tensor]:
    """Per layer, each head's mean ``z`` by role, ``[n_roles, n_heads, d_head]`` (float32)."""
    from saebench.models.interventions import ModelRunner

    hooks = [z_hook(layer) for layer in range(model.cfg.n_layers)]
    acts = ModelRunner(model).capture(data.batch, hooks)
    n_roles = 2 + len(ROLES)
    out = {}
    for layer in range(model.cfg.n_layers):
        z = acts[z_hook(layer)].float()
        means = torch.zeros(n_roles, *z.shape[2:])
        for role in range(n_roles):
            picked = z[data.roles == role]
            if len(picked):
                means[role] = picked.mean(0).cpu()
        out[layer] = means
    return out


@torch.no_grad()
def logit_diffs(
    model, data: IoiBatch, ablations: Sequence[set[Head]], means: dict[int, Tensor]
) -> Tensor:
    """``logit(IO) - logit(S)`` at each prompt's last token ``[len(ablations), batch]``, with
    the heads of each set mean-ablated (all sets run in one stacked forward)."""
    n, batch = len(ablations), data.batch
    tokens = batch.tokens.repeat(n, 1)
    mask = batch.attention_mask.repeat(n, 1)
    roles = data.roles.clamp_min(0).repeat(n, 1)
    hooks = []
    for layer in range(model.cfg.n_layers):
        chosen = torch.zeros(n, model.cfg.n_heads, dtype=torch.bool)
        for i, heads in enumerate(ablations):
            for at, h in heads:
                if at == layer:
                    chosen[i, h] = True
        if chosen.any():
            per_row = chosen.repeat_interleave(len(batch), 0).to(tokens.device)
            hooks.append((z_hook(layer), _ablate(per_row, means[layer], roles)))
    from saebench.models.interventions import ModelRunner

    # the layers before the first ablated head are the clean model's: run them once
    first = min((layer for heads in ablations for layer, _ in heads), default=0)
    start = tokens
    if first > 0:
        pre = f"blocks.{first}.hook_resid_pre"
        start = ModelRunner(model).capture(batch, [pre])[pre].repeat(n, 1, 1)
    with model.hooks(fwd_hooks=hooks):
        resid = model(
            start,
            start_at_layer=first or None,
            attention_mask=mask,
            stop_at_layer=model.cfg.n_layers,
        )

    rows = torch.arange(len(tokens), device=resid.device)
    ends = batch.ends.repeat(n)
    logits = ModelRunner(model).unembed(resid[rows, ends])
    io, s = data.io_ids.repeat(n), data.s_ids.repeat(n)
    diff = logits[rows, io] - logits[rows, s]
    return diff.view(n, len(batch)).float().cpu()


def _ablate(chosen: Tensor, means: Tensor, roles: Tensor):
    """A hook replacing the chosen heads' ``z`` (``chosen [rows, heads]``) by role means."""

    def hook(z: Tensor, hook=None) -> Tensor:
        mean = means.to(z.device, z.dtype)[roles[:, : z.shape[1]]]  # [rows, pos, heads, d]
        keep = ~chosen[:, None, :, None]
        return torch.where(keep, z, mean)

    return hook


# -- the circuit --------------------------------------------------------------------------------
@dataclass
class Circuit:
    """The reference circuit of an IOI task and the numbers that justify it."""

    heads: list[Head]
    effects: np.ndarray  # [n_layers, n_heads]: drop of the mean logit difference
    clean_logit_diff: float
    faithfulness: float  # circuit kept, the rest ablated, over clean
    complement_faithfulness: float  # circuit ablated, the rest kept, over clean
    threshold: float
    n_prompts: int
    all_ablated_logit_diff: float = 0.0
    kept: list[int] = field(default_factory=list)  # indices of the prompts used (answered)
    method: str = "ablation"

    def mask(self) -> np.ndarray:
        """``[n_layers, n_heads]`` bool: membership of the circuit."""
        out = np.zeros(self.effects.shape, dtype=bool)
        for layer, head in self.heads:
            out[layer, head] = True
        return out

    def summary(self) -> dict:
        return {
            "heads": [f"L{layer}H{head}" for layer, head in self.heads],
            "clean_logit_diff": round(self.clean_logit_diff, 4),
            "faithfulness": round(self.faithfulness, 4),
            "complement_faithfulness": round(self.complement_faithfulness, 4),
            "all_ablated_logit_diff": round(self.all_ablated_logit_diff, 4),
            "threshold": self.threshold,
            "n_prompts": self.n_prompts,
            "method": self.method,
            "effects": np.round(self.effects, 4).tolist(),
        }


def head_effects(model, data: IoiBatch, means: dict[int, Tensor]) -> np.ndarray:
    """Drop of the mean logit difference when each head alone is mean-ablated, ``[L, H]``
    (one stacked run per layer, from that layer on)."""
    clean = float(logit_diffs(model, data, [set()], means).mean())
    drops = []
    for layer in range(model.cfg.n_layers):
        sets = [{(layer, h)} for h in range(model.cfg.n_heads)]
        drops += (clean - logit_diffs(model, data, sets, means).mean(1)).tolist()
    return np.array(drops).reshape(model.cfg.n_layers, model.cfg.n_heads)


def attribution_effects(model, data: IoiBatch, means: dict[int, Tensor]) -> np.ndarray:
    """First-order estimate of :func:`head_effects` from one forward and one backward pass
    (attribution patching, Nanda 2023): ``sum over positions of (z - mean) . dLD/dz``."""
    deltas, hooks = {}, []
    roles = data.roles
    for layer in range(model.cfg.n_layers):

        def add(z: Tensor, hook=None, layer=layer) -> Tensor:
            deltas[layer] = torch.zeros_like(z, requires_grad=True)
            return z + deltas[layer]

        hooks.append((z_hook(layer), add))
    keep: dict[int, Tensor] = {}
    hooks += [(z_hook(layer), _keeper(keep, layer)) for layer in range(model.cfg.n_layers)]
    batch = data.batch
    with torch.enable_grad(), model.hooks(fwd_hooks=hooks):
        resid = model(
            batch.tokens, attention_mask=batch.attention_mask, stop_at_layer=model.cfg.n_layers
        )
        from saebench.models.interventions import ModelRunner

        rows = torch.arange(len(batch), device=resid.device)
        logits = ModelRunner(model).unembed(resid[rows, batch.ends])
        (logits[rows, data.io_ids] - logits[rows, data.s_ids]).mean().backward()
    real = (roles >= 0)[..., None, None]
    out = []
    for layer in range(model.cfg.n_layers):
        z, grad = keep[layer].float(), deltas[layer].grad.float()
        mean = means[layer].to(z.device)[roles.clamp_min(0)]
        out.append(((z - mean) * grad * real).sum((0, 1, 3)).cpu().numpy())
    return np.stack(out)


def _keeper(store: dict, layer: int):
    def hook(z: Tensor, hook=None) -> Tensor:
        store[layer] = z.detach()
        return z

    return hook


def reference_circuit(
    model,
    prompts: Sequence,
    threshold: float = 0.05,
    answered_only: bool = True,
    method: str = "ablation",
) -> Circuit:
    """The heads whose single mean-ablation moves the mean logit difference by at least
    ``threshold`` times its clean value, with the circuit's faithfulness.

    ``answered_only`` keeps the prompts whose clean logit difference is positive (the model
    ranks the indirect object above the subject), as the circuit explains those.
    ``method="attribution"`` estimates the single-head effects to first order (one backward
    pass instead of one forward per head, for large models); the faithfulness of the circuit
    it gives is still measured by real ablations."""
    if method not in ("ablation", "attribution"):
        raise SaebenchError(f"method must be 'ablation' or 'attribution', not {method!r}")
    data = ioi_batch(model, prompts)
    means = role_means(model, data)
    clean = logit_diffs(model, data, [set()], means)[0]
    kept = list(range(len(prompts)))
    if answered_only:
        kept = (clean > 0).nonzero().flatten().tolist()
        if len(kept) < 2:
            raise SaebenchError("the model answers fewer than 2 IOI prompts; no circuit to find")
        data = ioi_batch(model, [prompts[i] for i in kept])
        clean = clean[kept]
    if method == "ablation":
        effects = head_effects(model, data, means)
    else:
        effects = attribution_effects(model, data, means)
    base = float(clean.mean())
    chosen = np.argwhere(np.abs(effects) >= threshold * abs(base))
    heads = [(int(layer), int(head)) for layer, head in chosen]
    everyone = {(layer, h) for layer in range(effects.shape[0]) for h in range(effects.shape[1])}
    rest, circuit = everyone - set(heads), set(heads)
    kept_only, ablated, nothing = logit_diffs(model, data, [rest, circuit, everyone], means).mean(1)
    return Circuit(
        heads=sorted(heads),
        effects=effects,
        clean_logit_diff=base,
        faithfulness=float(kept_only) / base,
        complement_faithfulness=float(ablated) / base,
        threshold=threshold,
        n_prompts=len(clean),
        all_ablated_logit_diff=float(nothing),
        kept=kept,
        method=method,
    )
