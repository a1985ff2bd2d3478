"""Planning evaluators that ask an LLM judge: skipped without one, the judge in the key."""

import pytest
from helpers import make_sae

import saebench
from saebench.errors import SaebenchError, SaebenchWarning
from saebench.evaluators import EvalMetrics, EvalResult, Evaluator, Needs, metric
from saebench.registry import evaluators

# a loopback URL: the client is made for the group, but this evaluator never calls it
JUDGE = {"model": "judge-a", "base_url": "http://127.0.0.1:9/v1"}


class JudgeProbe(Evaluator):
    """Says whether the run handed it a client; asks nothing of it."""

    version = "1"
    needs = Needs(llm=True)
    main_metric = "has_client"

    class Metrics(EvalMetrics):
        has_client: float = metric("1 when the context holds an LLM client", None)

    def finish(self):
        return EvalResult(metrics=self.Metrics(has_client=float(self.context.llm is not None)))


@pytest.fixture
def judge_probe(monkeypatch):
    for name in ("SAEBENCH_LLM_MODEL", "SAEBENCH_LLM_BASE_URL", "OPENAI_BASE_URL"):
        monkeypatch.delenv(name, raising=False)
    evaluators.register("judge_probe", JudgeProbe)
    yield "judge_probe"
    evaluators._entries.pop("judge_probe", None)


def _run(model, texts, sae, evaluators, **kwargs):
    return saebench.evaluate(
        sae,
        model=model,
        dataset=texts,
        n_tokens=512,
        evaluators=evaluators,
        progress=False,
        **kwargs,
    )


def test_without_a_judge_the_llm_evaluator_is_skipped_with_the_setting_to_use(
    tiny_model, texts, judge_probe
):
    sae = make_sae("standard", seed=1, context_size=16)
    with pytest.warns(SaebenchWarning, match=r"skipped judge_probe: it needs .*llm=.*base_url"):
        records = _run(tiny_model, texts, sae, ["sparsity", judge_probe])
    assert [r.evaluator.name for r in records] == ["sparsity"]
    assert records[0].evaluator.llm_model is None


def test_only_llm_evaluators_and_no_judge_is_an_error(tiny_model, texts, judge_probe):
    with pytest.raises(SaebenchError, match="skipped judge_probe: it needs an OpenAI"):
        _run(tiny_model, texts, make_sae("standard", seed=1, context_size=16), [judge_probe])


def test_the_judge_model_is_part_of_the_key_and_the_client_reaches_the_evaluator(
    tiny_model, texts, judge_probe
):
    sae = make_sae("standard", seed=1, context_size=16)
    first = _run(tiny_model, texts, sae, ["sparsity", judge_probe], llm=JUDGE)
    other = _run(tiny_model, texts, sae, ["sparsity", judge_probe], llm={**JUDGE, "model": "b"})
    moved = _run(
        tiny_model,
        texts,
        sae,
        ["sparsity", judge_probe],
        llm={**JUDGE, "base_url": "http://127.0.0.1:10/v1"},
    )
    probe = {r.evaluator.llm_model: r for r in first + other if r.evaluator.name == judge_probe}
    assert probe["judge-a"].metrics["has_client"] == 1.0
    assert probe["judge-a"].key != probe["b"].key
    assert probe["judge-a"].key == probe["judge-a"].expected_key()
    # where the judge is served is not in the key; a non-LLM evaluator's key ignores the judge
    assert moved[1].key == probe["judge-a"].key
    assert first[0].key == other[0].key and first[0].evaluator.llm_model is None


def test_the_judges_sampling_seed_is_part_of_the_key(tiny_model, texts, judge_probe):
    """The seed is sent with every request and changes answers, so it decides numbers."""
    sae = make_sae("standard", seed=1, context_size=16)
    default = _run(tiny_model, texts, sae, [judge_probe], llm=JUDGE)[0]
    zero = _run(tiny_model, texts, sae, [judge_probe], llm={**JUDGE, "seed": 0})[0]
    seeded = _run(tiny_model, texts, sae, [judge_probe], llm={**JUDGE, "seed": 7})[0]
    assert default.key == zero.key != seeded.key  # seed 0 keeps the keys of older records
    assert seeded.evaluator.llm_seed == 7 and seeded.key == seeded.expected_key()


def test_the_environment_names_the_judge(tiny_model, texts, judge_probe, monkeypatch):
    monkeypatch.setenv("SAEBENCH_LLM_MODEL", "env-judge")
    monkeypatch.setenv("SAEBENCH_LLM_BASE_URL", "http://127.0.0.1:9/v1")
    records = _run(tiny_model, texts, make_sae("standard", seed=1, context_size=16), [judge_probe])
    assert records[0].evaluator.llm_model == "env-judge"
