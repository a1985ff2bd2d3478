"""absorption against SAEBench's own code (sae-bench 0.6.0), on planted tensors: the same
activations, probe direction and SAE go through its ``FeatureAbsorptionCalculator`` and
through :func:`token_scores`; the per-token absorption fraction and full-absorption flags
must agree. Its split rule (``add_feature_splits_to_metrics_df``) and aggregation
(``_aggregate_results_df``) are checked the same way. Skipped when sae-bench is not
importable (it is not a dependency: ``pip download sae-bench==0.6.0 --no-deps``, unzip,
and put the folder on PYTHONPATH)."""

from __future__ import annotations

import numpy as np
import pytest

calculator = pytest.importorskip("sae_bench.evals.absorption.feature_absorption_calculator")
torch = pytest.importorskip("torch")

from saebench.evaluators.absorption.probes import KProbe, split_latents  # noqa: E402
from saebench.evaluators.absorption.run import summarise  # noqa: E402
from saebench.evaluators.absorption.scores import LetterScores, token_scores  # noqa: E402

D, D_SAE, N = 24, 64, 300
WORDS = [f"w{i}" for i in range(N)]


def planted(seed=0):
    """Activations with a probe component, a ReLU SAE whose first latents lean on the probe
    and whose main latents are switched off on a third of the rows."""
    g = torch.Generator().manual_seed(seed)
    probe = torch.randn(D, generator=g)
    unit = probe / probe.norm()
    acts = torch.randn(N, D, generator=g) + 2.0 * unit * torch.rand(N, 1, generator=g)
    w_dec = torch.randn(D_SAE, D, generator=g)
    w_dec[:12] = w_dec[:12] * 0.3 + unit * torch.linspace(0.2, 3.0, 12)[:, None]
    w_dec = w_dec / w_dec.norm(dim=1, keepdim=True)
    w_enc = w_dec.T.clone()
    b_enc = -0.3 * torch.rand(D_SAE, generator=g)
    main = [0, 3]
    off = torch.rand(N, generator=g) < 0.33
    return acts, probe, w_dec, w_enc, b_enc, main, off


class PlantedSae:
    """The interface SAEBench's calculator reads: encode, W_dec, device."""

    def __init__(self, w_enc, b_enc, w_dec, main, off_rows):
        self.w_enc, self.b_enc, self.W_dec, self.device = w_enc, b_enc, w_dec, "cpu"
        self.main, self.off_rows = main, off_rows

    def encode(self, x):
        codes = torch.relu(x @ self.w_enc + self.b_enc)
        silenced = self.off_rows(x)
        codes[
            silenced[:, None] & torch.isin(torch.arange(codes.shape[1]), torch.tensor(self.main))
        ] = 0
        return codes


class PlantedModel:
    """run_with_cache that returns the planted activation of each prompt's word."""

    def __init__(self, acts):
        self.acts = acts

    def run_with_cache(self, prompts, names_filter):
        rows = [int(p.rsplit("\n", 1)[-1].removesuffix(":")[1:]) for p in prompts]
        out = torch.zeros(len(rows), 3, D)
        out[:, -2] = self.acts[rows]
        return None, {names_filter[0]: out}

    def to_tokens(self, text):
        return torch.zeros(1, 3, dtype=torch.long)


def test_per_token_fraction_and_full_absorption_equal_saebench():
    acts, probe, w_dec, w_enc, b_enc, main, off = planted()
    lookup = {tuple(a.tolist()): i for i, a in enumerate(acts)}

    def off_rows(x):
        return torch.tensor([bool(off[lookup[tuple(r.tolist())]]) for r in x])

    sae = PlantedSae(w_enc, b_enc, w_dec, main, off_rows)
    calc = calculator.FeatureAbsorptionCalculator(
        model=PlantedModel(acts), icl_word_list=WORDS, max_icl_examples=3
    )
    theirs = calc.calculate_absorption(
        sae, WORDS, probe, main, layer=0, show_progress=False
    ).word_results
    codes = sae.encode(acts)
    unit = (probe / probe.norm()).numpy()
    cos = torch.nn.functional.cosine_similarity(probe[None], w_dec, dim=-1).numpy()
    mine = token_scores(acts.numpy(), codes.numpy(), unit, cos, main)
    their_fraction = np.array([float(r.absorption_fraction) for r in theirs])
    their_full = np.array([r.is_full_absorption for r in theirs])
    # both branches of each rule occur on these rows
    assert 0 < their_full.sum() < N and 0 < (their_fraction == 0).sum() < N
    assert ((their_fraction > 0) & (their_fraction < 1)).any()
    # theirs is float32 torch, ours float64: equal to float32 rounding
    np.testing.assert_allclose(mine.fraction, their_fraction, atol=1e-5)
    assert mine.full.tolist() == their_full.tolist()
    np.testing.assert_allclose(mine.probe_proj, [r.probe_projection for r in theirs], rtol=1e-5)


def test_split_rule_equals_saebench():
    pd = pytest.importorskip("pandas")
    ksp = pytest.importorskip("sae_bench.evals.absorption.k_sparse_probing")
    rng = np.random.default_rng(0)
    rows, mine = [], {}
    for letter in ksp.LETTERS:
        f1 = np.cumsum(rng.choice([0.0, 0.01, 0.05], size=10)) + rng.random() * 0.5
        feats = [rng.permutation(50)[: k + 1] for k in range(10)]
        row = {"letter": letter}
        for k in range(1, 11):
            row[f"f1_sparse_sae_{k}"] = f1[k - 1]
            row[f"sparse_sae_k_{k}_feats"] = feats[k - 1]
        rows.append(row)
        probes = [KProbe(feats[k].tolist(), f1[k]) for k in range(10)]
        mine[letter] = split_latents(probes, 0.03)
    df = pd.DataFrame(rows)
    ksp.add_feature_splits_to_metrics_df(df, max_k_value=10, f1_jump_threshold=0.03)
    assert {r.letter: list(r.split_feats) for r in df.itertuples()} == mine


def test_aggregation_equals_saebench():
    pd = pytest.importorskip("pandas")
    main_module = pytest.importorskip("sae_bench.evals.absorption.main")
    rng = np.random.default_rng(1)
    letters, rows = [], []
    for letter, n in zip("abcde", (3, 7, 1, 12, 5), strict=True):
        fraction, full = rng.random(n), rng.random(n) < 0.3
        split = list(range(int(rng.integers(1, 4))))
        tokens = token_scores(np.ones((n, 1)), np.zeros((n, 1)), np.ones(1), np.ones(1), [0])
        tokens = type(tokens)(fraction, fraction, full, tokens.probe_proj, tokens.main_proj)
        letters.append(LetterScores(letter, tokens, split))
        rows += [
            {
                "letter": letter,
                "absorption_fraction": f,
                "is_full_absorption": u,
                "num_probe_true_positives": n,
                "split_feats": split,
            }
            for f, u in zip(fraction, full, strict=True)
        ]
    agg = main_module._aggregate_results_df(pd.DataFrame(rows))
    ours = summarise(letters)
    assert ours["mean_absorption_fraction"] == pytest.approx(agg["mean_absorption_fraction"].mean())
    assert ours["mean_full_absorption"] == pytest.approx(agg["full_absorption_rate"].mean())
    assert ours["mean_num_split_latents"] == pytest.approx(agg["num_split_feats"].mean())


def test_legacy_fraction_equals_saebench_0_3_2():
    """The PR 48 fraction (sae-bench 0.3.2's calculator, the one behind the SAEBench paper)
    on the same rows; needs SAE_BENCH_032_CALCULATOR = the path of that version's
    ``feature_absorption_calculator.py`` (it imports the rest from the installed one)."""
    import importlib.util
    import os

    path = os.environ.get("SAE_BENCH_032_CALCULATOR")
    if not path:
        pytest.skip("set SAE_BENCH_032_CALCULATOR to sae-bench 0.3.2's calculator file")
    spec = importlib.util.spec_from_file_location("sae_bench_032_calculator", path)
    legacy = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(legacy)
    acts, probe, w_dec, w_enc, b_enc, main, off = planted(seed=2)
    lookup = {tuple(a.tolist()): i for i, a in enumerate(acts)}
    sae = PlantedSae(
        w_enc,
        b_enc,
        w_dec,
        main,
        lambda x: torch.tensor([bool(off[lookup[tuple(r.tolist())]]) for r in x]),
    )
    calc = legacy.FeatureAbsorptionCalculator(
        model=PlantedModel(acts), icl_word_list=WORDS, max_icl_examples=3
    )
    theirs = calc.calculate_absorption(sae, WORDS, probe, main, layer=0, show_progress=False)
    their_fraction = np.array([float(r.absorption_fraction) for r in theirs.word_results])
    unit = (probe / probe.norm()).numpy()
    cos = torch.nn.functional.cosine_similarity(probe[None], w_dec, dim=-1).numpy()
    mine = token_scores(acts.numpy(), sae.encode(acts).numpy(), unit, cos, main)
    assert 0 < (their_fraction == 0).sum() < N
    np.testing.assert_allclose(mine.fraction_legacy, their_fraction, atol=1e-5)
