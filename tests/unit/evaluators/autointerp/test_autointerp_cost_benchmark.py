"""benchmarks/autointerp_cost.py counts every scorer a default run makes (issue 17 part 9:
the docs quoted detection and fuzzing alone, 0.134 requests per example, for a run that made
12.0 requests per latent)."""

import importlib.util
from pathlib import Path

ROOT = Path(__file__).resolve().parents[4]


def load_benchmark():
    spec = importlib.util.spec_from_file_location(
        "autointerp_cost", ROOT / "benchmarks/autointerp_cost.py"
    )
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_totals_count_every_purpose():
    bench = load_benchmark()
    counts = {
        "explain": {"requests": 1, "prompt_tokens": 10, "completion_tokens": 1},
        "detect": {"requests": 2, "prompt_tokens": 20, "completion_tokens": 2},
        "fuzz": {"requests": 1, "prompt_tokens": 10, "completion_tokens": 1},
        "surprisal": {"requests": 8, "prompt_tokens": 80, "completion_tokens": 8},
    }
    assert bench.totals(counts)["requests"] == 12
    assert bench.per_example(counts, bench.PURPOSES, 4)["requests"] == 3.0
    assert set(bench.PURPOSES) >= {"explain", "detect", "fuzz", "choose", "surprisal"}


def test_latents_explained_include_dense_ones():
    bench = load_benchmark()

    class Record:
        metrics = {"n_latents_scored": 5.0, "n_dense": 2.0}

    assert bench.explained_latents(Record) == 7
