"""The streaming example accumulators against brute force on small random codes."""

import random

import pytest
import torch

from saebench.activations.examples import ExampleCollector, Window, hash32, quantile_sample

N_CTX, CTX, D_SAE, LENGTH = 12, 40, 6, 8


def random_codes(seed=0):
    """Sparse positive codes ``[N_CTX, CTX, D_SAE]`` with ties, and a mask of counted tokens
    (position 0 of every context is special, like a BOS)."""
    gen = torch.Generator().manual_seed(seed)
    fire = torch.rand(N_CTX, CTX, D_SAE, generator=gen) < torch.tensor(
        [0.02, 0.1, 0.3, 0.0, 0.6, 0.05]
    )
    values = torch.randint(1, 6, (N_CTX, CTX, D_SAE), generator=gen).float()  # ties on purpose
    codes = values * fire
    mask = torch.ones(N_CTX, CTX, dtype=torch.bool)
    mask[:, 0] = False
    codes[:, 0] = 0.0
    return codes, mask


def collect(codes, mask, batch_contexts, latents=(0, 1, 2, 3, 4, 5), **kwargs):
    collector = ExampleCollector(
        D_SAE,
        torch.tensor(latents),
        N_CTX,
        CTX,
        length=LENGTH,
        n_top=4,
        reservoir=10,
        n_candidates=20,
        seed=3,
        **kwargs,
    )
    for start in range(0, N_CTX, batch_contexts):
        part = mask[start : start + batch_contexts]
        contexts, positions = part.nonzero(as_tuple=True)
        rows = codes[start : start + batch_contexts][contexts, positions]
        collector.add(rows, contexts + start, positions)
    return collector, collector.finish()


def brute_top(codes, latent, n_top):
    entries = [
        (float(codes[c, p, latent]), c, p)
        for c in range(N_CTX)
        for p in range(CTX)
        if codes[c, p, latent] > 0
    ]
    entries.sort(key=lambda e: (-e[0], e[1], e[2]))
    kept = []
    for value, c, p in entries:
        if all(c != kc or abs(p - kp) > LENGTH - 1 for _, kc, kp in kept):
            kept.append((value, c, p))
        if len(kept) == n_top:
            break
    return kept


def test_top_windows_match_brute_force_and_do_not_overlap():
    codes, mask = random_codes()
    _, found = collect(codes, mask, batch_contexts=5)
    for lw in found.latents:
        got = [(w.peak, w.context, w.position) for w in lw.top]
        assert got == brute_top(codes, lw.latent, 4)
        for i, a in enumerate(lw.top):
            # the window's acts are the codes of its tokens
            assert a.acts == codes[a.context, a.start : a.end, lw.latent].tolist()
            assert a.start <= a.position < a.end and max(a.acts) == a.peak
            for b in lw.top[i + 1 :]:
                assert a.context != b.context or a.end <= b.start or b.end <= a.start


def test_firing_counts_and_dead_latent():
    codes, mask = random_codes()
    _, found = collect(codes, mask, batch_contexts=4)
    assert found.firing_counts.tolist() == (codes > 0).sum((0, 1)).tolist()
    assert found.n_tokens == int(mask.sum())
    dead = found.latents[3]
    assert dead.firing_count == 0 and dead.top == [] and dead.sampled == []


def test_sample_is_the_smallest_hash_keys_of_activating_tokens():
    codes, mask = random_codes()
    collector, found = collect(codes, mask, batch_contexts=7)
    for s, lw in enumerate(found.latents):
        salt = int(collector._latent_salt[s])
        tokens = [(c, p) for c in range(N_CTX) for p in range(CTX) if codes[c, p, lw.latent] > 0]
        keyed = sorted(
            tokens,
            key=lambda t: (int(hash32(torch.tensor(t[0] * CTX + t[1] + salt))), t[0] * CTX + t[1]),
        )
        assert [(w.context, w.position) for w in lw.sampled] == keyed[:10]
        for w in lw.sampled:
            assert w.peak == codes[w.context, w.position, lw.latent]


def test_negatives_are_checked_on_every_token():
    codes, mask = random_codes()
    collector, found = collect(codes, mask, batch_contexts=3)
    starts = list(zip(collector.cand_context.tolist(), collector.cand_start.tolist(), strict=True))
    for lw in found.latents:
        expected = {
            (c, s) for c, s in starts if float(codes[c, s : s + LENGTH, lw.latent].max()) == 0
        }
        assert {(w.context, w.start) for w in lw.negatives} == expected
    # a dense latent (fires on 60% of tokens) has no clean window of 8 tokens
    assert found.latents[4].negatives == []
    assert len(found.latents[3].negatives) == len(starts)  # the dead one: all of them


@pytest.mark.parametrize("sizes", [(1, 12), (5, 2)])
def test_batch_size_does_not_change_anything(sizes):
    codes, mask = random_codes(seed=1)
    _, a = collect(codes, mask, batch_contexts=sizes[0])
    _, b = collect(codes, mask, batch_contexts=sizes[1])
    for x, y in zip(a.latents, b.latents, strict=True):
        assert x == y


def test_quantile_sample_spreads_over_ranks_and_avoids_overlap():
    windows = [Window(c, 0, [float(c)], float(c), 0) for c in range(20)]
    chosen = quantile_sample(windows, 5, 5, random.Random(0))
    # one per slice of 4 ranks: slice q holds peaks 19-4q .. 16-4q
    assert [q for q, _ in chosen] == [0, 1, 2, 3, 4]
    for q, w in chosen:
        assert 16 - 4 * q <= w.peak <= 19 - 4 * q
    # windows overlapping the avoided ones are never drawn
    avoid = [Window(c, 0, [0.0], 0.0) for c in range(10)]
    again = quantile_sample(windows, 20, 4, random.Random(1), avoid=avoid)
    assert sorted(w.context for _, w in again) == list(range(10, 20))
    assert quantile_sample(windows, 6, 3, random.Random(2)) == quantile_sample(
        windows, 6, 3, random.Random(2)
    )
