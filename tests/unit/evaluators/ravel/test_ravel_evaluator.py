"""The ravel evaluator end to end on the planted world: its record, references shared by
every SAE of a run without changing any number, seeds, skipped transcoders, the config."""

from __future__ import annotations

import pytest
from helpers import make_sae
from pydantic import ValidationError
from ravel_planted import HOOK, planted_world

from saebench.errors import SaebenchError
from saebench.evaluators import EvalContext
from saebench.evaluators.ravel import QUICKSTART_CONFIG, RavelConfig, RavelEvaluator
from saebench.models.interventions import ModelRunner
from saebench.run.planning import parse_config

SMALL = {
    "position": "entity",
    "n_pairs": 16,
    "n_train_pairs": 16,
    "n_val_pairs": 8,
    "batch_size": 16,
    "mask_steps": 60,
    "mask_lr": 0.1,
    "das_max_steps": 60,
    "das_lr": 0.05,
    "das_dims": [1],
}


def _finish(sae, shared, **overrides):
    world = planted_world()
    config = RavelConfig(**{**SMALL, **overrides})
    context = EvalContext(
        sae=sae, model=world.model, runner=ModelRunner(world.model), task=world.task, shared=shared
    )
    return RavelEvaluator(config, context).finish()


@pytest.fixture(scope="module")
def right_alone():
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(1)  # module fixtures run before the autouse one-thread fixture
    try:
        yield _finish(planted_world().right, {})
    finally:
        torch.set_num_threads(before)


def _refs(result):
    return {r.method: r for r in result.references}


def test_the_record_scores_the_sae_beside_its_references(right_alone):
    m, d = right_alone.metrics, right_alone.details
    assert d["status"] == "ok" and d["targets"] == ["continent", "country"]
    assert d["variant"] == "ravel" and d["position"] == "entity"
    assert m.disentanglement >= 0.9 and m.cause >= 0.9 and m.isolation >= 0.9
    assert m.disentanglement_context >= 0.9 and m.disentanglement_train >= 0.9
    assert "note" not in d  # the patched column matters here: no inert-column warning
    refs = _refs(right_alone)
    assert sorted(refs) == ["das", "mdas", "neurons", "neurons_linear", "pca"]
    for ref in refs.values():  # a reference reads like the SAE: RAVEL's own metric names
        assert ref.hook_name == HOOK and set(ref.metrics) >= {"disentanglement", "cause"}
        assert ref.intervals["disentanglement"].unit == "pairs"
    assert refs["mdas"].metrics["disentanglement"] >= 0.9
    assert refs["neurons"].size == 64 and refs["neurons_linear"].size <= 32
    # no reference value hides in a metric name any more
    assert not any(k.endswith(("_das", "_pca", "_neurons")) for k in type(m).model_fields)
    assert right_alone.sample_sizes["pairs_entity_cause"] == sum(
        d["scores"]["mdbm"][t]["entity"]["n_cause"] for t in d["targets"]
    )
    for method in ("mdbm", "probe"):
        for target in d["targets"]:
            assert set(d["scores"][method][target]) == {"train", "entity", "context"}
    assert d["survivors"]["country"]["entity"] == {"prompts": 8, "correct": 8}


def test_every_estimate_has_an_interval_over_pairs_and_a_null(right_alone):
    m, intervals = right_alone.metrics, right_alone.intervals
    for name in ("disentanglement", "cause", "isolation", "disentanglement_context"):
        iv = intervals[name]
        assert iv.method == "bootstrap" and iv.unit == "pairs" and iv.n > 0
        assert iv.low <= getattr(m, name) <= iv.high
    # the empty mask on the same pairs: the base's answers stay (isolation 1, cause 0)
    assert right_alone.nulls["disentanglement"] == pytest.approx(0.5)
    assert right_alone.nulls["cause"] == 0.0 and right_alone.nulls["isolation"] == 1.0


def test_numbers_do_not_depend_on_which_saes_share_the_run(right_alone):
    world = planted_world()
    shared: dict = {}
    wrong = _finish(world.wrong, shared)
    right = _finish(world.right, shared)
    assert right.metrics == right_alone.metrics
    assert right.details["scores"] == right_alone.details["scores"]
    assert wrong.metrics.disentanglement < right.metrics.disentanglement
    # one preparation for both SAEs (answers, pairs, references), kept by context.once
    assert sorted(name for _, name, _ in shared) == ["answers", "pairs", "prepare"]
    prepared = next(value for (_, name, _), value in shared.items() if name == "prepare")
    assert sorted(prepared.seeds[0].references) == [
        "das", "mdas", "neurons", "neurons_linear", "pca"
    ]  # fmt: skip
    assert _refs(wrong)["das"].metrics == _refs(right)["das"].metrics


def test_each_seed_redraws_the_pairs_and_keeps_its_values():
    result = _finish(planted_world().right, {}, seeds=[0, 1], references=["neurons"])
    values = result.seeds["disentanglement"]
    assert len(values) == 2
    assert result.metrics.disentanglement == pytest.approx(sum(values) / 2)
    assert len(_refs(result)["neurons"].seeds["disentanglement"]) == 2
    per_seed = result.details["per_seed"]["mdbm"]["country"]["entity"]
    assert len(per_seed) == 2 and len(result.details["selected_latents"]["mdbm"]["country"]) == 2
    assert result.sample_sizes["seeds"] == 2


def test_seeds_draw_different_pairs():
    from saebench.evaluators.ravel.instances import answered, make_pairs

    world = planted_world()
    answers = answered(world.task, ModelRunner(world.model))
    pairs = [make_pairs(answers, n_pairs=6, seed=s).pairs for s in (0, 1)]
    keys = [[(p.base.text, p.source.text) for p in found] for found in pairs]
    assert keys[0] != keys[1]


def test_a_transcoder_is_skipped_with_a_status():
    transcoder = make_sae(
        "transcoder",
        d_in=32,
        hook_name="blocks.0.ln2.hook_normalized",
        hook_name_out="blocks.0.hook_mlp_out",
    )
    result = RavelEvaluator(RavelConfig(), EvalContext(sae=transcoder)).finish()
    assert result.details["status"].startswith("skipped: a transcoder")
    assert result.metrics.disentanglement is None


def test_unknown_targets_are_named():
    with pytest.raises(SaebenchError, match="language"):
        _finish(planted_world().right, {}, targets=["language"], references=[])


def test_the_task_is_zoo_cities_unless_ravel_data_is_given():
    assert RavelEvaluator.needs_for(RavelConfig()).task.name == "zoo-cities"
    needs = RavelEvaluator.needs_for(RavelConfig(data_dir="D", entity_type="nobel_prize_winner"))
    assert needs.task.name == "ravel" and not needs.activations and needs.model_runner
    assert needs.task.config == {"data_dir": "D", "entity_type": "nobel_prize_winner"}


@pytest.mark.parametrize(
    "values, word",
    [
        ({"temperature_start": 0.1, "temperature_end": 1.0}, "temperature_end"),
        ({"entity_type": "city"}, "data_dir"),
        ({"seeds": [1, 1]}, "seeds"),
        ({"seeds": []}, "seeds"),
        ({"n_pairs": 0}, "n_pairs"),
        ({"references": ["sae"]}, "references"),
        ({"das_dims": [0]}, "das_dims"),
    ],
)
def test_bad_settings_are_refused(values, word):
    with pytest.raises(ValidationError, match=word):
        RavelConfig(**values)
    RavelEvaluator.name = RavelEvaluator.name or "ravel"
    with pytest.raises(SaebenchError, match="ravel"):
        parse_config(RavelEvaluator, values)


def test_the_quickstart_preset_is_a_valid_config():
    config = RavelConfig(**QUICKSTART_CONFIG)
    assert config.mask_steps <= RavelConfig().mask_steps
    assert RavelEvaluator.quickstart == QUICKSTART_CONFIG
