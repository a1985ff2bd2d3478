"""The absorption work: :func:`prepare` once per site (the first-letter prompts' activations
and the ground-truth probe), :func:`evaluate` per SAE (k-sparse probes on its latents, the
main latents per letter, the per-token check), with a random dictionary of the same width
and L0 run through the same steps as the null.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from saebench.errors import SaebenchError
from saebench.evaluators import EvalResult
from saebench.evaluators.absorption.config import AbsorptionConfig, AbsorptionMetrics
from saebench.evaluators.absorption.probes import (
    ProbeSettings,
    f1_score,
    k_sparse_probe,
    split_latents,
    train_multi_probe,
)
from saebench.evaluators.absorption.scores import (
    LetterScores,
    letter_means,
    token_interval,
    token_scores,
)
from saebench.tasks.first_letter import LETTERS, SPAN, FirstLetterTask

_ENCODE_ROWS = 4096  # rows per encode call (memory only)


@dataclass
class Prepared:
    """Both splits at the site (one-token words only), the probe and its test quality."""

    x_train: np.ndarray  # [n_train, d] float32
    y_train: np.ndarray  # [n_train] letter index
    x_test: np.ndarray
    y_test: np.ndarray
    words_test: list[str]
    probe_w: np.ndarray  # [26, d]
    probe_b: np.ndarray  # [26]
    probe_f1: dict[str, float]  # per letter with test words
    probe_accuracy: float
    majority_rate: float
    details: dict = field(default_factory=dict)

    @property
    def logits(self) -> np.ndarray:
        return self.x_test @ self.probe_w.T + self.probe_b

    def measured_letters(self, cfg: AbsorptionConfig) -> list[str]:
        return [a for a, f1 in self.probe_f1.items() if f1 > cfg.min_probe_f1]


def prepare(cfg: AbsorptionConfig, context) -> Prepared | str:
    """Capture the task's prompts at the SAE's hook and fit the ground-truth probe (a
    skipped status instead when the prompts do not fit the model's context)."""
    if context.runner is None:
        raise SaebenchError("absorption needs a model runner (run it through saebench.evaluate)")
    model = context.runner.model
    if getattr(model, "tokenizer", None) is None:
        raise SaebenchError("absorption needs the model's tokenizer (its vocabulary is the task)")
    task = FirstLetterTask(cfg.task_config, tokenizer=model.tokenizer)
    splits = (task.prompts("train"), _test_prompts(cfg, task))
    from saebench.toolkit.sites import tokenise

    batches = [tokenise(context.runner, ps) for ps in splits]
    longest, n_ctx = max(int(b.lengths.max()) for b in batches), model.cfg.n_ctx
    if longest > n_ctx:
        return (
            f"skipped: the first-letter prompts take up to {longest} tokens, more than the "
            f"model's context of {n_ctx}; lower task_config.n_icl (now {task.config.n_icl})"
        )
    (x_train, y_train, _, dropped_train), (x_test, y_test, words, dropped_test) = (
        _capture(context, b, ps) for b, ps in zip(batches, splits, strict=True)
    )
    details = {
        "task": task.spec().model_dump(mode="json"),
        "words": {"train": len(y_train), "test": len(y_test)},
        "multi_token_words_dropped": {"train": dropped_train, "test": dropped_test},
    }
    return _fit(cfg, x_train, y_train, x_test, y_test, words, details)


def _test_prompts(cfg: AbsorptionConfig, task):
    prompts = task.prompts("test")
    if cfg.max_test_words is None or len(prompts) <= cfg.max_test_words:
        return prompts
    rng = np.random.default_rng(cfg.seed)
    return [prompts[i] for i in sorted(rng.choice(len(prompts), cfg.max_test_words, replace=False))]


def _fit(cfg, x_train, y_train, x_test, y_test, words, details) -> Prepared:
    """The ground-truth probe and its test quality per letter."""
    settings = ProbeSettings(
        cfg.probe_epochs, cfg.probe_batch_size, cfg.probe_lr, 1e-5, cfg.probe_weight_decay
    )
    w, b = train_multi_probe(x_train, y_train, len(LETTERS), settings, cfg.seed)
    logits = x_test @ w.T + b
    probe_f1 = {
        letter: f1_score(y_test == i, logits[:, i] > 0)
        for i, letter in enumerate(LETTERS)
        if (y_test == i).any()
    }
    counts = np.bincount(y_test, minlength=len(LETTERS))
    return Prepared(
        x_train,
        y_train,
        x_test,
        y_test,
        words,
        w,
        b,
        probe_f1,
        probe_accuracy=float((logits.argmax(1) == y_test).mean()),
        majority_rate=float(counts.max() / counts.sum()),
        details=details,
    )


def _capture(context, batch, prompts) -> tuple[np.ndarray, np.ndarray, list[str], int]:
    """Activations at the word's token of the prompts whose word is one token in context."""
    from saebench.toolkit.sites import Position, read_batch

    single = (batch.first(SPAN) == batch.last(SPAN)).tolist()
    rows = [i for i, one in enumerate(single) if one]
    meta = context.sae.meta
    x = read_batch(context.runner, batch, rows, meta.hook_name, Position(SPAN, "last"), meta)
    y = np.array([LETTERS.index(prompts[i].attributes["letter"]) for i in rows], dtype=np.int64)
    words = [str(prompts[i].tags["word"]) for i in rows]
    return x.numpy(), y, words, len(prompts) - len(rows)


def evaluate(cfg: AbsorptionConfig, sae, p: Prepared | str, context) -> EvalResult:
    """One SAE's record; a skipped one (probe numbers only) when the gate fails."""
    if isinstance(p, str):
        return EvalResult(metrics=AbsorptionMetrics(), details={"status": p})
    probe_metrics = {"probe_accuracy": p.probe_accuracy, "probe_mean_f1": _mean(p.probe_f1)}
    details = {**p.details, "hook": sae.meta.hook_name, "probe_f1": p.probe_f1}
    nulls = {"probe_accuracy": p.majority_rate}
    letters = p.measured_letters(cfg)
    if len(letters) < cfg.min_letters:
        details["status"] = (
            f"skipped: the model does not know first letters at {sae.meta.hook_name}: the "
            f"probe's test F1 exceeds {cfg.min_probe_f1} for {len(letters)} letters, fewer "
            f"than min_letters={cfg.min_letters}; no absorption is published"
        )
        return EvalResult(metrics=AbsorptionMetrics(**probe_metrics), details=details, nulls=nulls)
    codes_train, codes_test = encode(sae, p.x_train), encode(sae, p.x_test)
    measured = measure(cfg, _decoder(sae), codes_train, codes_test, p, letters)
    if cfg.random_control:
        k = max(1, round(float((codes_test != 0).sum(1).mean())))
        null = context.once(
            "random_dictionary",
            lambda: _random_null(cfg, p, sae.d_sae, k, letters),
            site=sae.meta.hook_name,
            depends_on=[sae.d_sae, k, sae.meta.hook_head_index, cfg.model_dump(mode="json")],
        )
        nulls.update(null)
        details["random_dictionary"] = {"d_sae": sae.d_sae, "k": k, **null}
    return _result(measured, probe_metrics, details, nulls)


def measure(cfg, w_dec, codes_train, codes_test, p: Prepared, letters) -> list[LetterScores]:
    """Each measured letter's split latents and per-token scores (letters without a probe
    true positive are left out, as SAEBench's aggregation leaves them out)."""
    settings = ProbeSettings(
        cfg.sparse_epochs, cfg.sparse_batch_size, 0.01, 1e-5, 1e-6, l1=cfg.sparse_l1
    )
    l1_w, _ = train_multi_probe(codes_train, p.y_train, len(LETTERS), settings, cfg.seed)
    logits, out = p.logits, []
    norms = np.linalg.norm(w_dec, axis=1)
    for letter in letters:
        i = LETTERS.index(letter)
        split = _split(cfg, l1_w[i], codes_train, p.y_train == i, codes_test, p.y_test == i)
        positives = (p.y_test == i) & (logits[:, i] > 0)
        if not positives.any():
            continue
        direction = p.probe_w[i] / np.linalg.norm(p.probe_w[i])
        cos = (w_dec @ direction) / np.maximum(norms, 1e-12)
        tokens = token_scores(p.x_test[positives], codes_test[positives], direction, cos, split)
        out.append(LetterScores(letter, tokens, split))
    return out


def _split(cfg, weights, codes_train, y_train, codes_test, y_test) -> list[int]:
    """The main latents; probes are fitted lazily (none past the first k without a jump)."""
    order = np.argsort(-weights, kind="stable")
    probes = (
        k_sparse_probe(codes_train, y_train, codes_test, y_test, order[:k], cfg.seed)
        for k in range(1, cfg.max_k + 1)
    )
    return split_latents(probes, cfg.f1_jump)


def _result(measured: list[LetterScores], probe_metrics, details, nulls) -> EvalResult:
    metrics = summarise(measured)
    intervals = (
        {
            name: token_interval(measured, field)
            for name, field in (
                ("mean_absorption_fraction", "fraction"),
                ("mean_full_absorption", "full"),
                ("mean_absorption_fraction_legacy", "fraction_legacy"),
            )
        }
        if measured
        else {}
    )
    details["letters"] = [s.summary() for s in measured]
    details["status"] = "complete"
    n_tokens = sum(len(s.tokens.fraction) for s in measured)
    return EvalResult(
        metrics=AbsorptionMetrics(**probe_metrics, **metrics),
        details=details,
        intervals=intervals,
        nulls=nulls,
        sample_sizes={"tokens": n_tokens, "letters": len(measured)},
    )


def summarise(measured: list[LetterScores]) -> dict:
    if not measured:
        return {"n_letters_measured": 0.0}
    return {
        "mean_absorption_fraction": letter_means(measured, "fraction"),
        "mean_full_absorption": letter_means(measured, "full"),
        "mean_absorption_fraction_legacy": letter_means(measured, "fraction_legacy"),
        "mean_num_split_latents": float(np.mean([len(s.split) for s in measured])),
        "n_letters_measured": float(len(measured)),
    }


def _random_null(cfg, p: Prepared, d_sae: int, k: int, letters) -> dict:
    """The absorption numbers of a random TopK dictionary (unit rows, encoder = decoder^T,
    ``b_dec`` the train mean) of width ``d_sae`` and ``k`` active latents."""
    import torch

    from saebench.toolkit.references import random_dictionary

    sae = random_dictionary(torch.from_numpy(p.x_train), d_sae=d_sae, k=k, seed=cfg.seed)
    codes_train, codes_test = encode(sae, p.x_train), encode(sae, p.x_test)
    scores = summarise(measure(cfg, _decoder(sae), codes_train, codes_test, p, letters))
    return {name: value for name, value in scores.items() if name != "n_letters_measured"}


def encode(sae, x: np.ndarray) -> np.ndarray:
    """The SAE's codes of rows ``x`` (float32 on the CPU)."""
    import torch

    device = sae.W_dec.device
    parts = []
    with torch.no_grad():
        for start in range(0, len(x), _ENCODE_ROWS):
            rows = torch.from_numpy(x[start : start + _ENCODE_ROWS]).to(device)
            parts.append(sae.encode(rows.to(sae.W_dec.dtype)).float().cpu())
    if not parts:
        return np.zeros((0, sae.d_sae), dtype=np.float32)
    return torch.cat(parts).numpy()


def _decoder(sae) -> np.ndarray:
    return sae.W_dec.detach().float().cpu().numpy()


def _mean(values: dict[str, float]) -> float | None:
    return float(np.mean(list(values.values()))) if values else None
