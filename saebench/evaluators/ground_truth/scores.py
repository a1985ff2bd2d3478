"""The sample-based metrics as functions of summed quantities, vectorised over a leading
axis of resamples (``[r, width]`` in, ``[r]`` out), with SAELens's rules for undefined
values (``eval_sae_on_synthetic_data``).

Quantities (see :func:`row_quantities`): ``n`` samples; per latent ``tp``, ``fp``, ``fn``
(the latent firing, ``!= 0``, against its best-matching feature being present, ``> 0``);
``sse`` sum ||x - x_hat||^2, ``sq`` sum ||x||^2, ``sum_x`` the summed vector; ``shrink``
sum of ||x_hat||/||x|| and the count of rows with ||x|| > 1e-6; ``true_l0`` summed nonzero
true coefficients; per parent ``fired`` and ``absorbed`` (experimental).
"""

from __future__ import annotations

import numpy as np

MIN_NORM = 1e-6  # SAELens ShrinkageCalculator: rows with a smaller ||x|| are skipped


def _ratio(num: np.ndarray, den: np.ndarray) -> np.ndarray:
    """num / den where den > 0, else 0 (SAELens's convention for undefined rates)."""
    return np.where(den > 0, num / np.where(den > 0, den, 1.0), 0.0)


def classification(s: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """Per-latent precision, recall, F1, accuracy, each averaged over all latents."""
    tp, fp, fn, n = s["tp"], s["fp"], s["fn"], s["n"]
    precision = _ratio(tp, tp + fp)
    recall = _ratio(tp, tp + fn)
    f1 = _ratio(2 * precision * recall, precision + recall)
    accuracy = (n - fp - fn) / np.maximum(n, 1e-8)  # (TP + TN) / samples
    return {
        "precision": precision.mean(-1),
        "recall": recall.mean(-1),
        "f1": f1.mean(-1),
        "accuracy": accuracy.mean(-1),
    }


def reconstruction(s: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """Explained variance (total variance E||x||^2 - ||E x||^2, bias included), shrinkage."""
    n = s["n"][..., 0]
    mse = s["sse"][..., 0] / n
    variance = s["sq"][..., 0] / n - ((s["sum_x"] / n[..., None]) ** 2).sum(-1)
    flat = variance < 1e-10
    explained = np.where(flat, (mse < 1e-10).astype(float), 1 - mse / np.where(flat, 1, variance))
    shrink = s["shrink"]
    return {"explained_variance": explained, "shrinkage": _ratio(shrink[..., 0], shrink[..., 1])}


def sparsity(s: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    n = s["n"][..., 0]
    return {"sae_l0": (s["tp"] + s["fp"]).sum(-1) / n, "true_l0": s["true_l0"][..., 0] / n}


def absorption(s: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """Mean over parents that fired of absorbed / fired (NaN when none fired)."""
    fired, absorbed = s["fired"], s["absorbed"]
    rate = np.where(fired > 0, absorbed / np.maximum(fired, 1), np.nan)
    counted = np.isfinite(rate).sum(-1)
    total = np.nansum(rate, axis=-1)
    return {"absorption_rate": np.where(counted > 0, total / np.maximum(counted, 1), np.nan)}


def sample_metrics(s: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """Every metric with a sampling interval."""
    out = {**classification(s), **reconstruction(s), **sparsity(s)}
    if "fired" in s:
        out.update(absorption(s))
    return out
