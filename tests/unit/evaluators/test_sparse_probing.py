"""sparse_probing: the probes on arrays against hand-worked values, then the evaluator on
the zoo (both tasks, a task declared here, raw probes shared between SAEs)."""

from __future__ import annotations

import numpy as np
import pytest

import saebench
from saebench.errors import SaebenchError
from saebench.evaluators.sparse_probing import (
    QUICKSTART_CONFIG,
    SparseProbingConfig,
    SparseProbingEvaluator,
)
from saebench.evaluators.sparse_probing.probes import (
    ProbeResult,
    balanced_rows,
    fit_probe,
    plan_probes,
    rng_for,
    run_probes,
    summarise,
)
from saebench.toolkit.probes import top_k_standardised


# -- probes on arrays ---------------------------------------------------------------------
def planted(n=400, d=40, seed=0):
    """Sparse non-negative codes whose latent 7 fires exactly on the rows labelled "b"."""
    rng = np.random.default_rng(seed)
    labels = np.array(["a", "b", "c", "d"] * (n // 4), dtype=object)
    x = rng.exponential(1.0, size=(n, d)) * (rng.random((n, d)) < 0.3)
    x[:, 7] = (labels == "b") * rng.uniform(0.5, 2.0, size=n)
    return x.astype(np.float32), labels


def test_k1_on_a_planted_latent_is_perfect_and_picks_it():
    x_train, train = planted(seed=0)
    x_test, test = planted(seed=1)
    plan = plan_probes({"letter": train}, {"letter": test}, {"letter": list("abcd")}, 10)
    (probe,) = [p for p in plan.probes if p.value == "b"]
    (result,) = run_probes([probe], x_train, x_test, ks=[1, 2])
    assert result.selected[1] == [7]
    assert result.accuracy[1] == 1.0 and result.auroc[1] == 1.0
    # the other letters have no latent of their own: k = 1 is near chance for them
    others = run_probes([p for p in plan.probes if p.value != "b"], x_train, x_test, ks=[1])
    assert all(r.accuracy[1] < 0.8 for r in others)


def test_selection_is_the_largest_standardised_mean_difference_ties_to_lower_index():
    x = np.array(
        [
            [1.0, 0.0, 2.0, 3.0, 5.0],
            [0.0, 0.0, 2.0, 3.0, 5.0],
            [0.0, 3.0, 1.0, 0.0, 5.0],
            [0.0, 3.0, 1.0, 0.0, 5.0],
        ]
    )
    y = np.array([1, 1, 0, 0])
    # |mean diff| / std per column: 0.5 / 0.433 = 1.15, 3 / 1.5, 1 / 0.5, 3 / 1.5, constant 0
    assert top_k_standardised(x, y, 5).tolist() == [1, 2, 3, 0, 4]
    assert top_k_standardised(x, y, 2).tolist() == [1, 2]
    assert top_k_standardised(x, y, 99).tolist() == [1, 2, 3, 0, 4]


def test_balanced_rows_are_balanced_seeded_and_never_unlabelled():
    positive = np.zeros(100, dtype=bool)
    positive[:20] = True
    negative = ~positive
    negative[90:] = False  # rows without the attribute
    rows, y = balanced_rows(positive, negative, None, rng_for(0, "a", "v", "train"))
    assert y.sum() == 20 and len(y) == 40
    assert set(rows[y == 1]) == set(range(20))
    assert all(20 <= r < 90 for r in rows[y == 0])
    again, _ = balanced_rows(positive, negative, None, rng_for(0, "a", "v", "train"))
    other, _ = balanced_rows(positive, negative, None, rng_for(1, "a", "v", "train"))
    assert again.tolist() == rows.tolist() and other.tolist() != rows.tolist()
    capped, y_capped = balanced_rows(positive, negative, 5, rng_for(0, "a", "v", "train"))
    assert len(capped) == 10 and y_capped.sum() == 5 and len(set(capped)) == 10


def test_rare_values_and_values_over_max_values_are_counted_not_dropped():
    train = np.array(["x"] * 30 + ["y"] * 20 + ["z"] * 12 + ["rare"] * 3 + [None] * 5, dtype=object)
    test = np.array(["x"] * 15 + ["y"] * 15 + ["z"] * 15 + ["rare"] * 15, dtype=object)
    values = {"v": ["rare", "x", "y", "z", "never"]}
    plan = plan_probes({"v": train}, {"v": test}, values, min_examples=10, max_values=2)
    assert [p.value for p in plan.probes] == ["x", "y"]  # most train positives first
    reasons = {s["value"]: s["reason"] for s in plan.skipped}
    assert reasons == {"rare": "too_few", "never": "too_few", "z": "max_values"}
    rare = next(s for s in plan.skipped if s["value"] == "rare")
    assert (rare["train_positives"], rare["train_negatives"]) == (3, 62)  # None rows excluded
    assert len(plan.probes) + len(plan.skipped) == len(values["v"])
    # the same value gets the same rows whatever else is probed
    alone = plan_probes({"v": train}, {"v": test}, {"v": ["x"]}, min_examples=10)
    assert alone.probes[0].train_rows.tolist() == plan.probes[0].train_rows.tolist()


def test_a_two_valued_attribute_gets_one_probe():
    labels = np.array(["ABBA", "BABA"] * 20, dtype=object)
    plan = plan_probes({"o": labels}, {"o": labels}, {"o": ["BABA", "ABBA"]}, 5)
    assert [p.value for p in plan.probes] == ["ABBA"] and not plan.skipped


def test_fit_probe_matches_a_scaler_plus_logistic_regression_pipeline():
    from sklearn.linear_model import LogisticRegression
    from sklearn.metrics import roc_auc_score
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    rng = np.random.default_rng(3)
    x = rng.normal(size=(300, 4)) * [1.0, 10.0, 0.1, 3.0]
    y = (x[:, 0] + x[:, 2] * 5 + rng.normal(size=300) > 0).astype(np.int64)
    fit = fit_probe(x[:200], y[:200], x[200:], y[200:], c=0.5)
    acc, auc = fit.accuracy, fit.auroc
    pipe = make_pipeline(StandardScaler(), LogisticRegression(C=0.5, max_iter=1000))
    pipe.fit(x[:200], y[:200])
    assert acc == pytest.approx(float((pipe.predict(x[200:]) == y[200:]).mean()))
    assert auc == pytest.approx(roc_auc_score(y[200:], pipe.decision_function(x[200:])), abs=1e-6)


def test_scores_average_over_values_then_attributes():
    def result(attribute, value, acc):
        return ProbeResult(attribute, value, {1: acc}, {1: acc}, {1: [0]})

    results = [result("big", "a", 1.0), result("big", "b", 0.5), result("big", "c", 0.6)]
    results.append(result("small", "x", 0.4))
    assert summarise(results, 1, "accuracy") == pytest.approx((0.7 + 0.4) / 2)
    assert summarise(results, 5, "accuracy") is None


def test_config_checks_k():
    assert SparseProbingConfig(k=[20, 1, 5, 1]).k == [1, 5, 20]
    with pytest.raises(ValueError, match="include 1"):
        SparseProbingConfig(k=[2, 5])
    with pytest.raises(ValueError, match="some of"):
        SparseProbingConfig(k=[1, 3])
    SparseProbingConfig(**SparseProbingEvaluator.quickstart)
    assert SparseProbingEvaluator.quickstart is QUICKSTART_CONFIG


# -- the evaluator on the zoo -------------------------------------------------------------
CITIES = {
    "task": "zoo-cities",
    "task_config": {"relations": ["country"], "per_kind": 1},
    "attributes": ["continent"],
    "k": [1, 5],
    "max_examples": 100,
}
IOI = {
    "task": "zoo-ioi",
    "task_config": {"n": 1200},
    "attributes": ["s", "order"],
    "k": [1, 2],
    "min_examples": 5,
    "max_values": 4,
    "max_examples": 100,
}


def probe(saes, config):
    return saebench.evaluate(
        saes,
        model="zoo",
        evaluators=["sparse_probing"],
        configs={"sparse_probing": config},
        progress=False,
    )


@pytest.fixture(scope="module")
def cities_records():
    return probe(["zoo:resid-topk-16", "zoo:resid-relu"], CITIES)


def test_zoo_cities_continents(cities_records):
    record, relu, raw = cities_records
    m, details = record.metrics, record.details
    assert record.task.name == "zoo-cities" and record.dataset is None
    assert m["n_values_probed"] == 6 and m["n_values_skipped"] == 0  # six continents
    assert details["position"] == "entity" and details["hook"] == "blocks.1.hook_resid_post"
    assert details["entity"] == "city"
    assert {p["value"] for p in details["probes"]} == {
        "Africa",
        "Asia",
        "Europe",
        "North America",
        "Oceania",
        "South America",
    }
    for p in details["probes"]:
        assert p["n_train"] % 2 == 0 and p["n_train"] <= 200 and p["n_test"] >= 20
        assert len(p["sae"]["selected"]["k5"]) == 5
    assert m["sae_accuracy_k2"] is None and m["sae_accuracy_full"] is not None
    assert 0.0 <= m["sae_accuracy_k1"] <= 1.0
    # one attribute: its per-attribute metric is the overall one
    assert m["sae_accuracy_k1_continent"] == m["sae_accuracy_k1"]
    # the raw activations are a reference record of their own, under the same metric names:
    # the full raw activation tells continents apart well above chance; one dimension less so
    assert raw.sae.role == "reference" and raw.sae.name == "raw_activations"
    assert raw.sae.uri == "reference:sparse_probing/raw_activations@blocks.1.hook_resid_post"
    r = raw.metrics
    assert r["sae_accuracy_full"] > 0.7 and r["sae_accuracy_full"] > r["sae_accuracy_k1"]
    assert not any(key.startswith("raw_") for key in m)


def test_accuracies_carry_entity_intervals_nulls_and_sample_sizes(cities_records):
    record, _, raw = cities_records
    sizes = record.sample_sizes
    assert sizes["probes"] == 6 and 0 < sizes["entities"] < sizes["test_rows"]
    for name in ("sae_accuracy_k1", "sae_accuracy_k5", "sae_accuracy_full"):
        iv = record.intervals[name]
        assert iv.unit == "entities" and iv.n == sizes["entities"] and iv.method == "bootstrap"
        assert iv.low < record.metrics[name] < iv.high
        assert 0.0 < iv.half_width < 0.1
        assert record.nulls[name] == 0.5  # balanced test rows: the majority rate is 1/2
    assert raw.intervals["sae_accuracy_full"].low > 0.5  # the raw probe is above its null


def test_raw_probes_do_not_depend_on_the_sae_and_sharing_changes_nothing(cities_records):
    a, b, raw = cities_records
    assert len(cities_records) == 3  # one reference record for the two SAEs of the hook
    alone, raw_alone = probe("zoo:resid-relu", CITIES)
    assert alone.metrics == b.metrics
    assert alone.details["probes"] == b.details["probes"]
    assert raw_alone.metrics == raw.metrics and raw_alone.key == raw.key


def test_raw_probes_are_computed_once_for_the_saes_of_a_hook():
    from saebench.evaluators.base import EvalContext
    from saebench.models.interventions import ModelRunner
    from saebench.tasks import build_task
    from saebench.zoo.model import load_model

    config = SparseProbingConfig(**{**CITIES, "full_width": False})
    model = load_model()
    task = build_task(config.task, config.task_config)
    shared: dict = {}
    results = []
    for name in ("resid-topk-8", "resid-topk-32"):
        sae = saebench.load_sae(f"zoo:{name}")
        context = EvalContext(
            sae=sae, model=model, runner=ModelRunner(model), task=task, shared=shared
        )
        results.append(SparseProbingEvaluator(config, context).finish())
    # the framework's keys only: one preparation (both splits, the plan) and one set of raw
    # probes for the two SAEs, none built by hand
    assert sorted(key[1] for key in shared) == ["prepare", "raw_probes"]
    assert all(key[0] == "once" for key in shared)
    (first,), (second,) = (r.references for r in results)
    assert first.method == "raw_activations" and first.metrics == second.metrics
    assert first.details == second.details


def test_zoo_ioi_at_the_end_token():
    record, record_raw = probe("zoo:resid-topk-16", IOI)
    m, attrs = record.metrics, record.details["attributes"]
    assert record.details["position"] == "end"
    assert attrs["order"]["n_values_probed"] == 1  # ABBA against BABA, once
    assert attrs["s"]["n_values_probed"] + attrs["s"]["n_values_skipped"] == 151
    assert m["n_values_probed"] == 1 + attrs["s"]["n_values_probed"]
    # at END the subject's name is readable from one raw dimension (0.93 on 3000 prompts)
    raw = record_raw.metrics
    assert raw["sae_accuracy_full_s"] > 0.8 and m["sae_accuracy_k1_order"] is not None
    skipped = record.details["skipped"]
    assert {s["reason"] for s in skipped} == {"too_few", "max_values", "too_few_test_rows"}
    # no entities on IOI: the unit is the distinct test prompt
    assert record.intervals["sae_accuracy_k1"].unit == "test_rows"
    assert "entities" not in record.sample_sizes


def test_transcoder_latents_are_read_from_its_input_hook():
    config = {**CITIES, "k": [1], "full_width": False}
    record = probe("zoo:transcoder-mlp", config)[0]
    assert record.details["hook"] == "blocks.0.ln2.hook_normalized"
    assert record.metrics["sae_accuracy_k1"] is not None


# -- a task declared here -----------------------------------------------------------------
def lives_in_task():
    from saebench.tasks import Task, TaskPrompt, zoo_facts

    class LivesIn(Task):
        version = "1"
        splits = ("train", "test")

        def build(self, split):
            out = []
            for city in zoo_facts.load_cities(split)[::3]:
                text = f"Alice lives in {city.name} , a city in the country of"
                start = text.index(city.name)
                out.append(
                    TaskPrompt(
                        text,
                        {"city": (start, start + len(city.name))},
                        city.country,
                        {"continent": city.continent},
                        "continent",
                        split,
                    )
                )
            return out

        def attribute_values(self):
            return {"continent": sorted({c.continent for c in zoo_facts.load_cities()})}

    return LivesIn


def test_a_user_task_registered_at_runtime_runs_unchanged():
    from saebench.registry import tasks

    cls = lives_in_task()
    tasks.register("test-lives-in", cls)
    try:
        config = {"task": "test-lives-in", "k": [1, 2], "min_examples": 5}
        record = probe("zoo:resid-topk-16", config)[0]
    finally:
        tasks._entries.pop("test-lives-in", None)
    assert record.task.name == "test-lives-in"
    assert record.details["position"] == "city"  # its only span
    assert list(record.details["attributes"]) == ["continent"]  # every attribute
    probed = record.metrics["n_values_probed"] + record.metrics["n_values_skipped"]
    assert probed == 6 and record.metrics["n_values_probed"] >= 3


def test_a_task_too_small_for_any_probe_warns_and_reports_none():
    from saebench.errors import SaebenchWarning

    config = {**IOI, "attributes": ["io"], "task_config": {"n": 100}, "max_values": None}
    with pytest.warns(SaebenchWarning, match="lower min_examples"):
        record = probe("zoo:resid-topk-16", config)[0]
    assert record.metrics["sae_accuracy_k1"] is None
    assert record.metrics["n_values_probed"] == 0 and record.metrics["n_values_skipped"] == 151


def test_bad_positions_and_attributes_are_refused():
    with pytest.raises(SaebenchError, match="no span 'subject'.*set position"):
        probe("zoo:resid-topk-16", {**CITIES, "position": "subject"})
    with pytest.raises(SaebenchError, match="no attribute planet"):
        probe("zoo:resid-topk-16", {**CITIES, "attributes": ["planet"]})
    with pytest.raises(SaebenchError, match="k must be"):
        probe("zoo:resid-topk-16", {**CITIES, "k": [3]})


# -- issue 17 part 8: the measured defects ----------------------------------------------------
def test_a_planted_perfect_latent_beats_a_larger_uninformative_one():
    """On raw mean difference a latent of scale 100 that ignores the label outranks the
    perfect latent (k = 1 accuracy 0.566 before the fix); standardised, the perfect one wins."""
    x_train, train = planted(seed=0)
    x_test, test = planted(seed=1)
    for x in (x_train, x_test):
        x[:, 3] = 100 * np.random.default_rng(2).exponential(1.0, size=len(x))
    plan = plan_probes({"letter": train}, {"letter": test}, {"letter": ["b"]}, 10)
    (result,) = run_probes(plan.probes, x_train, x_test, ks=[1])
    assert result.selected[1] == [7]
    assert result.accuracy[1] == 1.0


def test_minimum_counts_are_of_entities_not_prompts():
    # three cities of "x", each asked in five phrasings: 15 prompts, 3 entities
    labels = np.array(["x"] * 15 + ["y"] * 30, dtype=object)
    cities = np.array(
        [f"x{i // 5}" for i in range(15)] + [f"y{i}" for i in range(30)], dtype=object
    )
    by_prompt = plan_probes({"v": labels}, {"v": labels}, {"v": ["x", "y"]}, 5)
    assert [p.value for p in by_prompt.probes] == ["x"]
    by_entity = plan_probes(
        {"v": labels}, {"v": labels}, {"v": ["x", "y"]}, 5, groups=(cities, cities)
    )
    assert not by_entity.probes
    (skip,) = by_entity.skipped
    assert skip["reason"] == "too_few" and skip["train_positives"] == 3
    assert skip["train_negatives"] == 30


def test_a_probe_with_too_few_test_rows_is_skipped_and_counted():
    train = np.array(["x"] * 40 + ["y"] * 40, dtype=object)
    test = np.array(["x"] * 8 + ["y"] * 40, dtype=object)
    plan = plan_probes({"v": train}, {"v": test}, {"v": ["x", "y", "z"]}, 5, min_test_rows=20)
    assert not plan.probes
    reasons = sorted(s["reason"] for s in plan.skipped)
    # z: never seen; x and y: 8 examples on the smaller side, 16 balanced test rows
    assert reasons == ["too_few", "too_few_test_rows", "too_few_test_rows"]
    assert len(plan.probes) + len(plan.skipped) == 3


@pytest.mark.slow  # two zoo captures, about 50 s on a busy 2-core machine
def test_the_same_numbers_with_one_or_two_torch_threads():
    """Issue 17 part 5: a Ray worker runs one torch thread, a local run two."""
    import torch

    config = {**CITIES, "k": [1, 5], "full_width": True}
    out = []
    for threads in (1, 2):
        torch.set_num_threads(threads)
        sae, raw = probe("zoo:resid-topk-16", config)
        out.append((sae.metrics, sae.intervals, raw.metrics))
    assert out[0] == out[1]


def test_a_per_attribute_interval_counts_only_the_units_its_probes_tested():
    """One attribute's 5 test entities among 50: its interval rests on 5, not on 50."""
    from types import SimpleNamespace

    import numpy as np
    from scipy.sparse import csr_matrix

    from saebench.evaluators.sparse_probing.scores import _accuracy_interval

    hits = np.zeros((2, 50))
    seen = np.zeros((2, 50))
    seen[0, :5], hits[0, :4] = 1, 1  # attribute a: entities 0-4, 4 right
    seen[1, 5:], hits[1, 5:30] = 1, 1  # attribute b: entities 5-49
    matrices = (csr_matrix(hits), csr_matrix(seen))
    config = SimpleNamespace(seed=0)
    alone = _accuracy_interval(matrices, [0], ["a", "b"], "entities", config)
    both = _accuracy_interval(matrices, [0, 1], ["a", "b"], "entities", config)
    assert alone.n == 5 and both.n == 50
    assert alone.low <= 0.8 <= alone.high


# -- issue 16: one vocabulary for the probed token, heads read per SAE -------------------
def test_position_last_is_accepted_and_an_unknown_span_names_it():
    from saebench.evaluators.sparse_probing import resolve_targets
    from saebench.tasks import build_task

    config = SparseProbingConfig(**{**CITIES, "position": "last"})
    task = build_task(config.task, config.task_config)
    assert resolve_targets(config, task)[0] == "last"
    with pytest.raises(SaebenchError, match=r"no span 'subject'; set position to .*'last'"):
        resolve_targets(SparseProbingConfig(**{**CITIES, "position": "subject"}), task)


def test_a_split_captured_at_an_attention_hook_is_read_per_head():
    """The preparation keeps every head; each SAE reads its own (or all, flattened)."""
    from saebench.evaluators.sparse_probing.run import Split

    x = np.arange(2 * 3 * 4, dtype=np.float32).reshape(2, 3, 4)  # [n, heads, d_head]
    split = Split(x, {}, 2)
    assert np.array_equal(split.read(1), x[:, 1]) and split.read(1).flags.c_contiguous
    assert split.read(None).shape == (2, 12)
    flat = Split(x[:, 0], {}, 2)
    assert flat.read(None) is flat.x
