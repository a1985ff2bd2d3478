"""The ravel evaluator end to end on the planted world: its record, references shared by
every SAE of a run without changing any number, seeds, skipped transcoders, the config."""

from __future__ import annotations

import pytest
from helpers import make_sae
from pydantic import ValidationError
from ravel_planted import planted_world

from saebench.errors import SaebenchError
from saebench.evaluators import EvalContext
from saebench.evaluators.ravel import QUICKSTART_CONFIG, RavelConfig, RavelEvaluator
from saebench.models.interventions import ModelRunner
from saebench.planning import parse_config

SMALL = {
    "n_pairs": 16,
    "batch_size": 16,
    "mask_steps": 60,
    "mask_lr": 0.1,
    "das_steps": 60,
    "das_lr": 0.05,
    "das_dim": 1,
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


def test_the_record_scores_the_sae_beside_its_references(right_alone):
    m, d = right_alone.metrics, right_alone.details
    assert d["status"] == "ok" and d["targets"] == ["continent", "country"]
    assert m.disentanglement >= 0.9 and m.cause >= 0.9 and m.isolation >= 0.9
    assert m.disentanglement_context >= 0.9
    assert m.disentanglement_das >= 0.9
    assert "note" not in d  # the patched column matters here: no inert-column warning
    # the planted directions are not neurons: the baseline is worse than the right SAE
    assert m.relative_to_neurons == pytest.approx(m.disentanglement - m.disentanglement_neurons)
    assert m.relative_to_das == pytest.approx(m.disentanglement - m.disentanglement_das)
    assert m.n_pairs_entity == sum(
        s["n_cause"] + s["n_isolation"]
        for s in (d["scores"]["mdbm"][t]["entity"] for t in d["targets"])
    )
    for method in ("mdbm", "probe", "neurons", "pca", "das"):
        for target in d["targets"]:
            assert set(d["scores"][method][target]) == {"entity", "context"}
    assert d["survivors"]["country"]["entity"] == {"prompts": 8, "correct": 8}


def test_numbers_do_not_depend_on_which_saes_share_the_run(right_alone):
    world = planted_world()
    shared: dict = {}
    wrong = _finish(world.wrong, shared)
    right = _finish(world.right, shared)
    assert right.metrics == right_alone.metrics
    assert right.details["scores"] == right_alone.details["scores"]
    assert wrong.metrics.disentanglement < right.metrics.disentanglement
    # references are paid once: one slot per reference, the same object for both SAEs
    slots = [k for k in shared if k[0] == "ravel-reference"]
    assert sorted(k[3] for k in slots) == ["das", "neurons", "pca"]
    assert wrong.details["scores"]["das"] == right.details["scores"]["das"]


def test_several_seeds_give_per_seed_values_and_their_mean():
    result = _finish(planted_world().right, {}, seeds=[0, 1], references=["neurons"])
    values = result.seeds["disentanglement"]
    assert len(values) == 2
    assert result.metrics.disentanglement == pytest.approx(sum(values) / 2)
    assert len(result.seeds["disentanglement_neurons"]) == 2
    assert result.metrics.disentanglement_das is None and result.metrics.relative_to_das is None
    per_seed = result.details["per_seed"]["mdbm"]["country"]["entity"]
    assert len(per_seed) == 2 and len(result.details["selected_latents"]["mdbm"]["country"]) == 2


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
    assert config.n_pairs < RavelConfig().n_pairs and config.mask_steps < RavelConfig().mask_steps
    assert RavelEvaluator.quickstart == QUICKSTART_CONFIG
