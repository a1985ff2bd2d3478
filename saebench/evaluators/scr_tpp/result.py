"""One SAE's ``scr`` or ``tpp`` record: the metrics, a percentile bootstrap over test rows
(each test set resampled on its own, the same resample for its clean and ablated columns,
every metric, including SCR's choice of direction, recomputed per resample), the null
(the same formulas with N random latents ablated, mean over draws) and the details.

Example:
    >>> result = evaluate("scr", cfg, sae, prepared)
    >>> result.metrics.scr_metric_threshold_20, result.intervals["scr_metric_threshold_20"]
"""

from __future__ import annotations

import time

import numpy as np

from saebench.evaluators import EvalResult
from saebench.evaluators.scr_tpp.config import AUDIT_WARNING, ScrMetrics, TppMetrics
from saebench.evaluators.scr_tpp.prepare import Prepared
from saebench.evaluators.scr_tpp.run import correctness, metrics_from, pooled_codes
from saebench.records import Interval
from saebench.toolkit.intervals import LEVEL, N_RESAMPLES


def evaluate(kind: str, cfg, sae, p: Prepared) -> EvalResult:
    began = time.process_time()
    codes_train = pooled_codes(sae, p.train, scaled=False)
    codes_test = pooled_codes(sae, p.test, scaled=True)
    columns, ranked = correctness(
        p, codes_train, codes_test, sae, cfg.n_values, cfg.null_draws, cfg.seed
    )
    point = _point(p, columns, cfg.n_values)
    intervals = _intervals(p, columns, cfg.n_values, cfg.seed)
    nulls = _nulls(p, columns, cfg.n_values, cfg.null_draws)
    runs = len(p.groups) if kind == "scr" else sum(len(c) for c in p.groups)
    Metrics = ScrMetrics if kind == "scr" else TppMetrics
    metrics = Metrics(**point, n_runs=float(runs), n_skipped=float(len(p.skipped)))
    details = _details(kind, cfg, p, ranked, columns)
    details["cpu_seconds"] = round(time.process_time() - began, 3)
    return EvalResult(
        metrics=metrics,
        details=details,
        intervals=intervals,
        nulls=nulls,
        sample_sizes={"test_rows": int(sum(len(r.test) for r in p.sets.values()))},
    )


def _finite(value) -> float | None:
    value = float(np.asarray(value).reshape(-1)[0])
    return value if np.isfinite(value) else None


def _point(p: Prepared, columns, n_values) -> dict[str, float | None]:
    def acc(test_set: str, column: str) -> np.ndarray:
        return np.array([columns[test_set][column].mean()])

    return {k: _finite(v) for k, v in metrics_from(p, acc, n_values).items()}


def _nulls(p: Prepared, columns, n_values, draws: int) -> dict[str, float | None]:
    if draws == 0:
        return {}
    values: dict[str, list[float]] = {}
    for r in range(draws):

        def acc(test_set: str, column: str, r=r) -> np.ndarray:
            return np.array([columns[test_set][column.replace("ablate:", f"null{r}:")].mean()])

        for key, value in metrics_from(p, acc, n_values).items():
            values.setdefault(key, []).append(float(value[0]))
    with np.errstate(all="ignore"):
        return {
            k: _finite(np.nanmean(v)) if np.isfinite(v).any() else None for k, v in values.items()
        }


def _intervals(p: Prepared, columns, n_values, seed: int) -> dict[str, Interval]:
    """Percentile bootstrap: each test set's rows resampled (multinomial counts), the
    accuracies of all its columns taken on the same resample."""
    rng = np.random.default_rng(seed)
    weights = {}
    for name in sorted(columns):
        n = len(next(iter(columns[name].values())))
        weights[name] = rng.multinomial(n, np.full(n, 1.0 / n), size=N_RESAMPLES) / n

    def acc(test_set: str, column: str) -> np.ndarray:
        return weights[test_set] @ columns[test_set][column].astype(np.float64)

    replicates = metrics_from(p, acc, n_values)
    n_rows = int(sum(len(next(iter(c.values()))) for c in columns.values()))
    out = {}
    tail = (1 - LEVEL) / 2 * 100
    for key, samples in replicates.items():
        finite = samples[np.isfinite(samples)]
        low, high = np.percentile(finite, [tail, 100 - tail]) if finite.size else (None, None)
        out[key] = Interval(
            low=None if low is None else float(low),
            high=None if high is None else float(high),
            level=LEVEL,
            method="bootstrap",
            unit="test_rows",
            n=n_rows,
        )
    return out


def _details(kind: str, cfg, p: Prepared, ranked, columns) -> dict:
    runs = []
    for group in p.groups:
        names = list(group.values()) if kind == "scr" else group
        runs.append(
            {
                "sets": group,
                "probe_test_accuracy": {n: round(p.probes[n].accuracy, 4) for n in names},
                "clean_accuracy": {
                    f"{probe} on {test_set}": round(float(col.mean()), 4)
                    for test_set in names
                    for probe_col, col in columns[test_set].items()
                    if probe_col.startswith("probe:")
                    for probe in [probe_col[len("probe:") :]]
                },
                "top_latents": {
                    n: ranked[n][: cfg.headline_n].tolist() for n in names if n in ranked
                },
                "rows": {n: [len(p.sets[n].train), len(p.sets[n].test)] for n in names},
            }
        )
    return {
        "status": "ok",
        "warning": AUDIT_WARNING,
        "headline": f"{'scr_metric_threshold' if kind == 'scr' else 'tpp_threshold'}_{cfg.headline_n}",
        "position": p.position,
        "pooling": p.pooling,
        "runs": runs,
        "skipped": p.skipped,
        "prepare_cpu_seconds": p.seconds,  # once per site, shared by its SAEs
        "interval_unit": "test rows, each test set resampled on its own",
        "null": f"{cfg.null_draws} draws of N random latents ablated (mean)",
    }
