"""output_score: the formulas on hand-made tensors and the streamed top contexts against a
brute force, before any model runs."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from saebench.evaluators.output_score.collect import TopContexts
from saebench.evaluators.output_score.scores import input_scores, output_scores, token_ranks


def paper_score(logits: np.ndarray, lens: list[int]) -> float:
    """The paper's code, re-done in numpy: argsort of the probabilities, the best rank of a
    lens token, times the largest lens-token probability."""
    probs = np.exp(logits - logits.max())
    probs /= probs.sum()
    order = np.argsort(-probs, kind="stable")
    ranks = [int(np.nonzero(order == t)[0][0]) for t in lens]
    return (1 - min(ranks) / len(logits)) * probs[lens].max()


def test_before_and_after_by_hand():
    # vocab of 5; the latent's lens tokens are 3 and 4
    before = torch.tensor([[3.0, 2.0, 1.0, 0.0, -1.0]])
    after = torch.tensor([[3.0, 2.0, 1.0, 4.0, -1.0]])  # amplifying lifted token 3 to the top
    lens = torch.tensor([[3, 4]])
    # before: token 3 ranks 3 of 5 (rank score 0.4), p = e^0 / (e^3 + e^2 + e^1 + e^0 + e^-1)
    p_before = 1 / (np.e**3 + np.e**2 + np.e + 1 + np.e**-1)
    assert output_scores(before, lens).item() == pytest.approx(0.4 * p_before, rel=1e-12)
    # after: rank 0 (rank score 1), p = e^4 / (e^3 + e^2 + e^1 + e^4 + e^-1)
    p_after = np.e**4 / (np.e**3 + np.e**2 + np.e + np.e**4 + np.e**-1)
    assert output_scores(after, lens).item() == pytest.approx(p_after, rel=1e-12)
    assert token_ranks(before, lens).tolist() == [[3, 4]]
    assert token_ranks(after, lens).tolist() == [[0, 4]]


def test_matches_the_papers_arithmetic_on_random_logits():
    gen = torch.Generator().manual_seed(0)
    logits = torch.randn(50, 300, generator=gen, dtype=torch.float64) * 3
    lens = torch.randint(0, 300, (50, 20), generator=gen)
    ours = output_scores(logits, lens).numpy()
    theirs = [paper_score(row.numpy(), lens[i].tolist()) for i, row in enumerate(logits)]
    np.testing.assert_allclose(ours, theirs, rtol=1e-10)


def test_a_tie_counts_for_the_lens_token():
    logits = torch.tensor([[1.0, 1.0, 0.0]])
    assert token_ranks(logits, torch.tensor([[1]])).item() == 0  # tied with token 0


def test_input_score_on_planted_top_examples():
    lens = torch.tensor([[7, 8], [7, 8], [7, 8]])
    peaks = torch.tensor(
        [
            [7, 8, 1, 2, -1, -1],  # 2 of 4 kept contexts peak on a lens token
            [1, 2, 3, -1, -1, -1],  # 0 of 3
            [8, -1, -1, -1, -1, -1],  # one context: too few
        ]
    )
    scores = input_scores(peaks, lens, min_examples=2).tolist()
    assert scores[:2] == [0.5, 0.0] and np.isnan(scores[2])


def brute_force_top(codes, contexts, positions, tokens, latents, n_top):
    """Per latent: contexts ranked by their peak (desc), then context index; first position
    of the peak; positive peaks only."""
    out = []
    for latent in latents:
        rows = []
        for ctx in sorted(set(contexts.tolist())):
            here = contexts == ctx
            values = codes[here, latent]
            if values.max() <= 0:
                continue
            first = int(np.argmax(values))
            pos = int(positions[here][first])
            rows.append((-float(values.max()), ctx, int(tokens[ctx, pos])))
        out.append([r[2] for r in sorted(rows)[:n_top]])
    return out


@pytest.mark.parametrize("split", [1, 3, 8])
def test_top_contexts_match_a_brute_force_whatever_the_batches(split):
    rng = np.random.default_rng(0)
    n_ctx, width, d_sae = 8, 6, 5
    codes = rng.exponential(1.0, size=(n_ctx * width, d_sae)) * (rng.random((48, 5)) < 0.3)
    codes[3, 2] = codes[4, 2] = 9.0  # a tie inside context 0: the first position wins
    codes[:, 4] = 0.0  # a dead latent
    contexts = np.repeat(np.arange(n_ctx), width)
    positions = np.tile(np.arange(width), n_ctx)
    tokens = rng.integers(0, 100, size=(n_ctx, width))
    latents = torch.tensor([2, 0, 4])
    top = TopContexts(latents, n_top=3)
    per = n_ctx // split if split <= n_ctx else 1
    for first in range(0, n_ctx, per):  # whole contexts per batch, as the shared pass sends
        rows = (contexts >= first) & (contexts < first + per)
        top.add(
            torch.tensor(codes[rows]),
            torch.tensor(contexts[rows]),
            torch.tensor(positions[rows]),
            torch.tensor(tokens[first : first + per]),
            first,
        )
    expected = brute_force_top(codes, contexts, positions, tokens, latents.tolist(), 3)
    got = [[t for t in row if t >= 0] for row in top.tokens.tolist()]
    assert got == expected
    assert got[0][0] == tokens[0, 3]  # the tie at positions 3 and 4 of context 0
    assert top.fired.tolist() == (codes[:, [2, 0, 4]] > 0).sum(0).tolist() and top.fired[2] == 0
