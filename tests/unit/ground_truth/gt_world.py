"""A tiny hand-made stand-in for a SyntheticModel, SAEs built from chosen weights, and the
batches a synthetic run would hand the ground_truth evaluator (independent of
saebench.synthetic)."""

from __future__ import annotations

import torch

from saebench.evaluators.base import EvalContext, SaeBatch
from saebench.sae.jumprelu import JumpReluSae
from saebench.sae.metadata import SaeMetadata
from saebench.sae.standard import StandardSae
from saebench.sae.topk import TopKSae


class TinyModel:
    """features [N, D] (unit rows), bias [D], parent [N] (-1: none), depth, in_tree."""

    def __init__(self, features, bias, parent=None, name="tiny"):
        self.features = features
        self.bias = bias
        n = features.shape[0]
        self.parent = torch.full((n,), -1) if parent is None else torch.as_tensor(parent)
        depth = torch.zeros(n, dtype=torch.int64)
        for i in range(n):  # parents come before their children here
            if self.parent[i] >= 0:
                depth[i] = depth[self.parent[i]] + 1
        self.depth = depth
        children = torch.bincount(self.parent[self.parent >= 0], minlength=n) > 0
        self.in_tree = children | (self.parent >= 0)
        self.name = name

    def identity(self):
        return {"name": self.name, "key": float(self.features.sum())}

    def sample(self, n, seed, p=0.3):
        """Features fire with probability p, children only with their parent and at most
        one child per parent; magnitudes uniform in [0.5, 1.5]."""
        g = torch.Generator().manual_seed(seed)
        N = self.features.shape[0]
        on = torch.rand(n, N, generator=g) < p
        for i in range(N):
            if self.parent[i] >= 0:
                on[:, i] &= on[:, int(self.parent[i])]
        for parent in torch.unique(self.parent[self.parent >= 0]).tolist():
            kids = (self.parent == parent).nonzero().flatten()
            pick = kids[torch.randint(len(kids), (n,), generator=g)]
            keep = torch.zeros(n, N, dtype=torch.bool)
            keep[torch.arange(n), pick] = True
            on[:, kids] &= keep[:, kids]
        a = on * (0.5 + torch.rand(n, N, generator=g))
        return a @ self.features + self.bias, a


def orthonormal(n, seed=0):
    g = torch.Generator().manual_seed(seed)
    q, _ = torch.linalg.qr(torch.randn(n, n, generator=g))
    return q


def relu_sae(W_enc, b_enc, W_dec, b_dec, threshold=None):
    """A ReLU SAE, or a JumpReLU one with this threshold (which silences float noise)."""
    d_in, d_sae = W_enc.shape
    weights = [w.float() for w in (W_enc, b_enc, W_dec, b_dec)]
    if threshold is None:
        meta = SaeMetadata(architecture="standard", d_in=d_in, d_sae=d_sae, hook_name="hook_x",
                           apply_b_dec_to_input=True)  # fmt: skip
        return StandardSae(meta, *weights)
    meta = SaeMetadata(architecture="jumprelu", d_in=d_in, d_sae=d_sae, hook_name="hook_x",
                       apply_b_dec_to_input=True)  # fmt: skip
    return JumpReluSae(meta, *weights, threshold=torch.full((d_sae,), float(threshold)))


def topk_sae(W_dec, b_dec, k):
    d_sae, d_in = W_dec.shape
    meta = SaeMetadata(architecture="topk", d_in=d_in, d_sae=d_sae, hook_name="hook_x", k=k,
                       apply_b_dec_to_input=True)  # fmt: skip
    return TopKSae(meta, W_dec.T.clone(), torch.zeros(d_sae), W_dec.clone(), b_dec.clone())


def batches(sae, x, a, batch_size, codes=None):
    """SaeBatch objects as the shared pass builds them on a synthetic source."""
    with torch.no_grad():
        codes = sae.encode(x) if codes is None else codes
        x_hat = sae.decode(codes, x)
    for start in range(0, x.shape[0], batch_size):
        end = min(start + batch_size, x.shape[0])
        n = end - start
        yield SaeBatch(
            sae=sae,
            tokens=torch.zeros(n, 1, dtype=torch.long),
            mask=torch.ones(n, 1, dtype=torch.bool),
            x=x[start:end],
            target=x[start:end],
            codes=codes[start:end],
            x_hat=x_hat[start:end],
            context_start=start,
            truth=a[start:end],
        )


def evaluate(sae, model, x, a, batch_size=64, codes=None, **config):
    from saebench.evaluators.ground_truth import GroundTruthConfig, GroundTruthEvaluator

    evaluator = GroundTruthEvaluator(GroundTruthConfig(**config), EvalContext(sae=sae, model=model))
    for batch in batches(sae, x, a, batch_size, codes):
        evaluator.update(batch)
    return evaluator.finish()
