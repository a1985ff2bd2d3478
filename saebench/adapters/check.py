"""``saebench adapters check URI [--model M]``: does a loaded SAE behave?

The report says what was loaded (adapter, architecture, widths, dtype, hooks, every
tensor), how the decoder looks (row norms, dead rows) and runs checks: shapes agree,
weights are finite, encode/decode of random inputs works and is finite, codes are
non-negative where the architecture says so, and, given a model, that the hooks exist and
have the SAE's widths, and how well the SAE reconstructs a few thousand real activations of
the model (explained variance and L0, on the zoo's text for the zoo model, a few built-in
English paragraphs otherwise). An implausible reconstruction (explained variance below
0.5, L0 of 0 or above half the latents) is a warning, not a failure: a control dictionary
may be meant to be bad, but a wrong site or a forgotten ``apply_b_dec_to_input`` shows there.

Example:
    >>> report = check_sae("zoo:resid-topk-16", model="zoo")
    >>> print("\\n".join(report.lines())); report.ok
    True
"""

from __future__ import annotations

from typing import Any

import torch
from pydantic import BaseModel, computed_field

from saebench.errors import SaebenchError
from saebench.sae import Sae

UNIT_NORM_TOL = 1e-3
# Below this explained variance (or at L0 0, or L0 above half the latents) a trained SAE
# is implausible: the adapter reads the wrong site or mishandles the input.
MIN_EXPLAINED_VARIANCE = 0.5
CHECK_TOKENS = 2048
# Architectures whose codes may be negative; every other one must give codes >= 0.
SIGNED_ARCHITECTURES = {"abstopk"}


class TensorInfo(BaseModel):
    name: str
    shape: list[int]
    dtype: str


class DecoderStats(BaseModel):
    norm_min: float
    norm_mean: float
    norm_max: float
    unit_norm: bool
    dead_rows: int


class Check(BaseModel):
    name: str
    ok: bool
    detail: str = ""
    warn: bool = False  # passed, but looks wrong: shown as WARN, does not fail the report


class AdapterReport(BaseModel):
    """What ``adapters check`` found; ``ok`` is True when every check passed."""

    uri: str
    adapter: str
    architecture: str
    encoder: str
    d_in: int
    d_sae: int
    d_out: int
    dtype: str
    hook_name: str
    hook_name_out: str | None = None
    model_name: str | None = None
    tensors: list[TensorInfo]
    decoder: DecoderStats
    checks: list[Check]

    @computed_field  # type: ignore[prop-decorator]
    @property
    def ok(self) -> bool:
        return all(check.ok for check in self.checks)

    @property
    def warnings(self) -> list[Check]:
        return [check for check in self.checks if check.ok and check.warn]

    def lines(self) -> list[str]:
        """Human-readable lines: a summary, the tensors, then one PASS/FAIL line per check."""
        dec = self.decoder
        out = [
            f"sae           {self.uri}",
            f"adapter       {self.adapter}",
            f"architecture  {self.architecture} (encoder {self.encoder})",
            f"widths        d_in={self.d_in} d_sae={self.d_sae} d_out={self.d_out}",
            f"dtype         {self.dtype}",
            f"hook          {self.hook_name}"
            + (f" -> {self.hook_name_out}" if self.hook_name_out else ""),
            f"model         {self.model_name or '(not recorded)'}",
            f"decoder norms min={dec.norm_min:.4g} mean={dec.norm_mean:.4g} "
            f"max={dec.norm_max:.4g} unit-norm={'yes' if dec.unit_norm else 'no'} "
            f"dead rows={dec.dead_rows}",
            "tensors:",
        ]
        out += [f"  {t.name:<12} {str(tuple(t.shape)):<18} {t.dtype}" for t in self.tensors]
        out.append("checks:")
        out += [
            f"  {_verdict(c)}  {c.name}" + (f": {c.detail}" if c.detail else "")
            for c in self.checks
        ]
        result = "ok" if self.ok else "FAILED"
        if self.ok and self.warnings:
            result += f", with {len(self.warnings)} warning(s)"
        out.append("result: " + result)
        return out

    def to_table(self) -> str:
        return "\n".join(self.lines())


def _verdict(check: Check) -> str:
    if not check.ok:
        return "FAIL"
    return "WARN" if check.warn else "PASS"


def check_sae(
    uri: str | Sae,
    model: Any = None,
    device: str = "cpu",
    n_inputs: int = 8,
    seed: int = 0,
    dataset: Any = None,
) -> AdapterReport:
    """Load ``uri`` and check it; ``model`` (a name or a HookedTransformer) adds hook checks
    and a reconstruction check on real activations (of ``dataset``, anything
    :func:`saebench.evaluate` takes; default: the zoo's text for the zoo model, else a few
    built-in English paragraphs).

    A URI that does not load raises :class:`SaebenchError`, as ``load_sae`` does.
    """
    from saebench.adapters.resolve import load_sae, read_uri

    adapter = read_uri(uri)[0] if isinstance(uri, str) else "object"
    sae = load_sae(uri, device=device)
    meta = sae.meta
    checks = [_shape_check(sae), _finite_check(sae)]
    checks += _round_trip_checks(sae, n_inputs, seed)
    if model is not None:
        checks += _model_checks(sae, model, device, dataset)
    return AdapterReport(
        uri=str(uri) if isinstance(uri, str) else (meta.source or "object"),
        adapter=adapter,
        architecture=meta.architecture,
        encoder=sae.encoder_kind,
        d_in=sae.d_in,
        d_sae=sae.d_sae,
        d_out=sae.d_out,
        dtype=str(sae.dtype).removeprefix("torch."),
        hook_name=meta.hook_name,
        hook_name_out=meta.hook_name_out if meta.is_transcoder else None,
        model_name=meta.model_name,
        tensors=[
            TensorInfo(name=n, shape=list(t.shape), dtype=str(t.dtype).removeprefix("torch."))
            for n, t in sae.named_tensors().items()
        ],
        decoder=_decoder_stats(sae),
        checks=checks,
    )


def _decoder_stats(sae: Sae) -> DecoderStats:
    norms = sae.W_dec.detach().float().norm(dim=1)
    alive = norms[norms > 0]
    return DecoderStats(
        norm_min=float(norms.min()),
        norm_mean=float(norms.mean()),
        norm_max=float(norms.max()),
        unit_norm=bool(alive.numel() and ((alive - 1).abs() <= UNIT_NORM_TOL).all()),
        dead_rows=int((sae.W_dec.detach() == 0).all(dim=1).sum()),
    )


def _shape_check(sae: Sae) -> Check:
    m = sae.meta
    expected = {
        "W_enc": (m.d_in, m.d_sae),
        "W_dec": (m.d_sae, m.width_out),
        "b_dec": (m.width_out,),
        "b_enc": (m.d_sae,),
    }
    if sae.W_skip is not None:
        expected["W_skip"] = (m.width_out, m.d_in)
    bad = [
        f"{name} {tuple(getattr(sae, name).shape)} != {shape}"
        for name, shape in expected.items()
        if tuple(getattr(sae, name).shape) != shape
    ]
    detail = "; ".join(bad) or f"agree with metadata (d_in={m.d_in}, d_sae={m.d_sae})"
    return Check(name="shapes", ok=not bad, detail=detail)


def _finite_check(sae: Sae) -> Check:
    bad = [n for n, t in sae.named_tensors().items() if not torch.isfinite(t).all()]
    return Check(name="finite weights", ok=not bad, detail=", ".join(bad) or "all finite")


@torch.no_grad()
def _round_trip_checks(sae: Sae, n_inputs: int, seed: int) -> list[Check]:
    generator = torch.Generator().manual_seed(seed)
    x = torch.randn(2, n_inputs, sae.d_in, generator=generator).to(sae.device, sae.dtype)
    try:
        codes = sae.encode(x)
        x_hat = sae.decode(codes, x)
        codes_fwd, x_hat_fwd = sae(x)
    except Exception as exc:  # any crash in the SAE's own code is the finding
        return [Check(name="round trip", ok=False, detail=f"{type(exc).__name__}: {exc}")]
    shapes_ok = codes.shape == (2, n_inputs, sae.d_sae) and x_hat.shape == (2, n_inputs, sae.d_out)
    checks = [
        Check(
            name="round trip shapes",
            ok=shapes_ok,
            detail=f"codes {tuple(codes.shape)}, reconstruction {tuple(x_hat.shape)}",
        ),
        Check(
            name="round trip finite",
            ok=bool(torch.isfinite(codes).all() and torch.isfinite(x_hat).all()),
            detail="codes and reconstruction of random inputs",
        ),
        Check(
            name="forward = decode(encode(x))",
            ok=bool(torch.equal(codes, codes_fwd) and torch.allclose(x_hat, x_hat_fwd)),
        ),
    ]
    l0 = float((codes != 0).float().sum(-1).mean())
    if sae.meta.architecture in SIGNED_ARCHITECTURES:
        checks.append(Check(name="codes", ok=True, detail=f"signed; mean L0 {l0:.1f}"))
    else:
        negative = int((codes < 0).sum())
        detail = f"{negative} negative" if negative else f"all >= 0; mean L0 {l0:.1f}"
        checks.append(Check(name="codes >= 0", ok=negative == 0, detail=detail))
    return checks


def _model_checks(sae: Sae, model: Any, device: str, dataset: Any = None) -> list[Check]:
    from saebench.models.load import load_model

    model = load_model(model, device=device)
    checks = _hook_checks(sae, model)
    if all(check.ok for check in checks):
        checks.append(_reconstruction_check(sae, model, dataset))
    return checks


def _hook_checks(sae: Sae, model: Any) -> list[Check]:
    from saebench.models.hooks import hook_width

    meta = sae.meta
    wanted = [("input hook", meta.hook_name, sae.d_in)]
    if meta.is_transcoder:
        wanted.append(("output hook", meta.output_hook, sae.d_out))
    checks = []
    for label, hook, width in wanted:
        try:
            found = hook_width(model, hook, meta.hook_head_index)
        except SaebenchError as exc:
            checks.append(Check(name=f"{label} {hook}", ok=False, detail=str(exc)))
            continue
        checks.append(
            Check(
                name=f"{label} {hook}",
                ok=found == width,
                detail=f"width {found} in the model, {width} in the SAE",
            )
        )
    return checks


@torch.no_grad()
def _reconstruction_check(sae: Sae, model: Any, dataset: Any) -> Check:
    """Explained variance and L0 on real activations of the model at the SAE's hooks."""
    from saebench.models.edits import sae_view
    from saebench.models.interventions import ModelRunner

    name = "reconstruction on real activations"
    if getattr(model, "tokenizer", None) is None and dataset is None:
        return Check(name=name, ok=True, detail="skipped: the model has no tokenizer")
    meta = sae.meta
    token_set = _check_tokens(model, meta, dataset)
    hooks = sorted({meta.hook_name, meta.output_hook})
    acts = ModelRunner(model).capture(token_set.tokens.to(model.cfg.device), hooks)
    mask = token_set.mask().to(model.cfg.device)
    x = sae_view(acts[meta.hook_name], meta)[mask].to(sae.device, sae.dtype)
    target = sae_view(acts[meta.output_hook], meta)[mask].to(sae.device, torch.float64)
    codes, x_hat = sae(x)
    residual = ((target - x_hat.double()) ** 2).sum()
    ev = float(1 - residual / ((target - target.mean(0)) ** 2).sum().clamp_min(1e-30))
    l0 = float((codes != 0).double().sum(-1).mean())
    detail = f"explained variance {ev:.3f}, L0 {l0:.4g} of {sae.d_sae} on {x.shape[0]} tokens"
    problems = _implausible(ev, l0, sae.d_sae)
    if problems:
        detail += f" ({'; '.join(problems)}; {_likely_causes(meta)})"
    return Check(name=name, ok=True, warn=bool(problems), detail=detail)


def _implausible(ev: float, l0: float, d_sae: int) -> list[str]:
    problems = []
    if ev < MIN_EXPLAINED_VARIANCE:
        problems.append(f"explained variance below {MIN_EXPLAINED_VARIANCE}")
    if l0 == 0:
        problems.append("no latent ever fires")
    elif l0 > d_sae / 2:
        problems.append("more than half the latents fire per token")
    return problems


def _likely_causes(meta) -> str:
    return (
        f"check that the SAE reads {meta.hook_name} of this model, its apply_b_dec_to_input "
        f"({meta.apply_b_dec_to_input}) and its input normalisation "
        f"({meta.normalize_activations}, scale {meta.input_scale})"
    )


def _check_tokens(model: Any, meta, dataset: Any):
    """A few thousand tokens packed the way the SAE was trained (as far as it says)."""
    from saebench.adapters.sample_text import PARAGRAPHS
    from saebench.data.contexts import make_token_set

    zoo = getattr(model.cfg, "model_name", None) == "saebench-zoo"
    source = dataset if dataset is not None else ("zoo" if zoo else list(PARAGRAPHS))
    context = min(meta.context_size or 64, 64, model.cfg.n_ctx)
    separator = meta.sequence_separator or "bos"
    n_tokens = CHECK_TOKENS if dataset is not None or zoo else 8 * context
    return make_token_set(
        source,
        tokenizer=getattr(model, "tokenizer", None),
        context_size=context,
        n_tokens=n_tokens,
        prepend_bos=meta.prepend_bos,
        separator=None if separator == "none" else separator,
        vocab_size=model.cfg.d_vocab,
    )
