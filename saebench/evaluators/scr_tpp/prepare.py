"""The preparation ``scr`` and ``tpp`` share, once per site: the probe sets' rows
(:mod:`.data`), the activations of their distinct prompts at every token of the span
(:mod:`saebench.toolkit.spans`), pooled as SAEBench pools (mean over the text's tokens, BOS
and padding left out), and SAEBench's probes on those raw pooled activations (:mod:`.probe`).

Example:
    >>> prepared = prepare("scr", ScrConfig(), context)
    >>> prepared.probes["source[yelp|amazon]~sentiment[positive|negative]/biased"].accuracy
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import numpy as np

from saebench.errors import SaebenchError
from saebench.evaluators.scr_tpp.config import TASK_DEFAULTS
from saebench.evaluators.scr_tpp.data import ProbeSet, scr_sets, tpp_sets
from saebench.evaluators.scr_tpp.probe import ProbeSettings, train_probe


@dataclass(frozen=True)
class Captured:
    """One split's distinct prompts: per-token activations ``tokens [T, d]`` (their prompt in
    ``owner``, sorted) and the pooled ``x [n, d]``."""

    owner: np.ndarray
    tokens: np.ndarray
    x: np.ndarray


@dataclass(frozen=True)
class Probe:
    w: np.ndarray
    b: float
    accuracy: float  # on its own test set, clean


@dataclass(frozen=True)
class Rows:
    """A probe set in capture rows: train rows and labels, test rows and labels."""

    train: np.ndarray
    train_y: np.ndarray
    test: np.ndarray
    test_y: np.ndarray


@dataclass
class Prepared:
    kind: str
    position: str
    pooling: str
    train: Captured
    test: Captured
    sets: dict[str, Rows]
    probes: dict[str, Probe]
    groups: list  # SCR: {target, spurious, biased} per pair; TPP: class set names per dataset
    skipped: list[str] = field(default_factory=list)
    seconds: dict[str, float] = field(default_factory=dict)  # CPU: capture, probes


def resolve(cfg, task_name: str) -> tuple[str, str, list]:
    """The span, pooling and pairs (SCR) or class sets (TPP) of ``cfg`` on its task."""
    defaults = TASK_DEFAULTS.get(task_name, {})
    position = cfg.position or defaults.get("position")
    pooling = cfg.pooling or defaults.get("pooling") or "mean"
    kind = "pairs" if hasattr(cfg, "pairs") else "classes"
    runs = getattr(cfg, kind) or defaults.get(kind)
    if position is None or not runs:
        missing = "position" if position is None else kind
        raise SaebenchError(
            f"scr/tpp: task {task_name!r} has no default {missing}; set {missing} in the config"
        )
    return position, pooling, runs


def prepare(kind: str, cfg, context) -> Prepared:
    """Rows, activations and raw-activation probes for every pair (SCR) or class (TPP)."""
    task = context.task
    if task is None or context.runner is None:
        raise SaebenchError(f"{kind} needs a task and a model runner (run it through a plan)")
    position, pooling, runs = resolve(cfg, task.name)
    train, test = task.prompts(cfg.train_split), task.prompts(cfg.test_split)
    sets, groups, skipped = _probe_sets(kind, cfg, runs, train, test)
    if not sets:
        raise SaebenchError(
            f"{kind}: no pair or class of task {task.name!r} has {cfg.min_rows} rows per "
            f"quadrant or class in both splits ({'; '.join(skipped)}); give the task more rows"
        )
    began = time.process_time()
    captured, rows = [], []
    for split, prompts in ((0, train), (1, test)):
        first: dict[str, int] = {}  # one capture row per distinct text
        for r in sorted({r for s in sets for r in _split_rows(s, split)}):
            first.setdefault(prompts[r].text, r)
        place = {text: i for i, text in enumerate(first)}
        rows.append({r: place[prompts[r].text] for s in sets for r in _split_rows(s, split)})
        captured.append(_capture(context, [prompts[r] for r in first.values()], position, pooling))
    mapped = {s.name: _rows(s, rows[0], rows[1]) for s in sets}
    captured_at = time.process_time()
    settings = ProbeSettings(
        epochs=cfg.probe_epochs,
        lr=cfg.probe_lr,
        batch_size=cfg.probe_batch_size,
        l1=cfg.probe_l1,
        patience=cfg.early_stopping_patience,
        pick=cfg.probe_pick,
    )
    probes = {}
    for name, r in mapped.items():
        w, b, acc = train_probe(
            captured[0].x[r.train], r.train_y, captured[1].x[r.test], r.test_y, settings, cfg.seed
        )
        probes[name] = Probe(w, b, acc)
    seconds = {
        "capture": round(captured_at - began, 3),
        "probes": round(time.process_time() - captured_at, 3),
        "tokens": int(sum(len(c.tokens) for c in captured)),
    }
    return Prepared(kind, position, pooling, *captured, mapped, probes, groups, skipped, seconds)


def _probe_sets(kind, cfg, runs, train, test) -> tuple[list[ProbeSet], list, list[str]]:
    sets, groups, skipped = [], [], []
    for run in runs:
        if kind == "scr":
            mine, reason = scr_sets(
                run, train, test, cfg.train_quadrant, cfg.test_quadrant, cfg.seed, cfg.min_rows
            )
            skipped += [reason] if reason else []
            if mine:
                groups.append({s.name.rsplit("/", 1)[1]: s.name for s in mine})
        else:
            mine, reasons = tpp_sets(
                run, train, test, cfg.train_per_class, cfg.test_per_class, cfg.seed, cfg.min_rows
            )
            skipped += reasons
            if mine:
                groups.append([s.name for s in mine])
        sets += mine
    return sets, groups, skipped


def _split_rows(s: ProbeSet, split: int) -> list[int]:
    return s.train_pos + s.train_neg if split == 0 else s.test_pos + s.test_neg


def _rows(s: ProbeSet, train_index: dict, test_index: dict) -> Rows:
    def half(pos, neg, index):
        rows = np.array([index[r] for r in pos + neg], dtype=np.int64)
        return rows, np.r_[np.ones(len(pos)), np.zeros(len(neg))].astype(np.int64)

    tr, tr_y = half(s.train_pos, s.train_neg, train_index)
    te, te_y = half(s.test_pos, s.test_neg, test_index)
    return Rows(tr, tr_y, te, te_y)


def _capture(context, prompts, position: str, pooling: str) -> Captured:
    from saebench.toolkit.spans import pool, span_tokens

    meta = context.sae.meta
    owner, tokens = span_tokens(context.runner, prompts, meta.hook_name, position, pooling, meta)
    tokens = tokens.numpy()
    return Captured(owner, tokens, pool(owner, tokens, len(prompts)).astype(np.float32))
