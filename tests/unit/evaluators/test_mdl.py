import math

import pytest
import torch
from helpers import make_sae

import saebench
from saebench.activations.shared_pass import SharedPass
from saebench.errors import SaebenchError
from saebench.evaluators.base import EvalContext, SaeBatch
from saebench.evaluators.mdl import MdlConfig, MdlEvaluator
from saebench.evaluators.mdl_stats import affine_decoder, binary_entropy, sparse_decode_delta
from saebench.sae import SaeMetadata, build_sae


def identity_sae(d: int):
    """ReLU SAE with identity encoder and decoder: codes = relu(x), x_hat = codes."""
    eye = torch.eye(d)
    meta = SaeMetadata(architecture="relu", d_in=d, d_sae=d, hook_name="blocks.0.hook_resid_post")
    tensors = {"W_enc": eye, "b_enc": torch.zeros(d), "W_dec": eye, "b_dec": torch.zeros(d)}
    return build_sae(meta, tensors, where="test").requires_grad_(False)


def make_batch(sae, x, target=None, pass_index=0) -> SaeBatch:
    codes, x_hat = sae(x)
    n = x.shape[0]
    return SaeBatch(
        sae=sae,
        tokens=torch.zeros(1, n, dtype=torch.long),
        mask=torch.ones(1, n, dtype=torch.bool),
        x=x,
        target=x if target is None else target,
        codes=codes,
        x_hat=x_hat,
        pass_index=pass_index,
    )


def run_mdl(sae, x, target=None, batch_size=4096, **config):
    """Both passes over ``x`` in batches, then finish()."""
    evaluator = MdlEvaluator(MdlConfig(**config), EvalContext(sae=sae))
    for pass_index in (0, 1):
        for start in range(0, x.shape[0], batch_size):
            part = None if target is None else target[start : start + batch_size]
            evaluator.update(make_batch(sae, x[start : start + batch_size], part, pass_index))
    return evaluator.finish()


def exact_codes(n, specs, seed=0):
    """Codes whose latent i fires on exactly ``count`` tokens with exact value counts.

    ``specs`` is a list of ``{value: count}``; positions are shuffled independently per latent.
    """
    gen = torch.Generator().manual_seed(seed)
    codes = torch.zeros(n, len(specs))
    for i, spec in enumerate(specs):
        parts = [torch.full((c,), float(v)) for v, c in spec.items()]
        column = torch.cat([*parts, torch.zeros(n - sum(spec.values()))])
        codes[:, i] = column[torch.randperm(n, generator=gen)]
    return codes


def closed_form(n, specs):
    total = 0.0
    for spec in specs:
        fires = sum(spec.values())
        p = fires / n
        value_entropy = -sum(c / fires * math.log2(c / fires) for c in spec.values())
        total += float(binary_entropy(torch.tensor(p, dtype=torch.float64))) + p * value_entropy
    return total


# -- analytic cases ------------------------------------------------------------------------------
def test_exact_frequencies_give_the_closed_form_entropy():
    n = 6000
    # values 1, 2, 4 are in separate bins from 2 bits on ([1, 4] in bins of 0.75 or less)
    specs = [{1: 1500, 2: 750, 4: 750}, {3: 600}, {1: 500, 2: 500, 4: 500}, {}]
    result = run_mdl(identity_sae(4), exact_codes(n, specs), batch_size=1000)
    expected = closed_form(n, specs)
    m = result.metrics
    assert m.precision_bits >= 2
    assert m.description_length_bits_per_token == pytest.approx(expected, rel=1e-9)
    for point in result.details["curve"]:
        if point["bits"] >= 2:
            assert point["description_length_bits_per_token"] == pytest.approx(expected, rel=1e-9)
    # at 1 bit, 1 and 2 share a bin, so the value entropy is lower
    one_bit = result.details["curve"][0]
    assert one_bit["bits"] == 1
    assert one_bit["description_length_bits_per_token"] < expected - 0.1
    assert result.details["alive_latents"] == 3
    assert m.l0 == pytest.approx((3000 + 600 + 1500) / n)


def test_sampled_independent_latents_within_one_percent():
    gen = torch.Generator().manual_seed(1)
    # 60k tokens: the sampling error of the total (about 4.35 bits) is near 0.01 bits
    n, probs = 60_000, torch.tensor([0.02, 0.1, 0.3, 0.6])
    values = torch.tensor([0.5, 1.0, 2.0, 3.0])
    weights = torch.tensor([0.4, 0.3, 0.2, 0.1])
    fires = torch.rand(n, 4, generator=gen) < probs
    picks = torch.multinomial(weights, n * 4, replacement=True, generator=gen).view(n, 4)
    codes = torch.where(fires, values[picks], torch.zeros(()))
    result = run_mdl(identity_sae(4), codes, batch_size=20_000, bits=list(range(1, 9)))
    h_values = float(-(weights * weights.log2()).sum())
    expected = float((binary_entropy(probs.double()) + probs.double() * h_values).sum())
    assert result.metrics.precision_bits >= 3  # 0.5..3 in bins of 2.5/8 keeps values apart
    assert result.metrics.description_length_bits_per_token == pytest.approx(expected, rel=0.01)


# -- precision selection -------------------------------------------------------------------------
def test_binary_codes_need_one_bit():
    n = 4000
    specs = [{2.5: 400}, {1: 1000}, {7: 2000}]
    result = run_mdl(identity_sae(3), exact_codes(n, specs))
    m = result.metrics
    assert m.precision_bits == 1
    assert m.fvu == 0 and m.fvu_quantized == 0  # zeros stay zero; one value per latent is exact
    assert m.value_bits_per_token == 0
    assert m.description_length_bits_per_token == pytest.approx(closed_form(n, specs))
    assert m.simple_bound_bits_per_token == pytest.approx(m.l0 * (math.log2(3) + 1))


def _uniform_codes(n=20_000, seed=2):
    # one latent: off half the time, else uniform on [1, 2]; var = 7/12 - 9/16 + 1/4 ... = 0.604
    gen = torch.Generator().manual_seed(seed)
    on = torch.rand(n, 1, generator=gen) < 0.5
    return torch.where(on, 1 + torch.rand(n, 1, generator=gen), torch.zeros(()))


@pytest.mark.parametrize(("tolerance", "bits"), [(0.01, 2), (5e-4, 4)])
def test_tolerance_sets_the_precision(tolerance, bits):
    # FVU added by quantising is about 0.5 * (2**-B)**2 / 12 / 0.604 = 0.069 * 4**-B:
    # 0.017, 0.0043, 0.0011, 0.00027 for B = 1..4
    result = run_mdl(identity_sae(1), _uniform_codes(), fvu_tolerance=tolerance)
    assert result.metrics.precision_bits == bits
    curve = result.details["curve"]
    assert curve[bits - 1]["within_tolerance"] and not curve[bits - 2]["within_tolerance"]
    assert curve[bits - 1]["fvu"] == pytest.approx(0.069 * 4.0**-bits, rel=0.1)
    fvus = [point["fvu"] for point in curve]
    assert fvus == sorted(fvus, reverse=True)  # nested bins: finer never worse here
    dls = [point["description_length_bits_per_token"] for point in curve]
    assert dls == sorted(dls)


def test_max_fvu_replaces_the_relative_tolerance():
    result = run_mdl(identity_sae(1), _uniform_codes(), max_fvu=0.002)
    assert result.metrics.precision_bits == 3
    assert result.details["fvu_limit"] == 0.002


def test_unreachable_tolerance_reports_the_finest_and_warns():
    with pytest.warns(UserWarning, match="no precision"):
        result = run_mdl(identity_sae(1), _uniform_codes(), bits=[1, 2, 3], max_fvu=1e-9)
    assert result.metrics.precision_bits == 3
    assert result.details["tolerance_met"] is False


def test_log_quantiser_uses_geometric_bin_centres():
    codes = exact_codes(1000, [{1: 250, 100: 250}])
    result = run_mdl(identity_sae(1), codes, quantizer="log", bits=[1, 2], max_fvu=1.0)
    # at 1 bit the log range [0, log 100] splits at 10; centres 10**0.5 and 10**1.5
    sse = 250 * ((1 - 10**0.5) ** 2 + (100 - 10**1.5) ** 2)
    variance = float(((codes.double() - codes.double().mean()) ** 2).sum())
    assert result.details["curve"][0]["fvu"] == pytest.approx(sse / variance, rel=1e-9)
    batch = make_batch(identity_sae(1), codes)
    batch.codes = -batch.codes
    evaluator = MdlEvaluator(MdlConfig(quantizer="log"), EvalContext(sae=batch.sae))
    with pytest.raises(SaebenchError, match="log quantiser"):
        evaluator.update(batch)


# -- dense baseline ------------------------------------------------------------------------------
def test_dense_baseline_by_hand():
    # target: dim 0 in {0, 1}, dim 1 in {0, 1, 2, 3}, every pair equally often (variance 1.5).
    # Quantised per dimension over its range, FVU is 0.25 at 1 bit, 0.0625 at 2, 0.015625 at 3.
    pairs = torch.tensor([[a, b] for a in (0.0, 1.0) for b in (0.0, 1.0, 2.0, 3.0)])
    target = pairs.repeat(50, 1)
    # the SAE sees 0.8 * target, so FVU = 0.04 * E|t|^2 / 1.5 = 0.04 * 4 / 1.5 = 0.1067
    result = run_mdl(identity_sae(2), 0.8 * target, target=target, dense_bits=[1, 2, 3, 4])
    dense = [point["fvu"] for point in result.details["dense_curve"]]
    assert dense[:3] == pytest.approx([0.25, 0.0625, 0.015625], rel=1e-12)
    m = result.metrics
    assert m.fvu == pytest.approx(0.04 * 4 / 1.5)
    assert 0.0625 <= m.fvu_quantized < 0.25
    assert m.dense_precision_bits == 2
    assert m.dense_baseline_bits_per_token == 4.0
    assert m.compression_ratio == pytest.approx(4.0 / m.description_length_bits_per_token)


# -- decoding and memory ---------------------------------------------------------------------------
@pytest.mark.parametrize("meta", [{}, {"normalize_activations": "layer_norm", "input_scale": 0.5}])
def test_sparse_decode_matches_a_dense_decode(meta):
    sae = make_sae("topk", d_in=8, d_sae=32, k=4, **meta)
    x = torch.randn(50, 8, generator=torch.Generator().manual_seed(3))
    codes, _ = sae(x)
    rows, cols = codes.nonzero(as_tuple=True)
    delta = torch.randn(rows.numel(), dtype=torch.float64)
    changed = codes.double().index_put((rows, cols), delta, accumulate=True).float()
    expected = sae.decode(changed, x) - sae.decode(codes, x)
    got = sparse_decode_delta(sae, sae.W_dec.double(), x, rows, cols, delta)
    assert affine_decoder(sae)
    torch.testing.assert_close(got.float(), expected, atol=1e-4, rtol=1e-4)


def test_custom_decoders_fall_back_to_batch_decode():
    stock = make_sae(d_in=8, d_sae=16, normalize_activations="layer_norm")

    class Custom(type(stock)):
        def decode(self, codes, x=None):
            return super().decode(codes, x)

    custom = Custom(stock.meta, stock.W_enc, stock.b_enc, stock.W_dec, stock.b_dec)
    assert not affine_decoder(custom)
    x = torch.randn(300, 8, generator=torch.Generator().manual_seed(4))
    fast, slow = (run_mdl(sae, x, bits=[1, 3, 6]) for sae in (stock, custom))
    for a, b in zip(fast.details["curve"], slow.details["curve"], strict=True):
        assert a["fvu"] == pytest.approx(b["fvu"], rel=1e-5)
        assert a["description_length_bits_per_token"] == b["description_length_bits_per_token"]


def test_histogram_memory_is_capped():
    with pytest.raises(SaebenchError, match="max_histogram_mib"):
        MdlEvaluator(MdlConfig(max_histogram_mib=1), EvalContext(sae=make_sae(d_sae=1024)))
    with pytest.raises(ValueError):
        MdlConfig(bits=[0, 3])


# -- end to end ------------------------------------------------------------------------------------
def test_evaluate_runs_the_model_once_for_two_passes(tiny_model, texts, monkeypatch):
    seen = {}
    original = SharedPass.run

    def run(self):
        original(self)
        n_contexts = self.source.token_set.tokens.shape[0]
        seen["batches"] = math.ceil(n_contexts / self.batch_size)
        seen["forwards"] = self.model_forwards

    monkeypatch.setattr(SharedPass, "run", run)
    records = saebench.evaluate(
        make_sae("topk", k=8),
        model=tiny_model,
        dataset=texts,
        evaluators=["mdl", "reconstruction"],
        configs={"reconstruction": {"downstream": False}, "mdl": {"bits": [1, 2, 4, 8]}},
        n_tokens=1024,
        context_size=16,
        batch_size=16,
        device="cpu",
        progress=False,
    )
    mdl, recon = records
    assert mdl.evaluator.name == "mdl"
    assert mdl.evaluator.main_metric == "description_length_bits_per_token"
    assert set(MdlEvaluator.Metrics.model_fields) <= set(mdl.metrics)
    assert mdl.metrics["description_length_bits_per_token"] > 0
    assert mdl.metrics["fvu"] == pytest.approx(recon.metrics["fvu"], rel=1e-6)
    assert mdl.metrics["l0"] == pytest.approx(8.0)
    assert [p["bits"] for p in mdl.details["curve"]] == [1, 2, 4, 8]
    assert seen["batches"] > 1 and seen["forwards"] == seen["batches"]


def test_saes_on_one_hook_share_the_dense_curve(tiny_model, texts):
    from helpers import make_sae

    import saebench
    from saebench.evaluators.mdl_stats import DenseCurve

    made = []
    original = DenseCurve.__init__

    def counting(self, *args, **kwargs):
        made.append(self)
        original(self, *args, **kwargs)

    DenseCurve.__init__ = counting
    try:
        kwargs = dict(
            model=tiny_model,
            dataset=texts,
            evaluators=["mdl"],
            n_tokens=512,
            context_size=16,
            progress=False,
        )
        together = saebench.evaluate([make_sae(seed=1), make_sae(seed=2)], **kwargs)
        alone = saebench.evaluate([make_sae(seed=2)], **kwargs)
    finally:
        DenseCurve.__init__ = original
    assert len(made) == 2  # one for the pair, one for the single run
    dense = [r.details["dense_curve"] for r in together]
    assert dense[0] == dense[1] == alone[0].details["dense_curve"]
    # made through context.once (the framework's key and timing), not a key built by hand
    timed = [r for r in together if "once_mdl_dense_curve_cpu_seconds" in r.timing]
    assert len(timed) == 1


def test_the_description_length_has_a_block_bootstrap_interval_free_of_the_batch_size(
    tiny_model, texts
):
    runs = []
    for batch_size in (3, 16):
        (record,) = saebench.evaluate(
            make_sae("topk", k=8), model=tiny_model, dataset=texts, evaluators=["mdl"],
            n_tokens=2048, context_size=16, batch_size=batch_size, device="cpu", progress=False,
        )  # fmt: skip
        runs.append(record)
    first, second = runs
    interval = first.main_interval
    assert interval.unit == "context_blocks" and interval.n == first.sample_sizes["context_blocks"]
    assert interval.low <= first.main_value <= interval.high and interval.low < interval.high
    assert second.main_interval.low == pytest.approx(interval.low, rel=1e-6)
    assert second.main_interval.high == pytest.approx(interval.high, rel=1e-6)
