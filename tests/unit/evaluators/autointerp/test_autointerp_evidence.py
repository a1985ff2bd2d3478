"""Issue 17 part 9 and issue 18 item 15: coverage, intervals and nulls in the record, dense
latents as a status, partial records after lost requests, and the same record whatever the
torch thread count. Against the simulated judge over real HTTP on 127.0.0.1."""

import warnings

import pytest
import torch

import saebench
from saebench.errors import SaebenchWarning
from saebench.llm.sim import SimServer
from saebench.records import Interval

N_TOKENS = 8_000
DETECT = {"n_latents": 16, "scorers": ["detection", "fuzzing"]}


def run(saes, zoo_model, server, cache, config, n_tokens=N_TOKENS, **llm):
    settings = {"model": "saebench-sim", "base_url": server.base_url, "cache_dir": str(cache)}
    return saebench.evaluate(
        saes,
        model=zoo_model,
        dataset="zoo",
        evaluators=["autointerp"],
        n_tokens=n_tokens,
        configs={"autointerp": config},
        llm={**settings, **llm},
        progress=False,
    )


@pytest.fixture(scope="module")
def server():
    with SimServer(port=0) as sim:
        yield sim


def test_dense_latents_are_a_status_and_detection_reports_its_coverage(zoo_model, server, tmp_path):
    (record,) = run(["zoo:resid-neurons"], zoo_model, server, tmp_path, DETECT)
    m, latents = record.metrics, record.details["latents"]
    dense = [x for x in latents if x["status"] == "dense"]
    detected = [x for x in latents if "detection" in x["scores"]]
    assert dense and m["n_dense"] == len(dense)
    assert all("detection" not in x["scores"] for x in dense)
    statuses = ("n_latents_scored", "n_dense", "n_dead", "n_rare", "n_explain_failed")
    assert sum(m[s] for s in statuses) == m["n_latents_sampled"] == 16
    assert m["n_latents_scored"] == sum(x["status"] == "scored" for x in latents)
    assert m["detection_coverage"] == pytest.approx(len(detected) / 16)
    assert record.sample_sizes["latents"] == 16
    assert record.sample_sizes["latents_detection"] == len(detected)
    interval = record.intervals["detection_balanced_accuracy"]
    assert isinstance(interval, Interval) and interval.unit == "latents"
    assert interval.n == len(detected)


def test_intervals_and_nulls_are_first_class(zoo_model, server, tmp_path):
    (record,) = run(["zoo:resid-topk-16"], zoo_model, server, tmp_path, DETECT)
    assert not [name for name in record.metrics if name.endswith(("_ci_low", "_ci_high"))]
    for name in ("detection_balanced_accuracy", "fuzzing_balanced_accuracy", "detection_f1"):
        iv = record.intervals[name]
        assert iv.low <= record.metrics[name] <= iv.high, name
        assert iv.n == record.sample_sizes[f"latents_{name.split('_')[0]}"]
    assert record.nulls["detection_balanced_accuracy"] == 0.5
    assert record.nulls["fuzzing_balanced_accuracy"] == 0.5
    assert record.nulls["detection_auroc"] == 0.5
    assert record.status == "complete"
    from saebench.evaluators.autointerp.viewer import render_html

    page = render_html(record)  # the page shows the intervals and nulls too
    assert "latents), null 0.500" in page


def test_lost_requests_make_the_record_partial_with_a_warning(zoo_model, tmp_path):
    with SimServer(port=0, faults={"500": 0.25}) as sim, warnings.catch_warnings(record=True) as w:
        warnings.simplefilter("always")
        (record,) = run(["zoo:resid-topk-16"], zoo_model, sim, tmp_path, DETECT, max_attempts=1)
        injected = sim.stats()["faults"]["500"]
    assert record.status == "partial"
    lost = record.details["lost_requests"]
    assert sum(lost.values()) == injected > 0
    said = [str(x.message) for x in w if issubclass(x.category, SaebenchWarning)]
    assert any("resid-topk-16" in s and f"{injected} " in s and "partial" in s for s in said)


def test_answers_that_do_not_parse_keep_the_record_complete(zoo_model, tmp_path):
    # a wrong-length answer is the judge's answer: counted, not lost, not recomputed
    with SimServer(port=0, faults={"wrong_length": 0.3}) as sim:
        (record,) = run(["zoo:resid-topk-16"], zoo_model, sim, tmp_path, DETECT)
    assert record.metrics["n_failed_examples"] > 0
    assert record.status == "complete" and sum(record.details["lost_requests"].values()) == 0


INTERVENE = {"n_latents": 8, "scorers": ["intervention"]}


def test_intervention_prompts_end_at_the_first_activating_token(zoo_model, server, tmp_path):
    (record,) = run(["zoo:resid-topk-16"], zoo_model, server, tmp_path, INTERVENE)
    steered = [x for x in record.details["latents"] if x.get("intervention")]
    assert steered
    for x in steered:
        for prompt in x["intervention"]["prompts"]:
            # the prompt's last token is the latent's first activating token of its window
            assert prompt["act_at_end"] > 0 and prompt["acts_before"] == 0


def test_sampled_intervention_changes_most_continuations_and_reports_it(
    zoo_model, server, tmp_path
):
    (record,) = run(["zoo:resid-topk-16"], zoo_model, server, tmp_path, INTERVENE)
    m = record.metrics
    # greedy continuations left 0.78-0.88 of them unchanged on the zoo
    assert 0 <= m["intervention_unchanged"] < 0.7
    for x in record.details["latents"]:
        passages = (x.get("intervention") or {}).get("passages", [])
        if passages and all(p["unchanged"] for p in passages):
            assert x["scores"]["intervention"]["score"] == 0  # nothing to tell apart
    assert record.details["intervention_mode"] == "surprisal"
    assert record.nulls["intervention_score"] is not None
    assert "intervention_score" in record.intervals


def test_choice_mode_null_is_one_half(zoo_model, tmp_path):
    with SimServer(port=0, prompt_logprobs=False) as sim:
        (record,) = run(["zoo:resid-topk-16"], zoo_model, sim, tmp_path, INTERVENE)
    assert record.details["intervention_mode"] == "choice"
    assert record.nulls["intervention_score"] == 0.5


def test_the_record_does_not_depend_on_the_thread_count(zoo_model, server, tmp_path):
    config = {"n_latents": 6, "intervention_prompts": 3, "scorers": ["detection", "intervention"]}
    before = torch.get_num_threads()
    records = []
    try:
        for threads in (1, 2):
            torch.set_num_threads(threads)
            (record,) = run(
                ["zoo:mlp-topk-16"], zoo_model, server, tmp_path / str(threads), config, 4_000
            )
            records.append(record)
    finally:
        torch.set_num_threads(before)
    one, two = records
    assert one.metrics | {"llm_requests": 0, "llm_cache_hits": 0} == two.metrics | {
        "llm_requests": 0,
        "llm_cache_hits": 0,
    }
    assert one.details["latents"] == two.details["latents"]
    assert one.intervals == two.intervals and one.nulls == two.nulls


def test_a_resumed_run_recomputes_a_partial_record(zoo_model, tmp_path):
    out, cache = tmp_path / "out", tmp_path / "cache"

    def once(sim):
        settings = {"model": "saebench-sim", "base_url": sim.base_url, "cache_dir": str(cache)}
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", SaebenchWarning)
            (record,) = saebench.evaluate(
                ["zoo:resid-topk-16"], model=zoo_model, dataset="zoo", evaluators=["autointerp"],
                n_tokens=N_TOKENS, configs={"autointerp": DETECT}, out_dir=out,
                llm={**settings, "max_attempts": 1}, progress=False,
            )  # fmt: skip
        return record

    with SimServer(port=0, faults={"500": 0.25}) as sim:
        first = once(sim)
    with SimServer(port=0) as sim:
        second = once(sim)
        asked = sim.stats()["requests"]
    assert first.status == "partial" and second.status == "complete"
    # what was lost is asked again, the rest of the first run's answers come from the cache
    lost = sum(first.details["lost_requests"].values())
    assert lost <= asked < first.metrics["llm_requests"]
    assert second.metrics["n_lost_requests"] == 0


def test_the_chunk_size_changes_no_steering(zoo_model, server, tmp_path):
    records = [
        run(
            ["zoo:resid-topk-16"],
            zoo_model,
            server,
            tmp_path,
            {**INTERVENE, "intervention_chunk": n},
        )[0]
        for n in (3, 32)
    ]
    one, two = ([x.get("intervention") for x in r.details["latents"]] for r in records)
    assert one == two and any(one)


def test_answers_that_do_not_parse_are_not_cached_and_are_asked_again(zoo_model, tmp_path):
    """Issue 18 item 14: garbage and wrong-length answers were cached as good answers, so a
    rerun without resume sent no request and brought the same failures back."""
    config = {**DETECT, "n_latents": 8}
    with SimServer(port=0, faults={"garbage": 0.3, "wrong_length": 0.3}) as sim:
        (first,) = run(["zoo:resid-topk-16"], zoo_model, sim, tmp_path, config)
        failed = sum(
            n
            for kind, n in first.details["failures"].items()
            if kind.endswith(("unparsable", "wrong_length"))
        )
    assert failed > 0
    counts = {}
    for name, cache in [("rerun", tmp_path), ("fresh", tmp_path / "fresh")]:
        with SimServer(port=0) as healthy:
            (counts[name + "_record"],) = saebench.evaluate(
                ["zoo:resid-topk-16"], model=zoo_model, dataset="zoo", evaluators=["autointerp"],
                n_tokens=N_TOKENS, configs={"autointerp": config}, resume=False, progress=False,
                llm={"model": "saebench-sim", "base_url": healthy.base_url, "cache_dir": str(cache)},
            )  # fmt: skip
            counts[name] = healthy.stats()["requests"]
    # only what failed to parse (and what it blocked) is asked again; the rest is cached
    assert 0 < counts["rerun"] < counts["fresh"]
    again = counts["rerun_record"]
    assert not [k for k in again.details["failures"] if k.endswith(("unparsable", "wrong_length"))]
    scores = lambda r: {k: v for k, v in r.metrics.items() if not k.startswith("llm_")}  # noqa: E731
    assert scores(again) == scores(counts["fresh_record"])  # usage differs, scores do not
