"""The work of ``sae_probes``: :func:`prepare` once per run and hook, :func:`evaluate` per SAE.

What does not depend on the SAE (the captured splits, every probe's rows, the raw-activation
probes and the dense baselines) is made once and shared through ``context.once``, so each
SAE gets the numbers it would get alone. Fits run on one BLAS thread
(:func:`saebench.toolkit.probes.probe_threads`): faster for many small fits, and the same
sums on every machine.
"""

from __future__ import annotations

import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import numpy as np

from saebench.errors import SaebenchError
from saebench.evaluators import EvalResult, Reference
from saebench.evaluators.sae_probes.baselines import run_baseline
from saebench.evaluators.sae_probes.config import SaeProbesEvalConfig, SaeProbesMetrics
from saebench.evaluators.sae_probes.fitting import Fit, fit_cv_probe, select_top_k
from saebench.evaluators.sae_probes.plan import Dataset, binary_attributes, plan_datasets
from saebench.evaluators.sae_probes.report import assemble
from saebench.evaluators.sae_probes.scoring import Item
from saebench.toolkit.captures import Split, capture_split, encode_rows
from saebench.toolkit.sites import LAST, Position


@dataclass(frozen=True)
class Prepared:
    """The splits (OOD None when not asked or absent) and the planned datasets."""

    train: Split
    test: Split
    ood: Split | None
    datasets: list[Dataset]
    skipped: list[dict]
    status: str | None = None  # "skipped: ..." when the task has nothing to probe


def prepare(cfg: SaeProbesEvalConfig, context) -> Prepared:
    """Capture the splits at each prompt's last token (as the paper reads them) and plan."""
    task = context.task
    if task is None or context.runner is None:
        raise SaebenchError("sae_probes needs a task and a model runner (run it via a plan)")
    attributes = binary_attributes(cfg, task)
    empty = Split(np.zeros((0, 0), np.float32), {}, 0)
    if not attributes:
        status = f"skipped: task {task.name!r} has no binary attribute to probe"
        return Prepared(empty, empty, None, [], [], status)
    unknown = unknown_share(context.runner, task.prompts(cfg.train_split))
    if unknown > cfg.max_unknown:
        status = (
            f"skipped: the model's tokenizer reads {unknown:.0%} of task {task.name!r}'s tokens "
            "as unknown; it cannot read these texts"
        )
        return Prepared(empty, empty, None, [], [], status)
    hook, where = context.sae.meta.hook_name, Position(LAST)

    def capture(split: str) -> Split:
        return capture_split(context.runner, task.prompts(split), hook, where, attributes)

    train, test = capture(cfg.train_split), capture(cfg.test_split)
    ood = None
    if "ood" in cfg.regimes and cfg.ood_split in task.splits and task.prompts(cfg.ood_split):
        ood = capture(cfg.ood_split)
    datasets, skipped = plan_datasets(cfg, task, train, test, ood)
    status = None if datasets else "skipped: no dataset has enough rows per class and split"
    return Prepared(train, test, ood, datasets, skipped, status)


def unknown_share(runner, prompts, sample: int = 200) -> float:
    """The share of the first ``sample`` prompts' tokens that the tokenizer calls unknown."""
    tokenizer = runner.model.tokenizer
    unk = getattr(tokenizer, "unk_token_id", None)
    if unk is None or not prompts:
        return 0.0
    ids = [i for p in prompts[:sample] for i in tokenizer(p.text)["input_ids"]]
    return sum(i == unk for i in ids) / max(len(ids), 1)


def _arrays(d: Dataset, rows, setting: str, xs: tuple) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(train x, test x, global test-row ids) of one probe; OOD ids follow the test split's."""
    train_x, test_x, ood_x = xs
    x_tr = train_x[d.train_index[rows.train]]
    if setting == "ood":
        index = d.ood_index[rows.test]
        return x_tr, ood_x[index], len(test_x) + index
    index = d.test_index[rows.test]
    return x_tr, test_x[index], index


def sparse_fits(cfg: SaeProbesEvalConfig, prepared: Prepared, xs: tuple) -> dict[str, list[Item]]:
    """Every k-sparse probe: per k on the normal rows, and at ``main_k`` per regime setting.
    Families: ``k{K}``, ``scarcity``, ``imbalance``, ``noise``, ``ood``, ``permuted``."""
    ks, out = cfg.grids()["k"], {}
    main_k = cfg.main_k if cfg.main_k in ks else max(ks)
    with quiet_threads():
        for d in prepared.datasets:
            x_tr, x_te, units = _arrays(d, d.normal, "normal", xs)
            ranked = select_top_k(x_tr, d.normal.y_train, max(ks), cfg.method)
            for k in ks:
                fit = _fit(cfg, x_tr[:, ranked[:k]], d.normal.y_train, x_te[:, ranked[:k]], d)
                fit.extra["selected"] = [int(i) for i in ranked[:k]]
                out.setdefault(f"k{k}", []).append(Item(d.key, units, fit, "normal"))
            for (regime, setting), rows in d.regimes.items():
                x_tr, x_te, units = _arrays(d, rows, regime, xs)
                cols = select_top_k(x_tr, rows.y_train, main_k, cfg.method)
                fit = _fit(cfg, x_tr[:, cols], rows.y_train, x_te[:, cols], d, rows.y_test)
                out.setdefault(regime, []).append(Item(d.key, units, fit, setting))
    return out


def _fit(cfg, x_tr, y_tr, x_te, d: Dataset, y_te=None) -> Fit:
    y_te = d.normal.y_test if y_te is None else y_te
    return fit_cv_probe(
        x_tr, y_tr, x_te, y_te, penalty="l1", standardised=cfg.method == "standardised",
        seed=cfg.seed,
    )  # fmt: skip


def baseline_fits(cfg, prepared: Prepared, xs: tuple, name: str) -> dict[str, list[Item]]:
    """The dense baseline ``name`` on the normal rows (family ``dense``) and every regime."""
    out: dict[str, list[Item]] = {}
    with quiet_threads():
        for d in prepared.datasets:
            for regime, setting, rows in [("dense", "normal", d.normal)] + [
                (r, s, rows) for (r, s), rows in d.regimes.items() if r != "permuted"
            ]:
                x_tr, x_te, units = _arrays(d, rows, regime, xs)
                fit = run_baseline(name, x_tr, rows.y_train, x_te, rows.y_test, seed=cfg.seed)
                out.setdefault(regime, []).append(Item(d.key, units, fit, setting))
    return out


@contextmanager
def quiet_threads() -> Iterator[None]:
    """One BLAS thread, and no warning for a saga fit that stops at its 1000 iterations (the
    package silences them too: at C = 1e5 on separable rows they are the rule)."""
    from sklearn.exceptions import ConvergenceWarning

    from saebench.toolkit.probes import probe_threads

    with probe_threads(), warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        yield


def evaluate(cfg: SaeProbesEvalConfig, sae, prepared: Prepared, context) -> EvalResult:
    """One SAE's record, with the raw-activation probe and the baselines as references."""
    if prepared.status is not None:
        return EvalResult.skipped(SaeProbesMetrics, prepared.status)
    meta, p = sae.meta, prepared
    head = meta.hook_head_index
    raw = tuple(s.read(head) if s is not None else None for s in (p.train, p.test, p.ood))
    codes = tuple(encode_rows(sae, x) if x is not None else None for x in raw)
    mine = assemble(cfg, sparse_fits(cfg, p, codes), p)
    references = [_reference(cfg, p, raw, context, meta, head, "raw_activations")]
    references += [_reference(cfg, p, raw, context, meta, head, b) for b in cfg.baselines]
    return EvalResult(
        metrics=SaeProbesMetrics(**mine.metrics),
        details={**mine.details, "hook": meta.hook_name, "position": LAST, "method": cfg.method},
        intervals=mine.intervals,
        nulls=mine.nulls,
        sample_sizes=mine.sample_sizes,
        references=references,
    )


def _reference(cfg, p: Prepared, raw: tuple, context, meta, head, method: str) -> Reference:
    def compute():
        if method == "raw_activations":
            return assemble(cfg, sparse_fits(cfg, p, raw), p)
        return assemble(cfg, baseline_fits(cfg, p, raw, method), p, dense=True)

    scored = context.once(f"reference_{method}", compute, site=meta.hook_name, depends_on=head)
    return Reference(
        method=method,
        hook_name=meta.hook_name,
        metrics=scored.metrics,
        intervals=scored.intervals,
        details=scored.details,
        sample_sizes=scored.sample_sizes,
        size=int(raw[0].shape[1]),
        nulls=scored.nulls,
    )
